"""Save what the user sees as a PNG picture.

Both functions write atomically (a crash never leaves half a picture) and never choose
the folder themselves: the caller passes the path the user picked. Never default the
save dialog to the folder the scan came from (it may be a read-only disc or the
clinic's archive).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPixmap
from PySide6.QtWidgets import QWidget

from cbctviewer.io.atomic import write_bytes_atomic

#: Platforms whose QScreen.grabWindow cannot read pixels (no window system).
_NO_SCREEN_GRAB = frozenset({"offscreen", "minimal", "vnc"})


def export_view_png(image: np.ndarray, path: Path) -> Path:
    """Write an RGB image as a PNG file.

    Parameters
    ----------
    image : numpy.ndarray
        ``(height, width, 3)`` uint8 RGB, e.g. a view rendered off-screen.
    path : Path
        Destination; ``.png`` is appended when the name has another or no suffix.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        ``image`` is not ``(height, width, 3)`` uint8 or is empty.
    OSError
        The file could not be written (an existing file is left unchanged).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
        raise ValueError(f"expected a (height, width, 3) uint8 image, got {image.shape} {image.dtype}")
    rgb = np.ascontiguousarray(image)
    height, width = rgb.shape[:2]
    qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return _write_png(qimage, path)


def grab_window_png(widget: QWidget, path: Path) -> Path:
    """Save a screenshot of a widget as shown on the screen, as a PNG file.

    Uses :meth:`QScreen.grabWindow` on the widget's area of its top-level window, because
    :meth:`QWidget.grab` re-renders the widget and misses pixels drawn by OpenGL (VTK
    views). Falls back to :meth:`QWidget.grab` when the window system cannot be read
    (offscreen platform, hidden widget) or the screen grab comes back empty.

    Parameters
    ----------
    widget : QWidget
        The widget to capture (a view, a panel, or a whole window).
    path : Path
        Destination; ``.png`` is appended when the name has another or no suffix.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OSError
        The picture could not be taken or written.
    """
    pixmap = _screen_grab(widget)
    if pixmap is None or pixmap.isNull():
        pixmap = widget.grab()
    if pixmap.isNull():
        raise OSError("The window could not be captured.")
    return _write_png(pixmap.toImage(), path)


def _screen_grab(widget: QWidget) -> QPixmap | None:
    if QGuiApplication.platformName() in _NO_SCREEN_GRAB or not widget.isVisible():
        return None
    window = widget.window()
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return None
    # The widget's area of its top-level (native) window: asking a child widget for its
    # winId() would turn it into a native window, which changes how it is drawn.
    corner = widget.mapTo(window, QPoint(0, 0)) if widget is not window else QPoint(0, 0)
    pixmap = screen.grabWindow(window.winId(), corner.x(), corner.y(), widget.width(), widget.height())
    return None if pixmap.isNull() else pixmap


def _write_png(image: QImage, path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_name(path.name + ".png")
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    ok = writer.write(image)
    buffer.close()
    if not ok:
        raise OSError(f"The picture could not be encoded as PNG ({writer.errorString()}).")
    return write_bytes_atomic(path, bytes(data.data()))
