"""What the panoramic view draws over the image.

:func:`paint_panoramic` draws, in this order: the arc-length ruler, the cross-section ticks
and the dashed linked-position marker, the canals (only their parts on the picture), the
implants as rectangles of their diameter, the measurements lying on the panoramic's surface,
the rubber band of a measurement being drawn, the scale bar and the slab caption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from cbctviewer.core.measurements import ROI_KINDS, MeasurementKind, roi_outline

from .overlay_paint import (
    CANAL_COLOURS,
    IMPLANT_COLOUR,
    MARKER_COLOUR,
    MEASURE_COLOUR,
    TICK_COLOUR,
    draw_label,
    measure_label,
    paint_rubber_band,
    polyline_path,
)
from .panoramic_measure import pixel_size

if TYPE_CHECKING:
    from cbctviewer.core.panoramic import PanoramicImage

    from .panoramic_view import PanoramicView

FloatArray = NDArray[np.float64]

__all__ = ["paint_panoramic"]


def paint_panoramic(view: PanoramicView, painter: QPainter) -> None:
    """Draw the panoramic view's overlays (see the module docstring)."""
    image = view.image
    if image is None:
        return
    rows = image.pixels.shape[0]
    _paint_ruler(view, painter, image)
    for s in view.ws.section_positions():
        col = view.col_of(s)
        top, bottom = view.image_to_widget(-0.5, col), view.image_to_widget(rows - 0.5, col)
        painter.setPen(QPen(TICK_COLOUR, 1.0))
        painter.drawLine(top, top + QPointF(0, 10))
        painter.drawLine(bottom, bottom - QPointF(0, 10))
    col = view.col_of(view.ws.dental.position_mm)
    painter.setPen(QPen(MARKER_COLOUR, 1.5, Qt.PenStyle.DashLine))
    painter.drawLine(view.image_to_widget(-0.5, col), view.image_to_widget(rows - 0.5, col))
    _paint_canals(view, painter)
    _paint_implants(view, painter, image)
    _paint_measurements(view, painter)
    if view.surface.clicks:
        paint_rubber_band(painter, view.pixels_to_widget(view.surface.rubber_band()))
    elif view.drawing_here():
        band = view.pixels_of(view.ws.main.measure.rubber_band())
        paint_rubber_band(painter, view.pixels_to_widget(band))
    view.paint_scale_bar(painter, top_right=True)
    painter.setPen(QColor(220, 220, 220))
    spec = image.spec
    text = f"Panoramic  slab {spec.slab_mm:g} mm {spec.slab_mode}  offset {spec.offset_mm:+g} mm"
    painter.drawText(QPointF(8, 16), text + ("  (preview)" if view.preview else ""))


def _paint_ruler(view: PanoramicView, painter: QPainter, image: PanoramicImage) -> None:
    """Arc-length ticks every 10 mm along the bottom edge."""
    rows = image.pixels.shape[0]
    painter.setPen(QPen(QColor(200, 200, 200), 1.0))
    for s in np.arange(0.0, float(image.s_mm[-1]) + 1e-6, 10.0):
        p = view.image_to_widget(rows - 0.5, view.col_of(float(s)))
        painter.drawLine(p, p - QPointF(0, 6))
        painter.drawText(p + QPointF(2, -8), f"{s:.0f}")


def _paint_runs(view: PanoramicView, painter: QPainter, rc: FloatArray) -> None:
    """A polyline, leaving out its parts off the image (above, below, beyond the ends)."""
    inside = view.pixels_on_image(rc)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        painter.drawPath(polyline_path(view.pixels_to_widget(rc[start:stop])))


def _paint_canals(view: PanoramicView, painter: QPainter) -> None:
    for side, canal in view.ws.dental.canals.items():
        points = np.asarray(canal.points)
        line = canal.centreline(0.5) if len(points) >= 2 else points
        rc = view.pixels_of(line, ("canal", side, points.tobytes()))
        painter.setPen(QPen(CANAL_COLOURS.get(side, QColor(255, 80, 80)), 2.0))
        _paint_runs(view, painter, rc)
        handles = view.pixels_of(points, ("canal-points", side, points.tobytes()))
        for p in view.pixels_to_widget(handles[view.pixels_on_image(handles)]):
            painter.drawEllipse(p, 3.0, 3.0)


def _paint_implants(view: PanoramicView, painter: QPainter, image: PanoramicImage) -> None:
    """Each implant as the rectangle its diameter covers along the arch."""
    per_mm_col = 1.0 / pixel_size(image)[0]
    painter.setPen(QPen(IMPLANT_COLOUR, 2.0))
    for implant in view.ws.dental.implants.values():
        ends = np.array([implant.shoulder, implant.apex], dtype=float)
        rc = view.pixels_of(ends, ("implant", implant.id, ends.tobytes(), implant.diameter_mm))
        half = implant.radius_mm * per_mm_col
        (r0, c0), (r1, c1) = rc
        corners = [(r0, c0 - half), (r0, c0 + half), (r1, c1 + half), (r1, c1 - half)]
        painter.drawPath(polyline_path(view.pixels_to_widget(np.array(corners)), closed=True))


def _paint_measurements(view: PanoramicView, painter: QPainter) -> None:
    """Measurements drawn on the panoramic (they lie on its surface)."""
    mset = view.ws.main.measure.measurements
    if mset is None:
        return
    reshaping = view.surface.reshaping
    painter.setPen(QPen(MEASURE_COLOUR, 2.0))
    for m in mset:
        drawn = view.surface.drawn(m)
        if drawn is None:
            continue
        rc, vertex_pixels = drawn
        reshaped = reshaping is not None and reshaping[0] == m.id
        if reshaping is not None and reshaped:
            vertex_pixels = reshaping[1]
        if vertex_pixels is not None and (reshaped or m.kind == MeasurementKind.ANGLE):
            rc = np.asarray(vertex_pixels, dtype=float)  # straight on the panoramic
        closed = m.kind in ROI_KINDS
        rc_line = rc
        if closed and m.plane is not None:
            uv = roi_outline(m, n=64)
            outline = m.plane.to_patient(np.column_stack([uv, np.zeros(len(uv))]))
            rc_line = view.pixels_of(outline, ("roi", m.id, m.array.tobytes()))
        widget = view.pixels_to_widget(rc_line)
        painter.drawPath(polyline_path(widget, closed=closed))
        ends = view.pixels_to_widget(vertex_pixels if vertex_pixels is not None else rc)
        for p in ends if vertex_pixels is not None or len(ends) <= 8 else (ends[0], ends[-1]):
            painter.drawEllipse(p, 3.0, 3.0)
        if m.label:
            draw_label(painter, widget[-1], measure_label(m))
            painter.setPen(QPen(MEASURE_COLOUR, 2.0))
