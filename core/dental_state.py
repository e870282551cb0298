"""The dental workspace's model: arch, panoramic, cross-sections, canals and implants.

A plain evented object (psygnal) like :mod:`cbctviewer.core.view_state`: the Qt dental
workspace and the renderers subscribe to :attr:`DentalState.events`; nothing here knows
about Qt or VTK. Edits of the arch, the canals and the implants are undoable (a command
stack of before/after values, as in :mod:`cbctviewer.core.measure_set`); view settings
(panoramic spec, cross-section position and spacing) are not. The canal and implant
edits are :mod:`cbctviewer.core.dental_edits`, the undo stack
:mod:`cbctviewer.core.dental_history`.

:meth:`DentalState.to_dict` / :meth:`DentalState.restore` give the ``"dental"`` section
of the case file (:mod:`cbctviewer.core.dental_section`: JSON-ready, versioned, validated
on restore).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cbctviewer.core.canal import DEFAULT_DIAMETER_MM, SIDES, CanalPath
from cbctviewer.core.dental_edits import DentalEdits
from cbctviewer.core.dental_events import DentalEvents
from cbctviewer.core.dental_history import DentalCommand, UndoStack
from cbctviewer.core.dental_section import (
    DENTAL_SCHEMA_VERSION,
    DentalSection,
    default_panoramic,
    positive,
    positive_count,
)
from cbctviewer.core.virtual_implant import VirtualImplant

if TYPE_CHECKING:
    from cbctviewer.core.arch import ArchCurve
    from cbctviewer.core.panoramic import PanoramicSpec

__all__ = ["DENTAL_SCHEMA_VERSION", "DentalEvents", "DentalState"]


class DentalState(DentalEdits):
    """Arch, panoramic and cross-section settings, canals and implants of one series.

    Parameters
    ----------
    history_limit
        Most undo steps kept (default 200).
    """

    def __init__(self, *, history_limit: int = 200) -> None:
        self.events = DentalEvents()
        self._arch: ArchCurve | None = None
        self._panoramic: PanoramicSpec = default_panoramic()
        self._position_mm = 0.0
        self._interval_mm = 1.0
        self._count = 5
        self._width_mm = 40.0
        self._canals: dict[str, CanalPath] = {}
        self._implants: dict[str, VirtualImplant] = {}
        self._active_side = "right"
        self._selected_implant: str | None = None
        #: Diameter given to a canal when its first point is clicked (mm).
        self.default_canal_diameter_mm = DEFAULT_DIAMETER_MM
        self._history = UndoStack(limit=history_limit)

    # ---------------------------------------------------------------- view settings
    @property
    def arch(self) -> ArchCurve | None:
        return self._arch

    @arch.setter
    def arch(self, curve: ArchCurve | None) -> None:
        self.set_arch(curve)

    def set_arch(self, curve: ArchCurve | None, *, merge: bool = False) -> None:
        """Set the arch curve (undoable; ``merge=True`` collapses a drag into one step)."""
        if curve is not self._arch:
            self._do(
                DentalCommand("arch", "", self._arch, curve, ("arch", "", 0) if merge else None), merge=merge
            )

    @property
    def panoramic(self) -> PanoramicSpec:
        return self._panoramic

    @panoramic.setter
    def panoramic(self, spec: PanoramicSpec) -> None:
        if spec != self._panoramic:
            self._panoramic = spec
            self.events.panoramic.emit(spec)

    @property
    def position_mm(self) -> float:
        """Arc position (mm) of the current cross-section, the marker on the panoramic."""
        return self._position_mm

    @position_mm.setter
    def position_mm(self, value: float) -> None:
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"position must be finite, got {value!r}")
        if v != self._position_mm:
            self._position_mm = v
            self.events.position.emit(v)

    @property
    def cross_section_interval_mm(self) -> float:
        return self._interval_mm

    @cross_section_interval_mm.setter
    def cross_section_interval_mm(self, value: float) -> None:
        self._set_cross("_interval_mm", positive(value, "cross-section interval"))

    @property
    def cross_section_count(self) -> int:
        return self._count

    @cross_section_count.setter
    def cross_section_count(self, value: int) -> None:
        self._set_cross("_count", positive_count(value))

    @property
    def cross_section_width_mm(self) -> float:
        return self._width_mm

    @cross_section_width_mm.setter
    def cross_section_width_mm(self, value: float) -> None:
        self._set_cross("_width_mm", positive(value, "cross-section width"))

    def _set_cross(self, attr: str, value: float) -> None:
        if getattr(self, attr) != value:
            setattr(self, attr, value)
            self.events.cross_sections.emit()

    # ---------------------------------------------------------------- undo
    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    def undo(self) -> bool:
        """Undo the last arch, canal or implant edit; False when there is none."""
        cmd = self._history.pop_undo()
        if cmd is None:
            return False
        self._apply(cmd.kind, cmd.key, cmd.before)
        self.events.history.emit(self.can_undo, self.can_redo)
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False when there is none."""
        cmd = self._history.pop_redo()
        if cmd is None:
            return False
        self._apply(cmd.kind, cmd.key, cmd.after)
        self.events.history.emit(self.can_undo, self.can_redo)
        return True

    def end_drag(self) -> None:
        """Close the current run of merged edits so that the next drag is its own step."""
        self._history.end_merge()

    def _do(self, cmd: DentalCommand, *, merge: bool = False) -> None:
        self._apply(cmd.kind, cmd.key, cmd.after)
        self._history.push(cmd, merge=merge)
        self.events.history.emit(self.can_undo, self.can_redo)

    def _apply(self, kind: str, key: str, value: Any) -> None:
        if kind == "arch":
            self._arch = value
            self.events.arch.emit(value)
        elif kind == "canal":
            if value is None:
                self._canals.pop(key, None)
            else:
                self._canals[key] = value
            self.events.canals.emit(key, value)
        else:
            if value is None:
                self._implants.pop(key, None)
                if self._selected_implant == key:
                    self._selected_implant = None
                    self.events.selection.emit()
            else:
                self._implants[key] = value
            self.events.implants.emit(key, value)

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """The ``"dental"`` section of the case file (JSON-ready)."""
        return DentalSection(
            arch=self._arch,
            panoramic=self._panoramic,
            position_mm=self._position_mm,
            interval_mm=self._interval_mm,
            count=self._count,
            width_mm=self._width_mm,
            canals=dict(self._canals),
            implants=list(self._implants.values()),
        ).to_dict()

    def restore(self, d: dict[str, Any] | None) -> None:
        """Replace everything by a :meth:`to_dict` dict (``None``: empty); clears the history.

        Raises
        ------
        ValueError
            When ``d`` is malformed or from a newer version; the state is then unchanged.
        """
        section = DentalSection.from_dict(d)
        self._history.clear()
        self._arch = section.arch
        self.events.arch.emit(section.arch)
        self.panoramic = section.panoramic
        self.position_mm = section.position_mm
        self._interval_mm, self._count, self._width_mm = section.interval_mm, section.count, section.width_mm
        self.events.cross_sections.emit()
        for side in SIDES:
            if section.canals.get(side) != self._canals.get(side):
                self._apply("canal", side, section.canals.get(side))
        for implant_id in list(self._implants):
            self._apply("implant", implant_id, None)
        for implant in section.implants:
            self._apply("implant", implant.id, implant)
        self.events.history.emit(False, False)
