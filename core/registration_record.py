"""How a follow-up scan is placed on the baseline, as kept in the baseline's case file.

Kept as the ``"registration"`` part of the compare workspace's case-file section
(``"compare"``, :mod:`cbctviewer.app.compare.saving`).

JSON form (all points and matrices in patient LPS mm)::

    {"followup": {"series_instance_uid": ..., "study_instance_uid": ...,
                  "frame_of_reference_uid": ..., "modality": ...},
     "transform": {"kind": "rigid-baseline-to-followup", "matrix": [[...] * 4]},
     "method": "automatic" | "landmarks" | "landmarks+automatic" | "placement",
     "metric": -1.39 | null, "landmark_residual_mm": 0.12 | null,
     "landmarks": {"baseline": [[x, y, z], ...], "followup": [[x, y, z], ...]} | null}

The case file belongs to the baseline series; ``followup`` says which series the transform
maps to, so a reopened follow-up is only paired when its identity matches. ``"placement"``
is the rough initial placement (scanner coordinates or field-of-view centres): the
follow-up is not registered yet, but its landmarks are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cbctviewer.core.registration_transform import RigidTransform
from cbctviewer.core.volume import SeriesIdentity

__all__ = ["METHODS", "PLACEMENT", "RegistrationRecord"]

#: How the transform was found (:data:`PLACEMENT`: not registered yet).
METHODS = ("automatic", "landmarks", "landmarks+automatic", "placement")
PLACEMENT = "placement"
_IDENTITY_FIELDS = ("series_instance_uid", "study_instance_uid", "frame_of_reference_uid", "modality")


@dataclass(frozen=True)
class RegistrationRecord:
    """Which follow-up, the transform that places it, how it was found and its quality."""

    followup: SeriesIdentity
    transform: RigidTransform
    method: str = "automatic"
    metric: float | None = None
    landmark_residual_mm: float | None = None
    baseline_landmarks: tuple[tuple[float, float, float], ...] = ()
    followup_landmarks: tuple[tuple[float, float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown registration method {self.method!r}")
        if len(self.baseline_landmarks) != len(self.followup_landmarks):
            raise ValueError("landmarks must come in pairs")

    @property
    def registered(self) -> bool:
        """Whether the transform is a registration (not only the rough initial placement)."""
        return self.method != PLACEMENT

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (see the module docstring)."""
        landmarks = None
        if self.baseline_landmarks:
            landmarks = {
                "baseline": [list(map(float, p)) for p in self.baseline_landmarks],
                "followup": [list(map(float, p)) for p in self.followup_landmarks],
            }
        return {
            "followup": {name: getattr(self.followup, name) for name in _IDENTITY_FIELDS},
            "transform": self.transform.to_dict(),
            "method": self.method,
            "metric": _finite_or_none(self.metric),
            "landmark_residual_mm": _finite_or_none(self.landmark_residual_mm),
            "landmarks": landmarks,
        }

    @classmethod
    def from_dict(cls, data: Any) -> RegistrationRecord:
        """Inverse of :meth:`to_dict`; ``ValueError`` (plain words) for anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("the stored registration is not an object")
        ident = data.get("followup")
        if not isinstance(ident, dict) or not isinstance(ident.get("series_instance_uid"), str):
            raise ValueError("the stored registration does not say which follow-up it belongs to")
        followup = SeriesIdentity(**{name: str(ident.get(name, "")) for name in _IDENTITY_FIELDS})
        landmarks = data.get("landmarks")
        base: tuple[tuple[float, float, float], ...] = ()
        follow: tuple[tuple[float, float, float], ...] = ()
        if landmarks is not None:
            if not isinstance(landmarks, dict):
                raise ValueError("the stored landmarks are not an object")
            base, follow = _points(landmarks.get("baseline")), _points(landmarks.get("followup"))
        return cls(
            followup=followup,
            transform=RigidTransform.from_dict(data.get("transform")),
            method=str(data.get("method", "automatic")),
            metric=_number_or_none(data.get("metric")),
            landmark_residual_mm=_number_or_none(data.get("landmark_residual_mm")),
            baseline_landmarks=base,
            followup_landmarks=follow,
        )


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _number_or_none(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a stored registration quality value is not a number")
    return float(value)


def _points(value: Any) -> tuple[tuple[float, float, float], ...]:
    if not isinstance(value, list):
        raise ValueError("stored landmarks must be a list of points")
    out = []
    for p in value:
        if not isinstance(p, list) or len(p) != 3:
            raise ValueError("a stored landmark does not have 3 coordinates")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in p):
            raise ValueError("a stored landmark coordinate is not a number")
        out.append((float(p[0]), float(p[1]), float(p[2])))
    return tuple(out)
