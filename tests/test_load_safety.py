"""load() on untrusted input: memory budget, damaged and unsupported files, read-only
sources, cancellation and progress, and the parallel (process pool) decoding path."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless
from test_load_helpers import candidate_from_files, scanned

from cbctviewer.core.tasks import Cancelled
from cbctviewer.io import frame_pool, limits
from cbctviewer.io import load as load_module
from cbctviewer.io.errors import DamagedError, MediaError, TooLargeError, UnsupportedError
from cbctviewer.io.load import load
from cbctviewer.io.report import SeriesCandidate

CT_MANY = "transfer_syntaxes/ct_one_image_many_syntaxes"
MR16 = "volumes/mr_ge_signa_16slices"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


def _candidate(folder: Path) -> SeriesCandidate:
    return scanned(folder)


@pytest.fixture(scope="module")
def j2k_series(tmp_path_factory: pytest.TempPathFactory, dicom_samples: Path) -> Path:
    """12 slices of the real CT slice, JPEG 2000 lossless, one per 0.5 mm."""
    folder = tmp_path_factory.mktemp("j2k_series")
    src = pydicom.dcmread(
        dicom_samples / CT_MANY / f"CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_{JPEG2000Lossless}.dcm"
    )
    series = pydicom.uid.generate_uid()
    for index in range(12):
        ds = src.copy()
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.InstanceNumber = 12 - index  # deliberately against the position order
        ds.ImagePositionPatient = [-125.0, -125.0, 0.5 * index]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.save_as(folder / f"IM{index:02d}.dcm")
    return folder


# --------------------------------------------------------------------------- memory budget


def test_budget_refused_before_allocation(dicom_samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_allocation(*args: object) -> None:
        raise AssertionError("an image was allocated")

    monkeypatch.setattr(load_module.sitk, "Image", no_allocation)
    candidate = _candidate(dicom_samples / MR16)
    with pytest.raises(TooLargeError, match="more than the"):
        load(candidate, memory_budget=256 * 256 * 16 * 2 - 1)
    monkeypatch.setattr(limits, "memory_budget", lambda: 1024)
    with pytest.raises(TooLargeError):
        load(candidate)


def test_budget_from_environment(dicom_samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBCT_VIEWER_MEMORY_BUDGET", "1000")
    with pytest.raises(TooLargeError):
        load(_candidate(dicom_samples / MR16))


def test_crafted_huge_header(dicom_samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A header claiming 60000 x 60000 pixels x 5000 frames over a few bytes of pixel data.
    ds = pydicom.dcmread(dicom_samples / CT_MANY / "CTImage.dcm")
    ds.Rows = ds.Columns = 60000
    ds.NumberOfFrames = 5000
    ds.PixelData = b"\0" * 16
    ds.save_as(tmp_path / "huge.dcm")
    # The scan already refuses this file (pixel data shorter than claimed); load must
    # still refuse a candidate built from the header alone, before allocating anything.
    candidate = candidate_from_files([tmp_path / "huge.dcm"])
    assert len(candidate.frames) == 5000

    def no_allocation(*args: object) -> None:
        raise AssertionError("an image was allocated")

    monkeypatch.setattr(load_module.sitk, "Image", no_allocation)
    with pytest.raises(TooLargeError, match="GB"):
        load(candidate)


# --------------------------------------------------------------------------- damaged / unsupported


def test_truncated_file(dicom_samples: Path) -> None:
    with pytest.raises(DamagedError, match="shorter than its header says"):
        # The scan already reports this file; a candidate built anyway must still fail.
        load(candidate_from_files([dicom_samples / "broken" / "MR_truncated.dcm"]))


def test_truncated_slice_in_a_series(dicom_samples: Path, tmp_path: Path) -> None:
    folder = tmp_path / "series"
    shutil.copytree(dicom_samples / MR16, folder)
    victim = sorted(folder.iterdir())[5]
    candidate = _candidate(folder)  # scanned while intact
    victim.write_bytes(victim.read_bytes()[:-1000])  # then cut short (a bad copy)
    with pytest.raises(DamagedError, match=victim.name):
        load(candidate)


def test_compressed_data_too_short(dicom_samples: Path) -> None:
    with pytest.raises(DamagedError, match="incomplete or damaged"):
        load(scanned(dicom_samples / "broken" / "emri_small_jpeg_2k_lossless_too_short.dcm"))


@pytest.mark.parametrize("name", ["JPEG2000-embedded-sequence-delimiter.dcm", "JPEG-lossy.dcm"])
def test_undecodable_frames(dicom_samples: Path, name: str) -> None:
    with pytest.raises(UnsupportedError, match="JPEG"):
        load(scanned(dicom_samples / "broken" / name))


def test_unsupported_codec_names_the_syntax(dicom_samples: Path) -> None:
    path = next((dicom_samples / CT_MANY).glob("*4.53.dcm"))
    with pytest.raises(UnsupportedError, match="JPEG Spectral Selection"):
        load(scanned(path))


def test_missing_file_is_a_media_error(dicom_samples: Path, tmp_path: Path) -> None:
    path = Path(
        shutil.copy(
            dicom_samples / CT_MANY / "CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm",
            tmp_path,
        )
    )
    candidate = scanned(path)
    path.unlink()
    with pytest.raises(MediaError, match=path.name):
        load(candidate)


def test_unexpected_errors_are_wrapped(dicom_samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(load_module, "store_frame", boom)
    with pytest.raises(MediaError, match="unexpected problem") as info:
        load(_candidate(dicom_samples / MR16))
    assert type(info.value) is MediaError


def test_no_images(dicom_samples: Path) -> None:
    candidate = _candidate(dicom_samples / MR16)
    candidate.frames = []
    with pytest.raises(UnsupportedError):
        load(candidate)


# --------------------------------------------------------------------------- read-only sources


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    } | {".": ("dir", folder.stat().st_mtime_ns)}


@pytest.mark.parametrize("source", ["native", "j2k"])
def test_source_is_never_written(
    dicom_samples: Path, j2k_series: Path, tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    shutil.copytree(dicom_samples / MR16 if source == "native" else j2k_series, folder)
    before = _fingerprint(folder)
    for p in [folder, *folder.iterdir()]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        monkeypatch.setattr(frame_pool, "MIN_PARALLEL_SECONDS", 0.0)
        volume = load(_candidate(folder), workers=2)
        assert volume.size[2] in (12, 16)
        assert _fingerprint(folder) == before  # same bytes, same times, no new files
    finally:
        for p in [folder, *folder.iterdir()]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


# --------------------------------------------------------------------------- progress and cancel


def test_progress_per_frame(dicom_samples: Path) -> None:
    calls: list[tuple[float, str]] = []
    load(_candidate(dicom_samples / MR16), progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert len(fractions) >= 16
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert calls[0][1] == "Reading image 1 of 16"


def _shared_memory() -> set[str]:
    shm = Path("/dev/shm")
    return {p.name for p in shm.iterdir()} if shm.is_dir() else set()


@pytest.mark.parametrize("parallel", [False, True])
def test_cancel_leaves_nothing(j2k_series: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool) -> None:
    monkeypatch.setattr(frame_pool, "MIN_PARALLEL_SECONDS", 0.0 if parallel else 1e12)
    shm_before = _shared_memory()
    polls = 0

    def cancel() -> bool:
        nonlocal polls
        polls += 1
        return polls > 4

    with pytest.raises(Cancelled):
        load(_candidate(j2k_series), cancel=cancel, workers=2)
    assert multiprocessing.active_children() == []
    assert _shared_memory() == shm_before


def test_cancel_during_resampling(dicom_samples: Path) -> None:
    polls = 0

    def cancel() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    with pytest.raises(Cancelled):
        load(_candidate(dicom_samples / "volumes" / "mr_ge_signa_missing_slice"), cancel=cancel)


# --------------------------------------------------------------------------- parallel decoding


def test_parallel_equals_serial(j2k_series: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    candidate = _candidate(j2k_series)
    serial = load(candidate, workers=1)
    monkeypatch.setattr(frame_pool, "MIN_PARALLEL_SECONDS", 0.0)
    progress: list[float] = []
    parallel = load(candidate, workers=2, progress=lambda f, m: progress.append(f))
    np.testing.assert_array_equal(parallel.array, serial.array)
    assert len(progress) >= 12 and progress[-1] == 1.0
    assert parallel.array.dtype == np.int16
    # ordered by position, not InstanceNumber: slice k is the file at z = 0.5 k
    assert parallel.origin[2] == pytest.approx(0.0)
    assert multiprocessing.active_children() == []


def test_parallel_errors_surface(
    dicom_samples: Path, j2k_series: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(j2k_series, folder)
    candidate = _candidate(folder)
    victim = sorted(folder.iterdir())[7]
    victim.write_bytes(victim.read_bytes()[:-5000])
    monkeypatch.setattr(frame_pool, "MIN_PARALLEL_SECONDS", 0.0)
    with pytest.raises(DamagedError):
        load(candidate, workers=2)
    assert multiprocessing.active_children() == []


def test_parallel_resampling(dicom_samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = dicom_samples / "volumes" / "mr_ge_signa_missing_slice"
    serial = load(_candidate(folder), workers=1)
    monkeypatch.setattr(frame_pool, "MIN_PARALLEL_SECONDS", 0.0)
    candidate = _candidate(folder)
    candidate.frames = [dataclasses.replace(f, pixel_data_offset=None) for f in candidate.frames]
    parallel = load(candidate, workers=2)
    np.testing.assert_array_equal(parallel.array, serial.array)


def test_workers_default_uses_cpus(dicom_samples: Path) -> None:
    assert (os.cpu_count() or 1) >= 1
    assert load(_candidate(dicom_samples / MR16)).size == (256, 256, 16)


def test_slice_of_another_size(dicom_samples: Path, tmp_path: Path) -> None:
    folder = tmp_path / "series"
    shutil.copytree(dicom_samples / MR16, folder)
    candidate = _candidate(folder)  # scanned while consistent
    victim = sorted(folder.iterdir())[3]
    ds = pydicom.dcmread(victim)
    ds.Rows = ds.Columns = 128
    ds.PixelData = ds.pixel_array[::2, ::2].copy().tobytes()
    ds.save_as(victim)  # then replaced by a smaller image
    with pytest.raises(DamagedError, match="different size"):
        load(candidate)


def test_parallel_only_when_it_pays() -> None:
    from cbctviewer.io.pixels import PixelLayout

    j2k = PixelLayout(512, 512, transfer_syntax="1.2.840.10008.1.2.4.90")
    rle = PixelLayout(512, 512, transfer_syntax="1.2.840.10008.1.2.5")
    native = PixelLayout(512, 512, transfer_syntax="1.2.840.10008.1.2.1")
    assert frame_pool.worth_parallel(100, j2k, 4)
    assert not frame_pool.worth_parallel(100, j2k, 1)
    assert not frame_pool.worth_parallel(5, j2k, 4)
    assert not frame_pool.worth_parallel(400, rle, 4)
    assert not frame_pool.worth_parallel(400, native, 4)
