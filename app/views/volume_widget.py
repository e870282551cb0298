"""The 3D view as a widget: left-drag rotates, middle-drag pans, right-drag or wheel zooms.

Camera moves are written to the model (``state.volume_render.camera``); frames come from
:class:`~.render_thread.VolumeRenderThread`. While the user drags, ``state.interacting``
is set so the ray caster trades quality for speed; a still frame follows the release.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

from cbctviewer.core.view_state import Camera, ViewerState
from cbctviewer.core.volume import Volume

from .frame import FrameWidget
from .gestures import dolly, orbit, pan_camera
from .render_thread import VolumeRenderThread

WHEEL_ZOOM_PER_NOTCH = 1.12
#: Right-drag: pixels of vertical drag that double the zoom.
DRAG_ZOOM_DOUBLING_PX = 200.0
#: VTK's default perspective view angle (degrees), used to size pan steps.
_VIEW_ANGLE = 30.0
PREPARING_HINT = "Preparing the 3D view…"


class VolumeViewWidget(FrameWidget):
    """Shows the 3D rendering of ``state`` and turns mouse drags into camera changes."""

    #: A plain-language problem with the 3D view (for the status bar).
    problem = Signal(str)

    def __init__(
        self, state: ViewerState, renderer: VolumeRenderThread, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.renderer = renderer
        self.setObjectName("view_3d")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.border_colour = QColor(90, 90, 140)
        self.camera: Camera | None = None
        self._drag: str | None = None
        self._last = QPointF()
        self._requested_interacting = False
        self._wheel_timer = QTimer(self, singleShot=True, interval=250)
        self._wheel_timer.timeout.connect(self._end_interaction)
        # Requests go through the event loop: every listener of a model change (the 3D
        # adapter's own dirty flags included) has run before the thread reads the model.
        self._request_timer = QTimer(self, singleShot=True, interval=0)
        self._request_timer.timeout.connect(renderer.request)
        renderer.frame_ready.connect(self._on_frame)
        renderer.failed.connect(self.problem)
        settings = state.volume_render
        settings.events.all.connect(self._request)
        state.events.volume.connect(self._on_volume)
        state.events.crosshair.connect(self._on_planes)
        state.events.axes.connect(self._on_planes)
        state.events.interacting.connect(self._on_interacting)
        self.viewport_changed.connect(self._set_viewport)

    def close_view(self) -> None:
        """Disconnect from the model (before the render thread is closed)."""
        settings = self.state.volume_render
        settings.events.all.disconnect(self._request)
        self.state.events.volume.disconnect(self._on_volume)
        self.state.events.crosshair.disconnect(self._on_planes)
        self.state.events.axes.disconnect(self._on_planes)
        self.state.events.interacting.disconnect(self._on_interacting)

    # -- model → frames -------------------------------------------------------------------
    @property
    def is_stale(self) -> bool:
        """True while a frame for the model's current state is on its way."""
        return self._request_timer.isActive() or self.renderer.busy

    def _request(self, *_: object) -> None:
        self._requested_interacting = self.state.interacting
        self._request_timer.start()

    def _on_volume(self, volume: Volume | None) -> None:
        self.camera = None
        self._frame = self._image = None
        self.hint = PREPARING_HINT if volume is not None else ""
        self.update()
        self._request()

    def _on_planes(self, *_: object) -> None:
        if self.state.volume_render.clip_planes:
            self._request()

    def _on_interacting(self, value: bool) -> None:
        # A 2D drag does not change the 3D picture; only redo it after our own fast frames.
        if not value and self._requested_interacting:
            self._request()

    def _on_frame(self, frame: np.ndarray | None, camera: Camera | None) -> None:
        if self._drag is None:  # mid-drag, our own camera is newer than the frame's
            self.camera = camera
        if frame is None:
            self.hint = ""
        self.set_frame(frame)

    def _set_viewport(self, width: int, height: int) -> None:
        self.state.volume_render.viewport = (width, height)

    # -- mouse ----------------------------------------------------------------------------
    def _end_interaction(self) -> None:
        if self._drag is None:
            self.state.interacting = False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.activated.emit()
        if self.camera is None or self.state.volume is None:
            return
        buttons = {
            Qt.MouseButton.LeftButton: "rotate",
            Qt.MouseButton.MiddleButton: "pan",
            Qt.MouseButton.RightButton: "zoom",
        }
        self._drag = buttons.get(event.button())
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() == Qt.MouseButton.LeftButton and shift:
            self._drag = "pan"
        self._last = event.position()
        if self._drag is not None:
            self.state.interacting = True
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is None or self.camera is None:
            return
        ratio = self.devicePixelRatioF()
        moved = (event.position() - self._last) * ratio
        self._last = event.position()
        camera = self.camera
        if self._drag == "rotate":
            camera = orbit(camera, moved.x(), moved.y())
        elif self._drag == "zoom":
            camera = dolly(camera, 2.0 ** (-moved.y() / DRAG_ZOOM_DOUBLING_PX))
        elif self._drag == "pan":
            distance = float(np.linalg.norm(np.subtract(camera.position, camera.focal_point)))
            height = max(1, self.device_size()[1])
            mm_per_px = 2.0 * distance * math.tan(math.radians(_VIEW_ANGLE / 2.0)) / height
            camera = pan_camera(camera, moved.x(), moved.y(), mm_per_px=mm_per_px)
        self._set_camera(camera)

    def _set_camera(self, camera: Camera) -> None:
        self.camera = camera  # the next drag step continues from here, not from the last frame
        self.state.volume_render.camera = camera

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = None
            self.state.interacting = False
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.maximise_toggled.emit()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        self.activated.emit()
        if self.camera is None or self.state.volume is None:
            return
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.state.interacting = True
            self._wheel_timer.start()
            self._set_camera(dolly(self.camera, WHEEL_ZOOM_PER_NOTCH**notches))
        event.accept()
