"""The follow-up's record in the baseline's case file (section ``"compare"``).

Stored: the follow-up series' identity (UIDs, no patient data), where it was opened from
(to offer "Reopen follow-up"), the transform (:meth:`RigidTransform.to_dict`), whether it is
a registration or only the rough initial placement, its quality, the landmarks, the region,
and the follow-up's measurements (follow-up patient mm) with their pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cbctviewer.core.paired_measurements import PairedMeasurements
from cbctviewer.core.registration import RigidTransform
from cbctviewer.core.volume import SeriesIdentity

if TYPE_CHECKING:
    from .controller import CompareController

SECTION = "compare"
RECORD_VERSION = 1


def _points(value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise ValueError("a saved point needs 3 finite coordinates")
    return array


@dataclass
class CompareRecord:
    """A JSON-ready summary of the compared follow-up (see the module docstring)."""

    series_uid: str
    study_uid: str = ""
    frame_of_reference_uid: str = ""
    source: str = ""
    transform: RigidTransform = field(default_factory=RigidTransform.identity)
    registered: bool = False
    quality: dict[str, Any] = field(default_factory=dict)
    landmarks: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    region: tuple[np.ndarray, np.ndarray] | None = None
    measurements: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, controller: CompareController) -> CompareRecord:
        assert controller.followup is not None and controller.paired is not None
        identity = controller.followup.metadata.identity
        return cls(
            series_uid=identity.series_instance_uid,
            study_uid=identity.study_instance_uid,
            frame_of_reference_uid=identity.frame_of_reference_uid,
            source=str(controller.source) if controller.source is not None else "",
            transform=controller.transform,
            registered=controller.is_registered,
            quality=dict(controller.quality),
            landmarks=[(b.copy(), f.copy()) for b, f in controller.landmarks],
            region=controller.region,
            measurements=controller.paired.to_dict(),
        )

    def paired(self, identity: SeriesIdentity) -> PairedMeasurements:
        """The saved follow-up measurements and pairs (empty when they cannot be read)."""
        try:
            return PairedMeasurements.from_dict(identity, self.measurements)
        except ValueError:
            return PairedMeasurements(identity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "followup": {
                "series_instance_uid": self.series_uid,
                "study_instance_uid": self.study_uid,
                "frame_of_reference_uid": self.frame_of_reference_uid,
                "source": self.source,
            },
            "transform": self.transform.to_dict(),
            "registered": self.registered,
            "quality": _json_ready(self.quality),
            "landmarks": [[b.tolist(), f.tolist()] for b, f in self.landmarks],
            "region": None if self.region is None else [self.region[0].tolist(), self.region[1].tolist()],
            "measurements": self.measurements,
        }

    @classmethod
    def from_dict(cls, data: Any) -> CompareRecord:
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything damaged."""
        try:
            follow = data["followup"]
            region = data.get("region")
            return cls(
                series_uid=str(follow["series_instance_uid"]),
                study_uid=str(follow.get("study_instance_uid", "")),
                frame_of_reference_uid=str(follow.get("frame_of_reference_uid", "")),
                source=str(follow.get("source", "")),
                transform=RigidTransform.from_dict(data["transform"]),
                registered=bool(data.get("registered", False)),
                quality=dict(data.get("quality") or {}),
                landmarks=[(_points(b), _points(f)) for b, f in data.get("landmarks", [])],
                region=None if region is None else (_points(region[0]), _points(region[1])),
                measurements=dict(data.get("measurements") or {}),
            )
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"the saved follow-up record is damaged ({type(exc).__name__})") from exc


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
