"""QPainter helpers shared by the dental views: polylines, dental outlines and measurements."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen

from cbctviewer.core.dental_outlines import COLOURS, Outline
from cbctviewer.core.geometry import Plane
from cbctviewer.core.measure_crossing import measurement_crossing
from cbctviewer.core.measure_text import value_text
from cbctviewer.core.measurements import Measurement, MeasurementKind

#: Colour of each canal side and of implants (those of the outlines in the four views).
CANAL_COLOURS = {side: QColor(COLOURS["canal"]) for side in ("left", "right")}
IMPLANT_COLOUR = QColor(COLOURS["implant"])
MEASURE_COLOUR = QColor(40, 200, 255)
#: The linked position (panoramic line, axial tick and dot, framed section) and the other sections' ticks.
MARKER_COLOUR = QColor(60, 255, 120)
TICK_COLOUR = QColor(90, 200, 255)

#: Kinds whose value is shown next to their label (cheap: no grey values needed).
_VALUE_KINDS = (
    MeasurementKind.DISTANCE,
    MeasurementKind.POLYLINE,
    MeasurementKind.ANGLE,
    MeasurementKind.PROFILE,
)

PlaneToWidget = Callable[[NDArray[np.float64]], list[QPointF]]


def polyline_path(points: Sequence[QPointF], *, closed: bool = False) -> QPainterPath:
    """A painter path through widget points."""
    path = QPainterPath()
    if not points:
        return path
    path.moveTo(points[0])
    for p in points[1:]:
        path.lineTo(p)
    if closed:
        path.closeSubpath()
    return path


def measure_label(m: Measurement) -> str:
    """The text drawn beside a measurement: its label, with its length or angle."""
    if m.kind in _VALUE_KINDS:
        return f"{m.label}  {value_text(m)}".strip()
    return m.label


def draw_label(painter: QPainter, anchor: QPointF, text: str, *, colour: QColor = MEASURE_COLOUR) -> None:
    """``text`` above-right of ``anchor`` on a dark backing, kept inside the painted widget."""
    metrics = QFontMetricsF(painter.font())
    box = metrics.boundingRect(text).adjusted(-2, -1, 2, 1)
    bounds = QRectF(painter.viewport())
    x = min(anchor.x() + 6, bounds.right() - box.width() - 2)
    y = max(anchor.y() - 6, bounds.top() + box.height())
    rect = box.translated(max(x, bounds.left() + 2), y)
    painter.fillRect(rect, QColor(0, 0, 0, 150))
    painter.setPen(colour)
    painter.drawText(QPointF(rect.left() + 2, y), text)


def paint_outlines(painter: QPainter, outlines: Iterable[Outline], to_widget: PlaneToWidget) -> None:
    """Draw dental outlines (2D polylines in plane mm) with ``to_widget`` mapping ``(k, 2)`` → widget."""
    for outline in outlines:
        points = np.asarray(outline.points, dtype=float)
        if points.ndim != 2 or len(points) == 0:
            continue
        painter.setPen(QPen(QColor(outline.colour), 2.0))
        widget = to_widget(points[:, :2])
        if len(widget) == 1:
            painter.drawEllipse(widget[0], 2.5, 2.5)
        else:
            painter.drawPath(polyline_path(widget, closed=outline.closed))


def paint_plane_measurements(
    painter: QPainter,
    measurements: Iterable[Measurement],
    plane: Plane,
    to_widget: PlaneToWidget,
    *,
    tolerance: float,
) -> None:
    """Measurements that lie in or cross ``plane``: drawn in full or marked where they cross."""
    painter.setPen(QPen(MEASURE_COLOUR, 2.0))
    for m in measurements:
        crossing = measurement_crossing(m, plane, tolerance=tolerance)
        if crossing.in_plane:
            widget = to_widget(crossing.uv)
            painter.drawPath(polyline_path(widget))
            for p in widget if len(widget) <= 8 else (widget[0], widget[-1]):  # a surface path: its ends
                painter.drawEllipse(p, 3.0, 3.0)
            if m.label and widget:
                draw_label(painter, widget[-1], measure_label(m))
                painter.setPen(QPen(MEASURE_COLOUR, 2.0))
        elif len(crossing.crossings):
            for p in to_widget(crossing.crossings):
                painter.drawEllipse(p, 4.0, 4.0)


def paint_rubber_band(painter: QPainter, points: Sequence[QPointF]) -> None:
    """A measurement being drawn: its clicks so far and the line to the cursor, dashed."""
    if not points:
        return
    painter.setPen(QPen(MEASURE_COLOUR, 1.5, Qt.PenStyle.DashLine))
    painter.drawPath(polyline_path(points))
    painter.setPen(QPen(MEASURE_COLOUR, 2.0))
    for p in points:
        painter.drawEllipse(p, 3.0, 3.0)
