"""The dental workspace's model: arch, panoramic, cross-sections, canals and implants.

A plain evented object (psygnal) like :mod:`cbctviewer.core.view_state`: the Qt dental
workspace and the renderers subscribe to :attr:`DentalState.events`; nothing here knows
about Qt or VTK. Edits of the arch, the canals and the implants are undoable (a command
stack of before/after values, as in :mod:`cbctviewer.core.measure_set`); view settings
(panoramic spec, cross-section position and spacing) are not.

:meth:`DentalState.to_dict` / :meth:`DentalState.restore` give the ``"dental"`` section
of the case file (JSON-ready, versioned, validated on restore).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from psygnal import Signal, SignalGroup

from cbctviewer.core.canal import DEFAULT_DIAMETER_MM, SIDES, CanalPath, CanalSide
from cbctviewer.core.virtual_implant import VirtualImplant

if TYPE_CHECKING:
    from cbctviewer.core.arch import ArchCurve
    from cbctviewer.core.panoramic import PanoramicSpec

__all__ = ["DENTAL_SCHEMA_VERSION", "DentalEvents", "DentalState"]

DENTAL_SCHEMA_VERSION = 1


class DentalEvents(SignalGroup):
    #: The arch curve changed (new value, or ``None``).
    arch = Signal(object)
    #: The panoramic spec changed (new :class:`PanoramicSpec`).
    panoramic = Signal(object)
    #: The current cross-section's arc position changed (mm).
    position = Signal(float)
    #: Cross-section interval, count or width changed.
    cross_sections = Signal()
    #: ``(side, canal or None)``: a canal was traced, edited or removed.
    canals = Signal(str, object)
    #: ``(implant id, implant or None)``: an implant was added, changed or removed.
    implants = Signal(str, object)
    #: The active canal side or the selected implant changed.
    selection = Signal()
    #: ``(can_undo, can_redo)`` after every undoable change.
    history = Signal(bool, bool)


@dataclass(frozen=True, slots=True)
class _Command:
    kind: str  # "arch", "canal" or "implant"
    key: str
    before: Any
    after: Any
    merge_key: tuple[str, str, int] | None = None


def _default_panoramic() -> Any:
    try:
        from cbctviewer.core.panoramic import PanoramicSpec
    except ImportError:  # the panoramic module is optional for canals and implants
        return None
    return PanoramicSpec()


def _side(side: str) -> CanalSide:
    for known in SIDES:
        if side == known:
            return known
    raise ValueError(f"canal side must be 'left' or 'right', got {side!r}")


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be positive, got {value!r}")
    return v


class DentalState:
    """Arch, panoramic and cross-section settings, canals and implants of one series.

    Parameters
    ----------
    history_limit
        Most undo steps kept (default 200).
    """

    def __init__(self, *, history_limit: int = 200) -> None:
        self.events = DentalEvents()
        self._arch: ArchCurve | None = None
        self._panoramic: PanoramicSpec = _default_panoramic()
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
        self._undo: list[_Command] = []
        self._redo: list[_Command] = []
        self._limit = history_limit

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
            self._do(_Command("arch", "", self._arch, curve, ("arch", "", 0) if merge else None), merge=merge)

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
        self._set_cross("_interval_mm", _positive(value, "cross-section interval"))

    @property
    def cross_section_count(self) -> int:
        return self._count

    @cross_section_count.setter
    def cross_section_count(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"cross-section count must be a positive integer, got {value!r}")
        self._set_cross("_count", value)

    @property
    def cross_section_width_mm(self) -> float:
        return self._width_mm

    @cross_section_width_mm.setter
    def cross_section_width_mm(self, value: float) -> None:
        self._set_cross("_width_mm", _positive(value, "cross-section width"))

    def _set_cross(self, attr: str, value: float) -> None:
        if getattr(self, attr) != value:
            setattr(self, attr, value)
            self.events.cross_sections.emit()

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
            self._do(_Command("canal", side, before, canal))

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
        self._do(_Command("canal", side, before, new, ("canal", side, index) if merge else None), merge=merge)
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
        self._do(_Command("implant", implant.id, None, implant))
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
                _Command("implant", implant_id, old, new, ("implant", implant_id, 0) if merge else None),
                merge=merge,
            )
        return new

    def replace_implant(self, implant: VirtualImplant, *, merge: bool = False) -> None:
        """Store an edited copy of an existing implant (e.g. from :meth:`VirtualImplant.tilted`)."""
        old = self._implants[implant.id]
        if implant != old:
            key = ("implant", implant.id, 0) if merge else None
            self._do(_Command("implant", implant.id, old, implant, key), merge=merge)

    def remove_implant(self, implant_id: str) -> None:
        """Remove an implant."""
        self._do(_Command("implant", implant_id, self._implants[implant_id], None))

    def _next_implant_label(self) -> str:
        used = {i.label for i in self._implants.values()}
        n = len(self._implants) + 1
        while f"Implant {n}" in used:
            n += 1
        return f"Implant {n}"

    # ---------------------------------------------------------------- undo
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        """Undo the last arch, canal or implant edit; False when there is none."""
        if not self._undo:
            return False
        cmd = self._undo.pop()
        self._apply(cmd.kind, cmd.key, cmd.before)
        self._redo.append(cmd)
        self.events.history.emit(self.can_undo, self.can_redo)
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False when there is none."""
        if not self._redo:
            return False
        cmd = self._redo.pop()
        self._apply(cmd.kind, cmd.key, cmd.after)
        self._undo.append(cmd)
        self.events.history.emit(self.can_undo, self.can_redo)
        return True

    def end_drag(self) -> None:
        """Close the current run of merged edits so that the next drag is its own step."""
        if self._undo and self._undo[-1].merge_key is not None:
            self._undo[-1] = dataclasses.replace(self._undo[-1], merge_key=None)

    def _do(self, cmd: _Command, *, merge: bool = False) -> None:
        self._apply(cmd.kind, cmd.key, cmd.after)
        last = self._undo[-1] if self._undo else None
        if merge and last is not None and last.merge_key == cmd.merge_key and not self._redo:
            self._undo[-1] = dataclasses.replace(cmd, before=last.before)
        else:
            self._undo.append(cmd)
            del self._undo[: max(0, len(self._undo) - self._limit)]
        self._redo.clear()
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
        return {
            "version": DENTAL_SCHEMA_VERSION,
            "arch": None if self._arch is None else self._arch.to_dict(),
            "panoramic": None if self._panoramic is None else dataclasses.asdict(self._panoramic),
            "position_mm": self._position_mm,
            "cross_sections": {
                "interval_mm": self._interval_mm,
                "count": self._count,
                "width_mm": self._width_mm,
            },
            "canals": {side: c.to_dict() for side, c in self._canals.items()},
            "implants": [i.to_dict() for i in self._implants.values()],
        }

    def restore(self, d: dict[str, Any] | None) -> None:
        """Replace everything by a :meth:`to_dict` dict (``None``: empty); clears the history.

        Raises
        ------
        ValueError
            When ``d`` is malformed or from a newer version; the state is then unchanged.
        """
        arch, spec, position, cross, canals, implants = self._parse(d)
        self._undo.clear()
        self._redo.clear()
        self._arch = arch
        self.events.arch.emit(arch)
        self.panoramic = spec
        self.position_mm = position
        self._interval_mm, self._count, self._width_mm = cross
        self.events.cross_sections.emit()
        for side in SIDES:
            if canals.get(side) != self._canals.get(side):
                self._apply("canal", side, canals.get(side))
        for implant_id in list(self._implants):
            self._apply("implant", implant_id, None)
        for implant in implants:
            self._apply("implant", implant.id, implant)
        self.events.history.emit(False, False)

    def _parse(self, d: dict[str, Any] | None) -> tuple[Any, Any, float, tuple[float, int, float], Any, Any]:
        if d is None:
            return None, _default_panoramic(), 0.0, (1.0, 5, 40.0), {}, []
        if not isinstance(d, dict):
            raise ValueError("the dental section must be a JSON object")
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"the dental section has no valid version: {version!r}")
        if version > DENTAL_SCHEMA_VERSION:
            raise ValueError(f"the dental section is version {version}, newer than this program")
        try:
            arch = None
            if d.get("arch") is not None:
                from cbctviewer.core.arch import ArchCurve

                arch = ArchCurve.from_dict(d["arch"])
            spec = _parse_spec(d.get("panoramic"))
            position = float(d.get("position_mm", 0.0))
            if not math.isfinite(position):
                raise ValueError("the cross-section position must be finite")
            cs = d.get("cross_sections", {})
            count = cs.get("count", 5)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"cross-section count must be a positive integer, got {count!r}")
            cross = (
                _positive(cs.get("interval_mm", 1.0), "cross-section interval"),
                count,
                _positive(cs.get("width_mm", 40.0), "cross-section width"),
            )
            canals = {}
            for side, item in dict(d.get("canals", {})).items():
                canal = CanalPath.from_dict(item)
                if canal.side != side:
                    raise ValueError(f"the {side} canal is marked as {canal.side}")
                canals[side] = canal
            implants = [VirtualImplant.from_dict(item) for item in list(d.get("implants", []))]
        except (TypeError, AttributeError, KeyError) as exc:
            raise ValueError(f"malformed dental section: {exc!r}") from None
        if len({i.id for i in implants}) != len(implants):
            raise ValueError("implant ids must be unique")
        return arch, spec, position, cross, canals, implants


def _parse_spec(d: Any) -> Any:
    default = _default_panoramic()
    if d is None or default is None:
        return default
    if not isinstance(d, dict):
        raise ValueError("the panoramic settings must be a JSON object")
    names = {f.name for f in dataclasses.fields(default)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown panoramic settings: {sorted(unknown)}")
    try:
        return dataclasses.replace(default, **d)
    except TypeError as exc:
        raise ValueError(f"bad panoramic settings: {exc}") from None
