"""Measurements drawn on a slice view: lines, handles and value labels, in display pixels.

:class:`MeasureOverlay` follows a :class:`~cbctviewer.core.measure_set.MeasurementSet`
(its events call ``on_change`` so the view re-renders) and, on :meth:`update`, draws every
measurement that crosses the view's plane (:mod:`cbctviewer.core.measure_crossing`): in
full when it lies in the plane (within the tolerance), else a cross where it passes through.
The selected measurement is drawn in :data:`SELECTED_COLOUR`; a measurement being drawn
(the clicks so far plus the cursor) as a thin rubber band. :meth:`MeasureOverlay.handle_at`
finds the handle under the mouse among those drawn at the last update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from psygnal import SignalInstance
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkTextActor

from cbctviewer.core.geometry import SliceGeometry
from cbctviewer.core.measure_crossing import measurement_crossing, points_crossing
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measure_text import value_text
from cbctviewer.core.measurements import ROI_KINDS, Measurement, MeasurementKind, roi_outline
from cbctviewer.core.volume import Volume

from .overlays import _Lines, _text

__all__ = ["HANDLE_PX", "MEASURE_COLOUR", "SELECTED_COLOUR", "HandleHit", "MeasureOverlay"]

#: Measurement lines and labels (cyan: unlike grey, and unlike the crosshair colours).
MEASURE_COLOUR = (0.2, 0.9, 1.0)
HANDLE_COLOUR = (1.0, 0.55, 0.1)
#: The selected measurement (yellow: stands out from cyan and from the grey image).
SELECTED_COLOUR = (1.0, 0.92, 0.2)
#: A measurement being drawn (rubber band).
PENDING_COLOUR = (0.6, 1.0, 0.6)
#: Half-size of a handle's square and of a crossing mark (display pixels).
HANDLE_PX = 4.0
_Segment = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class HandleHit:
    """A drawn handle: its measurement, its index among the points, display position (y up)."""

    measurement_id: str
    index: int
    x: float
    y: float


class MeasureOverlay:
    """The measurement actors of one slice view."""

    def __init__(self, renderer: vtkRenderer, on_change: Callable[[], None]) -> None:
        self._renderer = renderer
        self._on_change = on_change
        self.lines = _Lines(renderer, MEASURE_COLOUR, width=2.0)
        self.selected_lines = _Lines(renderer, SELECTED_COLOUR, width=2.5)
        self.pending_lines = _Lines(renderer, PENDING_COLOUR, width=1.5)
        self.handles = _Lines(renderer, HANDLE_COLOUR, width=1.5)
        self.texts: list[vtkTextActor] = []
        self.measurements: MeasurementSet | None = None
        self.selected_id: str | None = None
        #: The clicks of a measurement being drawn (and the cursor), patient mm, and its kind.
        self.pending: np.ndarray = np.empty((0, 3))
        self.pending_kind: MeasurementKind | None = None
        #: Handles drawn at the last :meth:`update` (what :meth:`handle_at` searches).
        self.drawn_handles: list[HandleHit] = []

    def set_selected(self, measurement_id: str | None) -> None:
        """Highlight this measurement (``None``: none)."""
        if measurement_id != self.selected_id:
            self.selected_id = measurement_id
            self._on_change()

    def set_pending(self, points: ArrayLike, kind: MeasurementKind | None) -> None:
        """Show a measurement being drawn: its points so far plus the cursor (patient mm)."""
        self.pending = np.asarray(points, dtype=float).reshape(-1, 3)
        self.pending_kind = kind if len(self.pending) else None
        self._on_change()

    def handle_at(self, x: float, y: float, *, radius: float) -> HandleHit | None:
        """The drawn handle nearest display ``(x, y)`` (y up) within ``radius`` pixels."""
        best, best_d = None, float(radius)
        for hit in self.drawn_handles:
            d = float(np.hypot(hit.x - x, hit.y - y))
            if d <= best_d:
                best, best_d = hit, d
        return best

    def bind(self, measurements: MeasurementSet | None) -> None:
        """Follow another set (``None``: draw nothing)."""
        if self.measurements is not None:
            for signal in _signals(self.measurements):
                signal.disconnect(self._changed, missing_ok=True)
        self.measurements = measurements
        if measurements is not None:
            for signal in _signals(measurements):
                signal.connect(self._changed)
        self._on_change()

    def _changed(self, *_: object) -> None:
        self._on_change()

    def update(
        self, geometry: SliceGeometry, *, tolerance: float, volume: Volume | None, visible: bool = True
    ) -> None:
        """Place the actors for the view's current ``geometry``."""
        lines: list[_Segment] = []
        selected: list[_Segment] = []
        handles: list[_Segment] = []
        labels: list[tuple[str, tuple[float, float]]] = []
        self.drawn_handles = []
        if visible and self.measurements is not None:
            for m in self.measurements:
                chosen = m.id == self.selected_id
                label_at = self._draw(
                    m, geometry, tolerance, selected if chosen else lines, handles, self.drawn_handles
                )
                if label_at is not None:
                    labels.append((f"{m.label}: {value_text(m, volume)}", label_at))
        self.lines.set(lines)
        self.selected_lines.set(selected)
        self.pending_lines.set(self._pending_segments(geometry, tolerance) if visible else [])
        self.handles.set(handles)
        font = int(np.clip(round(min(geometry.width, geometry.height) / 40), 10, 16))
        while len(self.texts) < len(labels):
            self.texts.append(_text(self._renderer, "Left", "Bottom", MEASURE_COLOUR))
        for i, actor in enumerate(self.texts):
            actor.SetVisibility(i < len(labels))
            if i < len(labels):
                text, (x, y) = labels[i]
                actor.SetInput(text)
                actor.GetTextProperty().SetFontSize(font)
                actor.SetPosition(*label_position(x, y, text, font, geometry.width, geometry.height))

    def _pending_segments(self, geometry: SliceGeometry, tolerance: float) -> list[_Segment]:
        """The rubber band, when the points drawn so far lie in this view's plane."""
        pts, kind = self.pending, self.pending_kind
        if kind is None or len(pts) < 2:
            return []
        crossing = points_crossing(pts, geometry.plane, tolerance=max(tolerance, 1e-3))
        if not crossing.in_plane:
            return []
        if kind == MeasurementKind.ELLIPSE and len(pts) == 3:
            outline = roi_outline(Measurement.create(kind, pts, plane=geometry.plane), n=64)
            return _chain(_display(geometry, outline), closed=True)
        return _chain(_display(geometry, crossing.uv), closed=kind == MeasurementKind.POLYGON)

    @staticmethod
    def _draw(
        m: Measurement,
        geometry: SliceGeometry,
        tolerance: float,
        lines: list[_Segment],
        handles: list[_Segment],
        hits: list[HandleHit],
    ) -> tuple[float, float] | None:
        """Add the segments of one measurement; returns where its label goes (or None)."""
        crossing = measurement_crossing(m, geometry.plane, tolerance=tolerance)
        if not crossing.visible:
            return None
        if m.kind in ROI_KINDS:
            uv_handles = geometry.plane.to_plane(m.array)[:, :2]
            near = np.abs(geometry.depth(m.array)) <= tolerance
        else:
            uv_handles, near = crossing.uv, crossing.near
        if crossing.in_plane:
            chain = _display(geometry, crossing.uv)
            closed = m.kind in ROI_KINDS
            if m.kind == MeasurementKind.ELLIPSE and m.plane is not None:
                # The outline is in the ROI's own plane coordinates: through patient space to the view's.
                outline = m.plane.to_patient(roi_outline(m, n=64))
                chain = _display(geometry, geometry.plane.to_plane(outline)[:, :2])
            if m.kind == MeasurementKind.IMPLANT_SITE:  # separate segments, not a chain
                for i in range(0, len(chain) - 1, 2):
                    lines.extend(_chain(chain[i : i + 2], closed=False))
            else:
                lines.extend(_chain(chain, closed=closed))
        else:
            for x, y in _display(geometry, crossing.crossings):
                d = HANDLE_PX
                lines.append(((x - d, y - d), (x + d, y + d)))
                lines.append(((x - d, y + d), (x + d, y - d)))
        points = _display(geometry, uv_handles)
        for index in np.flatnonzero(near).tolist():
            hx, hy = float(points[index, 0]), float(points[index, 1])
            handles.extend(_square(hx, hy))
            hits.append(HandleHit(m.id, int(index), hx, hy))
        anchor = points[near] if near.any() else _display(geometry, crossing.crossings)
        if len(anchor) == 0:
            return None
        top = anchor[int(np.argmax(anchor[:, 1]))]
        return float(top[0]), float(top[1])


#: Average glyph width of the overlay font as a fraction of its size (a safe over-estimate).
_GLYPH_WIDTH = 0.62
_MARGIN_PX = 4.0


def label_position(
    x: float, y: float, text: str, font: int, width: float, height: float
) -> tuple[float, float]:
    """Bottom-left display position of a label next to (x, y), kept inside the view.

    The label goes up-right of its anchor; near the right or top edge it slides left or
    down so that it stays readable instead of running off the view.
    """
    text_w = _GLYPH_WIDTH * font * len(text)
    left = min(x + 2 * HANDLE_PX, width - text_w - _MARGIN_PX)
    bottom = min(y + 2 * HANDLE_PX, height - font - _MARGIN_PX)
    return max(_MARGIN_PX, left), max(_MARGIN_PX, bottom)


def _signals(measurements: MeasurementSet) -> tuple[SignalInstance, ...]:
    events = measurements.events
    return (events.added, events.removed, events.changed, events.reset)


def _display(geometry: SliceGeometry, uv: ArrayLike) -> np.ndarray:
    """Plane ``(u, v)`` mm → display pixels ``(x, y)`` (y up, pixel centres)."""
    rc = np.asarray(geometry.plane_to_pixel(np.asarray(uv, dtype=float).reshape(-1, 2)))
    return np.stack([rc[:, 1] + 0.5, geometry.height - rc[:, 0] - 0.5], axis=-1)


def _chain(points: np.ndarray, *, closed: bool) -> list[_Segment]:
    n = len(points)
    pairs = list(range(n - 1)) + ([n - 1] if closed and n > 2 else [])
    return [
        (
            (float(points[i][0]), float(points[i][1])),
            (float(points[(i + 1) % n][0]), float(points[(i + 1) % n][1])),
        )
        for i in pairs
    ]


def _square(x: float, y: float) -> list[_Segment]:
    d = HANDLE_PX
    corners = [(x - d, y - d), (x + d, y - d), (x + d, y + d), (x - d, y + d)]
    return [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
