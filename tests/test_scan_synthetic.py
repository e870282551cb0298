"""scan() on small synthetic files written by pydicom in each test: splitting, kinds, limits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    BasicTextSRStorage,
    CTImageStorage,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from cbctviewer.core.tasks import Cancelled
from cbctviewer.io.report import CandidateKind, ItemKind
from cbctviewer.io.scan import scan

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
STUDY = "1.2.826.0.1.3680043.8.498.1"


def write_dicom(
    path: Path,
    *,
    series: str = "1.2.826.0.1.3680043.8.498.2",
    z: float = 0.0,
    orientation: Sequence[float] | None = AXIAL,
    rows: int = 8,
    columns: int = 8,
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "AXIAL"),
    modality: str = "CT",
    sop_class: str = CTImageStorage,
    acquisition: int | None = None,
    frames: int | None = None,
    photometric: str = "MONOCHROME2",
    sop_instance: str | None = None,
    pixels: bool = True,
    **extra: object,
) -> Path:
    """A small valid DICOM image (explicit VR little endian), like a scanner's slice."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = UID(sop_instance) if sop_instance else generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, series
    ds.PatientName, ds.PatientID, ds.Modality = "Test^Patient", "T1", modality
    ds.SeriesNumber, ds.InstanceNumber = 1, int(z) + 1
    ds.ImageType = list(image_type)
    if orientation is not None:
        ds.ImagePositionPatient = [0.0, 0.0, z]
        ds.ImageOrientationPatient = list(orientation)
        ds.PixelSpacing = [0.5, 0.5]
    if acquisition is not None:
        ds.AcquisitionNumber = acquisition
    for key, value in extra.items():
        setattr(ds, key, value)
    if pixels:
        samples = 3 if photometric == "RGB" else 1
        ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, samples
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = (8, 8, 7) if samples == 3 else (16, 12, 11)
        ds.PixelRepresentation, ds.PhotometricInterpretation = 0, photometric
        if samples == 3:
            ds.PlanarConfiguration = 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        if frames is not None:
            ds.NumberOfFrames = frames
        count = frames or 1
        ds.PixelData = bytes(rows * columns * samples * (1 if samples == 3 else 2) * count)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def stack(folder: Path, n: int, **kwargs: object) -> list[Path]:
    return [write_dicom(folder / f"IM{i:03d}", z=float(i), **kwargs) for i in range(n)]  # type: ignore[arg-type]


def test_plain_stack_is_one_volume(tmp_path: Path) -> None:
    stack(tmp_path, 5)
    report = scan(tmp_path)
    [volume] = report.series
    assert volume.kind is CandidateKind.VOLUME and len(volume.frames) == 5
    assert volume.size == (8, 8, 5)
    assert volume.frames[0].pixel_data_offset is not None
    assert volume.patient_name == "Test^Patient"


def test_series_mixing_orientations_is_split_with_unique_keys(tmp_path: Path) -> None:
    stack(tmp_path / "a", 4)
    stack(tmp_path / "b", 4, orientation=SAGITTAL)
    report = scan(tmp_path)
    assert [c.kind for c in report.series] == [CandidateKind.VOLUME, CandidateKind.VOLUME]
    series_uid = report.series[0].series_instance_uid
    assert sorted(c.key for c in report.series) == [series_uid, f"{series_uid}#2"]
    assert report.find(f"{series_uid}#2") is report.series[1]


def test_series_mixing_image_sizes_is_split(tmp_path: Path) -> None:
    stack(tmp_path / "a", 3)
    stack(tmp_path / "b", 3, rows=16, columns=16)
    report = scan(tmp_path)
    assert sorted((c.rows, len(c.frames)) for c in report.series) == [(8, 3), (16, 3)]


def test_lone_slice_with_another_orientation_is_a_localizer(tmp_path: Path) -> None:
    stack(tmp_path, 6)
    write_dicom(tmp_path / "scout", z=50.0, orientation=SAGITTAL)
    report = scan(tmp_path)
    kinds = sorted((c.kind.value, len(c.frames)) for c in report.series)
    assert kinds == [("localizer", 1), ("volume", 6)]
    assert report.series[0].key == report.series[0].series_instance_uid  # the volume keeps the UID


def test_image_type_localizer_is_split_off(tmp_path: Path) -> None:
    stack(tmp_path, 4)
    write_dicom(tmp_path / "loc", z=1.5, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    report = scan(tmp_path)
    assert {c.kind for c in report.series} == {CandidateKind.VOLUME, CandidateKind.LOCALIZER}


def test_repeated_acquisitions_become_separate_volumes(tmp_path: Path) -> None:
    stack(tmp_path / "first", 4, acquisition=1)
    stack(tmp_path / "second", 4, acquisition=2)
    report = scan(tmp_path)
    assert [len(c.frames) for c in report.volumes] == [4, 4]
    assert all(any("Acquisition" in w for w in c.warnings) for c in report.volumes)


def test_second_copies_of_the_same_files_are_ignored(tmp_path: Path) -> None:
    files = stack(tmp_path / "DICOM", 3)
    for f in files:
        shutil.copy(f, tmp_path / f"copy_{f.name}")
    report = scan(tmp_path)
    [volume] = report.series
    assert len(volume.frames) == 3
    assert any("copies" in w for w in report.warnings)


def test_screen_captures_are_secondary_and_single_slices_are_2d(tmp_path: Path) -> None:
    write_dicom(tmp_path / "sc1", sop_class=SecondaryCaptureImageStorage, photometric="RGB", orientation=None)
    write_dicom(tmp_path / "sc2", sop_class=SecondaryCaptureImageStorage, photometric="RGB", orientation=None)
    write_dicom(tmp_path / "ct", series="1.2.826.0.1.3680043.8.498.3")
    report = scan(tmp_path)
    kinds = sorted((c.kind.value, len(c.frames)) for c in report.series)
    assert kinds == [("image_2d", 1), ("secondary", 2)]


def test_radiographs_are_each_their_own_2d_candidate(tmp_path: Path) -> None:
    for i in range(3):
        write_dicom(tmp_path / f"io{i}", modality="IO", orientation=None, ImagerPixelSpacing=[0.02, 0.02])
    report = scan(tmp_path)
    assert [c.kind for c in report.series] == [CandidateKind.IMAGE_2D] * 3
    assert all(c.imager_pixel_spacing == (0.02, 0.02) for c in report.series)
    assert len({c.key for c in report.series}) == 3


def test_dicom_without_pixels_is_not_an_image(tmp_path: Path) -> None:
    pdf = write_dicom(tmp_path / "report", sop_class=EncapsulatedPDFStorage, pixels=False, orientation=None)
    sr = write_dicom(tmp_path / "sr", sop_class=BasicTextSRStorage, pixels=False, orientation=None)
    _ = (pdf, sr)
    report = scan(tmp_path)
    summaries = sorted(c.summary for c in report.series)
    assert {c.kind for c in report.series} == {CandidateKind.NOT_IMAGE}
    assert "PDF report inside DICOM" in summaries
    assert any("structured report" in s for s in summaries)
    assert any("no 3D scan" in w for w in report.warnings)


def test_header_claiming_too_much_memory_gets_a_warning(tmp_path: Path) -> None:
    stack(tmp_path, 3)
    report = scan(tmp_path, memory_budget=100)
    [volume] = report.series
    assert any(w.startswith("too large to open safely: header claims") for w in volume.warnings)


def claim_frames(path: Path, frames: int) -> None:
    """Rewrite NumberOfFrames without touching the pixel data (a lying header)."""
    ds = pydicom.dcmread(path)
    ds.NumberOfFrames = frames
    ds.save_as(path)


def test_header_claiming_absurd_frame_count_is_refused(tmp_path: Path) -> None:
    claim_frames(write_dicom(tmp_path / "absurd", frames=2), 10_000_000)
    claim_frames(write_dicom(tmp_path / "short", frames=2), 5000)
    report = scan(tmp_path)
    errors = {p.path.name: p.error for p in report.problems}
    assert errors["absurd"].startswith("too large to open safely")
    assert "shorter than the header says" in errors["short"]
    assert not report.series


def test_empty_garbage_and_cut_files_never_stop_the_scan(tmp_path: Path) -> None:
    good = write_dicom(tmp_path / "good", z=0.0)
    data = good.read_bytes()
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "garbage.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 40)
    for cut in range(132, len(data) - 1, max(1, (len(data) - 132) // 40)):
        (tmp_path / f"cut{cut:05d}").write_bytes(data[:cut])
    report = scan(tmp_path)
    names = {p.path.name: p.error for p in report.problems}
    assert "empty" in names["empty.dcm"]
    assert "garbage.dcm" in names
    accepted = {f.path.name for c in report.series for f in c.frames}
    assert "good" in accepted  # preferred over cut copies that share its UID
    pieces = [p.name for p in tmp_path.iterdir() if p.name.startswith("cut")]
    lost = [name for name in pieces if name not in names and name not in accepted]
    if lost:  # cut copies whose header is intact are counted as copies of "good"
        assert any("copies" in w for w in report.warnings)
    assert report.volumes == []


def test_non_dicom_items_are_recognised_by_content(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\n...")
    (tmp_path / "shot").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))  # a JPEG without extension
    (tmp_path / "view.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "viewer.exe").write_bytes(b"MZ" + bytes(100))
    (tmp_path / "autorun.inf").write_text("[autorun]\nopen=viewer.exe\n")
    (tmp_path / "case.nnt").write_bytes(bytes(range(256)))
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "inner.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (tmp_path / ".hidden").write_bytes(b"x")
    report = scan(tmp_path)
    kinds = {i.path.name: i.kind for i in report.items}
    assert kinds == {
        "report.pdf": ItemKind.PDF,
        "shot": ItemKind.PICTURE,
        "view.png": ItemKind.PICTURE,
        "viewer.exe": ItemKind.PROGRAM,
        "autorun.inf": ItemKind.PROGRAM,
        "case.nnt": ItemKind.PROJECT,
        "blob.bin": ItemKind.PROJECT,
        "inner.zip": ItemKind.ARCHIVE,
    }
    assert not report.series and not report.problems
    assert any("PDF report" in w and "no 3D scan" in w for w in report.warnings)


def test_single_files_and_missing_paths(tmp_path: Path) -> None:
    one = write_dicom(tmp_path / "one.dcm")
    [candidate] = scan(one).series
    assert candidate.kind is CandidateKind.IMAGE_2D
    missing = scan(tmp_path / "nope")
    assert missing.problems and "not found" in missing.problems[0].error


def test_cancel_returns_promptly_with_a_partial_report(tmp_path: Path) -> None:
    stack(tmp_path, 30)
    calls = 0

    def cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 10

    report = scan(tmp_path, cancel=cancel)
    assert report.cancelled
    assert report.files_seen < 30
    assert any("cancelled" in w for w in report.warnings)
    assert scan(tmp_path, cancel=lambda: True).cancelled


def test_progress_callback_raising_cancelled_cancels(tmp_path: Path) -> None:
    stack(tmp_path, 3)

    def progress(fraction: float, message: str) -> None:
        raise Cancelled("stop")

    assert scan(tmp_path, progress=progress).cancelled


def test_worker_processes_give_the_same_report(tmp_path: Path) -> None:
    stack(tmp_path / "a", 20)
    stack(tmp_path / "b", 20, orientation=SAGITTAL)
    serial = scan(tmp_path, workers=1)
    parallel = scan(tmp_path, workers=2)
    assert [(c.key, len(c.frames), c.size) for c in serial.series] == [
        (c.key, len(c.frames), c.size) for c in parallel.series
    ]
    assert parallel.files_seen == 40


def test_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    stack(tmp_path / "data", 2)
    try:
        (tmp_path / "data" / "loop").symlink_to(tmp_path, target_is_directory=True)
    except OSError:
        pytest.skip("symlinks not available")
    assert len(scan(tmp_path).series[0].frames) == 2


def test_big_headers_are_read_whole_but_capped(tmp_path: Path) -> None:
    from pydicom.tag import Tag

    from cbctviewer.io.errors import DamagedError
    from cbctviewer.io.header_parse import parse_header

    path = write_dicom(tmp_path / "big")
    ds = pydicom.dcmread(path)
    ds.add_new(Tag(0x0029, 0x0010), "LO", "VENDOR")
    ds.add_new(Tag(0x0029, 0x1010), "OB", bytes(3 * 1024 * 1024))  # a 3 MB private blob
    ds.save_as(path)
    [candidate] = scan(path).series
    offset = candidate.frames[0].pixel_data_offset
    assert offset is not None and offset > 3 * 1024 * 1024
    assert path.read_bytes()[offset : offset + 4] == b"\xe0\x7f\x10\x00"
    with path.open("rb") as f, pytest.raises(DamagedError, match="unreasonably large"):
        parse_header(f, f.read(4096), size=path.stat().st_size, legacy=False, tags=[], max_bytes=65536)


def test_files_beyond_the_size_limit_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cbctviewer.io import limits

    write_dicom(tmp_path / "slice")
    (tmp_path / "movie.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + bytes(5000))
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    report = scan(tmp_path)
    [problem] = report.problems
    assert problem.path.name == "slice" and "too large to open safely" in problem.error
    assert [i.path.name for i in report.items] == ["movie.mp4"]


def test_pipes_and_devices_are_not_opened(tmp_path: Path) -> None:

    fifo = tmp_path / "pipe"
    try:
        os.mkfifo(fifo)
    except (AttributeError, OSError):
        pytest.skip("named pipes not available")
    write_dicom(tmp_path / "slice")
    assert len(scan(tmp_path).series) == 1  # the pipe is skipped, not read (it would block)
    assert "not a regular file" in scan(fifo).problems[0].error


def test_same_patient_written_two_ways_is_one_patient(tmp_path: Path) -> None:
    write_dicom(tmp_path / "a", PatientName="Test^Patient")
    write_dicom(tmp_path / "b", series="1.2.826.0.1.3680043.8.498.9", PatientName="TEST^PATIENT^^")
    write_dicom(tmp_path / "c", series="1.2.826.0.1.3680043.8.498.10", PatientID="OTHER")
    report = scan(tmp_path)
    assert sorted(len(p.studies[0].series) for p in report.patients) == [1, 2]


def test_auto_workers_use_processes_only_for_big_folders_on_enough_cores() -> None:
    from cbctviewer.io.scan_files import PARALLEL_MIN_CORES, PARALLEL_MIN_FILES, default_workers

    assert default_workers(10, cores=8) == 1
    assert default_workers(PARALLEL_MIN_FILES - 1, cores=8) == 1
    assert default_workers(PARALLEL_MIN_FILES, cores=PARALLEL_MIN_CORES - 1) == 1
    assert default_workers(PARALLEL_MIN_FILES, cores=PARALLEL_MIN_CORES) == PARALLEL_MIN_CORES
    assert default_workers(10 * PARALLEL_MIN_FILES, cores=16) == 4
