"""The follow-up's record in the baseline's case file (section ``"compare"``).

JSON form (version 2)::

    {"version": 2,
     "source": "/media/disc",            # where it was opened from ("Reopen follow-up")
     "registration": {...},              # RegistrationRecord.to_dict(): follow-up identity
                                         # (UIDs, no patient data), transform, method,
                                         # metric, landmark residual, landmarks
     "levels": [{"spacing_mm": ..., "iterations": ..., "metric": ..., "seconds": ...}],
     "region": [[x, y, z], [x, y, z]] | null,
     "measurements": {...}}              # PairedMeasurements.to_dict() (follow-up mm)

The transform and its quality live in the registration record only
(:class:`~cbctviewer.core.registration_record.RegistrationRecord`); a follow-up that is
only roughly placed has the method ``"placement"``. Version 1 sections (development
builds, never released) are not read: the follow-up is then simply not remembered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cbctviewer.core.paired_measurements import PairedMeasurements
from cbctviewer.core.registration import RigidTransform
from cbctviewer.core.registration_record import METHODS, PLACEMENT, RegistrationRecord
from cbctviewer.core.volume import SeriesIdentity

if TYPE_CHECKING:
    from .controller import CompareController

SECTION = "compare"
RECORD_VERSION = 2


def _point(value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise ValueError("a saved point needs 3 finite coordinates")
    return array


@dataclass
class CompareRecord:
    """A JSON-ready summary of the compared follow-up (see the module docstring)."""

    registration: RegistrationRecord
    source: str = ""
    #: The registration's per-level report (what the panel lists; empty without one).
    levels: list[dict[str, Any]] = field(default_factory=list)
    region: tuple[np.ndarray, np.ndarray] | None = None
    measurements: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, controller: CompareController) -> CompareRecord:
        """The record of ``controller``'s open follow-up."""
        assert controller.followup is not None and controller.paired is not None
        quality = controller.quality
        method, metric, residual, levels = PLACEMENT, None, None, []
        if controller.is_registered:
            said = quality.get("method")
            # A registration that did not say how (e.g. a transform set by a script): automatic.
            method = said if said in METHODS and said != PLACEMENT else "automatic"
            metric, residual = quality.get("metric"), quality.get("landmark_residual_mm")
            levels = list(quality.get("levels", []))
        registration = RegistrationRecord(
            followup=controller.followup.metadata.identity,
            transform=controller.transform,
            method=method,
            metric=metric,
            landmark_residual_mm=residual,
            baseline_landmarks=tuple(_triple(b) for b, _ in controller.landmarks),
            followup_landmarks=tuple(_triple(f) for _, f in controller.landmarks),
        )
        return cls(
            registration=registration,
            source=str(controller.source) if controller.source is not None else "",
            levels=levels,
            region=controller.region,
            measurements=controller.paired.to_dict(),
        )

    @property
    def series_uid(self) -> str:
        """The follow-up series this record belongs to."""
        return self.registration.followup.series_instance_uid

    @property
    def transform(self) -> RigidTransform:
        return self.registration.transform

    @property
    def registered(self) -> bool:
        return self.registration.registered

    @property
    def landmarks(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The landmark pairs (baseline point, follow-up point), as the controller keeps them."""
        pairs = zip(self.registration.baseline_landmarks, self.registration.followup_landmarks, strict=True)
        return [(np.array(b), np.array(f)) for b, f in pairs]

    @property
    def quality(self) -> dict[str, Any]:
        """The controller's ``quality`` (method, metric, residual, levels); empty when not registered."""
        r = self.registration
        if not r.registered:
            return {}
        return {
            "method": r.method,
            "metric": r.metric,
            "landmark_residual_mm": r.landmark_residual_mm,
            "levels": [dict(level) for level in self.levels],
        }

    def paired(self, identity: SeriesIdentity) -> PairedMeasurements:
        """The saved follow-up measurements and pairs (empty when they cannot be read)."""
        try:
            return PairedMeasurements.from_dict(identity, self.measurements)
        except ValueError:
            return PairedMeasurements(identity)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready section (see the module docstring)."""
        return {
            "version": RECORD_VERSION,
            "source": self.source,
            "registration": self.registration.to_dict(),
            "levels": _json_ready(self.levels),
            "region": None if self.region is None else [self.region[0].tolist(), self.region[1].tolist()],
            "measurements": self.measurements,
        }

    @classmethod
    def from_dict(cls, data: Any) -> CompareRecord:
        """Inverse of :meth:`to_dict`; ``ValueError`` in plain words for anything damaged or older."""
        if not isinstance(data, dict):
            raise ValueError("the saved follow-up record is damaged (not an object)")
        if data.get("version") != RECORD_VERSION:
            raise ValueError("the saved follow-up record is from another version: open the follow-up again")
        try:
            region = data.get("region")
            return cls(
                registration=RegistrationRecord.from_dict(data.get("registration")),
                source=str(data.get("source", "")),
                levels=[dict(level) for level in data.get("levels") or []],
                region=None if region is None else (_point(region[0]), _point(region[1])),
                measurements=dict(data.get("measurements") or {}),
            )
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"the saved follow-up record is damaged ({type(exc).__name__})") from exc


def _triple(point: np.ndarray) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in np.asarray(point, dtype=float).reshape(3))
    return x, y, z


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
