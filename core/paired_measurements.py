"""Measurements paired across a baseline scan and its registered follow-up.

The follow-up keeps its own :class:`~cbctviewer.core.measure_set.MeasurementSet` whose points
are in the **follow-up's** patient frame (LPS mm), so they stay valid whatever the
registration later becomes. A pair ties a baseline measurement id to a follow-up
measurement id; :meth:`PairedMeasurements.rows` gives both values and the change.

"Map to follow-up" copies a baseline measurement through the registration
(:meth:`RigidTransform.apply`, baseline → follow-up) as the starting point that the user then
adjusts to the follow-up's anatomy. To draw follow-up measurements over the follow-up
resampled onto the baseline grid, :func:`to_baseline_frame` maps them back.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from psygnal import Signal

from .geometry import Plane, vec3
from .measure_set import MeasurementSet
from .measurements import Measurement, measurement_from_dict, measurement_to_dict, measurement_values
from .registration_transform import RigidTransform
from .volume import SeriesIdentity

__all__ = [
    "MeasurementPair",
    "PairRow",
    "PairedMeasurements",
    "main_value",
    "map_measurement",
    "to_baseline_frame",
]

#: The value compared for each kind (the first of these found in ``measurement_values``).
_MAIN_KEYS = ("length_mm", "angle_deg", "area_mm2", "height_mm", "value")


@dataclass(frozen=True, slots=True)
class MeasurementPair:
    """A baseline measurement and its follow-up counterpart (ids)."""

    baseline_id: str
    followup_id: str


@dataclass(frozen=True, slots=True)
class PairRow:
    """One line of the paired-measurement table; values NaN when a side is missing."""

    label: str
    baseline_value: float
    followup_value: float
    unit: str
    baseline_id: str
    followup_id: str

    @property
    def change(self) -> float:
        """Follow-up minus baseline (signed, in :attr:`unit`)."""
        return self.followup_value - self.baseline_value


def main_value(measurement: Measurement) -> tuple[float, str]:
    """The value a pair compares and its unit (``"mm"``, ``"°"``, ``"mm²"`` or ``""``)."""
    values = measurement_values(measurement)
    for key in _MAIN_KEYS:
        if key in values:
            unit = {"length_mm": "mm", "angle_deg": "°", "area_mm2": "mm²", "height_mm": "mm"}.get(key, "")
            return float(values[key]), unit
    return math.nan, ""


def _map_plane(plane: Plane | None, transform: RigidTransform, *, inverse: bool) -> Plane | None:
    if plane is None:
        return None
    rotation = transform.rotation.T if inverse else transform.rotation
    move = transform.apply_inverse if inverse else transform.apply
    return Plane.from_axes(
        vec3(move(plane.origin)),
        vec3(rotation @ np.asarray(plane.x_axis)),
        vec3(rotation @ np.asarray(plane.y_axis)),
    )


def map_measurement(
    measurement: Measurement, transform: RigidTransform, *, new_id: bool = True
) -> Measurement:
    """A baseline measurement carried into the follow-up frame (``transform.apply``).

    ``new_id`` gives the copy its own id (ids are unique within a set, not across sets, but
    distinct ids keep the case file unambiguous).
    """
    points = transform.apply(measurement.array)
    plane = _map_plane(measurement.plane, transform, inverse=False)
    mapped = replace(measurement, points=tuple(vec3(p) for p in points), plane=plane)
    if new_id:
        mapped = replace(mapped, id=uuid.uuid4().hex[:12])
    return mapped


def to_baseline_frame(measurement: Measurement, transform: RigidTransform) -> Measurement:
    """A follow-up measurement drawn in the baseline frame (``transform.apply_inverse``); same id."""
    points = transform.apply_inverse(measurement.array)
    plane = _map_plane(measurement.plane, transform, inverse=True)
    return replace(measurement, points=tuple(vec3(p) for p in np.atleast_2d(points)), plane=plane)


class PairedMeasurements:
    """The follow-up's measurements and their pairing with the baseline's.

    Parameters
    ----------
    followup_identity : SeriesIdentity
        The follow-up series (its measurements' frame).
    followup_measurements : iterable of Measurement, optional
        Saved follow-up measurements (follow-up patient mm).
    pairs : iterable of MeasurementPair, optional
        Saved pairs; pairs whose follow-up measurement is missing are dropped.
    """

    #: The pairs changed (added, removed or restored).
    pairs_changed = Signal()

    def __init__(
        self,
        followup_identity: SeriesIdentity,
        followup_measurements: Iterable[Measurement] = (),
        pairs: Iterable[MeasurementPair] = (),
    ) -> None:
        self.followup = MeasurementSet(followup_identity, followup_measurements)
        self._pairs = [p for p in pairs if p.followup_id in self.followup]
        self.followup.events.removed.connect(self._followup_removed)

    @property
    def pairs(self) -> tuple[MeasurementPair, ...]:
        return tuple(self._pairs)

    def pair_of_baseline(self, baseline_id: str) -> MeasurementPair | None:
        return next((p for p in self._pairs if p.baseline_id == baseline_id), None)

    def pair_of_followup(self, followup_id: str) -> MeasurementPair | None:
        return next((p for p in self._pairs if p.followup_id == followup_id), None)

    def map_to_followup(self, baseline: Measurement, transform: RigidTransform) -> Measurement:
        """Copy ``baseline`` into the follow-up through ``transform`` and pair the two.

        A baseline measurement already paired gets its follow-up counterpart replaced (one
        undo step in the follow-up set) rather than a second copy.
        """
        mapped = map_measurement(baseline, transform)
        existing = self.pair_of_baseline(baseline.id)
        if existing is not None and existing.followup_id in self.followup:
            return self.followup.replace(existing.followup_id, mapped)
        added = self.followup.add(replace(mapped, label=baseline.label))
        self._pairs.append(MeasurementPair(baseline.id, added.id))
        self.pairs_changed.emit()
        return added

    def remeasure(self, followup_id: str, points: ArrayLike) -> Measurement:
        """Put new handle positions (follow-up patient mm) on a follow-up measurement."""
        old = self.followup.get(followup_id)
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        new = Measurement.create(old.kind, pts, plane=old.plane, label=old.label, note=old.note)
        return self.followup.replace(followup_id, new)

    def unpair(self, followup_id: str) -> None:
        """Forget a pair (both measurements stay)."""
        before = len(self._pairs)
        self._pairs = [p for p in self._pairs if p.followup_id != followup_id]
        if len(self._pairs) != before:
            self.pairs_changed.emit()

    def _followup_removed(self, measurement: Measurement) -> None:
        self.unpair(measurement.id)

    def rows(self, baseline: MeasurementSet | None) -> list[PairRow]:
        """Label, baseline value, follow-up value and unit of every pair (baseline label first)."""
        rows = []
        for pair in self._pairs:
            base = (
                baseline.get(pair.baseline_id)
                if baseline is not None and pair.baseline_id in baseline
                else None
            )
            follow = self.followup.get(pair.followup_id) if pair.followup_id in self.followup else None
            base_value, unit = main_value(base) if base is not None else (math.nan, "")
            follow_value, follow_unit = main_value(follow) if follow is not None else (math.nan, "")
            label = base.label if base is not None else (follow.label if follow is not None else "")
            rows.append(
                PairRow(
                    label, base_value, follow_value, unit or follow_unit, pair.baseline_id, pair.followup_id
                )
            )
        return rows

    # -- saving -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the follow-up measurements (follow-up patient mm) and the pairs."""
        return {
            "measurements": [measurement_to_dict(m) for m in self.followup],
            "pairs": [{"baseline": p.baseline_id, "followup": p.followup_id} for p in self._pairs],
        }

    @classmethod
    def from_dict(cls, identity: SeriesIdentity, data: Mapping[str, Any]) -> PairedMeasurements:
        """Inverse of :meth:`to_dict`; ``ValueError`` for malformed data."""
        try:
            measurements = [measurement_from_dict(d) for d in data.get("measurements", [])]
            pairs = [MeasurementPair(str(p["baseline"]), str(p["followup"])) for p in data.get("pairs", [])]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"the saved follow-up measurements are damaged ({type(exc).__name__})") from exc
        return cls(identity, measurements, pairs)
