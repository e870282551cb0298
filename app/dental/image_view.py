"""A QWidget that paints a calibrated grey image (numpy) with window/level, zoom and overlays.

The dental views (axial with the arch, panoramic, cross-sections) are small images sampled
headlessly; this widget shows one fitted into its rectangle with the aspect ratio of its
pixel size in mm, maps widget positions to fractional image pixels ``(row, col)`` and back,
and leaves the overlays (curve, ticks, markers, outlines) and the mouse meaning to
subclasses. Ctrl+wheel zooms about the cursor; a double click resets the zoom.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from cbctviewer.core.window_level import WindowLevel

#: Zoom factor per Ctrl+wheel notch.
ZOOM_PER_NOTCH = 1.15


def grey_image(pixels: NDArray[np.generic], window: WindowLevel) -> NDArray[np.uint8]:
    """Grey values mapped through ``window`` to 0…255 (NaN, i.e. outside the scan, is black)."""
    scaled = (np.asarray(pixels, dtype=np.float32) - np.float32(window.lower)) * np.float32(
        255.0 / window.width
    )
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.ascontiguousarray(np.clip(scaled, 0.0, 255.0).astype(np.uint8))


class CalibratedImageView(QWidget):
    """Shows a ``(rows, cols)`` grey image whose pixels are ``pixel_mm = (dx, dy)`` mm wide/high."""

    #: Emitted after a new image has been painted.
    image_drawn = Signal()
    #: A hint for the status bar.
    hint_message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(80, 80)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixels: NDArray[np.generic] | None = None
        self.pixel_mm = (1.0, 1.0)
        self.grey_window = WindowLevel(1000.0, 3000.0)
        self.hint = ""
        self.zoom = 1.0
        #: Image position ``(row, col)`` shown at the widget centre when zoomed (None: fit).
        self._centre: tuple[float, float] | None = None
        self._qimage: QImage | None = None
        self._grey: NDArray[np.uint8] | None = None
        self._new_image = False

    # -- content --------------------------------------------------------------------------
    def set_image(self, pixels: NDArray[np.generic] | None, *, pixel_mm: tuple[float, float]) -> None:
        """Show ``pixels`` (row 0 at the top); ``pixel_mm`` = (column spacing, row spacing) in mm."""
        self.pixels = pixels
        self.pixel_mm = (float(pixel_mm[0]), float(pixel_mm[1]))
        self._refresh()

    def set_window(self, window: WindowLevel) -> None:
        """Change the grey-value window."""
        self.grey_window = window
        self._refresh()

    def _refresh(self) -> None:
        if self.pixels is None or self.pixels.size == 0:
            self._qimage = self._grey = None
        else:
            grey = grey_image(self.pixels, self.grey_window)
            rows, cols = grey.shape
            self._grey = grey  # the QImage borrows this buffer
            self._qimage = QImage(grey.data, cols, rows, cols, QImage.Format.Format_Grayscale8)
        self._new_image = True
        self.update()

    # -- mapping --------------------------------------------------------------------------
    def _scale(self) -> float:
        """Widget pixels per mm."""
        if self.pixels is None:
            return 1.0
        rows, cols = self.pixels.shape[:2]
        dx, dy = self.pixel_mm
        fit = min(self.width() / max(cols * dx, 1e-9), self.height() / max(rows * dy, 1e-9))
        return fit * self.zoom

    def _centre_pixel(self) -> tuple[float, float]:
        if self._centre is not None:
            return self._centre
        if self.pixels is None:
            return (0.0, 0.0)
        rows, cols = self.pixels.shape[:2]
        return ((rows - 1) / 2.0, (cols - 1) / 2.0)

    def image_to_widget(self, row: float, col: float) -> QPointF:
        """Widget position of fractional image pixel ``(row, col)`` (integers = pixel centres)."""
        scale = self._scale()
        c_row, c_col = self._centre_pixel()
        dx, dy = self.pixel_mm
        return QPointF(
            self.width() / 2.0 + (col - c_col) * dx * scale, self.height() / 2.0 + (row - c_row) * dy * scale
        )

    def widget_to_image(self, position: QPointF) -> tuple[float, float]:
        """Fractional image pixel ``(row, col)`` under a widget position."""
        scale = self._scale()
        c_row, c_col = self._centre_pixel()
        dx, dy = self.pixel_mm
        col = c_col + (position.x() - self.width() / 2.0) / (dx * scale)
        row = c_row + (position.y() - self.height() / 2.0) / (dy * scale)
        return row, col

    def widget_per_mm(self) -> float:
        """Widget pixels per millimetre at the current zoom."""
        return self._scale()

    def contains_pixel(self, row: float, col: float) -> bool:
        """Whether ``(row, col)`` lies on the image."""
        if self.pixels is None:
            return False
        rows, cols = self.pixels.shape[:2]
        return -0.5 <= row <= rows - 0.5 and -0.5 <= col <= cols - 0.5

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._qimage is not None and self.pixels is not None:
            rows, cols = self.pixels.shape[:2]
            top_left = self.image_to_widget(-0.5, -0.5)
            bottom_right = self.image_to_widget(rows - 0.5, cols - 0.5)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(top_left, bottom_right), self._qimage)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self.paint_overlay(painter)
        elif self.hint:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(
                QRectF(self.rect()).adjusted(8, 8, -8, -8),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self.hint,
            )
        painter.end()
        if self._new_image and self._qimage is not None:
            self._new_image = False
            self.image_drawn.emit()

    def paint_overlay(self, painter: QPainter) -> None:
        """Hook: draw overlays in widget coordinates (use :meth:`image_to_widget`)."""

    def paint_scale_bar(
        self, painter: QPainter, *, colour: QColor | None = None, top_right: bool = False
    ) -> None:
        """A 10 mm (or 5/20/50 mm, whichever fits) calibrated bar in the bottom-left corner."""
        per_mm = self._scale()
        length_mm = next((mm for mm in (5.0, 10.0, 20.0, 50.0) if mm * per_mm >= 40), 50.0)
        x0, y0 = 10.0, self.height() - 12.0
        if top_right:
            x0, y0 = self.width() - 14.0 - length_mm * per_mm, 24.0
        painter.setPen(colour or QColor(255, 255, 255))
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + length_mm * per_mm, y0))
        for x in (x0, x0 + length_mm * per_mm):
            painter.drawLine(QPointF(x, y0 - 4), QPointF(x, y0 + 2))
        painter.drawText(QPointF(x0, y0 - 6), f"{length_mm:g} mm")

    # -- zoom -----------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        notches = (event.angleDelta().y() or event.angleDelta().x()) / 120.0
        if notches == 0:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.pixels is not None:
            self.zoom_about(event.position(), ZOOM_PER_NOTCH**notches)
        else:
            self.wheel_notches(notches, event)
        event.accept()

    def zoom_about(self, position: QPointF, factor: float) -> None:
        """Zoom by ``factor`` keeping the image point under ``position`` in place."""
        anchor = self.widget_to_image(position)
        self.zoom = float(min(max(self.zoom * factor, 0.5), 20.0))
        scale = self._scale()
        dx, dy = self.pixel_mm
        self._centre = (
            anchor[0] - (position.y() - self.height() / 2.0) / (dy * scale),
            anchor[1] - (position.x() - self.width() / 2.0) / (dx * scale),
        )
        self.update()

    def reset_zoom(self) -> None:
        """Fit the whole image again."""
        self.zoom, self._centre = 1.0, None
        self.update()

    def wheel_notches(self, notches: float, event: QWheelEvent) -> None:
        """Hook: the wheel turned without Ctrl (positive = away from the user)."""

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.reset_zoom()
        event.accept()
