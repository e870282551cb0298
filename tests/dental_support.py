"""Mouse, wheel and waiting helpers of the dental workspace's GUI tests."""

from __future__ import annotations

import time

import pytest
from app_support import wait_until
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from cbctviewer.app.dental.section_strip import SectionView
from cbctviewer.app.dental.workspace import DentalWorkspace

LEFT, RIGHT, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.NoButton


def pump(seconds: float = 0.05) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.005)


def mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF, button=LEFT, held=None) -> None:
    if held is None:
        held = NONE if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(
        kind, pos, QPointF(widget.mapToGlobal(pos)), button, held, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)


def click(widget: QWidget, pos: QPointF, button=LEFT) -> None:
    mouse(widget, QEvent.Type.MouseButtonPress, pos, button)
    mouse(widget, QEvent.Type.MouseButtonRelease, pos, button)


def hover(widget: QWidget, pos: QPointF) -> None:
    mouse(widget, QEvent.Type.MouseMove, pos, NONE, NONE)


def drag(widget: QWidget, start: QPointF, end: QPointF, steps: int = 6) -> None:
    mouse(widget, QEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        mouse(widget, QEvent.Type.MouseMove, start + (end - start) * (i / steps), NONE, LEFT)
    mouse(widget, QEvent.Type.MouseButtonRelease, end)


def wheel(widget: QWidget, notches: int) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def full_panoramic(ws: DentalWorkspace) -> None:
    """Wait until the full-quality panoramic of the current arch and settings is on screen."""
    wait_until(
        lambda: (
            ws.panoramic_image is not None
            and not ws.panoramic_view.preview
            and ws.panoramic_image.curve == ws.dental.arch
            and ws.panoramic_image.spec == ws.dental.panoramic
            and not ws.runner.busy
        ),
        30.0,
        "the panoramic",
    )
    pump(0.1)


def current_section_at(ws: DentalWorkspace, s_mm: float) -> SectionView:
    """Move the linked position to ``s_mm``; the strip's current section once it is on screen."""
    ws.dental.position_mm = s_mm
    wait_until(
        lambda: any(v.current and v.s_mm == pytest.approx(s_mm) for v in ws.strip.views), 10.0, "the strip"
    )
    pump(0.15)
    return next(v for v in ws.strip.views if v.current)
