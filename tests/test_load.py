"""load(): geometry against SimpleITK, values, 2D images, resampling of gaps/uneven spacing/tilt."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from test_load_helpers import scanned

from cbctviewer.core.volume import Volume
from cbctviewer.io.load import load
from cbctviewer.io.report import CandidateKind

VOLUMES = "volumes"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")  # pydicom warns about odd values in some samples


def _sitk_series(folder: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def _load_folder(folder: Path, **kwargs: object) -> Volume:
    return load(scanned(folder), **kwargs)


def _plain_volumes(samples: Path) -> list[Path]:
    """Real volumes SimpleITK reads as they are: no tilt, no gaps."""
    return [p for p in sorted((samples / VOLUMES).iterdir()) if "missing" not in p.name]


def test_geometry_and_values_match_simpleitk(dicom_samples: Path) -> None:
    folders = _plain_volumes(dicom_samples)
    assert len(folders) >= 3
    for folder in folders:
        reference = _sitk_series(folder)
        volume = _load_folder(folder)
        assert volume.size == reference.GetSize(), folder.name
        np.testing.assert_allclose(volume.origin, reference.GetOrigin(), atol=1e-3, err_msg=folder.name)
        np.testing.assert_allclose(volume.spacing, reference.GetSpacing(), atol=1e-3, err_msg=folder.name)
        np.testing.assert_allclose(volume.direction, reference.GetDirection(), atol=1e-3, err_msg=folder.name)
        expected = sitk.GetArrayFromImage(reference).astype(np.int64)
        np.testing.assert_array_equal(volume.array.astype(np.int64), expected, err_msg=folder.name)
        geometry_words = ("missing", "uneven", "tilt", "resampled")
        assert not [w for w in volume.metadata.warnings if any(word in w for word in geometry_words)]


def test_voxel_positions_in_mm(dicom_samples: Path) -> None:
    # Voxel (i, j, k) of the oblique, non-square-pixel MR sits where its file says.
    folder = dicom_samples / VOLUMES / "mr_t1_3d_oblique_studyforrest_subset"
    volume = _load_folder(folder)
    candidate = scanned(folder)
    for k in (0, 57, 99):
        normal = np.asarray(volume.direction).reshape(3, 3)[:, 2]
        ref = sorted(candidate.frames, key=lambda f: float(np.dot(f.position, normal)))[k]
        row, col = np.asarray(ref.orientation[:3]), np.asarray(ref.orientation[3:])
        sy, sx = ref.pixel_spacing
        i, j = 100, 200
        expected = np.asarray(ref.position) + i * sx * row + j * sy * col
        np.testing.assert_allclose(volume.index_to_patient((i, j, k)), expected, atol=1e-3)
        pixels = pydicom.dcmread(ref.path).pixel_array
        assert volume.array[k, j, i] == pixels[j, i]


def test_metadata(dicom_samples: Path) -> None:
    volume = _load_folder(dicom_samples / VOLUMES / "ct_phantom_philips_ingenuity_5mm")
    meta = volume.metadata
    first = pydicom.dcmread(next((dicom_samples / VOLUMES / "ct_phantom_philips_ingenuity_5mm").iterdir()))
    assert meta.identity.series_instance_uid == first.SeriesInstanceUID
    assert meta.identity.frame_of_reference_uid == first.FrameOfReferenceUID
    assert meta.identity.modality == "CT"
    assert meta.values_are_hu  # a conventional CT (Philips Ingenuity)
    assert meta.transfer_syntaxes == (str(first.file_meta.TransferSyntaxUID),)
    assert meta.photometric_interpretation == "MONOCHROME2"
    assert not meta.inverted_monochrome1
    assert volume.array.dtype == np.int16


def test_cbct_values_are_not_hu(dicom_samples: Path) -> None:
    candidate = scanned(dicom_samples / VOLUMES / "ct_phantom_philips_ingenuity_5mm")
    candidate.manufacturer, candidate.model_name = "Planmeca", "ProMax 3D Mid"
    assert not load(candidate).metadata.values_are_hu


# --------------------------------------------------------------------------- multi-frame


def test_enhanced_ct_multiframe(dicom_samples: Path) -> None:
    path = dicom_samples / "multiframe" / "enhanced_ct_ct0012" / "CT0012.explicit_little_endian.dcm"
    volume = load(scanned(path))
    assert volume.size == (512, 512, 2)
    ds = pydicom.dcmread(path)
    per_frame = ds.PerFrameFunctionalGroupsSequence
    positions = [np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, float) for item in per_frame]
    normal = np.asarray(volume.direction).reshape(3, 3)[:, 2]
    first = min(range(2), key=lambda k: float(positions[k] @ normal))
    np.testing.assert_allclose(volume.origin, positions[first], atol=1e-3)
    # SimpleITK (GDCM) gives 81 at (frame 0, row 256, col 256): stored 1105, intercept -1024.
    expected = ds.pixel_array.astype(np.int32) - 1024
    np.testing.assert_array_equal(volume.array[0 if first == 0 else 1], expected[0])
    assert int(expected[0, 256, 256]) == 81


def test_per_frame_rescale(dicom_samples: Path) -> None:
    path = (
        dicom_samples / "multiframe" / "enhanced_ct_ct0012" / "CT0012.fragmented_no_bot_jpeg_lossless.57.dcm"
    )
    candidate = scanned(path)
    first = load(candidate)  # keep the Volume alive while its array view is used
    plain = first.array.astype(np.int32)
    candidate.frames = [
        dataclasses.replace(f, rescale_slope=2.0 if f.frame_index == 1 else 1.0, rescale_intercept=-1000.0)
        for f in candidate.frames
    ]
    volume = load(candidate)
    normal = np.asarray(volume.direction).reshape(3, 3)[:, 2]
    order = np.argsort([float(np.dot(f.position, normal)) for f in candidate.frames])
    for k, index in enumerate(order):
        raw = plain[k] + 1024
        slope = 2 if candidate.frames[index].frame_index == 1 else 1
        np.testing.assert_array_equal(volume.array[k], raw * slope - 1000)


def test_multiframe_without_geometry_keeps_frame_order(dicom_samples: Path) -> None:
    path = dicom_samples / "multiframe" / "enhanced_mr_emri_small" / "emri_small_RLE.dcm"
    volume = load(scanned(path))
    np.testing.assert_array_equal(volume.array, pydicom.dcmread(path).pixel_array)
    assert any("1 mm" in w for w in volume.metadata.warnings)


# --------------------------------------------------------------------------- values


def test_int16_for_unsigned_with_intercept(dicom_samples: Path, tmp_path: Path) -> None:
    # The usual CBCT case: unsigned 16-bit stored values, intercept -1000. The header
    # range (0..65535) does not fit int16 but the data do, so the volume is int16.
    src = dicom_samples / "transfer_syntaxes" / "pydicom_small" / "MR_small.dcm"
    ds = pydicom.dcmread(src)
    stored = ds.pixel_array.astype(np.uint16) + 30000  # up to 32145: > 32767 - 1000? no: fits after -1000
    ds.PixelRepresentation, ds.RescaleIntercept, ds.RescaleSlope = 0, -1000, 1
    ds.PixelData = stored.tobytes()
    ds.save_as(tmp_path / "u16.dcm")
    volume = load(scanned(tmp_path / "u16.dcm"))
    assert volume.array.dtype == np.int16
    np.testing.assert_array_equal(volume.array[0], stored.astype(np.int32) - 1000)


def test_float32_when_values_overflow_int16(dicom_samples: Path, tmp_path: Path) -> None:
    src = dicom_samples / "transfer_syntaxes" / "pydicom_small" / "MR_small.dcm"
    ds = pydicom.dcmread(src)
    stored = ds.pixel_array.astype(np.uint16) * 25  # up to 53625: needs float32
    ds.PixelRepresentation = 0
    ds.PixelData = stored.tobytes()
    ds.save_as(tmp_path / "big.dcm")
    volume = load(scanned(tmp_path / "big.dcm"))
    assert volume.array.dtype == np.float32
    np.testing.assert_array_equal(volume.array[0], stored.astype(np.float32))


def test_float32_for_fractional_rescale(dicom_samples: Path) -> None:
    path = next((dicom_samples / "transfer_syntaxes" / "ct_one_image_many_syntaxes").glob("*4.50.dcm"))
    volume = load(scanned(path))
    assert volume.array.dtype == np.float32
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(volume.array[0], expected, rtol=1e-6, atol=1e-3)


# --------------------------------------------------------------------------- 2D images


def test_radiograph_monochrome1_with_spacing(dicom_samples: Path) -> None:
    path = dicom_samples / "radiographs" / "dx_fujifilm_chest_monochrome1.dcm"
    candidate = scanned(path)
    volume = load(candidate)
    assert volume.size == (211, 169, 1)
    # PixelSpacing = (row, column) = (1.2, 1.2012): x spacing is the column spacing.
    np.testing.assert_allclose(volume.spacing[:2], (1.2012, 1.2), atol=1e-6)
    assert volume.metadata.inverted_monochrome1
    # GDCM (SimpleITK) also shows MONOCHROME1 inverted: 44, 80, 6 at (0,0), (84,105), (168,210).
    assert [int(volume.array[0][p]) for p in [(0, 0), (84, 105), (168, 210)]] == [44, 80, 6]
    assert volume.metadata.window_center == pytest.approx(255 - 128)
    assert any("detector" in w for w in volume.metadata.warnings)  # DX PixelSpacing = ImagerPixelSpacing


def test_radiograph_imager_spacing_only(dicom_samples: Path) -> None:
    candidate = scanned(dicom_samples / "radiographs" / "dx_fujifilm_chest_monochrome1.dcm")
    candidate.frames = [dataclasses.replace(f, pixel_spacing=None) for f in candidate.frames]
    candidate.imager_pixel_spacing = (0.5, 0.25)
    volume = load(candidate)
    assert volume.spacing[:2] == (0.25, 0.5)
    assert any("detector" in w for w in volume.metadata.warnings)


def test_radiograph_without_spacing(dicom_samples: Path) -> None:
    volume = load(scanned(dicom_samples / "radiographs" / "cr_fuji_extremity_j2k_lossless.dcm"))
    assert volume.size == (1760, 1760, 1)
    assert volume.spacing == (1.0, 1.0, 1.0)
    assert any("no pixel size" in w for w in volume.metadata.warnings)
    # GDCM via SimpleITK (MONOCHROME1 inverted, 10-bit): 1023, 717, 73 at (0,0), (880,880), (1000,500).
    assert [int(volume.array[0][p]) for p in [(0, 0), (880, 880), (1000, 500)]] == [1023, 717, 73]


@pytest.mark.parametrize(
    "name",
    [
        "odd_valid/US1_J2KR.dcm",
        "odd_valid/OT-PAL-8-face.dcm",
        "transfer_syntaxes/pydicom_small/SC_rgb_rle.dcm",
    ],
)
def test_colour_becomes_greyscale(dicom_samples: Path, name: str) -> None:
    volume = load(scanned(dicom_samples / name))
    assert volume.image.GetNumberOfComponentsPerPixel() == 1
    assert volume.array.dtype == np.int16
    assert volume.array.min() >= 0
    assert volume.array.max() <= 255
    assert any("grey" in w for w in volume.metadata.warnings)
    assert not volume.metadata.values_are_hu


def test_single_ct_slice_as_2d_image(dicom_samples: Path) -> None:
    path = dicom_samples / "transfer_syntaxes" / "ct_one_image_many_syntaxes" / "CTImage.dcm"
    candidate = scanned(path)
    assert candidate.kind is CandidateKind.IMAGE_2D
    volume = load(candidate)
    ds = pydicom.dcmread(path)
    np.testing.assert_allclose(volume.origin, [float(v) for v in ds.ImagePositionPatient])
    # SimpleITK gives -3024, 67, -960 at (0,0), (256,256), (100,200).
    assert [int(volume.array[0][p]) for p in [(0, 0), (256, 256), (100, 200)]] == [-3024, 67, -960]


# --------------------------------------------------------------------------- irregular stacks


def _copy_series(src: Path, dst: Path, change: Callable[[pydicom.Dataset, int], None]) -> Path:
    """Copy a series in slice order (along the normal), letting ``change`` edit each header."""
    dst.mkdir()
    datasets = [pydicom.dcmread(p) for p in sorted(src.iterdir())]
    normal = np.cross(*np.asarray(datasets[0].ImageOrientationPatient, float).reshape(2, 3))
    datasets.sort(key=lambda ds: float(np.dot(np.asarray(ds.ImagePositionPatient, float), normal)))
    for index, ds in enumerate(datasets):
        change(ds, index)
        ds.save_as(dst / f"slice{index:03d}.dcm")
    return dst


def test_missing_slice_is_interpolated(dicom_samples: Path) -> None:
    full = _load_folder(dicom_samples / VOLUMES / "mr_ge_signa_16slices")
    gap = _load_folder(dicom_samples / VOLUMES / "mr_ge_signa_missing_slice")
    assert any("missing" in w for w in gap.metadata.warnings)
    assert gap.size == full.size
    np.testing.assert_allclose(gap.origin, full.origin, atol=1e-3)
    np.testing.assert_allclose(gap.spacing, full.spacing, atol=1e-3)
    np.testing.assert_allclose(gap.direction, full.direction, atol=1e-6)
    same = [k for k in range(full.size[2]) if np.array_equal(gap.array[k], full.array[k])]
    assert len(same) == full.size[2] - 1  # every acquired slice is copied exactly
    (hole,) = set(range(full.size[2])) - set(same)
    around = (full.array[hole - 1].astype(np.float64) + full.array[hole + 1]) / 2
    np.testing.assert_allclose(gap.array[hole], np.rint(around), atol=0.5)


def test_uneven_spacing_is_resampled(dicom_samples: Path, tmp_path: Path) -> None:
    src = dicom_samples / VOLUMES / "ct_phantom_philips_ingenuity_5mm"

    def uneven(ds: pydicom.Dataset, index: int) -> None:  # steps of 6, 4, 6, 4... mm
        z0 = 0.0
        ds.ImagePositionPatient = [-115.5, -1.85, z0 + 5.0 * index + (1.0 if index % 2 else 0.0)]

    folder = _copy_series(src, tmp_path / "uneven", uneven)
    originals = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    volume = _load_folder(folder)
    assert any("uneven" in w for w in volume.metadata.warnings)
    assert volume.spacing[2] == pytest.approx(6.0)
    z = [float(ds.ImagePositionPatient[2]) for ds in originals]
    values = [ds.pixel_array.astype(np.int32) + int(ds.RescaleIntercept) for ds in originals]
    exact = 0
    for k in range(volume.size[2]):
        position = volume.index_to_patient((0, 0, k))[2]
        matches = np.flatnonzero(np.isclose(z, position, atol=1e-3))
        if matches.size:  # exactly on an acquired slice: its values
            np.testing.assert_array_equal(volume.array[k], values[int(matches[0])])
            exact += 1
    assert exact >= 8
    # 12 mm lies between the slices at 10 and 16 mm: 2/3 and 1/3 of them.
    k = round((12.0 - volume.origin[2]) / 6.0)
    expected = np.rint(values[2] * (4 / 6) + values[3] * (2 / 6))
    assert np.abs(volume.array[k] - expected).max() <= 1


def _tilted(src: Path, dst: Path, shift_mm: float) -> Path:
    """Shift each slice along the column direction by ``shift_mm`` per slice (gantry tilt)."""

    def tilt(ds: pydicom.Dataset, index: int) -> None:
        col = np.asarray(ds.ImageOrientationPatient[3:], float)
        ds.ImagePositionPatient = list(np.asarray(ds.ImagePositionPatient, float) + index * shift_mm * col)

    return _copy_series(src, dst, tilt)


def test_tilt_integer_pixel_shift(dicom_samples: Path, tmp_path: Path) -> None:
    src = dicom_samples / VOLUMES / "mr_ge_signa_16slices"
    first = pydicom.dcmread(next(src.iterdir()))
    sy = float(first.PixelSpacing[0])
    folder = _tilted(src, tmp_path / "tilt", 3 * sy)  # 3 rows per 2 mm slice: ~19.4 degrees
    datasets = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    volume = _load_folder(folder)
    assert any("tilt of 19.4°" in w for w in volume.metadata.warnings)
    assert volume.size == (256, 256 + 3 * 15, 16)
    direction = np.asarray(volume.direction).reshape(3, 3)
    np.testing.assert_allclose(direction.T @ direction, np.eye(3), atol=1e-9)  # orthonormal
    minimum = min(int(ds.pixel_array.min()) for ds in datasets)
    for k in (0, 7, 15):
        pixels = datasets[k].pixel_array
        np.testing.assert_array_equal(volume.array[k, 3 * k : 3 * k + 256], pixels)
        assert np.all(volume.array[k, : 3 * k] == minimum)
        assert np.all(volume.array[k, 3 * k + 256 :] == minimum)
        # the voxel holding pixel (row 10, col 20) of slice k is where that pixel is, in mm
        ipp = np.asarray(datasets[k].ImagePositionPatient, float)
        row, col = np.asarray(datasets[k].ImageOrientationPatient, float).reshape(2, 3)
        expected = ipp + 20 * float(datasets[k].PixelSpacing[1]) * row + 10 * sy * col
        np.testing.assert_allclose(volume.index_to_patient((20, 3 * k + 10, k)), expected, atol=1e-3)


def test_tilt_20_degrees_bilinear(dicom_samples: Path, tmp_path: Path) -> None:
    src = dicom_samples / VOLUMES / "mr_ge_signa_16slices"
    first = pydicom.dcmread(next(src.iterdir()))
    sy = float(first.PixelSpacing[0])
    spacing = 2.0000020666666667
    folder = _tilted(src, tmp_path / "tilt20", math.tan(math.radians(20)) * spacing)
    datasets = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    volume = _load_folder(folder)
    assert any("tilt of 20.0°" in w for w in volume.metadata.warnings)
    shift = math.tan(math.radians(20)) * spacing / sy  # rows per slice
    for k in (5, 11):
        pixels = datasets[k].pixel_array.astype(np.float64)
        base, frac = math.floor(shift * k), shift * k - math.floor(shift * k)
        # output row j shows slice row j - shift * k = t + (1 - frac) with t = j - base - 1
        expected = frac * pixels[:-1] + (1 - frac) * pixels[1:]
        got = volume.array[k, base + 1 : base + 256].astype(np.float64)
        assert np.abs(got - np.rint(expected)).max() <= 1


def test_resampled_volume_switches_to_float_when_values_overflow(dicom_samples: Path) -> None:
    folder = dicom_samples / VOLUMES / "mr_ge_signa_missing_slice"
    plain = load(scanned(folder))
    candidate = scanned(folder)
    candidate.frames = [dataclasses.replace(f, rescale_slope=20.0) for f in candidate.frames]
    volume = load(candidate)  # 2099 * 20 does not fit int16: restarted in float32
    assert volume.array.dtype == np.float32
    # acquired slices are exact; the interpolated one differs from int16 by its rounding only
    np.testing.assert_allclose(volume.array / 20, plain.array, atol=0.5)
    assert sum(np.array_equal(volume.array[k], plain.array[k] * 20.0) for k in range(16)) == 15
