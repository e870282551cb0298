"""The axial, coronal or sagittal view as a widget: a thin binder between the mouse and the model.

Left-drag moves the crosshair (the other views follow); left-drag on the outer end of a
crosshair line, Ctrl+left-drag or the rotate mode turn the planes (oblique MPR);
right-drag sets window/level; middle-drag pans; the wheel scrolls slices and Ctrl+wheel
zooms about the cursor; PageUp/PageDown and Up/Down scroll (Shift: 10 at a time);
double-click maximises; with a measuring tool on (:attr:`SliceViewWidget.measure_mode`)
left clicks place measurement handles, double-click or Enter finishes a polyline or polygon
and Esc cancels it or leaves the tool. In either mode a left press on a drawn measurement
handle (within :data:`GRAB_RADIUS_PX`) selects it and dragging moves the handle in the
view's plane (see :data:`cbctviewer.app.shortcuts.SHORTCUTS`).
Everything goes through :class:`~cbctviewer.core.view_state.ViewerState`; the rendering
adapter (:class:`~cbctviewer.rendering.slice_view.SliceView`) follows the model and this
widget paints its off-screen frames.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.window_level import WindowLevel
from cbctviewer.rendering.overlays import VIEW_COLOURS
from cbctviewer.rendering.slice_view import SliceView

from .frame import FrameWidget
from .gestures import angle_step, crosshair_screen, dragged_window, on_rotate_handle, screen_angle
from .readout import cursor_readout

#: Zoom factor per wheel notch with Ctrl held.
ZOOM_PER_NOTCH = 1.15
#: Slices per wheel notch or key press with Shift held.
FAST_SCROLL = 10
#: How long after the last wheel notch the view counts as "interacting" (ms).
WHEEL_SETTLE_MS = 250
_SCROLL_KEYS = {Qt.Key.Key_PageUp: -1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 1, Qt.Key.Key_Down: 1}
ROTATE_HINT = "Drag to turn the planes (oblique slices); O straightens them again"
#: How close (screen pixels) a press must be to a measurement handle to grab it.
GRAB_RADIUS_PX = 6.0
_FINISH_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class SliceViewWidget(FrameWidget):
    """Shows one :class:`SliceView` and turns input into model changes."""

    #: Text for the status bar about the point under the cursor ("" when it leaves).
    cursor_info = Signal(str)
    #: A transient hint for the status bar.
    hint_message = Signal(str)
    #: With :attr:`measure_mode` on: a left click at this patient point (on the view's plane).
    measure_point = Signal(object)
    #: Esc pressed with :attr:`measure_mode` on (cancel the drawing, or leave the tool).
    measure_cancelled = Signal()
    #: With :attr:`measure_mode` on: the cursor's patient point on the view's plane.
    measure_hover = Signal(object)
    #: Double-click or Enter with :attr:`measure_mode` on (finish a polyline or polygon).
    measure_finished = Signal()
    #: A press on a measurement handle: ``(measurement id, handle index)``.
    handle_grabbed = Signal(str, int)
    #: The grabbed handle dragged to a patient point: ``(measurement id, handle index, point)``.
    handle_dragged = Signal(str, int, object)
    #: The grabbed handle was let go.
    handle_released = Signal()

    def __init__(self, state: ViewerState, view: SliceView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.view = view
        self.kind = ViewKind(view.kind)
        self.rotate_mode = False
        #: A measuring tool is active: left clicks place handles instead of moving the crosshair.
        self.measure_mode = False
        #: Presses on measurement handles grab them (off while a measurement is being drawn).
        self.grab_handles = True
        self._grab: tuple[str, int, np.ndarray, np.ndarray] | None = None
        self.setObjectName(f"view_{self.kind.value}")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.border_colour = QColor.fromRgbF(*VIEW_COLOURS[self.kind]).darker(160)
        self._stale = True
        self._drag: str | None = None
        self._press = QPointF()
        self._last = QPointF()
        self._start_window = WindowLevel(0.0, 1.0)
        self._angle = 0.0
        self._wheel_rest = 0
        self._wheel_timer = QTimer(self, singleShot=True, interval=WHEEL_SETTLE_MS)
        self._wheel_timer.timeout.connect(self._end_interaction)
        view.needs_render.connect(self._on_needs_render)
        self.viewport_changed.connect(self._set_viewport)

    def close_view(self) -> None:
        """Stop following the rendering adapter (before it is closed)."""
        self.view.needs_render.disconnect(self._on_needs_render)

    # -- rendering ----------------------------------------------------------------------
    @property
    def is_stale(self) -> bool:
        """True while the model changed and the new frame is not painted yet."""
        return self._stale and self.state.volume is not None and self.isVisible()

    def _on_needs_render(self) -> None:
        self._stale = True
        self.update()

    def _set_viewport(self, width: int, height: int) -> None:
        self.state.views[self.kind].viewport = (width, height)

    def prepare_frame(self) -> None:
        if not self._stale:
            return
        self._stale = False
        if self.state.volume is None:
            self._frame = self._image = None
            return
        if self.state.views[self.kind].viewport != self.device_size():
            self._set_viewport(*self.device_size())
            self._stale = False
        frame = self.view.render()
        FrameWidget.set_frame(self, frame)  # paints below, in this same paint event

    def set_frame(self, frame: object) -> None:
        raise TypeError("a slice view renders its own frames")

    # -- helpers ------------------------------------------------------------------------
    def _pixel(self, position: QPointF) -> tuple[float, float]:
        """Device pixel ``(x, y)`` of a widget position."""
        ratio = self.devicePixelRatioF()
        return position.x() * ratio, position.y() * ratio

    def _begin_interaction(self) -> None:
        self.state.interacting = True

    def _end_interaction(self) -> None:
        if self._drag is None:
            self.state.interacting = False

    # -- mouse --------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.activated.emit()
        if self.state.volume is None or self._drag is not None:
            return
        x, y = self._pixel(event.position())
        self._press = self._last = event.position()
        button, modifiers = event.button(), event.modifiers()
        if button == Qt.MouseButton.LeftButton and self._grab_handle(x, y):
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton and self.measure_mode:
            point = self.state.slice_geometry(self.kind).pixel_to_patient((y, x))
            self.measure_point.emit(point)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
            if ctrl or self.rotate_mode or on_rotate_handle(self.state, self.kind, x, y):
                self._drag = "rotate"
                centre, _ = crosshair_screen(self.state, self.kind)
                self._angle = screen_angle(centre, x, y)
            else:
                self._drag = "crosshair"
                self.state.set_crosshair_at(self.kind, row=y, col=x)
        elif button == Qt.MouseButton.RightButton:
            self._drag = "window"
            self._start_window = self.state.window_level
        elif button == Qt.MouseButton.MiddleButton:
            self._drag = "pan"
        if self._drag is not None:
            self._begin_interaction()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        x, y = self._pixel(event.position())
        if self._drag is None:
            self._hover(x, y)
            return
        if self._drag == "handle":
            self._drag_handle(x, y)
        elif self._drag == "crosshair":
            width, height = self.state.views[self.kind].viewport
            self.state.set_crosshair_at(
                self.kind, row=min(max(y, 0.0), height - 1.0), col=min(max(x, 0.0), width - 1.0)
            )
        elif self._drag == "rotate":
            centre, _ = crosshair_screen(self.state, self.kind)
            angle = screen_angle(centre, x, y)
            step = angle_step(self._angle, angle)
            self._angle = angle
            if abs(step) > 1e-6:
                self.state.rotate(self.kind, step)
        elif self._drag == "window":
            ratio = self.devicePixelRatioF()
            moved = (event.position() - self._press) * ratio
            self.state.window_level = dragged_window(self._start_window, moved.x(), moved.y())
        elif self._drag == "pan":
            ratio = self.devicePixelRatioF()
            moved = (event.position() - self._last) * ratio
            self.state.pan_by(self.kind, rows=moved.y(), cols=moved.x())
        self._last = event.position()
        self.cursor_info.emit(cursor_readout(self.state, self.kind, y, x))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            if self._drag == "handle":
                self._grab = None
                self.handle_released.emit()
            self._drag = None
            self._end_interaction()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        # Qt sends press, release, double-click, release: the press already placed the point.
        if event.button() == Qt.MouseButton.LeftButton and self.measure_mode:
            self.measure_finished.emit()
        elif event.button() == Qt.MouseButton.LeftButton and self._drag is None:
            self.maximise_toggled.emit()
        event.accept()

    # -- measurement handles ----------------------------------------------------------------
    def _handle_under(self, x: float, y: float) -> tuple[str, int] | None:
        """The measurement handle drawn within :data:`GRAB_RADIUS_PX` of device pixel (x, y)."""
        if not self.grab_handles:
            return None
        overlay = self.view.measures
        height = self.state.views[self.kind].viewport[1]
        ratio = self.devicePixelRatioF()
        # Display coordinates: y up, pixel centres at +0.5 (as the overlay draws them).
        hit = overlay.handle_at(x + 0.5, height - y - 0.5, radius=GRAB_RADIUS_PX * ratio)
        return None if hit is None else (hit.measurement_id, hit.index)

    def _grab_handle(self, x: float, y: float) -> bool:
        found = self._handle_under(x, y)
        mset = self.view.measures.measurements
        if found is None or mset is None or found[0] not in mset:
            return False
        measurement_id, index = found
        start = np.asarray(mset.get(measurement_id).points[index], dtype=float)
        pressed = self.state.slice_geometry(self.kind).pixel_to_patient((y, x))
        self._grab = (measurement_id, index, start, np.asarray(pressed, dtype=float))
        self._drag = "handle"
        self.handle_grabbed.emit(measurement_id, index)
        return True

    def _drag_handle(self, x: float, y: float) -> None:
        if self._grab is None:
            return
        measurement_id, index, start, pressed = self._grab
        now = np.asarray(self.state.slice_geometry(self.kind).pixel_to_patient((y, x)), dtype=float)
        # Move by the in-plane mouse motion: the handle keeps its depth within a slab.
        self.handle_dragged.emit(measurement_id, index, start + (now - pressed))

    def leaveEvent(self, event: object) -> None:  # noqa: N802
        self.cursor_info.emit("")
        self.unsetCursor()

    def _hover(self, x: float, y: float) -> None:
        if self.state.volume is None:
            return
        if self._handle_under(x, y) is not None:
            self.setCursor(QCursor(Qt.CursorShape.SizeAllCursor))
        else:
            handle = not self.measure_mode and (
                self.rotate_mode or on_rotate_handle(self.state, self.kind, x, y)
            )
            shape = Qt.CursorShape.OpenHandCursor if handle else Qt.CursorShape.CrossCursor
            self.setCursor(QCursor(shape))
            if handle:
                self.hint_message.emit(ROTATE_HINT)
        if self.measure_mode:
            self.measure_hover.emit(self.state.slice_geometry(self.kind).pixel_to_patient((y, x)))
        self.cursor_info.emit(cursor_readout(self.state, self.kind, y, x))

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        self.activated.emit()
        if self.state.volume is None:
            return
        # High-resolution wheels and touchpads send fractions of a notch: add them up.
        delta = event.angleDelta()
        # Some platforms turn Shift+wheel into a sideways scroll: take either direction.
        self._wheel_rest += delta.y() or delta.x()
        notches = int(self._wheel_rest / 120)
        self._wheel_rest -= notches * 120
        if notches == 0:
            return
        self._begin_interaction()
        self._wheel_timer.start()
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            x, y = self._pixel(event.position())
            self.state.zoom_about(self.kind, ZOOM_PER_NOTCH**notches, row=y, col=x)
        else:
            fast = FAST_SCROLL if modifiers & Qt.KeyboardModifier.ShiftModifier else 1
            # Wheel forward (away from the user) goes deeper into the screen.
            self.state.scroll(self.kind, -notches * fast)
        event.accept()

    # -- keys ---------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        # Esc leaves a measuring tool: take it before the window's Esc action does.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and self.measure_mode
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.measure_mode:
            self.measure_cancelled.emit()
            event.accept()
            return
        if event.key() in _FINISH_KEYS and self.measure_mode:
            self.measure_finished.emit()
            event.accept()
            return
        step = _SCROLL_KEYS.get(Qt.Key(event.key()))
        if step is None or self.state.volume is None:
            super().keyPressEvent(event)
            return
        self.activated.emit()
        if event.isAutoRepeat():  # a held key scrolls like the wheel: previews while it repeats
            self._begin_interaction()
            self._wheel_timer.start()
        fast = FAST_SCROLL if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        self.state.scroll(self.kind, step * fast)
        event.accept()
