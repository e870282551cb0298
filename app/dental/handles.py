"""Mouse editing shared by the dental views: grab and drag handles, rubber band, finish/cancel.

A dental view (panoramic, cross-section, axial) lists the handles it draws
(:meth:`HandleEditing.collect_handles`: measurement handles, canal control points,
implant shoulder and apex) and says where a drag puts a handle
(:meth:`HandleEditing.drag_target`, in the view's own surface or plane). This mixin
turns the mouse into model edits, each whole drag one undo step:

- a left press within :data:`GRAB_PX` of a handle grabs it (only measurement handles
  while a measuring tool is on): measurements go through the
  measuring controller's ``grab``/``drag``/``release`` (``MeasurementSet.move_handle``
  merged), canal points through ``DentalState.move_canal_point(merge=True)`` and
  implants through ``DentalState.replace_implant(merge=True)``, closed by ``end_drag``;
- a right press on a canal point, or Del with the cursor on it, deletes it;
- while a measurement is being drawn in the view the cursor stretches its rubber band
  (``MeasureController.hover_at``); double-click or Enter finishes a polyline or polygon,
  Esc cancels it (or leaves the tool).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QCursor, QKeyEvent, QMouseEvent

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from cbctviewer.core.virtual_implant import VirtualImplant

    from .workspace import DentalWorkspace

    _ViewBase = QWidget
else:  # a plain mixin at run time; the view's widget class follows it in the MRO
    _ViewBase = object

FloatArray = NDArray[np.float64]

#: How close (widget pixels) a press must be to a handle to grab it.
GRAB_PX = 7.0
_FINISH_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


@dataclass(frozen=True)
class Handle:
    """A grabbable point drawn in a view.

    ``kind`` is ``"measure"`` (``key`` the measurement id, ``index`` its handle),
    ``"surface"`` (a drawn vertex of a polyline or angle on the panoramic: ``key`` the
    measurement id, ``index`` the vertex), ``"canal"`` (``key`` the side, ``index`` the
    control point) or ``"implant"`` (``key`` the implant id, ``index`` 0 = shoulder, 1 = apex).
    """

    kind: str
    key: str
    index: int
    position: QPointF
    point: FloatArray = field(compare=False)


@dataclass
class _Drag:
    handle: Handle
    press: QPointF
    implant: VirtualImplant | None = None
    moved: bool = False


def nearest_handle(handles: list[Handle], position: QPointF, *, radius: float = GRAB_PX) -> Handle | None:
    """The handle nearest to ``position`` within ``radius`` widget pixels (None if none)."""
    best, best_distance = None, radius
    for handle in handles:
        d = math.hypot(handle.position.x() - position.x(), handle.position.y() - position.y())
        if d <= best_distance:
            best, best_distance = handle, d
    return best


def canal_insert_index(points: ArrayLike, point: ArrayLike) -> int | None:
    """Where a new canal point goes so that the trace grows least (``None``: appended).

    A click beyond either end extends the canal there; a click beside it goes between
    the two control points it is nearest to, so points can be clicked in any order.
    """
    p = np.asarray(point, dtype=float).reshape(3)
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(pts) < 2:
        return None
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    to = np.linalg.norm(pts - p, axis=1)
    # Extra length of inserting before index i (0: a new first point, n: a new last one).
    costs = np.concatenate([[to[0]], to[:-1] + to[1:] - seg, [to[-1]]])
    best = int(np.argmin(costs))
    return None if best == len(pts) else best


def implant_dragged(
    implant: VirtualImplant, index: int, start: FloatArray, target: FloatArray
) -> VirtualImplant:
    """``implant`` with its shoulder (``index`` 0: the whole implant moves) or its apex
    (``index`` 1: the axis turns about the shoulder, length kept) dragged from ``start``
    to ``target``."""
    if index == 0:
        return implant.moved(np.asarray(target) - np.asarray(start))
    axis = np.asarray(target, dtype=float) - np.asarray(implant.shoulder)
    if float(np.linalg.norm(axis)) < 1e-6:
        return implant
    lateral = np.asarray(implant.lateral)
    return dataclasses.replace(implant, direction=tuple(axis / np.linalg.norm(axis)), lateral=tuple(lateral))


class HandleEditing(_ViewBase):
    """Mixin for the dental :class:`~.image_view.CalibratedImageView` s (see the module doc).

    It also takes the views' double-click (finish), keys (Enter, Esc, Del) and the Esc
    shortcut override, the same in every dental view.
    """

    ws: DentalWorkspace
    _drag_state: _Drag | None = None

    # -- hooks ------------------------------------------------------------------------
    def collect_handles(self) -> list[Handle]:
        """The handles drawn in this view."""
        return []

    def drag_target(self, handle: Handle, press: QPointF, now: QPointF) -> FloatArray | None:
        """Patient point a handle grabbed at ``press`` is dragged to when the mouse is at ``now``."""
        return None

    def hover_point(self, position: QPointF) -> FloatArray | None:
        """The patient point under the cursor (for the rubber band)."""
        return None

    # -- state ------------------------------------------------------------------------
    @property
    def dragging(self) -> bool:
        """Whether a handle is being dragged."""
        return self._drag_state is not None

    def drawing_here(self) -> bool:
        """Whether a measurement is being drawn in this view."""
        measure = self.ws.main.measure
        return bool(measure.pending) and measure.drawing_view is self

    def handle_at(self, position: QPointF) -> Handle | None:
        """The grabbable handle under ``position`` (none while a measurement is drawn).

        With a measuring tool on only measurement handles are grabbed: a click on an
        implant's shoulder or a canal point then measures from it.
        """
        measure = self.ws.main.measure
        if measure.pending:
            return None
        handles = self.collect_handles()
        if measure.tool is not None:
            handles = [h for h in handles if h.kind in ("measure", "surface")]
        return nearest_handle(handles, position)

    # -- mouse --------------------------------------------------------------------------
    def press_handle(self, event: QMouseEvent) -> bool:
        """Grab (left) or delete (right, canal points) the handle under the press."""
        handle = self.handle_at(event.position())
        if handle is None:
            return False
        if event.button() == Qt.MouseButton.RightButton:
            if handle.kind != "canal":
                return False
            self.ws.dental.remove_canal_point(handle.key, handle.index)
            self.ws.hint_message.emit(f"Canal point removed ({handle.key} canal)")
            return True
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        implant = self.ws.dental.implants.get(handle.key) if handle.kind == "implant" else None
        self._drag_state = _Drag(handle, QPointF(event.position()), implant)
        if handle.kind == "measure":
            self.ws.main.measure.grab(handle.key, handle.index)
        return True

    def move_handle(self, event: QMouseEvent) -> bool:
        """Drag the grabbed handle; False when nothing is grabbed (the view hovers)."""
        drag = self._drag_state
        if drag is None:
            self._hover(event.position())
            return False
        target = self.drag_target(drag.handle, drag.press, event.position())
        if target is None:
            return True
        drag.moved = True
        self.apply_drag(drag.handle, target, drag)
        return True

    def apply_drag(self, handle: Handle, target: FloatArray, drag: Any) -> None:
        """Put the model's handle at ``target`` (merged into one undo step)."""
        dental = self.ws.dental
        if handle.kind == "measure":
            self.ws.main.measure.drag(handle.key, handle.index, target)
        elif handle.kind == "canal":
            dental.move_canal_point(handle.key, handle.index, target, merge=True)
        elif handle.kind == "implant" and drag.implant is not None:
            moved = implant_dragged(drag.implant, handle.index, handle.point, target)
            dental.replace_implant(moved, merge=True)

    def release_handle(self) -> bool:
        """End a drag (one undo step); False when nothing was grabbed."""
        drag, self._drag_state = self._drag_state, None
        if drag is None:
            return False
        self.finish_drag(drag)
        return True

    def finish_drag(self, drag: Any) -> None:
        """Close the drag's undo step."""
        if drag.handle.kind == "measure":
            self.ws.main.measure.release()
        else:
            self.ws.dental.end_drag()

    def _hover(self, position: QPointF) -> None:
        if self.drawing_here():
            point = self.hover_point(position)
            if point is not None:
                self.ws.main.measure.hover_at(point)
        on_handle = self.handle_at(position) is not None
        widget: Any = self
        if on_handle:
            widget.setCursor(Qt.CursorShape.SizeAllCursor)
        elif self.ws.main.measure.tool is not None or self.ws.dental_tool is not None:
            widget.setCursor(Qt.CursorShape.CrossCursor)
        else:
            widget.unsetCursor()

    # -- finishing and cancelling ---------------------------------------------------------
    def finish_drawing(self) -> bool:
        """Double-click or Enter: finish the polyline or polygon drawn here."""
        if not self.drawing_here():
            return False
        self.ws.main.measure.finish()
        return True

    def cancel_drawing(self) -> bool:
        """Esc: drop the measurement drawn here, else leave the measuring tool."""
        measure = self.ws.main.measure
        if measure.tool is None:
            return False
        if not measure.cancel():
            self.ws.main.set_measure_tool("navigate")
        return True

    def editing_key(self, event: QKeyEvent) -> bool:
        """Enter finishes, Esc cancels, Del removes the canal point under the cursor."""
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            widget: Any = self
            handle = self.handle_at(widget.mapFromGlobal(QCursor.pos()).toPointF())
            if handle is None or handle.kind != "canal":
                return False
            self.ws.dental.remove_canal_point(handle.key, handle.index)
            return True
        if event.key() in _FINISH_KEYS:
            return self.finish_drawing()
        if event.key() == Qt.Key.Key_Escape:
            return self.cancel_drawing()
        return False

    def takes_escape(self, event: QEvent) -> bool:
        """Esc with a measuring tool on belongs to this view (before the window's Esc action)."""
        return (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self.ws.main.measure.tool is not None
        )

    # -- Qt events shared by the dental views --------------------------------------------
    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self.finish_drawing():
            super().mouseDoubleClickEvent(event)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not self.editing_key(event):
            super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if self.takes_escape(event):
            event.accept()
            return True
        return super().event(event)
