"""io.case_file: location, round trip, atomicity, damaged files, versions, CSV export.

Every test runs with CBCT_VIEWER_DATA_DIR in a temporary folder (the real home is never touched).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.geometry import Plane, rotation_about
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measurements import Measurement
from cbctviewer.core.registration_record import RegistrationRecord
from cbctviewer.core.registration_transform import RigidTransform
from cbctviewer.core.volume import SeriesIdentity, Volume
from cbctviewer.io import case_file
from cbctviewer.io.case_file import (
    Case,
    CaseFileError,
    DamagedCaseFile,
    UnsupportedCaseVersion,
    case_path,
    export_csv,
    load_case,
    save_case,
)

IDENTITY = SeriesIdentity(
    series_instance_uid="1.2.826.0.1.3680043.8.498.2",
    study_instance_uid="1.2.826.0.1.3680043.8.498.1",
    frame_of_reference_uid="1.2.826.0.1.3680043.8.498.3",
    modality="CT",
)
PLANE = Plane((1.0, 2.0, 3.0), (1.0, 0.0, 0.0), (0.0, 0.6, 0.8))
#: A feature's section holding a registration record (the compare workspace nests one in "compare").
SECTION_NAME = "registration"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("CBCT_VIEWER_DATA_DIR", str(folder))
    return folder


def sample_case() -> Case:
    s = MeasurementSet(IDENTITY)
    s.add(Measurement.create("distance", [(0.1, 0.2, 0.3), (10.123456789, -4.0, 2.5)]))
    s.add(Measurement.create("angle", [(1, 0, 0), (0, 0, 0), (0, 1, 0)], label="ANB, ß"))
    s.add(Measurement.create("ellipse", [(1, 2, 3), (3, 2, 3), (1, 2.6, 3.8)], plane=PLANE))
    s.add(Measurement.create("polygon", [(1, 2, 3), (4, 2, 3), (4, 3.2, 4.6)], plane=PLANE))
    s.add(Measurement.create("profile", [(0, 0, 0), (5, 5, 5)]))
    s.add(Measurement.create("point", [(1, 1, 1)]))
    s.add(Measurement.create("polyline", [(0, 0, 0), (1, 0, 0), (1, 1, 0)]))
    view = {"crosshair": [1.0, 2.0, 3.0], "axes": np.eye(3).tolist(), "window": [400.0, 2000.0]}
    return Case(IDENTITY, list(s), view, sections=sample_sections())


FOLLOWUP = SeriesIdentity(
    series_instance_uid="1.2.826.0.1.3680043.8.498.12",
    study_instance_uid="1.2.826.0.1.3680043.8.498.11",
    frame_of_reference_uid="1.2.826.0.1.3680043.8.498.13",
    modality="CT",
)


def sample_sections() -> dict:
    transform = RigidTransform.from_rotation_translation(rotation_about((0.3, -0.2, 0.9), 6.5), (3, -4, 2.5))
    record = RegistrationRecord(
        FOLLOWUP,
        transform,
        method="landmarks+automatic",
        metric=-1.3904,
        landmark_residual_mm=0.12,
        baseline_landmarks=((0.0, 0.0, 0.0), (10.0, 0.0, 0.0), (0.0, 10.0, 1.0)),
        followup_landmarks=((1.0, 0.5, 0.0), (11.0, 0.2, 0.0), (0.5, 10.5, 1.0)),
    )
    return {SECTION_NAME: record.to_dict(), "dental": {"arch": [[0.0, 1.0, 2.0]], "note": "ß"}}


def test_location_is_a_hash_in_the_data_dir(data_dir: Path, tmp_path: Path):
    path = case_path(IDENTITY)
    assert path.parent == data_dir / "cases"
    assert IDENTITY.series_instance_uid not in path.name and path.suffix == ".json"
    assert case_path(IDENTITY, data_dir=tmp_path / "other").parent == tmp_path / "other" / "cases"
    other = SeriesIdentity(series_instance_uid="9.9", study_instance_uid=IDENTITY.study_instance_uid)
    assert case_path(other) != path
    with pytest.raises(ValueError):
        case_path(SeriesIdentity())


def test_round_trip_is_exact(data_dir: Path):
    case = sample_case()
    assert load_case(IDENTITY) is None
    path = save_case(case)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["schema"], data["version"]) == ("cbct-viewer/case", case_file.CASE_VERSION)
    assert case_file.CASE_VERSION == 2
    assert data["series"]["frame_of_reference_uid"] == IDENTITY.frame_of_reference_uid
    loaded = load_case(IDENTITY)
    assert loaded is not None
    assert loaded.identity == IDENTITY
    assert loaded.measurements == case.measurements
    assert loaded.view_state == case.view_state
    assert loaded.sections == case.sections
    record = RegistrationRecord.from_dict(loaded.sections[SECTION_NAME])
    original = RegistrationRecord.from_dict(case.sections[SECTION_NAME])
    assert record.followup == FOLLOWUP
    assert np.array_equal(record.transform.matrix, original.transform.matrix)
    assert (record.metric, record.landmark_residual_mm) == (-1.3904, 0.12)
    assert record.baseline_landmarks == original.baseline_landmarks
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary leftovers


def test_version_1_file_without_sections_still_loads():
    case = sample_case()
    path = save_case(case)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["version"] = 1
    del data["sections"]
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_case(IDENTITY)
    assert loaded is not None
    assert loaded.sections == {}
    assert loaded.measurements == case.measurements


def test_sections_that_json_cannot_hold_are_refused_before_writing():
    path = save_case(sample_case())
    before = path.read_bytes()
    for bad in ({"registration": {"metric": float("nan")}}, {"x": {"v": object()}}, {"x": [1, 2]}):
        with pytest.raises(ValueError):
            save_case(Case(IDENTITY, [], {}, sections=bad))
    assert path.read_bytes() == before


def test_damaged_section_sets_the_file_aside():
    path = case_path(IDENTITY)
    for damage in ([1, 2], {"registration": [1]}, {"registration": "x"}):
        save_case(sample_case())
        data = json.loads(path.read_text(encoding="utf-8"))
        data["sections"] = damage
        content = json.dumps(data).encode()
        path.write_bytes(content)
        with pytest.raises(DamagedCaseFile) as info:
            load_case(IDENTITY)
        assert info.value.moved_to is not None and info.value.moved_to.read_bytes() == content
        assert load_case(IDENTITY) is None


@pytest.mark.parametrize(
    "damage",
    [
        {
            "transform": {
                "kind": "rigid-baseline-to-followup",
                "matrix": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
            }
        },
        {"transform": {"kind": "rigid-baseline-to-followup", "matrix": [[1, 0, 0]]}},
        {"transform": None},
        {"followup": None},
        {"metric": "good"},
        {"landmarks": {"baseline": [[0, 0]], "followup": [[0, 0]]}},
        {"landmarks": {"baseline": [[0, 0, 0]], "followup": []}},
        {"method": "magic"},
    ],
)
def test_damaged_registration_record_is_refused_in_plain_words(damage: dict):
    data = {**sample_sections()[SECTION_NAME], **damage}
    with pytest.raises(ValueError):
        RegistrationRecord.from_dict(data)


def test_never_written_inside_the_source(tmp_path: Path):
    media = tmp_path / "media"
    with pytest.raises(ValueError):
        save_case(sample_case(), data_dir=media / "x", source=media)
    assert not media.exists()
    assert save_case(sample_case(), source=media).is_file()


def test_crash_during_save_keeps_the_previous_version(monkeypatch: pytest.MonkeyPatch):
    first = sample_case()
    path = save_case(first)
    before = path.read_bytes()
    second = Case(IDENTITY, first.measurements[:1], {})

    def crash(self, target):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(Path, "replace", crash)
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            save_case(second)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    loaded = load_case(IDENTITY)
    assert loaded is not None and loaded.measurements == first.measurements


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b'{"schema": "something/else", "version": 1}',
        b'{"schema": "cbct-viewer/case", "version": 1, "series": {}, "measurements": [{"kind": "distance"}]}',
        b'{"schema": "cbct-viewer/case", "version": "one"}',
        b"[]",
    ],
)
def test_damaged_file_is_set_aside_with_a_clear_error(content: bytes):
    path = case_path(IDENTITY)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(DamagedCaseFile) as info:
        load_case(IDENTITY)
    moved = info.value.moved_to
    assert moved is not None and moved.read_bytes() == content
    assert moved.name.startswith(path.name + ".damaged-")
    assert "damaged" in str(info.value) and moved.name in str(info.value)
    assert not path.exists()
    assert load_case(IDENTITY) is None  # starts afresh
    save_case(sample_case())  # and a new save does not overwrite the set-aside copy
    assert moved.read_bytes() == content


def test_newer_version_is_refused_and_left_untouched():
    path = save_case(sample_case())
    data = json.loads(path.read_text(encoding="utf-8"))
    data["version"] = 99
    path.write_text(json.dumps(data), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(UnsupportedCaseVersion, match="newer"):
        load_case(IDENTITY)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_file_of_another_frame_of_reference_is_refused():
    save_case(sample_case())
    moved_frame = SeriesIdentity(
        series_instance_uid=IDENTITY.series_instance_uid,
        study_instance_uid=IDENTITY.study_instance_uid,
        frame_of_reference_uid="1.2.3.999",
    )
    with pytest.raises(CaseFileError):
        load_case(moved_frame)
    assert case_path(IDENTITY).exists()


def test_export_csv(tmp_path: Path):
    array = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    volume = Volume(sitk.GetImageFromArray(array))
    case = sample_case()
    out = export_csv(case.measurements, tmp_path / "table.csv", volume=volume)
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["kind"] for r in rows] == [str(m.kind) for m in case.measurements]
    assert float(rows[0]["length_mm"]) == pytest.approx(np.linalg.norm([10.023456789, -4.2, 2.2]), abs=1e-3)
    assert float(rows[1]["angle_deg"]) == pytest.approx(90.0)
    assert rows[1]["label"] == "ANB, ß"
    assert float(rows[2]["area_mm2"]) == pytest.approx(np.pi * 2.0 * 1.0, abs=1e-3)
    assert float(rows[5]["value"]) == pytest.approx(111.0)
    assert rows[3]["mean"] != ""
    assert list(tmp_path.iterdir()) == [out]


def test_data_dir_default_uses_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("CBCT_VIEWER_DATA_DIR")
    monkeypatch.setattr(case_file.platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "pd"))
    assert case_path(IDENTITY).parent == tmp_path / "pd" / "cases"
