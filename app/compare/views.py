"""The compare workspace's views: a slice view with click routing and markers, and the overlay view.

:class:`CompareSliceWidget` is a :class:`SliceViewWidget` whose left clicks can be handed to
the compare tools (landmarks, re-measuring, a region box dragged on the view) and which
paints landmark markers and the region box over its frame. :class:`OverlayWidget` combines
the baseline and follow-up views' images with :mod:`cbctviewer.rendering.compare_overlay`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from cbctviewer.core.registration import box_corners
from cbctviewer.core.view_state import ViewerState
from cbctviewer.rendering.compare_overlay import (
    OverlayMode,
    blend_rgb,
    checkerboard_rgb,
    difference_rgb,
    flicker_rgb,
)
from cbctviewer.rendering.slice_view import SliceView

from ..views.frame import FrameWidget
from ..views.slice_widget import SliceViewWidget

#: A marker drawn over a view: patient point (the view's frame), colour, text.
Marker = tuple[NDArray[np.float64], QColor, str]
LANDMARK_COLOUR = QColor(80, 220, 255)
PENDING_COLOUR = QColor(255, 200, 0)
REGION_COLOUR = QColor(120, 255, 120)


class CompareSliceWidget(SliceViewWidget):
    """A slice view of the compare workspace (baseline or follow-up)."""

    #: Left click with a compare tool on: the patient point (this view's frame, on its plane).
    tool_click = Signal(object)
    #: A region box dragged in ``region`` mode: two patient points (opposite corners on the plane).
    region_dragged = Signal(object, object)

    def __init__(self, state: ViewerState, view: SliceView, parent: QWidget | None = None) -> None:
        super().__init__(state, view, parent)
        self.tool: str | None = None  # None, "click" or "region"
        self.markers: list[Marker] = []
        self.region: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self._region_start: QPointF | None = None
        self._region_now: QPointF | None = None
        self.measure_point.connect(self.tool_click)

    def set_tool(self, tool: str | None) -> None:
        """``"click"``: left clicks emit :attr:`tool_click`; ``"region"``: drag a box; ``None``: navigate."""
        self.tool = tool
        self.measure_mode = tool == "click"
        self._region_start = self._region_now = None
        self.update()

    def set_markers(self, markers: list[Marker]) -> None:
        self.markers = markers
        self.update()

    def set_region(self, region: tuple[NDArray[np.float64], NDArray[np.float64]] | None) -> None:
        self.region = region
        self.update()

    # -- region drag --------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if (
            self.tool == "region"
            and event.button() == Qt.MouseButton.LeftButton
            and self.state.volume is not None
        ):
            self._region_start = self._region_now = event.position()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._region_start is not None:
            self._region_now = event.position()
            self.update()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._region_start is not None:
            start, end = self._region_start, event.position()
            self._region_start = self._region_now = None
            geometry = self.state.slice_geometry(self.kind)
            a = geometry.pixel_to_patient(self._pixel(start)[::-1])
            b = geometry.pixel_to_patient(self._pixel(end)[::-1])
            self.region_dragged.emit(a, b)
            self.update()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- painting -----------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.state.volume is None or not (self.markers or self.region is not None or self._region_start):
            return
        geometry = self.state.slice_geometry(self.kind)
        ratio = self.devicePixelRatioF()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for point, colour, text in self.markers:
            row, col = geometry.patient_to_pixel(point)
            depth = abs(float(geometry.depth(point)))
            at = QPointF(col / ratio, row / ratio)
            pen = QPen(
                colour,
                2.0 if depth < 1.0 else 1.0,
                Qt.PenStyle.SolidLine if depth < 1.0 else Qt.PenStyle.DotLine,
            )
            painter.setPen(pen)
            painter.drawEllipse(at, 6.0, 6.0)
            painter.drawLine(at + QPointF(-9, 0), at + QPointF(-3, 0))
            painter.drawLine(at + QPointF(3, 0), at + QPointF(9, 0))
            painter.drawText(at + QPointF(8, -8), text)
        if self.region is not None:
            pixels = np.array([geometry.patient_to_pixel(c) for c in box_corners(*self.region)]) / ratio
            (top, left), (bottom, right) = pixels.min(axis=0), pixels.max(axis=0)
            painter.setPen(QPen(REGION_COLOUR, 1.5, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(left, top, right - left, bottom - top))
        if self._region_start is not None and self._region_now is not None:
            painter.setPen(QPen(REGION_COLOUR, 1.5))
            painter.drawRect(QRectF(self._region_start, self._region_now).normalized())
        painter.end()


class OverlayWidget(FrameWidget):
    """Blend, checkerboard, difference or flicker of two views that share their geometry."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare_overlay")
        self.hint = "Open a follow-up scan to compare"
        self.mode = OverlayMode.BLEND
        self.opacity = 0.5
        self.square_mm = 5.0
        self.difference_limit = 1000.0
        self.flicker_phase = False
        self.no_data_below: float | None = None
        self.base: SliceView | None = None
        self.follow: SliceView | None = None
        self._stale = True
        self.flicker_timer = QTimer(self)
        self.flicker_timer.timeout.connect(self.flip)
        self.set_flicker_rate(2.0)
        self.viewport_changed.connect(lambda *_: self.refresh())

    def bind(self, base: SliceView | None, follow: SliceView | None) -> None:
        """Combine these two views (the same kind, baseline and follow-up states)."""
        for view in (self.base, self.follow):
            if view is not None:
                view.needs_render.disconnect(self.refresh)
        self.base, self.follow = base, follow
        for view in (base, follow):
            if view is not None:
                view.needs_render.connect(self.refresh)
        self.refresh()

    def set_mode(self, mode: OverlayMode | str) -> None:
        self.mode = OverlayMode(mode)
        if self.mode is OverlayMode.FLICKER:
            self.flicker_timer.start()
        else:
            self.flicker_timer.stop()
        self.refresh()

    def set_flicker_rate(self, hertz: float) -> None:
        """Alternations per second (each phase lasts 1 / (2 × rate) s)."""
        self.flicker_timer.setInterval(max(20, round(500.0 / max(0.1, float(hertz)))))

    def set_option(self, name: str, value: float) -> None:
        setattr(self, name, float(value))
        self.refresh()

    def flip(self) -> None:
        """Show the other scan of the flicker (the timer calls this)."""
        self.flicker_phase = not self.flicker_phase
        self.refresh()

    def refresh(self, *_: Any) -> None:
        self._stale = True
        self.update()

    @property
    def is_stale(self) -> bool:
        ready = self.base is not None and self.base.state.volume is not None and self.follow is not None
        return self._stale and ready and self.isVisible() and self.follow.state.volume is not None  # type: ignore[union-attr]

    def prepare_frame(self) -> None:
        if not self._stale:
            return
        self._stale = False
        base, follow = self.base, self.follow
        if base is None or follow is None or base.state.volume is None or follow.state.volume is None:
            self._frame = self._image = None
            return
        # Same geometry in both: the follow-up view (hidden behind this one) takes the
        # baseline view's viewport; the baseline's own widget sets that one.
        follow.state.views[follow.kind].viewport = base.state.views[base.kind].viewport
        FrameWidget.set_frame(self, _fit(self.compose(base, follow), self.device_size()))

    def compose(self, base: SliceView, follow: SliceView) -> NDArray[np.uint8]:
        """The overlay image of the current mode (row 0 on top)."""
        if self.mode is OverlayMode.DIFFERENCE:
            a = np.asarray(base.resliced(), dtype=np.float32)
            b = np.asarray(follow.resliced(), dtype=np.float32)
            valid = None if self.no_data_below is None else b >= self.no_data_below
            return difference_rgb(a, b, limit=self.difference_limit, valid=valid)
        a_grey, b_grey = base.grey(), follow.grey()
        if self.mode is OverlayMode.CHECKERBOARD:
            pixel = base.state.pixel_size(base.kind) * base.resampler.downsample
            return checkerboard_rgb(a_grey, b_grey, pixel_size_mm=pixel, square_mm=self.square_mm)
        if self.mode is OverlayMode.FLICKER:
            return flicker_rgb(a_grey, b_grey, show_followup=self.flicker_phase)
        return blend_rgb(a_grey, b_grey, opacity=self.opacity)


def _fit(image: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    """Bring a (possibly 2× downsampled preview) image to the widget's pixel size."""
    width, height = size
    rows, cols = image.shape[:2]
    if (rows, cols) == (height, width):
        return image
    fy, fx = max(1, round(height / rows)), max(1, round(width / cols))
    big = np.repeat(np.repeat(image, fy, axis=0), fx, axis=1)[:height, :width]
    out = np.zeros((height, width, 3), np.uint8)
    out[: big.shape[0], : big.shape[1]] = big
    return out


ClickHandler = Callable[[NDArray[np.float64]], None]
