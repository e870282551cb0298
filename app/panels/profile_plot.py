"""A line profile as a small plot: grey value against millimetres along the line.

Painted with QPainter (QtCharts is not part of PySide6-Essentials). :func:`nice_ticks`
chooses round tick values and is pure, so it is tested without a display.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["CURVE_COLOUR", "ProfilePlot", "nice_ticks"]

#: The curve (the measurement colour of the views, so the two read as one thing).
CURVE_COLOUR = QColor.fromRgbF(0.2, 0.9, 1.0)
_BACKGROUND = QColor(24, 24, 24)
_AXES = QColor(170, 170, 170)
_GRID = QColor(60, 60, 60)


def nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2 or 5 × 10ⁿ apart) covering ``low``…``high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    candidates = [m * magnitude * f for f in (0.1, 1.0, 10.0) for m in (1.0, 2.0, 5.0)]

    def misfit(step: float) -> tuple[int, float]:
        n = math.floor(high / step + 1e-9) - math.ceil(low / step - 1e-9) + 1
        return abs(n - count), -step  # the nearest count; on a tie the rounder, larger step

    step = min(candidates, key=misfit)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9 * step:
        ticks.append(round(value, 10) + 0.0)
        value += step
    return ticks


class ProfilePlot(QWidget):
    """Grey value (vertical) against position along the line in mm (horizontal)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profile_plot")
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.positions = np.empty(0)
        self.values = np.empty(0)
        self.title = ""

    def set_profile(self, positions: ArrayLike, values: ArrayLike, *, title: str = "") -> None:
        """Show a profile (``positions`` mm from the start, grey ``values``)."""
        self.positions = np.asarray(positions, dtype=float).reshape(-1)
        self.values = np.asarray(values, dtype=float).reshape(-1)
        self.title = title
        self.update()

    def clear(self) -> None:
        self.set_profile(np.empty(0), np.empty(0))

    def plot_area(self) -> QRectF:
        """Where the curve is drawn (widget pixels): room left and below for the tick labels."""
        metrics = self.fontMetrics()
        left = metrics.horizontalAdvance("-0000") + 8
        top = metrics.height() + 4
        bottom = 2 * metrics.height() + 6
        return QRectF(left, top, max(self.width() - left - 8, 1), max(self.height() - top - bottom, 1))

    def to_pixel(self, position: float, value: float) -> QPointF:
        """Widget pixel of a profile sample (what the painter uses)."""
        area = self.plot_area()
        (x0, x1), (y0, y1) = self._ranges()
        x = area.left() + (position - x0) / (x1 - x0) * area.width()
        y = area.bottom() - (value - y0) / (y1 - y0) * area.height()
        return QPointF(x, y)

    def _ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        finite = np.isfinite(self.values)
        if not finite.any():
            return (0.0, 1.0), (0.0, 1.0)
        x1 = float(self.positions[-1]) if len(self.positions) and self.positions[-1] > 0 else 1.0
        lo, hi = float(self.values[finite].min()), float(self.values[finite].max())
        pad = max(0.05 * (hi - lo), 1.0)
        return (0.0, x1), (lo - pad, hi + pad)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        metrics = self.fontMetrics()
        if not np.isfinite(self.values).any():
            painter.setPen(_AXES)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Select a line profile")
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self.plot_area()
        (x0, x1), (y0, y1) = self._ranges()
        painter.setPen(QPen(_GRID, 1))
        for tick in nice_ticks(y0, y1):
            p = self.to_pixel(x0, tick)
            painter.drawLine(QPointF(area.left(), p.y()), QPointF(area.right(), p.y()))
            painter.setPen(_AXES)
            label = f"{tick:.0f}"
            painter.drawText(
                QRectF(0, p.y() - metrics.height() / 2, area.left() - 4, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            painter.setPen(QPen(_GRID, 1))
        painter.setPen(_AXES)
        for tick in nice_ticks(x0, x1):
            p = self.to_pixel(tick, y0)
            painter.drawLine(QPointF(p.x(), area.bottom()), QPointF(p.x(), area.bottom() + 4))
            painter.drawText(
                QRectF(p.x() - 30, area.bottom() + 4, 60, metrics.height()),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                f"{tick:g}",
            )
        painter.drawRect(area)
        painter.drawText(
            QRectF(area.left(), area.bottom() + 4 + metrics.height(), area.width(), metrics.height()),
            Qt.AlignmentFlag.AlignHCenter,
            "mm along the line",
        )
        if self.title:
            painter.drawText(
                QRectF(area.left(), 0, area.width(), area.top()), Qt.AlignmentFlag.AlignLeft, self.title
            )
        painter.setPen(QPen(CURVE_COLOUR, 1.5))
        curve = QPolygonF()
        for x, v in zip(self.positions, self.values, strict=True):
            if np.isfinite(v):
                curve.append(self.to_pixel(float(x), float(v)))
            elif curve.size():
                painter.drawPolyline(curve)
                curve = QPolygonF()
        if curve.size():
            painter.drawPolyline(curve)
        painter.end()
