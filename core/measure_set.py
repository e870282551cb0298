"""The measurements of one series: add, remove, replace, move a handle, relabel, with undo/redo.

Every change is a command that replaces one measurement (or none) by another at a given
position of the list, so undo restores the exact previous values and order. Each change,
done, undone or redone, emits the matching event in :class:`MeasurementEvents`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from numpy.typing import ArrayLike
from psygnal import Signal, SignalGroup

from .measurements import Measurement, MeasurementKind
from .volume import SeriesIdentity

__all__ = ["MeasurementEvents", "MeasurementSet"]


class MeasurementEvents(SignalGroup):
    #: A measurement was added (or a removal undone).
    added = Signal(Measurement)
    #: A measurement was removed (or an addition undone).
    removed = Signal(Measurement)
    #: ``(old, new)``: a handle moved or the label changed.
    changed = Signal(Measurement, Measurement)
    #: The whole list was replaced (:meth:`MeasurementSet.reset`, e.g. a case was loaded).
    reset = Signal()
    #: ``(can_undo, can_redo)`` after every change.
    history = Signal(bool, bool)


@dataclass(frozen=True, slots=True)
class _Command:
    index: int
    before: Measurement | None
    after: Measurement | None
    #: Consecutive moves of the same handle with ``merge=True`` collapse into one step.
    merge_key: tuple[str, int] | None = None


class MeasurementSet:
    """The measurements drawn on one series.

    Parameters
    ----------
    identity : SeriesIdentity
        The series (SeriesInstanceUID, FrameOfReferenceUID) the points belong to.
    measurements : iterable of Measurement, optional
        Initial contents (not undoable).
    history_limit : int, optional
        Most undo steps kept (default 200).
    """

    def __init__(
        self,
        identity: SeriesIdentity,
        measurements: Iterable[Measurement] = (),
        *,
        history_limit: int = 200,
    ) -> None:
        self.identity = identity
        self.events = MeasurementEvents()
        self._items: list[Measurement] = []
        self._undo: list[_Command] = []
        self._redo: list[_Command] = []
        self._limit = history_limit
        for m in measurements:
            self._check_new(m)
            self._items.append(m)

    # ----------------------------------------------------------------- reading

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Measurement]:
        return iter(tuple(self._items))

    def __contains__(self, measurement_id: object) -> bool:
        return any(m.id == measurement_id for m in self._items)

    @property
    def items(self) -> tuple[Measurement, ...]:
        """The measurements, in the order they were added."""
        return tuple(self._items)

    def get(self, measurement_id: str) -> Measurement:
        """The measurement with this id (``KeyError`` if none)."""
        return self._items[self._index(measurement_id)]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def next_label(self, kind: MeasurementKind | str) -> str:
        """A default label such as ``"Distance 3"`` not used yet."""
        base = MeasurementKind(kind).value.replace("_", " ").capitalize()
        used = {m.label for m in self._items}
        n = 1 + sum(1 for m in self._items if m.kind == kind)
        while f"{base} {n}" in used:
            n += 1
        return f"{base} {n}"

    # ----------------------------------------------------------------- editing

    def add(self, measurement: Measurement) -> Measurement:
        """Add a measurement (a default label is given when it has none)."""
        self._check_new(measurement)
        if not measurement.label:
            measurement = replace(measurement, label=self.next_label(measurement.kind))
        self._do(_Command(len(self._items), None, measurement))
        return measurement

    def remove(self, measurement_id: str) -> None:
        """Remove a measurement."""
        i = self._index(measurement_id)
        self._do(_Command(i, self._items[i], None))

    def move_handle(
        self, measurement_id: str, handle: int, point: ArrayLike, *, merge: bool = False
    ) -> Measurement:
        """Move handle ``handle`` to patient ``point``.

        With ``merge=True`` a run of moves of the same handle (a mouse drag) is one undo
        step that goes back to where the drag started.
        """
        i = self._index(measurement_id)
        old = self._items[i]
        new = old.with_point(handle, point)
        self._do(_Command(i, old, new, (measurement_id, handle) if merge else None), merge=merge)
        return new

    def end_drag(self) -> None:
        """Close the current run of merged moves, so the next drag is its own undo step."""
        if self._undo and self._undo[-1].merge_key is not None:
            self._undo[-1] = replace(self._undo[-1], merge_key=None)

    def translate(self, measurement_id: str, offset: ArrayLike) -> Measurement:
        """Move a whole measurement by ``offset`` (mm)."""
        i = self._index(measurement_id)
        old = self._items[i]
        new = old.translated(offset)
        self._do(_Command(i, old, new))
        return new

    def relabel(self, measurement_id: str, label: str) -> Measurement:
        """Change a measurement's label."""
        i = self._index(measurement_id)
        old = self._items[i]
        new = replace(old, label=str(label))
        if new != old:
            self._do(_Command(i, old, new))
        return new

    def replace(self, measurement_id: str, measurement: Measurement) -> Measurement:
        """Put ``measurement`` in the place of another (e.g. remeasured); keeps the id and label.

        One undo step; emits ``changed``.
        """
        i = self._index(measurement_id)
        old = self._items[i]
        new = replace(measurement, id=old.id, label=old.label)
        if new != old:
            self._do(_Command(i, old, new))
        return new

    def reset(self, measurements: Iterable[Measurement] = ()) -> None:
        """Replace everything (e.g. after loading a case); clears the history."""
        items = list(measurements)
        ids = [m.id for m in items]
        if len(set(ids)) != len(ids):
            raise ValueError("measurement ids must be unique")
        self._items = items
        self._undo.clear()
        self._redo.clear()
        self.events.reset.emit()
        self.events.history.emit(False, False)

    def undo(self) -> bool:
        """Undo the last change; False when there is nothing to undo."""
        if not self._undo:
            return False
        cmd = self._undo.pop()
        self._apply(_Command(cmd.index, cmd.after, cmd.before))
        self._redo.append(cmd)
        self._emit_history()
        return True

    def redo(self) -> bool:
        """Redo the last undone change; False when there is nothing to redo."""
        if not self._redo:
            return False
        cmd = self._redo.pop()
        self._apply(cmd)
        self._undo.append(cmd)
        self._emit_history()
        return True

    # ----------------------------------------------------------------- internals

    def _index(self, measurement_id: str) -> int:
        for i, m in enumerate(self._items):
            if m.id == measurement_id:
                return i
        raise KeyError(measurement_id)

    def _check_new(self, m: Measurement) -> None:
        if not m.id:
            raise ValueError("a measurement needs an id (use Measurement.create)")
        if m.id in self:
            raise ValueError(f"a measurement with id {m.id!r} already exists")

    def _do(self, cmd: _Command, *, merge: bool = False) -> None:
        self._apply(cmd)
        last = self._undo[-1] if self._undo else None
        if merge and last is not None and last.merge_key == cmd.merge_key and not self._redo:
            self._undo[-1] = replace(cmd, before=last.before)
        else:
            self._undo.append(cmd)
            del self._undo[: max(0, len(self._undo) - self._limit)]
        self._redo.clear()
        self._emit_history()

    def _apply(self, cmd: _Command) -> None:
        if cmd.before is None and cmd.after is not None:
            self._items.insert(cmd.index, cmd.after)
            self.events.added.emit(cmd.after)
        elif cmd.after is None and cmd.before is not None:
            del self._items[cmd.index]
            self.events.removed.emit(cmd.before)
        elif cmd.before is not None and cmd.after is not None:
            self._items[cmd.index] = cmd.after
            self.events.changed.emit(cmd.before, cmd.after)

    def _emit_history(self) -> None:
        self.events.history.emit(self.can_undo, self.can_redo)
