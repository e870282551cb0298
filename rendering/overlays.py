"""2D overlays of a slice view, drawn by VTK in display pixels.

Crosshair lines of the other two views (in their colours, with a gap so the point itself
stays visible), orientation labels derived from the plane's actual axes (so oblique
planes get compound labels such as ``"LA"``), a scale bar in mm, the slice position and
slab, the window, and optional patient/study text.
"""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

from cbctviewer.core.geometry import SliceGeometry, direction_label
from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import VolumeMetadata

from .reslice import SlabSampling

#: Crosshair colour of each view (3D Slicer's: axial red, coronal green, sagittal yellow).
VIEW_COLOURS: dict[ViewKind, tuple[float, float, float]] = {
    ViewKind.AXIAL: (0.95, 0.30, 0.30),
    ViewKind.CORONAL: (0.35, 0.85, 0.35),
    ViewKind.SAGITTAL: (0.95, 0.85, 0.25),
}
#: Half-width (pixels) of the gap around the crosshair point.
CROSSHAIR_GAP_PX = 8
_MARGIN = 6
_TEXT_COLOUR = (0.95, 0.95, 0.95)
_LABEL_COLOUR = (1.0, 0.85, 0.35)


def nice_length(max_mm: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ mm not above ``max_mm`` (a scale bar's length)."""
    if max_mm <= 0:
        return 0.0
    exponent = math.floor(math.log10(max_mm))
    for mantissa in (5.0, 2.0, 1.0):
        if mantissa * 10.0**exponent <= max_mm:
            return mantissa * 10.0**exponent
    return 10.0**exponent  # pragma: no cover - unreachable (mantissa 1 always fits)


def position_text(point: np.ndarray, normal: np.ndarray) -> str:
    """Slice position along a normal, named by its dominant anatomical direction.

    E.g. ``"S 12.3 mm"`` or ``"I 4.0 mm"`` for an axial view (LPS coordinate along the
    axis, with the letter of the side it lies on).
    """
    axis = int(np.argmax(np.abs(normal)))
    signed = normal if normal[axis] > 0 else -normal
    value = float(point @ signed)
    letters = (("L", "R"), ("P", "A"), ("S", "I"))[axis]
    return f"{letters[0] if value >= 0 else letters[1]} {abs(value):.1f} mm"


def patient_lines(meta: VolumeMetadata) -> list[str]:
    """Patient and study lines for the on-screen overlay (empty fields left out)."""
    date = meta.study_date
    if len(date) == 8 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    lines = [meta.patient_name.replace("^", " ").strip(), meta.patient_id, date]
    lines.append(meta.study_description or meta.series_description)
    return [line for line in lines if line]


class _Lines:
    """Line segments in display pixels (one ``vtkActor2D``)."""

    def __init__(self, renderer: vtkRenderer, colour: tuple[float, float, float], width: float = 1.0) -> None:
        self.data = vtkPolyData()
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self.data)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        self.actor.GetProperty().SetColor(*colour)
        self.actor.GetProperty().SetLineWidth(width)
        renderer.AddViewProp(self.actor)

    def set(self, segments: list[tuple[tuple[float, float], tuple[float, float]]]) -> None:
        points, cells = vtkPoints(), vtkCellArray()
        for a, b in segments:
            cells.InsertNextCell(2)
            cells.InsertCellPoint(points.InsertNextPoint(a[0], a[1], 0.0))
            cells.InsertCellPoint(points.InsertNextPoint(b[0], b[1], 0.0))
        self.data.SetPoints(points)
        self.data.SetLines(cells)
        self.data.Modified()


def _text(
    renderer: vtkRenderer, horizontal: str, vertical: str, colour: tuple[float, float, float]
) -> vtkTextActor:
    actor = vtkTextActor()
    prop = actor.GetTextProperty()
    prop.SetColor(*colour)
    prop.ShadowOn()
    prop.SetFontFamilyToArial()
    getattr(prop, f"SetJustificationTo{horizontal}")()
    getattr(prop, f"SetVerticalJustificationTo{vertical}")()
    renderer.AddViewProp(actor)
    return actor


class SliceOverlays:
    """All overlay actors of one slice view; :meth:`update` places them."""

    def __init__(self, renderer: vtkRenderer, kind: ViewKind) -> None:
        self.kind = ViewKind(kind)
        self.crosshair = {
            other: _Lines(renderer, VIEW_COLOURS[other]) for other in ViewKind if other != self.kind
        }
        self.labels = {
            "right": _text(renderer, "Right", "Centered", _LABEL_COLOUR),
            "left": _text(renderer, "Left", "Centered", _LABEL_COLOUR),
            "top": _text(renderer, "Centered", "Top", _LABEL_COLOUR),
            "bottom": _text(renderer, "Centered", "Bottom", _LABEL_COLOUR),
        }
        self.scale_bar = _Lines(renderer, _TEXT_COLOUR, width=2.0)
        self.scale_text = _text(renderer, "Centered", "Bottom", _TEXT_COLOUR)
        self.position = _text(renderer, "Left", "Bottom", _TEXT_COLOUR)
        self.window = _text(renderer, "Right", "Top", _TEXT_COLOUR)
        self.patient = _text(renderer, "Left", "Top", _TEXT_COLOUR)

    def _all(self) -> list[vtkActor2D]:
        lines = [*self.crosshair.values(), self.scale_bar]
        texts = [*self.labels.values(), self.scale_text, self.position, self.window, self.patient]
        return [line.actor for line in lines] + list(texts)

    def update(
        self, state: ViewerState, geometry: SliceGeometry, *, slab: SlabSampling, visible: bool = True
    ) -> None:
        """Place every overlay for the view's current ``geometry``."""
        for actor in self._all():
            actor.SetVisibility(visible)
        if not visible:
            return
        width, height = geometry.width, geometry.height
        font = int(np.clip(round(min(width, height) / 36), 10, 18))
        for actor in (*self.labels.values(), self.scale_text, self.position, self.window, self.patient):
            actor.GetTextProperty().SetFontSize(font)
        self._crosshair(state, geometry)
        self._labels(geometry)
        self._scale_bar(geometry, font)
        view = state.views[self.kind]
        where = position_text(np.asarray(state.crosshair), state.normal(self.kind))
        lines = [f"{self.kind.value.title()}  {where}"]
        if slab.samples > 1:
            lines.append(f"{view.slab_mode.value.upper()} {slab.thickness:.1f} mm")
        self.position.SetInput("\n".join(lines))
        self.position.SetPosition(_MARGIN, _MARGIN)
        wl = state.window_level
        self.window.SetInput(f"W {wl.width:.0f}  L {wl.center:.0f}")
        self.window.SetPosition(width - _MARGIN, height - _MARGIN)
        meta = state.volume.metadata if state.volume is not None else None
        self.patient.SetInput("\n".join(patient_lines(meta)) if meta is not None else "")
        self.patient.SetPosition(_MARGIN, height - _MARGIN)
        self.patient.SetVisibility(state.show_patient_info)

    def _crosshair(self, state: ViewerState, geometry: SliceGeometry) -> None:
        row, col = geometry.patient_to_pixel(state.crosshair)
        centre = np.array([col + 0.5, geometry.height - row - 0.5])  # display pixels, y up
        reach = geometry.width + geometry.height
        x, y = np.asarray(geometry.plane.x_axis), np.asarray(geometry.plane.y_axis)
        normal = np.cross(x, y)
        for other, lines in self.crosshair.items():
            along = np.cross(normal, state.normal(other))  # the other plane's trace here
            d = np.array([along @ x, along @ y])
            d /= np.linalg.norm(d)
            segments = []
            for sign in (1.0, -1.0):
                a, b = centre + sign * CROSSHAIR_GAP_PX * d, centre + sign * reach * d
                segments.append(((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))))
            lines.set(segments)

    def _labels(self, geometry: SliceGeometry) -> None:
        x, y = np.asarray(geometry.plane.x_axis), np.asarray(geometry.plane.y_axis)
        w, h = geometry.width, geometry.height
        places = {
            "right": (x, (w - _MARGIN, h / 2)),
            "left": (-x, (_MARGIN, h / 2)),
            "top": (y, (w / 2, h - _MARGIN)),
            "bottom": (-y, (w / 2, _MARGIN)),
        }
        for name, (direction, position) in places.items():
            self.labels[name].SetInput(direction_label(direction))
            self.labels[name].SetPosition(*position)

    def _scale_bar(self, geometry: SliceGeometry, font: int) -> None:
        length_mm = nice_length(0.2 * geometry.width * geometry.pixel_size)
        length_px = length_mm / geometry.pixel_size
        right, base = geometry.width - 2 * _MARGIN, 2.0 * _MARGIN
        left = right - length_px
        tick = 0.4 * font
        self.scale_bar.set(
            [
                ((left, base), (right, base)),
                ((left, base), (left, base + tick)),
                ((right, base), (right, base + tick)),
            ]
        )
        self.scale_text.SetInput(f"{length_mm:g} mm")
        self.scale_text.SetPosition((left + right) / 2, base + 0.5 * font)

    def label_texts(self) -> dict[str, str]:
        """Current orientation labels by edge (``right``, ``left``, ``top``, ``bottom``)."""
        return {name: actor.GetInput() or "" for name, actor in self.labels.items()}
