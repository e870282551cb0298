"""scan() on the real sample corpus: known facts from ../shared/dicom-samples/README.md."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pydicom
import pytest

from cbctviewer.io.report import CandidateKind, ScanReport, SeriesCandidate
from cbctviewer.io.scan import scan

PIXEL_TAG_LE = struct.pack("<HH", 0x7FE0, 0x0010)
PIXEL_TAG_BE = struct.pack(">HH", 0x7FE0, 0x0010)


def only(report: ScanReport, kind: CandidateKind) -> list[SeriesCandidate]:
    return [c for c in report.series if c.kind is kind]


def assert_offsets_point_at_pixel_data(candidate: SeriesCandidate) -> None:
    for frame in candidate.frames:
        assert frame.pixel_data_offset is not None
        with frame.path.open("rb") as f:
            f.seek(frame.pixel_data_offset)
            assert f.read(4) in (PIXEL_TAG_LE, PIXEL_TAG_BE)


def test_ct_phantom_is_one_volume_of_28_slices(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm")
    assert not report.problems and not report.cancelled
    assert report.files_seen == 28
    [volume] = report.series
    assert volume.kind is CandidateKind.VOLUME
    assert (volume.rows, volume.columns, len(volume.frames)) == (512, 512, 28)
    assert volume.key == volume.series_instance_uid
    assert volume.size == (512, 512, 28)
    assert volume.spacing is not None and volume.spacing[2] == pytest.approx(5.0, abs=0.01)
    assert volume.direction is not None and len(volume.direction) == 9
    assert "28 slices" in volume.summary
    assert_offsets_point_at_pixel_data(volume)
    # Frames come back ordered along the slice normal.
    z = [f.position[2] for f in volume.frames if f.position]
    assert z == sorted(z) or z == sorted(z, reverse=True)


def test_mr_volume_has_16_slices_and_the_gap_is_reported(dicom_samples: Path) -> None:
    full = scan(dicom_samples / "volumes" / "mr_ge_signa_16slices")
    [volume] = full.volumes
    assert len(volume.frames) == 16 and volume.size == (256, 256, 16)
    gap = scan(dicom_samples / "volumes" / "mr_ge_signa_missing_slice")
    [volume] = gap.volumes
    assert len(volume.frames) == 15
    assert any("missing" in w for w in volume.warnings)


def test_oblique_derived_mr_still_forms_a_volume(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "volumes" / "mr_t1_3d_oblique_studyforrest_subset")
    [volume] = report.volumes
    assert len(volume.frames) == 100
    assert (volume.rows, volume.columns) == (384, 274)
    assert any("derived" in w for w in volume.warnings)


def test_radiographs_are_2d_images_with_their_pixel_spacing(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "radiographs")
    assert not report.volumes and not report.problems
    assert {c.kind for c in report.series} == {CandidateKind.IMAGE_2D}
    [dx] = [c for c in report.series if c.modality == "DX"]
    assert dx.imager_pixel_spacing == pytest.approx((1.2, 1.2012))
    assert dx.size == (211, 169, 1)
    assert dx.spacing == pytest.approx((1.2012, 1.2, 1.0))  # x along a row, as SimpleITK
    no_size = [c for c in report.series if c.imager_pixel_spacing is None]
    assert len(no_size) == 2  # one CR has no spacing, the other claims 0\0
    assert all(any("pixel size" in w for w in c.warnings) for c in no_size)
    assert any("no 3D scan" in w for w in report.warnings)


def test_mixed_folder_splits_localizer_from_secondary_captures(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "mixed_series_one_folder")
    localizers = only(report, CandidateKind.LOCALIZER)
    secondaries = only(report, CandidateKind.SECONDARY)
    assert [c.series_number for c in localizers] == [100]
    assert secondaries and {c.series_number for c in secondaries} == {401}
    assert sum(len(c.frames) for c in secondaries) == 6
    assert not report.volumes
    keys = [c.key for c in report.series]
    assert len(keys) == len(set(keys))


def test_enhanced_ct_gives_one_frame_ref_per_frame(dicom_samples: Path) -> None:
    native = dicom_samples / "multiframe" / "enhanced_ct_ct0012" / "CT0012.explicit_little_endian.dcm"
    [candidate] = scan(native).series
    assert candidate.kind is CandidateKind.VOLUME
    assert [f.frame_index for f in sorted(candidate.frames, key=lambda f: f.frame_index)] == [0, 1]
    assert {f.position for f in candidate.frames} == {(99.5, -301.5, -159.0), (99.5, -301.5, -149.0)}
    assert all(f.rescale_intercept == -1024.0 and f.rescale_slope == 1.0 for f in candidate.frames)
    assert all(f.pixel_spacing == pytest.approx((0.388672, 0.388672)) for f in candidate.frames)
    assert candidate.window_center == 49.0
    assert_offsets_point_at_pixel_data(candidate)
    compressed = native.with_name("CT0012.not_fragmented_bot_rle.dcm")
    [candidate] = scan(compressed).series
    assert len(candidate.frames) == 2 and all(f.pixel_data_offset is None for f in candidate.frames)


def test_enhanced_mr_without_geometry_still_lists_all_frames(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "multiframe" / "enhanced_mr_emri_small" / "emri_small.dcm")
    [candidate] = report.series
    assert len(candidate.frames) == 10 and candidate.files == 1
    assert candidate.warnings  # no positions: the user is told distances are not calibrated


def test_legacy_file_without_preamble_is_accepted(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "odd_valid" / "OT-PAL-8-face.dcm")
    assert not report.problems
    [candidate] = report.series
    assert candidate.photometric_interpretation == "PALETTE COLOR"
    assert candidate.kind is CandidateKind.SECONDARY
    assert_offsets_point_at_pixel_data(candidate)


def test_every_transfer_syntax_scans_and_native_offsets_are_exact(dicom_samples: Path) -> None:
    folder = dicom_samples / "transfer_syntaxes" / "ct_one_image_many_syntaxes"
    for path in sorted(folder.iterdir()):
        report = scan(path)
        assert not report.problems, path.name
        [candidate] = report.series
        [frame] = candidate.frames
        native = any(t in path.name for t in ("LittleEndianExplicit", "LittleEndianImplicit", "BigEndian"))
        if native or path.name == "CTImage.dcm":
            assert_offsets_point_at_pixel_data(candidate)
        elif "Deflated" in path.name:  # the dataset is compressed as a whole: no file offset
            assert frame.pixel_data_offset is None, path.name
        else:  # encapsulated: the offset of the undefined-length PixelData element
            assert frame.pixel_data_offset is not None, path.name
            with path.open("rb") as f:
                f.seek(frame.pixel_data_offset)
                head = f.read(12)
            assert head[:4] == b"\xe0\x7f\x10\x00", path.name
            assert head[8:12] == b"\xff\xff\xff\xff", path.name


def test_same_slice_in_many_syntaxes_is_not_a_volume(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "transfer_syntaxes" / "ct_one_image_many_syntaxes")
    assert not report.volumes
    [candidate] = report.series
    assert candidate.kind is CandidateKind.IMAGE_2D
    assert any("same position" in w for w in candidate.warnings)


def test_charset_names_decode_like_pydicom(dicom_samples: Path) -> None:
    for path in sorted((dicom_samples / "charsets").glob("*.dcm")):
        report = scan(path)
        assert not report.problems, path.name
        expected = pydicom.dcmread(path, stop_before_pixels=True).get("PatientName")
        if expected is None:
            continue
        [candidate] = report.series
        assert candidate.patient_name == str(expected), path.name


BROKEN_EXPECTED = {
    "MR_truncated.dcm": "cut short",
    "rtplan_truncated.dcm": "cut short",
    "no_meta.dcm": "not a DICOM file",
    "badVR.dcm": "damaged",
    "meta_missing_tsyntax.dcm": "damaged",
}


def test_broken_files_become_problems_or_are_accepted(dicom_samples: Path) -> None:
    folder = dicom_samples / "broken"
    report = scan(folder)
    problems = {p.path.name: p.error for p in report.problems}
    for name, words in BROKEN_EXPECTED.items():
        assert words in problems[name], (name, problems.get(name))
    accepted = {f.path.name for c in report.series for f in c.frames}
    for path in folder.iterdir():
        assert (path.name in problems) != (path.name in accepted), path.name
    assert any("could not be used" in w for w in report.warnings)


def test_whole_corpus_scans_without_escaping_errors(dicom_samples: Path) -> None:
    report = scan(dicom_samples)
    assert not report.cancelled
    assert report.files_seen == sum(1 for p in dicom_samples.rglob("*") if p.is_file()) - 1  # README
    keys = [c.key for c in report.series]
    assert len(keys) == len(set(keys))
    assert {p.path.name for p in report.problems} == set(BROKEN_EXPECTED)
    assert len(report.volumes) >= 5


def test_progress_is_monotonic_and_finishes(dicom_samples: Path) -> None:
    seen: list[float] = []
    scan(dicom_samples / "volumes" / "mr_ge_signa_16slices", progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in itertools.pairwise(seen))
