"""Selecting, dragging, renaming and removing measurements: a part of the measure controller.

:class:`MeasurementEditing` is mixed into :class:`~cbctviewer.app.measuring.MeasureController`
(which holds the set, the selection and the signals); every edit goes to the open
:class:`~cbctviewer.core.measure_set.MeasurementSet`, so it is undoable and saved.
"""

from __future__ import annotations

from numpy.typing import ArrayLike
from PySide6.QtCore import SignalInstance

from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measurements import Measurement, MeasurementKind

__all__ = ["MeasurementEditing"]


class MeasurementEditing:
    """The selection and the edits of existing measurements (see the module docstring)."""

    measurements: MeasurementSet | None
    selected_id: str | None
    _dragging: tuple[str, int] | None
    message: SignalInstance
    selection_changed: SignalInstance

    def select(self, measurement_id: str | None) -> None:
        """Select a measurement (highlighted in the views and the list); ``None``: none."""
        if measurement_id is not None and (
            self.measurements is None or measurement_id not in self.measurements
        ):
            measurement_id = None
        if measurement_id != self.selected_id:
            self.selected_id = measurement_id
            self.selection_changed.emit(measurement_id)

    def grab(self, measurement_id: str, handle: int) -> None:
        """The mouse pressed on a handle: select its measurement and start dragging it."""
        self.select(measurement_id)
        mset = self.measurements
        if mset is None or measurement_id not in mset:
            return
        if mset.get(measurement_id).kind == MeasurementKind.IMPLANT_SITE:
            self.message.emit("An implant site is measured again from the panel, not dragged")
            return
        self._dragging = (measurement_id, handle)

    def drag(self, measurement_id: str, handle: int, point: ArrayLike) -> None:
        """Move the grabbed handle to a patient point (the whole drag is one undo step)."""
        if self._dragging != (measurement_id, handle) or self.measurements is None:
            return
        self.measurements.move_handle(measurement_id, handle, point, merge=True)

    def release(self) -> None:
        """The drag ended."""
        if self._dragging is not None and self.measurements is not None:
            self.measurements.end_drag()
        self._dragging = None

    def relabel(self, measurement_id: str, label: str) -> None:
        """Rename a measurement (undoable, saved)."""
        mset = self.measurements
        text = label.strip()
        if mset is not None and measurement_id in mset and text:
            mset.relabel(measurement_id, text)

    def undo(self) -> None:
        """Undo the last change of the open set."""
        if self.measurements is not None:
            self.measurements.undo()

    def redo(self) -> None:
        """Redo the last undone change of the open set."""
        if self.measurements is not None:
            self.measurements.redo()

    def remove(self, measurement_id: str | None) -> None:
        """Delete a measurement (undoable); unknown ids and ``None`` are ignored."""
        if self.measurements is not None and measurement_id and measurement_id in self.measurements:
            self.measurements.remove(measurement_id)

    def _forget_removed(self, removed: Measurement) -> None:
        if removed.id == self.selected_id:
            self.select(None)
