"""Threaded GDCM decoding gives exactly the pydicom path's voxels, and falls back cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cbctviewer.io import gdcm_threads
from cbctviewer.io.dicom_writer import supported_transfer_syntaxes, write_series
from cbctviewer.io.load import load
from cbctviewer.io.pixels import PixelLayout
from cbctviewer.io.scan import scan

JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"


def _series(folder: Path, syntax: str, *, intercept: float) -> Path:
    if syntax not in supported_transfer_syntaxes():
        pytest.skip(f"no encoder for {syntax} here")
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4000, size=(6, 48, 40)).astype(np.uint16)
    data[:, 10:20, 5:30] = 4095
    write_series(
        data,
        folder,
        origin=(-10.0, 5.0, 2.0),
        spacing=(0.3, 0.3, 0.4),
        rescale_intercept=intercept,
        bits_stored=12,
        transfer_syntax=syntax,
        uid_seed=f"gdcm-threads-{syntax}",
    )
    return folder


@pytest.mark.parametrize("syntax", [JPEG_LOSSLESS_SV1, J2K_LOSSLESS])
def test_threaded_gdcm_equals_pydicom_path(tmp_path: Path, syntax: str) -> None:
    candidate = scan(_series(tmp_path, syntax, intercept=-1000.0)).volumes[0]
    assert gdcm_threads.eligible(candidate.frames, PixelLayout.of(candidate))
    serial = load(candidate, workers=1)  # pydicom plugins, in this thread
    threaded = load(candidate, workers=2)  # GDCM through SimpleITK, two threads
    assert threaded.array.dtype == serial.array.dtype == np.int16
    assert np.array_equal(threaded.array, serial.array)
    assert serial.array.min() >= -1000 and serial.array.max() == 3095


def test_non_integer_rescale_is_not_eligible(tmp_path: Path) -> None:
    candidate = scan(_series(tmp_path, JPEG_LOSSLESS_SV1, intercept=-1000.5)).volumes[0]
    assert not gdcm_threads.eligible(candidate.frames, PixelLayout.of(candidate))


def test_frames_gdcm_refuses_fall_back_to_pydicom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    candidate = scan(_series(tmp_path, JPEG_LOSSLESS_SV1, intercept=0.0)).volumes[0]
    expected = load(candidate, workers=1).array.copy()

    class Refusing:
        def SetImageIO(self, name: str) -> None: ...
        def SetFileName(self, name: str) -> None: ...
        def Execute(self) -> None:
            raise RuntimeError("GDCM could not read this")

    monkeypatch.setattr(gdcm_threads.sitk, "ImageFileReader", Refusing)
    assert np.array_equal(load(candidate, workers=2).array, expected)
