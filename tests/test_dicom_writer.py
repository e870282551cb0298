"""Writing numpy volumes as DICOM series: geometry, values, UIDs, transfer syntaxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from cbctviewer.core.phantom_geometry import rotation_matrix
from cbctviewer.core.tasks import Cancelled
from cbctviewer.io.dicom_writer import deterministic_uid, supported_transfer_syntaxes, write_series

ORIGIN = (-12.5, 30.25, -101.0)
SPACING = (0.3, 0.4, 0.5)
DIRECTION = tuple(rotation_matrix((0.2, -0.3, 0.93), 12.0).ravel())


def _volume(dtype: type, lo: int, hi: int, shape: tuple[int, int, int] = (6, 20, 24)) -> np.ndarray:
    return np.random.default_rng(5).integers(lo, hi, size=shape).astype(dtype)


def _read_sitk(folder: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def test_roundtrip_geometry_and_values_through_simpleitk(tmp_path: Path) -> None:
    arr = _volume(np.uint16, 0, 4096)
    files = write_series(
        arr,
        tmp_path,
        origin=ORIGIN,
        spacing=SPACING,
        direction=DIRECTION,
        rescale_slope=1.0,
        rescale_intercept=-1000.0,
        bits_stored=12,
        uid_seed="t",
    )
    assert [f.name for f in files] == [f"IMG{k:04d}.dcm" for k in range(1, 7)]
    image = _read_sitk(tmp_path)
    assert np.allclose(image.GetOrigin(), ORIGIN, atol=1e-3)
    assert np.allclose(image.GetSpacing(), SPACING, atol=1e-3)
    assert np.allclose(image.GetDirection(), DIRECTION, atol=1e-6)
    assert np.array_equal(sitk.GetArrayFromImage(image).astype(np.int32), arr.astype(np.int32) - 1000)


def test_signed_pixels_and_fractional_slope(tmp_path: Path) -> None:
    arr = _volume(np.int16, -2000, 2000)
    write_series(arr, tmp_path, origin=ORIGIN, spacing=SPACING, rescale_slope=0.5, rescale_intercept=10.0)
    values = sitk.GetArrayFromImage(_read_sitk(tmp_path))
    assert np.allclose(values, arr * 0.5 + 10.0)
    ds = pydicom.dcmread(tmp_path / "IMG0001.dcm")
    assert ds.PixelRepresentation == 1 and ds.BitsStored == 16
    assert np.array_equal(ds.pixel_array, arr[0])


def test_header(tmp_path: Path) -> None:
    arr = _volume(np.uint16, 0, 4096)
    files = write_series(
        arr,
        tmp_path,
        origin=ORIGIN,
        spacing=SPACING,
        direction=DIRECTION,
        rescale_intercept=-1000.0,
        rescale_type="US",
        patient_name="DOE^JANE",
        patient_id="P1",
        study_date="20240301",
        series_description="test series",
        window_center=500.0,
        window_width=3000.0,
    )
    heads = [pydicom.dcmread(f) for f in files]
    ds = heads[0]
    assert ds.file_meta.MediaStorageSOPClassUID == pydicom.uid.CTImageStorage
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert (ds.Modality, ds.Manufacturer, ds.RescaleType) == ("CT", "cbct-viewer phantom", "US")
    assert (ds.Rows, ds.Columns) == (20, 24)
    assert [float(v) for v in ds.PixelSpacing] == [0.4, 0.3]  # row spacing first
    assert float(ds.SliceThickness) == 0.5
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (500.0, 3000.0)
    assert str(ds.PatientName) == "DOE^JANE" and ds.StudyDate == "20240301"
    d = np.asarray(DIRECTION).reshape(3, 3)
    assert np.allclose([float(v) for v in ds.ImageOrientationPatient], [*d[:, 0], *d[:, 1]], atol=1e-9)
    for k, h in enumerate(heads):
        expected = np.asarray(ORIGIN) + k * SPACING[2] * d[:, 2]
        assert np.allclose([float(v) for v in h.ImagePositionPatient], expected, atol=1e-6)
        assert h.InstanceNumber == k + 1
        assert h.SeriesInstanceUID == ds.SeriesInstanceUID and h.FrameOfReferenceUID == ds.FrameOfReferenceUID
    assert len({h.SOPInstanceUID for h in heads}) == len(heads)


def test_uids_are_deterministic_with_a_seed(tmp_path: Path) -> None:
    arr = _volume(np.uint16, 0, 4096, (3, 8, 8))
    kwargs = {"origin": ORIGIN, "spacing": SPACING, "study_date": "20240101"}
    a = write_series(arr, tmp_path / "a", uid_seed="seed", **kwargs)
    b = write_series(arr, tmp_path / "b", uid_seed="seed", **kwargs)
    c = write_series(arr, tmp_path / "c", **kwargs)
    d = write_series(arr, tmp_path / "d", **kwargs)
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(a, b, strict=True))
    uid = [pydicom.dcmread(p[0]).SOPInstanceUID for p in (a, c, d)]
    assert len(set(uid)) == 3
    assert pydicom.dcmread(a[0]).SeriesInstanceUID == deterministic_uid("seed", "series")
    assert all(len(u) <= 64 and u.startswith("2.25.") for u in uid)


def test_explicit_uids_are_used(tmp_path: Path) -> None:
    arr = _volume(np.uint8, 0, 255, (2, 8, 8))
    files = write_series(
        arr,
        tmp_path,
        origin=ORIGIN,
        spacing=SPACING,
        study_uid="1.2.3",
        series_uid="1.2.3.4",
        frame_of_reference_uid="1.2.3.5",
    )
    ds = pydicom.dcmread(files[1])
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID) == (
        "1.2.3",
        "1.2.3.4",
        "1.2.3.5",
    )
    assert ds.BitsAllocated == 8 and np.array_equal(ds.pixel_array, arr[1])


@pytest.mark.parametrize(
    "syntax",
    [
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        RLELossless,
        JPEG2000Lossless,
        JPEGLosslessSV1,
        JPEGLSLossless,
    ],
    ids=lambda u: u.name,
)
def test_transfer_syntaxes_roundtrip(tmp_path: Path, syntax: pydicom.uid.UID) -> None:
    if syntax not in supported_transfer_syntaxes():
        pytest.skip(f"no encoder for {syntax.name}")
    arr = _volume(np.uint16, 0, 4096, (3, 32, 40))
    files = write_series(
        arr, tmp_path, origin=ORIGIN, spacing=SPACING, bits_stored=12, transfer_syntax=syntax
    )
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        assert ds.file_meta.TransferSyntaxUID == syntax
        assert np.array_equal(ds.pixel_array, arr[k])
    assert np.array_equal(sitk.GetArrayFromImage(_read_sitk(tmp_path)), arr)


def test_required_syntaxes_are_supported() -> None:
    supported = supported_transfer_syntaxes()
    for syntax in (ImplicitVRLittleEndian, ExplicitVRLittleEndian, RLELossless, JPEG2000Lossless):
        assert syntax in supported


def test_rejects_bad_input(tmp_path: Path) -> None:
    good = _volume(np.uint16, 0, 4096, (2, 4, 4))
    geo = {"origin": ORIGIN, "spacing": SPACING}
    with pytest.raises(ValueError, match="dtype"):
        write_series(good.astype(np.float32), tmp_path, **geo)
    with pytest.raises(ValueError, match="stored bits"):
        write_series(good, tmp_path, bits_stored=8, **geo)
    with pytest.raises(ValueError, match="direction"):
        write_series(good, tmp_path, direction=(1, 0, 0, 0, 1, 0, 0, 0, -1), **geo)
    with pytest.raises(ValueError, match="transfer syntax"):
        write_series(good, tmp_path, transfer_syntax=JPEGBaseline8Bit, **geo)
    with pytest.raises(ValueError, match="shape"):
        write_series(good[0], tmp_path, **geo)
    assert not list(tmp_path.glob("*.dcm"))


def test_progress_and_cancel(tmp_path: Path) -> None:
    arr = _volume(np.uint16, 0, 4096, (4, 4, 4))
    seen: list[float] = []
    write_series(arr, tmp_path / "a", origin=ORIGIN, spacing=SPACING, progress=lambda f, _m: seen.append(f))
    assert seen == [0.25, 0.5, 0.75, 1.0]
    with pytest.raises(Cancelled):
        write_series(arr, tmp_path / "b", origin=ORIGIN, spacing=SPACING, cancel=lambda: True)
