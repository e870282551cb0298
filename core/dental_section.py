"""The ``"dental"`` section of the case file: what :class:`~cbctviewer.core.dental_state.DentalState` keeps.

:class:`DentalSection` is the plain value (arch, panoramic spec, cross-section settings,
canals, implants); :meth:`DentalSection.to_dict` gives its JSON-ready, versioned form and
:meth:`DentalSection.from_dict` reads it back, validating everything (``ValueError`` in
plain words, so that a damaged file never half-restores the state).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cbctviewer.core.canal import CanalPath
from cbctviewer.core.virtual_implant import VirtualImplant

if TYPE_CHECKING:
    from cbctviewer.core.arch import ArchCurve

__all__ = ["DENTAL_SCHEMA_VERSION", "DentalSection", "default_panoramic", "positive"]

DENTAL_SCHEMA_VERSION = 1


def default_panoramic() -> Any:
    """The default :class:`~cbctviewer.core.panoramic.PanoramicSpec` (``None`` without that module)."""
    try:
        from cbctviewer.core.panoramic import PanoramicSpec
    except ImportError:  # the panoramic module is optional for canals and implants
        return None
    return PanoramicSpec()


def positive(value: Any, name: str) -> float:
    """``value`` as a finite positive float; ``ValueError`` naming ``name`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be positive, got {value!r}")
    return v


def positive_count(value: Any) -> int:
    """``value`` as a cross-section count (an int ≥ 1, not a bool); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"cross-section count must be a positive integer, got {value!r}")
    return value


@dataclass
class DentalSection:
    """Everything of the dental model that the case file keeps (the defaults: nothing yet)."""

    arch: ArchCurve | None = None
    panoramic: Any = field(default_factory=default_panoramic)
    position_mm: float = 0.0
    interval_mm: float = 1.0
    count: int = 5
    width_mm: float = 40.0
    canals: dict[str, CanalPath] = field(default_factory=dict)
    implants: list[VirtualImplant] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready section."""
        return {
            "version": DENTAL_SCHEMA_VERSION,
            "arch": None if self.arch is None else self.arch.to_dict(),
            "panoramic": None if self.panoramic is None else dataclasses.asdict(self.panoramic),
            "position_mm": self.position_mm,
            "cross_sections": {
                "interval_mm": self.interval_mm,
                "count": self.count,
                "width_mm": self.width_mm,
            },
            "canals": {side: c.to_dict() for side, c in self.canals.items()},
            "implants": [i.to_dict() for i in self.implants],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DentalSection:
        """Read a :meth:`to_dict` dict (``None``: the defaults).

        Raises
        ------
        ValueError
            When ``d`` is malformed or from a newer version.
        """
        if d is None:
            return cls()
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
            count = positive_count(cs.get("count", 5))
            interval = positive(cs.get("interval_mm", 1.0), "cross-section interval")
            width = positive(cs.get("width_mm", 40.0), "cross-section width")
            canals = {}
            for side, item in dict(d.get("canals", {})).items():
                canal = CanalPath.from_dict(item)
                if canal.side != side:
                    raise ValueError(f"the {side} canal is marked as {canal.side}")
                canals[side] = canal
            section = cls(
                arch=arch,
                panoramic=spec,
                position_mm=position,
                interval_mm=interval,
                count=count,
                width_mm=width,
                canals=canals,
                implants=[VirtualImplant.from_dict(item) for item in list(d.get("implants", []))],
            )
        except (TypeError, AttributeError, KeyError) as exc:
            raise ValueError(f"malformed dental section: {exc!r}") from None
        if len({i.id for i in section.implants}) != len(section.implants):
            raise ValueError("implant ids must be unique")
        return section


def _parse_spec(d: Any) -> Any:
    default = default_panoramic()
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
