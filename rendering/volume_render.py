"""The 3D view: ray-cast volume rendering with presets, clipping and a camera.

The mapper is chosen by what OpenGL is behind the window: on a software rasteriser
(Mesa llvmpipe…) the CPU ``vtkFixedPointVolumeRayCastMapper``, which is much faster
there, otherwise ``vtkGPUVolumeRayCastMapper``. Both adapt their sampling to the time
allowed per frame: while the user interacts (``ViewerState.interacting``) the window asks
for ``interactive_rate`` frames per second, when still for full quality.

A volume above ``max_voxels`` is drawn from its own block-mean copy
(:mod:`.reduced`): the ray caster's gradient tables and first frame scale with the voxels it
is given, not with the scan. The copy keeps the patient geometry, so a point is drawn where
the full volume would put it; it is made on the first update after a new volume and
dropped with that volume.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from psygnal import Signal
from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction, vtkPlane, vtkPlaneCollection
from vtkmodules.vtkRenderingCore import (
    vtkColorTransferFunction,
    vtkRenderer,
    vtkRenderWindow,
    vtkVolume,
    vtkVolumeProperty,
)
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper, vtkGPUVolumeRayCastMapper

from cbctviewer.core.geometry import vec3
from cbctviewer.core.view_state import Camera, ViewerState

from .capabilities import gl_info
from .dental_3d import SceneObject, SceneObjectActors
from .offscreen import grab_rgb, new_render_window
from .reduced import DEFAULT_MAX_VOXELS, reduced_image
from .volume_presets import PRESETS
from .vtk_image import VolumeImage, to_vtk_matrix

MapperChoice = Literal["auto", "cpu", "gpu"]
#: Frames per second asked for while interacting, and when still (VTK's interactor
#: defaults: 15 and 0.0001, i.e. "take as long as full quality needs").
INTERACTIVE_RATE = 15.0
STILL_RATE = 0.0001
#: Default camera: in front of the patient (anterior, -y in LPS), head up.
_FRONT = np.array([0.0, -1.0, 0.0])
_UP = (0.0, 0.0, 1.0)


class VolumeView:
    """The 3D view of ``state`` rendered with VTK's ray casters."""

    needs_render = Signal()

    def __init__(
        self,
        state: ViewerState,
        *,
        source: VolumeImage | None = None,
        render_window: vtkRenderWindow | None = None,
        offscreen: bool = True,
        mapper: MapperChoice = "auto",
        interactive_rate: float = INTERACTIVE_RATE,
        max_voxels: int | None = DEFAULT_MAX_VOXELS,
    ) -> None:
        self.state = state
        self._source = source
        #: Voxel budget of what the ray caster is given; ``None`` renders every voxel.
        self.max_voxels = max_voxels
        #: What the mapper draws: ``_source`` or its reduced copy (made in :meth:`update`).
        self._rendered: VolumeImage | None = None
        self._mapper_choice = mapper
        self.interactive_rate = interactive_rate
        self.mapper: vtkFixedPointVolumeRayCastMapper | vtkGPUVolumeRayCastMapper | None = None
        self.colour = vtkColorTransferFunction()
        self.opacity = vtkPiecewiseFunction()
        self.property = vtkVolumeProperty()
        self.property.SetColor(self.colour)
        self.property.SetScalarOpacity(self.opacity)
        self.property.SetInterpolationTypeToLinear()
        self.volume = vtkVolume()
        self.volume.SetProperty(self.property)
        self.clipping = vtkPlaneCollection()
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        self.renderer.AddViewProp(self.volume)
        #: Canal tubes and implant cylinders (plain snapshots, see :meth:`set_scene_objects`).
        self.scene_objects = SceneObjectActors(self.renderer)
        self.render_window = render_window or new_render_window(
            *state.volume_render.viewport, offscreen=offscreen
        )
        self.render_window.AddRenderer(self.renderer)
        self._dirty = True
        self._camera_dirty = True
        state.events.all.connect(self._on_change)
        state.volume_render.events.all.connect(self._on_change)
        state.volume_render.events.camera.connect(self._on_camera)
        state.events.volume.connect(self._on_camera)

    def _on_change(self, *_: object) -> None:
        self._dirty = True
        self.needs_render.emit()

    def set_source(self, source: VolumeImage | None) -> None:
        """Share an already wrapped volume (e.g. one per scene instead of one per view)."""
        if source is not self._source:
            self._source = source
            self._release_rendered()
        self._on_change()

    def set_scene_objects(self, objects: tuple[SceneObject, ...]) -> None:
        """Draw these objects (immutable snapshots, e.g. ``dental_scene_objects(state)``).

        Call it on the thread that renders: the actors change right away.
        """
        self.scene_objects.set(tuple(objects))
        self._on_change()

    def _release_rendered(self) -> None:
        """Drop the reduced copy (and the mapper's tables of it) of a previous volume."""
        self._rendered = None
        if self.mapper is not None and self.mapper.GetInputDataObject(0, 0) is not None:
            self.mapper.RemoveAllInputConnections(0)

    @property
    def rendered_image(self) -> VolumeImage | None:
        """What the ray caster draws: the shared source or its reduced copy (after an update)."""
        return self._rendered

    def _on_camera(self, *_: object) -> None:
        # psygnal may run the group's "all" relay (→ _on_change → needs_render) before this
        # callback: a consumer that updated right away must hear of the camera too.
        self._camera_dirty = True
        self._on_change()

    def close(self) -> None:
        """Stop listening to the model and release the window's GL resources."""
        self.state.events.all.disconnect(self._on_change)
        self.state.volume_render.events.all.disconnect(self._on_change)
        self.state.volume_render.events.camera.disconnect(self._on_camera)
        self.state.events.volume.disconnect(self._on_camera)
        self._release_rendered()
        self.render_window.Finalize()

    # -- pipeline ---------------------------------------------------------------------
    def _make_mapper(self) -> vtkFixedPointVolumeRayCastMapper | vtkGPUVolumeRayCastMapper:
        choice = self._mapper_choice
        if choice == "auto":
            choice = "cpu" if gl_info(self.render_window).is_software else "gpu"
        mapper = vtkFixedPointVolumeRayCastMapper() if choice == "cpu" else vtkGPUVolumeRayCastMapper()
        mapper.SetBlendModeToComposite()
        mapper.AutoAdjustSampleDistancesOn()
        mapper.SetClippingPlanes(self.clipping)
        return mapper

    def update(self) -> None:
        """Bring the VTK pipeline up to date with the model (no rendering)."""
        if not (self._dirty or self._camera_dirty):
            return
        self._dirty = False
        state, settings = self.state, self.state.volume_render
        if tuple(self.render_window.GetSize()) != settings.viewport:
            self.render_window.SetSize(*settings.viewport)
        volume = state.volume
        self.volume.SetVisibility(volume is not None)
        if volume is None:
            self._release_rendered()
            return
        if self.mapper is None:
            self.mapper = self._make_mapper()
            self.volume.SetMapper(self.mapper)
        if self._source is None or self._source.volume is not volume:
            self._release_rendered()
            self._source = VolumeImage.from_volume(volume)
        if self._rendered is None:
            self._rendered = reduced_image(self._source, self.max_voxels)
        rendered = self._rendered
        if self.mapper.GetInputDataObject(0, 0) is not rendered.image:
            self.mapper.SetInputData(rendered.image)
            self.volume.SetUserMatrix(to_vtk_matrix(rendered.grid_to_patient))
            spacing = min(rendered.volume.spacing)
            self.mapper.SetSampleDistance(spacing)
            if isinstance(self.mapper, vtkFixedPointVolumeRayCastMapper):
                self.mapper.SetInteractiveSampleDistance(2.0 * spacing)
        self._apply_preset()
        self._apply_clipping()
        rate = self.interactive_rate if state.interacting else STILL_RATE
        self.render_window.SetDesiredUpdateRate(rate)
        if self._camera_dirty:
            self._camera_dirty = False
            self._apply_camera(settings.camera)

    def _apply_preset(self) -> None:
        settings = self.state.volume_render
        preset = PRESETS[settings.preset]
        self.opacity.RemoveAllPoints()
        for x, y in preset.shifted_opacity(threshold=settings.threshold, scale=settings.opacity):
            self.opacity.AddPoint(x, y)
        self.colour.RemoveAllPoints()
        for x, r, g, b in preset.shifted_colour(threshold=settings.threshold):
            self.colour.AddRGBPoint(x, r, g, b)
        # A cut face has no gradient, and the ray casters shade gradient-free voxels black;
        # unshaded, a cut shows its grey values like a slice would.
        clipped = settings.clip_box is not None or bool(settings.clip_planes)
        self.property.SetShade(preset.shade and not clipped)
        self.property.SetAmbient(preset.ambient)
        self.property.SetDiffuse(preset.diffuse)
        self.property.SetSpecular(preset.specular)

    def _apply_clipping(self) -> None:
        """Clip box and view planes, all in patient space (VTK clips in world space)."""
        settings = self.state.volume_render
        self.clipping.RemoveAllItems()
        planes: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
        if settings.clip_box is not None:
            lower, upper = np.asarray(settings.clip_box.lower), np.asarray(settings.clip_box.upper)
            for axis in range(3):
                inward = np.eye(3)[axis]
                planes += [(lower, inward), (upper, -inward)]
        for kind in sorted(settings.clip_planes):
            # Keep the half-space behind the plane as seen from that 2D view's viewer.
            planes.append((np.asarray(self.state.crosshair), -self.state.normal(kind)))
        for origin, normal in planes:
            plane = vtkPlane()
            plane.SetOrigin(*origin)
            plane.SetNormal(*normal)
            self.clipping.AddItem(plane)
        if self.mapper is not None:
            self.mapper.Modified()

    def _apply_camera(self, camera: Camera | None) -> None:
        vtk_camera = self.renderer.GetActiveCamera()
        if camera is None:
            centre = self.state.volume_centre()
            vtk_camera.SetFocalPoint(*centre)
            vtk_camera.SetPosition(*(centre + 500.0 * _FRONT))
            vtk_camera.SetViewUp(*_UP)
            # Frame the full volume's box: a reduced copy may end up to a block short.
            self._reset_camera_to_source()
        else:
            vtk_camera.SetFocalPoint(*camera.focal_point)
            vtk_camera.SetPosition(*camera.position)
            vtk_camera.SetViewUp(*camera.view_up)
        self.renderer.ResetCameraClippingRange()

    def _reset_camera_to_source(self) -> None:
        if self._source is None:
            self.renderer.ResetCamera()
            return
        corners = self._source.bounds
        low, high = corners.min(axis=0), corners.max(axis=0)
        self.renderer.ResetCamera(low[0], high[0], low[1], high[1], low[2], high[2])

    # -- output -----------------------------------------------------------------------
    def render(self) -> NDArray[np.uint8]:
        """Render and return the frame, ``(height, width, 3)`` uint8."""
        self.update()
        self.renderer.ResetCameraClippingRange()
        self.render_window.Render()
        return grab_rgb(self.render_window)

    def camera_state(self) -> Camera:
        """The VTK camera as a model :class:`Camera` (for binders after user interaction)."""
        camera = self.renderer.GetActiveCamera()
        return Camera(vec3(camera.GetPosition()), vec3(camera.GetFocalPoint()), vec3(camera.GetViewUp()))

    def project(self, point: ArrayLike) -> tuple[float, float]:
        """``(row, col)`` in the rendered frame of a patient point (pixel centres integer)."""
        self.update()
        x, y, z = vec3(point)
        self.renderer.SetWorldPoint(x, y, z, 1.0)
        self.renderer.WorldToDisplay()
        dx, dy, _ = self.renderer.GetDisplayPoint()
        height = self.render_window.GetSize()[1]
        return (height - dy - 0.5, dx - 0.5)

    @property
    def mapper_name(self) -> str:
        """Class name of the mapper in use (after the first update)."""
        return self.mapper.GetClassName() if self.mapper is not None else ""
