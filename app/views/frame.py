"""A widget that shows frames rendered off-screen by VTK (numpy RGB) and an empty-state hint.

The views render with VTK into off-screen windows and this widget paints the pixels.
That works the same under Xvfb, on Wayland, over remote desktops and on any GPU (no
native GL window is embedded), and ``QWidget.grab()`` sees exactly what is on screen.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

EMPTY_HINT = (
    "No scan open\n\n"
    "File › Open folder… (Ctrl+O) or Open file… (Ctrl+Shift+O)\n"
    "or drop a folder, DICOMDIR, zip archive or DICOM file here"
)


class FrameWidget(QWidget):
    """Paints the last frame (``(h, w, 3)`` uint8) 1:1 in device pixels, or a hint text."""

    #: Emitted with ``(width, height)`` in device pixels when the widget is resized.
    viewport_changed = Signal(int, int)
    #: Emitted after a new frame has been painted on screen.
    frame_drawn = Signal()
    #: Double-click: maximise this view or restore the layout.
    maximise_toggled = Signal()
    #: The user pressed, scrolled or typed in this view (it becomes the active view).
    activated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 100)
        self._frame: NDArray[np.uint8] | None = None
        self._image: QImage | None = None
        self._new_frame = False
        self.hint = EMPTY_HINT
        self.border_colour: QColor | None = None
        self._active = False

    # -- frames -----------------------------------------------------------------------
    @property
    def frame(self) -> NDArray[np.uint8] | None:
        """The frame shown now (``(h, w, 3)`` uint8, row 0 on top) or ``None``."""
        return self._frame

    def set_frame(self, frame: NDArray[np.uint8] | None) -> None:
        """Show ``frame`` (kept by reference; it must not change afterwards)."""
        if frame is None:
            self._frame = self._image = None
        else:
            frame = np.ascontiguousarray(frame, dtype=np.uint8)
            height, width, _ = frame.shape
            image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
            image.setDevicePixelRatio(self.devicePixelRatioF())
            self._frame, self._image = frame, image  # the QImage borrows frame's buffer
            self._new_frame = True
        self.update()

    @property
    def active(self) -> bool:
        """The active view (keys, Export view, the 1+3 layout's large view) has a bright frame."""
        return self._active

    @active.setter
    def active(self, value: bool) -> None:
        if bool(value) != self._active:
            self._active = bool(value)
            self.update()

    def device_size(self) -> tuple[int, int]:
        """Widget size in device pixels (what the renderer should produce)."""
        ratio = self.devicePixelRatioF()
        return max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))

    # -- Qt -----------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.viewport_changed.emit(*self.device_size())

    def prepare_frame(self) -> None:
        """Hook: bring :attr:`frame` up to date right before painting (2D views render here)."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        self.prepare_frame()
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is not None:
            painter.drawImage(0, 0, self._image)
        else:
            self._paint_hint(painter)
        if self.border_colour is not None:
            colour = self.border_colour.lighter(190) if self._active else self.border_colour
            painter.setPen(colour)
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
            if self._active:
                painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        painter.end()
        if self._new_frame and self._image is not None:
            self._new_frame = False
            self.frame_drawn.emit()

    def _paint_hint(self, painter: QPainter) -> None:
        if not self.hint:
            return
        painter.setPen(QColor(170, 170, 170))
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        painter.setFont(font)
        painter.drawText(
            QRectF(self.rect()).adjusted(12, 12, -12, -12),
            int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
            self.hint,
        )
