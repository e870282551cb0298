"""An implant-site result as a measurement: points, values, note, case-file and CSV round trip."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from cbctviewer.core.geometry import Plane
from cbctviewer.core.implant_record import site_measurement, site_note
from cbctviewer.core.implant_site import Segment, SiteMeasurement
from cbctviewer.core.measure_crossing import measurement_crossing
from cbctviewer.core.measure_text import value_text
from cbctviewer.core.measurements import (
    Measurement,
    MeasurementKind,
    measurement_from_dict,
    measurement_to_dict,
    measurement_values,
)
from cbctviewer.io.case_file import export_csv


def _result(*, warnings: tuple[str, ...] = (), width_5: float = 6.0) -> SiteMeasurement:
    segs = [Segment("height", (0.0, 0.0, 0.0), (0.0, 0.0, -12.0))]
    widths = {1.0: 4.0, 3.0: 5.0, 5.0: width_5}
    for d, w in widths.items():
        if math.isfinite(w):
            segs.append(Segment(f"width_{d:g}", (w / 2, 0.0, -d), (-w / 2, 0.0, -d)))
    return SiteMeasurement(
        height_mm=12.0, limit="cortex", widths=widths, segments=tuple(segs), threshold=900.0,
        threshold_estimated=True, safety_margin_mm=2.0, safe_length_mm=12.0, cortex_height_mm=12.0,
        warnings=warnings,
    )  # fmt: skip


def test_values_text_and_round_trip() -> None:
    m = site_measurement(_result(), label="Site 1")
    assert m.kind == MeasurementKind.IMPLANT_SITE and len(m.points) == 8
    v = measurement_values(m)
    assert v["height_mm"] == pytest.approx(12.0)
    assert [v[f"width_{d}_mm"] for d in (1, 3, 5)] == pytest.approx([4.0, 5.0, 6.0])
    assert value_text(m) == "height 12.0 mm, width at 1/3/5 mm: 4.0 / 5.0 / 6.0 mm"
    assert m.note == "limit: the inferior cortex"
    assert measurement_from_dict(measurement_to_dict(m)) == m


def test_missing_width_is_nan_and_odd_points_refused() -> None:
    m = site_measurement(
        _result(width_5=float("nan"), warnings=("no bone on the axis 5 mm below the crest",))
    )
    assert math.isnan(measurement_values(m)["width_5_mm"])
    assert "no bone" in m.note
    with pytest.raises(ValueError):
        Measurement.create(MeasurementKind.IMPLANT_SITE, [(0, 0, 0), (0, 0, 1), (0, 0, 2)])


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        (None, None),
        (9.0, None),
        (11.0, "the planned 11 mm implant would reach within 2 mm of the inferior cortex"),
        (13.0, "the planned 13 mm implant would pass through the inferior cortex"),
    ],
)
def test_planned_length_in_plain_words(planned: float | None, expected: str | None) -> None:
    core_warning = f"a {planned} mm implant reaches through the cortex: safe length 12.0 mm"
    note = site_note(_result(warnings=(core_warning,)), planned_length_mm=planned)
    assert "implant reaches" not in note
    if expected is None:
        assert note == "limit: the inferior cortex"
    else:
        assert expected in note


def test_drawn_as_separate_segments_and_exported(tmp_path: Path) -> None:
    m = site_measurement(_result())
    coronal = Plane.from_axes((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
    assert measurement_crossing(m, coronal, tolerance=0.2).in_plane
    axial = Plane.from_axes((0.0, 0.0, -3.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    crossing = measurement_crossing(m, axial, tolerance=0.2)
    assert not crossing.in_plane and crossing.near.sum() == 2  # the 3 mm width lies in it
    out = export_csv([m], tmp_path / "t.csv")
    (row,) = csv.DictReader(out.read_text(encoding="utf-8").splitlines())
    assert float(row["height_mm"]) == pytest.approx(12.0) and float(row["width_3_mm"]) == pytest.approx(5.0)
    assert row["note"] == "limit: the inferior cortex"
