"""QPainter helpers shared by the dental views: polylines, dental outlines and measurements."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from cbctviewer.core.geometry import Plane
from cbctviewer.core.measure_crossing import measurement_crossing
from cbctviewer.core.measurements import Measurement

#: Colour of each canal side (as the outlines of :mod:`cbctviewer.core.dental_outlines`).
CANAL_COLOURS = {"left": QColor("#ffd21f"), "right": QColor("#ffd21f")}
IMPLANT_COLOUR = QColor("#3fd0ff")
MEASURE_COLOUR = QColor(40, 200, 255)

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


def outline_colour(outline: Any) -> QColor:
    """The colour of a dental outline (its colour name, else by kind and side)."""
    name = str(getattr(outline, "colour", "") or getattr(outline, "color", ""))
    if name and QColor.isValidColorName(name):
        return QColor(name)
    kind = str(getattr(outline, "kind", ""))
    if "implant" in kind:
        return IMPLANT_COLOUR
    side = "left" if "left" in kind else "right"
    return CANAL_COLOURS[side]


def paint_outlines(painter: QPainter, outlines: Iterable[Any], to_widget: PlaneToWidget) -> None:
    """Draw dental outlines (2D polylines in plane mm) with ``to_widget`` mapping ``(k, 2)`` → widget."""
    for outline in outlines:
        points = np.asarray(getattr(outline, "points", ()), dtype=float)
        if points.ndim != 2 or len(points) == 0:
            continue
        painter.setPen(QPen(outline_colour(outline), 2.0))
        widget = to_widget(points[:, :2])
        if len(widget) == 1:
            painter.drawEllipse(widget[0], 2.5, 2.5)
        else:
            painter.drawPath(polyline_path(widget, closed=bool(getattr(outline, "closed", False))))


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
            for p in widget:
                painter.drawEllipse(p, 3.0, 3.0)
            if m.label and widget:
                painter.drawText(widget[-1] + QPointF(6, -6), m.label)
        elif len(crossing.crossings):
            for p in to_widget(crossing.crossings):
                painter.drawEllipse(p, 4.0, 4.0)
