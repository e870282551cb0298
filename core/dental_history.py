"""The undo stack of the dental model: commands holding a value before and after an edit.

Each :class:`DentalCommand` names what it changed (``kind`` and ``key``, e.g. the left
canal) with the value before and after; undo applies ``before``, redo ``after``. A run
of edits with the same ``merge_key`` (a drag) collapses into one step, as in
:mod:`cbctviewer.core.measure_set`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["DentalCommand", "UndoStack"]


@dataclass(frozen=True, slots=True)
class DentalCommand:
    """One undoable edit: ``kind`` (``"arch"``, ``"canal"`` or ``"implant"``), ``key``, values."""

    kind: str
    key: str
    before: Any
    after: Any
    merge_key: tuple[str, str, int] | None = None


class UndoStack:
    """Done and undone :class:`DentalCommand` objects; applying them is the caller's job.

    Parameters
    ----------
    limit
        Most undo steps kept (the oldest go first).
    """

    def __init__(self, *, limit: int = 200) -> None:
        self._undo: list[DentalCommand] = []
        self._redo: list[DentalCommand] = []
        self._limit = limit

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def push(self, cmd: DentalCommand, *, merge: bool = False) -> None:
        """Record an edit that was just applied (the redo steps are dropped).

        With ``merge=True`` it replaces the last step when that has the same ``merge_key``,
        keeping the older ``before``: the whole drag undoes at once.
        """
        last = self._undo[-1] if self._undo else None
        if merge and last is not None and last.merge_key == cmd.merge_key and not self._redo:
            self._undo[-1] = dataclasses.replace(cmd, before=last.before)
        else:
            self._undo.append(cmd)
            del self._undo[: max(0, len(self._undo) - self._limit)]
        self._redo.clear()

    def pop_undo(self) -> DentalCommand | None:
        """The step to undo (moved to the redo stack); ``None`` when there is none."""
        if not self._undo:
            return None
        cmd = self._undo.pop()
        self._redo.append(cmd)
        return cmd

    def pop_redo(self) -> DentalCommand | None:
        """The step to redo (moved back to the undo stack); ``None`` when there is none."""
        if not self._redo:
            return None
        cmd = self._redo.pop()
        self._undo.append(cmd)
        return cmd

    def end_merge(self) -> None:
        """Close the current run of merged edits so that the next drag is its own step."""
        if self._undo and self._undo[-1].merge_key is not None:
            self._undo[-1] = dataclasses.replace(self._undo[-1], merge_key=None)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
