"""Helpers of the GUI tests: wait for the views to repaint, read back what is on screen."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QWidget

from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.view_state import ViewerState

# PySide6 6.12.0 on Python 3.11 drops a reference to None per void call (QTest, update()...):
# guard the whole test session as soon as the GUI tests are collected.


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.005)


def settle(window: MainWindow, *, with_3d: bool = False) -> None:
    """Process events until every visible view has painted the model's current state."""

    def done() -> bool:
        views = window.grid.slices.values()
        return not any(v.is_stale for v in views) and not (with_3d and window.grid.volume.is_stale)

    wait_until(done, what="the views to repaint")
    for _ in range(3):  # let the backing store reach the X server
        QApplication.processEvents()
        time.sleep(0.01)


def grab(widget: QWidget) -> np.ndarray:
    """The widget's pixels as shown on screen (RGB, row 0 on top)."""
    window = widget.window()
    corner = widget.mapTo(window, QPoint(0, 0))
    screen = window.screen() or QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(window.winId(), corner.x(), corner.y(), widget.width(), widget.height())
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return raw[:, : 3 * width].reshape(height, width, 3).copy()


def patch(image: np.ndarray, row: float, col: float, radius: int = 1) -> float:
    """Mean grey of a small square around ``(row, col)``."""
    r, c = round(row), round(col)
    grey = image[r - radius : r + radius + 1, c - radius : c + radius + 1].mean(axis=2)
    return float(grey.mean())


def open_phantom(win: MainWindow, path: Path) -> None:
    """Open ``path`` in ``win`` through the real scan/load workers and wait until it is shown."""
    opened: list[bool] = []

    def mark() -> None:
        opened.append(True)

    win.case_opened.connect(mark)
    win.open_path(path)
    wait_until(lambda: bool(opened), 60.0, "the phantom to open")
    win.case_opened.disconnect(mark)  # only ours: installed features keep their slots
    settle(win)


@contextmanager
def phantom_window(path: Path) -> Iterator[MainWindow]:
    """A 1400×900 main window showing ``path``; closed and deleted afterwards."""
    win = MainWindow(ViewerState(), recent=None)
    win.resize(1400, 900)
    win.show()
    try:
        open_phantom(win, path)
        yield win
    finally:
        win.close()
        win.deleteLater()
        QApplication.processEvents()
