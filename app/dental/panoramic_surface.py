"""Distances, polylines and angles drawn on the panoramic view, along the arch surface.

:class:`SurfaceDrawing` belongs to a :class:`~.panoramic_view.PanoramicView`: it collects
the clicks of the surface tools (:data:`~.panoramic_measure.SURFACE_TOOLS`) as panoramic
pixels, shows them as a rubber band, and makes the measurement when the last one comes
(:mod:`.panoramic_measure` turns the pixels into patient points). It remembers the drawn
vertices as ``(s, h)`` mm so that a polyline or angle keeps its drawn corners and can be
reshaped by dragging them (handles of kind ``"surface"``), each whole drag one undo step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.measurements import Measurement, MeasurementKind

from .handles import Handle
from .panoramic_measure import (
    ANGLE_HINT,
    PANORAMIC_NOTE,
    Pixel,
    angle_pixels,
    angle_points,
    is_single_segment,
    path_length,
    project_onto,
    surface_polyline,
    to_arc,
    to_pixel,
)

if TYPE_CHECKING:
    from .panoramic_view import PanoramicView

FloatArray = NDArray[np.float64]

#: The status-bar reminder while a distance or polyline is drawn on the panoramic.
PANORAMIC_HINT = "On the panoramic, lengths follow the arch (true length along the curved surface)"
#: Clicks that complete a tool (a polyline ends with a double-click or Enter instead).
_NEEDED = {MeasurementKind.DISTANCE: 2, MeasurementKind.ANGLE: 3}

#: ``(row, col)`` of a measurement's points on the panoramic and its draggable drawn
#: vertices (None: only its points are handles).
DrawnMeasurement = tuple[FloatArray, list[Pixel] | None]

__all__ = ["PANORAMIC_HINT", "SurfaceDrawing", "surface_summary"]


def surface_summary(m: Measurement) -> str:
    """The status-bar text of a measurement drawn on the panoramic: its length or angle."""
    if m.kind == MeasurementKind.ANGLE:
        a, v, b = m.array
        cos = np.dot(a - v, b - v) / max(np.linalg.norm(a - v) * np.linalg.norm(b - v), 1e-12)
        return f"{m.label}: {np.degrees(np.arccos(np.clip(cos, -1, 1))):.1f}°. {ANGLE_HINT}"
    return f"{m.label}: {path_length(m.array):.1f} mm along the arch"


class SurfaceDrawing:
    """The surface tools' clicks and drawn vertices of one panoramic view."""

    def __init__(self, view: PanoramicView) -> None:
        self.view = view
        #: Clicks so far of a distance, polyline or angle being drawn (pixels), and the cursor.
        self.clicks: list[Pixel] = []
        self.hover_pixel: Pixel | None = None
        #: Drawn vertices ``(s, h)`` of the surface measurements made here, by id.
        self.vertices: dict[str, list[Pixel]] = {}
        #: A surface measurement's vertices while one of them is dragged: ``(id, pixels)``.
        self.reshaping: tuple[str, list[Pixel]] | None = None
        self._on_surface: dict[object, bool] = {}
        self._straight: dict[object, bool] = {}

    def new_image(self) -> None:
        """Forget what was found on the previous panoramic (the ``(s, h)`` vertices stay valid)."""
        self._on_surface, self._straight = {}, {}

    # -- drawing --------------------------------------------------------------------------
    def click(self, row: float, col: float) -> None:
        """A click of the active surface tool at panoramic pixel ``(row, col)``."""
        view = self.view
        tool = view.ws.main.measure.tool
        self.clicks.append((row, col))
        self.hover_pixel = None
        needed = _NEEDED.get(tool)  # type: ignore[arg-type]
        if needed is not None and len(self.clicks) >= needed:
            self._commit()
            return
        if tool == MeasurementKind.ANGLE:
            text = ("Click the vertex", "Click the second arm's end")[len(self.clicks) - 1]
            view.hint_message.emit(f"{text}. {ANGLE_HINT}")
        elif tool == MeasurementKind.POLYLINE:
            view.hint_message.emit(f"Click the next point (double-click or Enter ends). {PANORAMIC_HINT}")
        else:
            view.hint_message.emit(f"Click the end of the distance. {PANORAMIC_HINT}")
        view.update()

    def hover(self, pixel: Pixel) -> None:
        """The cursor moved while drawing: stretch the rubber band to ``pixel``."""
        self.hover_pixel = pixel
        self.view.update()

    def rubber_band(self) -> list[Pixel]:
        """The clicks so far and the cursor (pixels)."""
        return [*self.clicks, *([self.hover_pixel] if self.hover_pixel is not None else [])]

    def drop(self) -> None:
        """Forget a line being drawn (tool changed, Esc, new panoramic)."""
        if self.clicks:
            self.clicks, self.hover_pixel = [], None
            self.view.update()

    def finish(self) -> bool:
        """Double-click or Enter: end a polyline being drawn (False: none is)."""
        if self.clicks and self.view.ws.main.measure.tool == MeasurementKind.POLYLINE:
            if len(self.clicks) >= 2:
                self._commit()
            return True
        return False

    def _commit(self) -> None:
        view = self.view
        clicks, tool = list(self.clicks), view.ws.main.measure.tool
        self.drop()
        mset = view.ws.main.measure.measurements
        if view.image is None or mset is None:
            return
        kind = MeasurementKind.ANGLE if tool == MeasurementKind.ANGLE else MeasurementKind.POLYLINE
        measurement = Measurement.create(kind, self._points(kind, clicks), note=PANORAMIC_NOTE)
        measurement = mset.add(measurement)
        self.vertices[measurement.id] = [to_arc(view.image, p) for p in clicks]
        view.hint_message.emit(surface_summary(measurement))

    def _points(self, kind: MeasurementKind, pixels: list[Pixel]) -> FloatArray:
        image = self.view.image
        assert image is not None
        if kind == MeasurementKind.ANGLE:
            return angle_points(image, pixels)
        return surface_polyline(image, pixels)

    # -- what is drawn where --------------------------------------------------------------
    def drawn(self, m: Measurement) -> DrawnMeasurement | None:
        """``(row, col)`` of a measurement on the panoramic and its drawn vertices (surface
        kinds), or None when it does not lie on the panoramic's surface."""
        view, image = self.view, self.view.image
        assert image is not None
        points = m.array
        key = ("m", m.id, points.tobytes())
        surface = m.note == PANORAMIC_NOTE and m.kind in (MeasurementKind.POLYLINE, MeasurementKind.ANGLE)
        on_surface = self._on_surface.get(key)
        if on_surface is None:
            probe = (
                points[1:2]
                if surface and m.kind == MeasurementKind.ANGLE
                else points[:: max(1, len(points) // 8)]
            )
            offsets = project_onto(image, probe)[2]
            off = np.max(np.abs(offsets - image.spec.offset_mm)) > image.spec.slab_mm / 2 + 1.0
            on_surface = self._on_surface[key] = not off
        if not on_surface:
            return None
        rc = view.pixels_of(points, key)
        if not surface:
            return rc, None
        known = self.vertices.get(m.id)
        if m.kind == MeasurementKind.ANGLE:
            vertex = to_pixel(image, known[1]) if known else (float(rc[1, 0]), float(rc[1, 1]))
            return rc, angle_pixels(image, points, vertex)
        if known is not None:
            return rc, [to_pixel(image, p) for p in known]
        ends = [(float(rc[0, 0]), float(rc[0, 1])), (float(rc[-1, 0]), float(rc[-1, 1]))]
        straight = self._straight.get(key)
        if straight is None:  # a path saved before: draggable by its ends if drawn in one stroke
            straight = self._straight[key] = is_single_segment(image, points, ends)
        return rc, ends if straight else None

    # -- reshaping ------------------------------------------------------------------------
    def reshape(self, handle: Handle, pixel: Pixel) -> None:
        """Show a surface measurement with its drawn vertex ``handle.index`` dragged to ``pixel``."""
        mset = self.view.ws.main.measure.measurements
        drawn = self.drawn(mset.get(handle.key)) if mset is not None and handle.key in mset else None
        if drawn is None or drawn[1] is None:
            return
        pixels = list(self.reshaping[1]) if self.reshaping else list(drawn[1])
        pixels[handle.index] = pixel
        self.reshaping = (handle.key, pixels)
        self.view.update()

    def finish_reshape(self) -> None:
        """The drag ended: replace the measurement by the reshaped one (one undo step)."""
        view = self.view
        reshaped, self.reshaping = self.reshaping, None
        mset = view.ws.main.measure.measurements
        if reshaped is None or mset is None or reshaped[0] not in mset or view.image is None:
            return
        old = mset.get(reshaped[0])
        points = self._points(old.kind, reshaped[1])
        new = mset.replace(old.id, Measurement.create(old.kind, points, note=PANORAMIC_NOTE))
        self.vertices[new.id] = [to_arc(view.image, p) for p in reshaped[1]]
        view.ws.main.measure.select(new.id)
        view.hint_message.emit(surface_summary(new))
