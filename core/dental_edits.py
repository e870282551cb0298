"""Canal and implant edits, and the selection, of :class:`~cbctviewer.core.dental_state.DentalState`.

:class:`DentalEdits` is the half of the dental model that the user edits by clicking and
dragging: canals traced point by point, implants placed and adjusted, the active canal
side and the selected implant. Every edit goes through :meth:`DentalEdits._do` as a
:class:`~cbctviewer.core.dental_history.DentalCommand`, which :class:`DentalState` applies,
records for undo and announces on its events.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from cbctviewer.core.canal import SIDES, CanalPath, CanalSide
from cbctviewer.core.dental_events import DentalEvents
from cbctviewer.core.dental_history import DentalCommand
from cbctviewer.core.virtual_implant import VirtualImplant

__all__ = ["DentalEdits"]


def _side(side: str) -> CanalSide:
    for known in SIDES:
        if side == known:
            return known
    raise ValueError(f"canal side must be 'left' or 'right', got {side!r}")


class DentalEdits:
    """Canals, implants and the selection; :class:`DentalState` provides the storage and :meth:`_do`."""

    events: DentalEvents
    default_canal_diameter_mm: float
    _canals: dict[str, CanalPath]
    _implants: dict[str, VirtualImplant]
    _active_side: str
    _selected_implant: str | None

    def _do(self, cmd: DentalCommand, *, merge: bool = False) -> None:
        raise NotImplementedError  # DentalState applies, records and announces the edit

    # ---------------------------------------------------------------- selection
    @property
    def active_side(self) -> str:
        """The canal side the trace tool adds points to (``"left"``/``"right"``)."""
        return self._active_side

    @active_side.setter
    def active_side(self, side: str) -> None:
        if side not in SIDES:
            raise ValueError(f"canal side must be 'left' or 'right', got {side!r}")
        if side != self._active_side:
            self._active_side = side
            self.events.selection.emit()

    @property
    def selected_implant(self) -> str | None:
        """Id of the implant the panel edits (``None`` when none)."""
        return self._selected_implant

    @selected_implant.setter
    def selected_implant(self, implant_id: str | None) -> None:
        if implant_id is not None and implant_id not in self._implants:
            raise KeyError(implant_id)
        if implant_id != self._selected_implant:
            self._selected_implant = implant_id
            self.events.selection.emit()

    # ---------------------------------------------------------------- canals
    @property
    def canals(self) -> dict[str, CanalPath]:
        """The traced canals by side (a copy)."""
        return dict(self._canals)

    def set_canal(self, side: str, canal: CanalPath | None) -> None:
        """Replace (or with ``None`` remove) the canal of ``side``."""
        if side not in SIDES:
            raise ValueError(f"canal side must be 'left' or 'right', got {side!r}")
        if canal is not None and canal.side != side:
            raise ValueError(f"a {canal.side} canal cannot be stored as the {side} one")
        before = self._canals.get(side)
        if canal != before:
            self._do(DentalCommand("canal", side, before, canal))

    def add_canal_point(self, side: str, point: ArrayLike, *, index: int | None = None) -> CanalPath:
        """Add a clicked point to a canal (appended, or inserted before ``index``)."""
        canal = self._canals.get(side)
        if canal is None:
            new = CanalPath(_side(side), np.asarray([point], dtype=float), self.default_canal_diameter_mm)
        else:
            new = canal.with_point(point, index=index)
        self.set_canal(side, new)
        return new

    def move_canal_point(self, side: str, index: int, point: ArrayLike, *, merge: bool = False) -> CanalPath:
        """Move control point ``index``; ``merge=True`` makes a drag one undo step."""
        new = self._canal(side).moved(index, point)
        before = self._canals.get(side)
        self._do(
            DentalCommand("canal", side, before, new, ("canal", side, index) if merge else None), merge=merge
        )
        return new

    def remove_canal_point(self, side: str, index: int) -> CanalPath | None:
        """Remove control point ``index`` (the canal goes when its last point does)."""
        new = self._canal(side).removed(index)
        self.set_canal(side, new)
        return new

    def set_canal_diameter(self, side: str, diameter_mm: float) -> None:
        """Change a canal's tube diameter."""
        self.set_canal(side, self._canal(side).with_diameter(diameter_mm))

    def nearest_canal(self, point: ArrayLike) -> CanalPath | None:
        """The canal whose surface is nearest to ``point`` (``None`` without canals)."""
        if not self._canals:
            return None
        return min(self._canals.values(), key=lambda c: c.distance_to(point))

    def _canal(self, side: str) -> CanalPath:
        try:
            return self._canals[side]
        except KeyError:
            raise KeyError(f"no {side} canal traced") from None

    # ---------------------------------------------------------------- implants
    @property
    def implants(self) -> dict[str, VirtualImplant]:
        """The implants by id, in the order they were added (a copy)."""
        return dict(self._implants)

    def add_implant(self, implant: VirtualImplant) -> VirtualImplant:
        """Add an implant (it becomes the selected one)."""
        if implant.id in self._implants:
            raise ValueError(f"an implant with id {implant.id!r} already exists")
        if not implant.label:
            implant = dataclasses.replace(implant, label=self._next_implant_label())
        self._do(DentalCommand("implant", implant.id, None, implant))
        self.selected_implant = implant.id
        return implant

    def update_implant(self, implant_id: str, *, merge: bool = False, **changes: Any) -> VirtualImplant:
        """Replace fields of an implant (``diameter_mm=``, ``shoulder=``, ``direction=``…).

        ``merge=True`` makes a run of updates of the same implant (a drag) one undo step.
        """
        old = self._implants[implant_id]
        if "id" in changes and changes["id"] != implant_id:
            raise ValueError("an implant's id cannot change")
        new = dataclasses.replace(old, **changes)
        if new != old:
            self._do(
                DentalCommand("implant", implant_id, old, new, ("implant", implant_id, 0) if merge else None),
                merge=merge,
            )
        return new

    def replace_implant(self, implant: VirtualImplant, *, merge: bool = False) -> None:
        """Store an edited copy of an existing implant (e.g. from :meth:`VirtualImplant.tilted`)."""
        old = self._implants[implant.id]
        if implant != old:
            key = ("implant", implant.id, 0) if merge else None
            self._do(DentalCommand("implant", implant.id, old, implant, key), merge=merge)

    def remove_implant(self, implant_id: str) -> None:
        """Remove an implant."""
        self._do(DentalCommand("implant", implant_id, self._implants[implant_id], None))

    def _next_implant_label(self) -> str:
        used = {i.label for i in self._implants.values()}
        n = len(self._implants) + 1
        while f"Implant {n}" in used:
            n += 1
        return f"Implant {n}"
