"""Canals as tubes and implants as capped cylinders in the 3D view.

The 3D view renders on its own thread, so it is given plain, immutable snapshots
(:class:`TubeObject`, :class:`CylinderObject`) made from the live
:class:`~cbctviewer.core.dental_state.DentalState` on the GUI thread by
:func:`dental_scene_objects`; :class:`SceneObjectActors` turns a snapshot into VTK actors
(patient mm are the 3D view's world coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkTubeFilter
from vtkmodules.vtkFiltersSources import vtkCylinderSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer

from cbctviewer.core.dental_outlines import COLOURS
from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.geometry import Vec3, vec3
from cbctviewer.core.virtual_implant import SAFETY_MARGIN_MM

from .dental_overlay import hex_colour

__all__ = ["CylinderObject", "SceneObject", "SceneObjectActors", "TubeObject", "dental_scene_objects"]

Colour = tuple[float, float, float]


@dataclass(frozen=True, slots=True, eq=False)
class TubeObject:
    """A tube of ``radius`` mm about a polyline ``points`` (n, 3) (patient mm)."""

    points: NDArray[np.float64]
    radius: float
    colour: Colour


@dataclass(frozen=True, slots=True)
class CylinderObject:
    """A capped cylinder from ``base`` along unit ``direction`` for ``length`` mm."""

    base: Vec3
    direction: Vec3
    radius: float
    length: float
    colour: Colour


SceneObject = TubeObject | CylinderObject


def dental_scene_objects(state: DentalState | None) -> tuple[SceneObject, ...]:
    """Snapshot of the canals (tubes) and implants (cylinders) of ``state``.

    An implant whose apex is closer than the safety margin to a canal is coloured as a
    warning, like in the 2D views.
    """
    if state is None:
        return ()
    objects: list[SceneObject] = []
    canals = list(state.canals.values())
    for canal in canals:
        line = canal.centreline()
        if len(line) >= 2:
            objects.append(TubeObject(np.array(line), canal.radius_mm, hex_colour(COLOURS["canal"])))
    for implant in state.implants.values():
        warn = any(implant.apex_to_canal_mm(c) < SAFETY_MARGIN_MM for c in canals)
        colour = hex_colour(COLOURS["implant_warning" if warn else "implant"])
        objects.append(
            CylinderObject(implant.shoulder, implant.direction, implant.radius_mm, implant.length_mm, colour)
        )
    return tuple(objects)


class SceneObjectActors:
    """The actors of a snapshot of scene objects in one renderer."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self._renderer = renderer
        self.actors: list[vtkActor] = []
        self.objects: tuple[SceneObject, ...] = ()

    def set(self, objects: tuple[SceneObject, ...]) -> None:
        """Replace the drawn objects (called on the render thread)."""
        if objects is self.objects:
            return
        for actor in self.actors:
            self._renderer.RemoveViewProp(actor)
        self.actors = [_actor(obj) for obj in objects]
        for actor in self.actors:
            self._renderer.AddViewProp(actor)
        self.objects = objects


def _actor(obj: SceneObject) -> vtkActor:
    mapper = vtkPolyDataMapper()
    if isinstance(obj, TubeObject):
        points, cells = vtkPoints(), vtkCellArray()
        cells.InsertNextCell(len(obj.points))
        for p in obj.points:
            cells.InsertCellPoint(points.InsertNextPoint(*p))
        line = vtkPolyData()
        line.SetPoints(points)
        line.SetLines(cells)
        tube = vtkTubeFilter()
        tube.SetInputData(line)
        tube.SetRadius(obj.radius)
        tube.SetNumberOfSides(16)
        tube.CappingOn()
        mapper.SetInputConnection(tube.GetOutputPort())
    else:
        source = vtkCylinderSource()  # along +y, centred on the origin
        source.SetRadius(obj.radius)
        source.SetHeight(obj.length)
        source.SetResolution(32)
        source.CappingOn()
        mapper.SetInputConnection(source.GetOutputPort())
    actor = vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*obj.colour)
    # Mostly ambient: a thin tube seen along its length should keep its colour, not go dark.
    prop.SetAmbient(0.45)
    prop.SetDiffuse(0.6)
    if isinstance(obj, CylinderObject):
        actor.SetUserTransform(_cylinder_transform(obj))
    return actor


def _cylinder_transform(obj: CylinderObject) -> vtkTransform:
    """Turn VTK's +y cylinder onto ``direction`` and centre it half-way down the axis."""
    d = np.asarray(vec3(obj.direction))
    centre = np.asarray(obj.base) + 0.5 * obj.length * d
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(y, d)
    angle = float(np.degrees(np.arctan2(np.linalg.norm(axis), float(y @ d))))
    transform = vtkTransform()
    transform.PostMultiply()
    if np.linalg.norm(axis) > 1e-9:
        transform.RotateWXYZ(angle, *axis)
    elif angle > 90.0:  # pointing along -y: any perpendicular axis will do
        transform.RotateWXYZ(180.0, 1.0, 0.0, 0.0)
    transform.Translate(*centre)
    return transform
