"""Measurements paired across a baseline and its follow-up (headless)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cbctviewer.core.geometry import Plane, rotation_about
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measurements import Measurement, measurement_values
from cbctviewer.core.paired_measurements import (
    PairedMeasurements,
    main_value,
    map_measurement,
    to_baseline_frame,
)
from cbctviewer.core.registration import RigidTransform
from cbctviewer.core.volume import SeriesIdentity

BASE_ID = SeriesIdentity("1.2.3.1", frame_of_reference_uid="1.2.3.9")
FOLLOW_ID = SeriesIdentity("1.2.3.2", frame_of_reference_uid="1.2.3.8")


def _transform() -> RigidTransform:
    rotation = rotation_about(np.array([0.35, -0.25, 0.9]), 6.5)
    return RigidTransform.from_rotation_translation(rotation, [0.4, -6.2, 2.9])


def test_mapping_moves_points_through_the_transform_and_keeps_lengths() -> None:
    transform = _transform()
    shoulder, level = np.array([23.1, -11.3, -42.0]), np.array([23.1, -11.3, -43.5])
    base = Measurement.create("distance", [shoulder, level], label="Bone level 36")
    mapped = map_measurement(base, transform)
    assert np.allclose(mapped.array, transform.apply(base.array))
    assert mapped.id != base.id and mapped.label == base.label
    assert main_value(mapped)[0] == pytest.approx(1.5, abs=1e-9)
    back = to_baseline_frame(mapped, transform)
    assert np.allclose(back.array, base.array, atol=1e-9) and back.id == mapped.id


def test_roi_planes_are_mapped_too() -> None:
    plane = Plane.from_axes([0, 0, -40], [1, 0, 0], [0, 1, 0])
    ellipse = Measurement.create("ellipse", [[0, 0, -40], [3, 0, -40], [0, 2, -40]], plane=plane)
    mapped = map_measurement(ellipse, _transform())
    assert mapped.plane is not None
    assert np.allclose(mapped.plane.to_plane(mapped.array)[:, 2], 0.0, atol=1e-9)
    assert measurement_values(mapped)["area_mm2"] == pytest.approx(math.pi * 6.0)


def test_rows_show_both_values_and_the_signed_change() -> None:
    transform = _transform()
    baseline = MeasurementSet(BASE_ID)
    shoulder, direction = np.array([23.1, -11.3, -42.0]), np.array([0.0, 0.0, -1.0])
    first = baseline.add(Measurement.create("distance", [shoulder, shoulder + 1.5 * direction], label="MBL"))
    paired = PairedMeasurements(FOLLOW_ID)
    copy = paired.map_to_followup(first, transform)
    assert len(paired.pairs) == 1 and paired.pair_of_baseline(first.id) is not None
    (row,) = paired.rows(baseline)
    assert row.change == pytest.approx(0.0, abs=1e-9) and row.unit == "mm" and row.label == "MBL"
    # Re-measured on the follow-up: the bone level is 1 mm deeper there.
    follow_shoulder = transform.apply(shoulder)
    follow_dir = transform.rotation @ direction
    paired.remeasure(copy.id, [follow_shoulder, follow_shoulder + 2.5 * follow_dir])
    (row,) = paired.rows(baseline)
    assert row.baseline_value == pytest.approx(1.5)
    assert row.followup_value == pytest.approx(2.5)
    assert row.change == pytest.approx(1.0)
    # Mapping the same baseline measurement again replaces its copy (one pair, undoable).
    paired.map_to_followup(first, transform)
    assert len(paired.followup) == 1 and len(paired.pairs) == 1
    assert paired.rows(baseline)[0].change == pytest.approx(0.0, abs=1e-9)
    paired.followup.undo()
    assert paired.rows(baseline)[0].change == pytest.approx(1.0)


def test_a_missing_side_gives_nan_and_removal_unpairs() -> None:
    baseline = MeasurementSet(BASE_ID)
    m = baseline.add(Measurement.create("angle", [[0, 1, 0], [0, 0, 0], [1, 0, 0]]))
    paired = PairedMeasurements(FOLLOW_ID)
    copy = paired.map_to_followup(m, RigidTransform.identity())
    assert paired.rows(baseline)[0].unit == "°"
    baseline.remove(m.id)
    assert math.isnan(paired.rows(baseline)[0].baseline_value)
    paired.followup.remove(copy.id)
    assert paired.pairs == () and paired.rows(baseline) == []


def test_saved_form_round_trips_and_damage_is_refused() -> None:
    transform = _transform()
    baseline = MeasurementSet(BASE_ID)
    m = baseline.add(Measurement.create("distance", [[0, 0, 0], [0, 0, 5]]))
    paired = PairedMeasurements(FOLLOW_ID)
    paired.map_to_followup(m, transform)
    again = PairedMeasurements.from_dict(FOLLOW_ID, paired.to_dict())
    assert again.pairs == paired.pairs
    assert np.allclose(next(iter(again.followup)).array, next(iter(paired.followup)).array)
    with pytest.raises(ValueError, match="damaged"):
        PairedMeasurements.from_dict(FOLLOW_ID, {"pairs": [{"baseline": "x"}]})
    # A pair whose follow-up measurement is gone is dropped on load.
    data = paired.to_dict()
    data["measurements"] = []
    assert PairedMeasurements.from_dict(FOLLOW_ID, data).pairs == ()
