"""io.thumbnails on the phantom and real files: non-blank, right aspect, one frame only."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from cbctviewer.io import thumbnails
from cbctviewer.io.errors import MediaError, TooLargeError
from cbctviewer.io.report import CandidateKind, SeriesCandidate
from cbctviewer.io.scan import scan
from cbctviewer.io.thumbnails import shrink, thumbnail


def only_series(path: Path) -> SeriesCandidate:
    [candidate] = scan(path).series
    return candidate


def physical_aspect(candidate: SeriesCandidate) -> float:
    """height / width in millimetres of the frame a thumbnail shows."""
    ref = thumbnails.preview_frame(candidate)
    spacing = ref.pixel_spacing or candidate.imager_pixel_spacing or (1.0, 1.0)
    return (candidate.rows * spacing[0]) / (candidate.columns * spacing[1])


def assert_thumbnail(image: np.ndarray, candidate: SeriesCandidate, size: int = 128) -> None:
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.flags.c_contiguous
    height, width = image.shape[:2]
    assert max(height, width) == size
    expected = physical_aspect(candidate)
    # Rounded to whole pixels: the aspect is right to within one pixel of the shorter side.
    if expected >= 1:
        assert width == pytest.approx(size / expected, abs=1)
    else:
        assert height == pytest.approx(size * expected, abs=1)
    assert image.std() > 10, "thumbnail is blank"


def test_phantom_middle_slice_shows_bright_teeth_and_bone(phantom_dir: Path) -> None:
    report = scan(phantom_dir)
    [volume] = report.volumes
    image = thumbnail(volume)
    assert_thumbnail(image, volume)
    grey = image[:, :, 0]
    assert np.array_equal(grey, image[:, :, 1]) and np.array_equal(grey, image[:, :, 2])
    # Enamel/bone saturate the automatic window, the air around the head is black.
    assert grey.max() >= 250 and grey.min() <= 5
    assert (grey > 128).mean() > 0.01


def test_thumbnail_decodes_the_middle_frame_only(phantom_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [volume] = scan(phantom_dir).volumes
    decoded = []
    real = thumbnails.decode_frame

    def spy(ref, layout):  # type: ignore[no-untyped-def]
        decoded.append(ref)
        return real(ref, layout)

    monkeypatch.setattr(thumbnails, "decode_frame", spy)
    thumbnail(volume)
    assert decoded == [volume.frames[len(volume.frames) // 2]]


def test_real_ct_volume(dicom_samples: Path) -> None:
    ct = only_series(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm")
    image = thumbnail(ct, size=96)
    assert_thumbnail(image, ct, size=96)
    assert image.shape == (96, 96, 3)


def test_memory_stays_near_one_frame(dicom_samples: Path) -> None:
    ct = only_series(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm")
    frame_bytes = ct.rows * ct.columns * 2
    tracemalloc.start()
    try:
        thumbnail(ct)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 28 frames would be 14 MB; one frame plus small temporaries stays far below that.
    assert peak < 4 * frame_bytes, f"peak {peak} bytes for a {frame_bytes}-byte frame"


@pytest.mark.parametrize(
    ("relative", "shape"),
    [
        ("volumes/mr_t1_3d_oblique_studyforrest_subset", None),  # 384×274, non-square
        ("transfer_syntaxes/pydicom_small/MR_small_jp2klossless.dcm", (128, 128, 3)),
        ("radiographs/cr_fuji_extremity_j2k_lossless.dcm", None),
        ("multiframe/enhanced_ct_ct0012/CT0012.fragmented_no_bot_jpeg_ls.80.dcm", (128, 128, 3)),
        ("multiframe/enhanced_mr_emri_small/emri_small_RLE.dcm", (128, 128, 3)),
        ("transfer_syntaxes/pydicom_small/MR_small_bigendian.dcm", (128, 128, 3)),
    ],
)
def test_real_files_of_many_kinds(dicom_samples: Path, relative: str, shape: tuple[int, ...] | None) -> None:
    candidate = only_series(dicom_samples / relative)
    image = thumbnail(candidate)
    assert_thumbnail(image, candidate)
    if shape is not None:
        assert image.shape == shape


def test_tall_whole_body_image_keeps_its_aspect(dicom_samples: Path) -> None:
    # NM whole-body: 1024 rows × 256 columns → a tall, narrow thumbnail.
    report = scan(dicom_samples / "transfer_syntaxes" / "pydicom_small")
    [nm] = [c for c in report.series if c.modality == "NM"]
    image = thumbnail(nm)
    assert_thumbnail(image, nm)
    assert image.shape[0] == 128 and image.shape[1] < 40


def test_monochrome1_is_shown_inverted(dicom_samples: Path) -> None:
    dx = only_series(dicom_samples / "radiographs" / "dx_fujifilm_chest_monochrome1.dcm")
    assert dx.photometric_interpretation == "MONOCHROME1"
    shown = thumbnail(dx).astype(int)
    as_if_mono2 = thumbnail(dataclasses.replace(dx, photometric_interpretation="MONOCHROME2")).astype(int)
    assert np.abs(shown + as_if_mono2 - 255).max() <= 1


def test_colour_images_stay_in_colour(dicom_samples: Path) -> None:
    for name in ("OT-PAL-8-face.dcm", "US1_J2KR.dcm"):
        candidate = only_series(dicom_samples / "odd_valid" / name)
        image = thumbnail(candidate).astype(int)
        assert_thumbnail(image.astype(np.uint8), candidate)
        assert np.abs(image[:, :, 0] - image[:, :, 2]).mean() > 5, name


def test_undecodable_frame_raises_media_error_in_plain_words(dicom_samples: Path) -> None:
    candidate = only_series(dicom_samples / "broken" / "emri_small_jpeg_2k_lossless_too_short.dcm")
    with pytest.raises(MediaError, match="damaged"):
        thumbnail(candidate)


def test_series_without_pixels_raises(dicom_samples: Path) -> None:
    candidate = only_series(dicom_samples / "charsets" / "chrJapMulti.dcm")
    assert candidate.kind is CandidateKind.NOT_IMAGE
    with pytest.raises(MediaError, match="no image"):
        thumbnail(candidate)


def test_memory_budget_is_checked_before_decoding(
    dicom_samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ct = only_series(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm")

    def must_not_decode(*args: object) -> None:
        raise AssertionError("decoded despite the budget")

    monkeypatch.setattr(thumbnails, "decode_frame", must_not_decode)
    with pytest.raises(TooLargeError):
        thumbnail(ct, memory_budget=100_000)
    monkeypatch.setenv("CBCT_VIEWER_MEMORY_BUDGET", "1000")
    with pytest.raises(TooLargeError):
        thumbnail(ct)


def test_shrink_averages_areas_and_enlarges_by_repeating() -> None:
    image = np.arange(16, dtype=np.uint16).reshape(4, 4)
    assert np.allclose(shrink(image, 2, 2), [[2.5, 4.5], [10.5, 12.5]])
    assert np.allclose(shrink(image, 1, 1), [[7.5]])
    tiny = np.array([[0, 10], [20, 30]], np.int16)
    assert np.allclose(shrink(tiny, 4, 4), np.kron(tiny, np.ones((2, 2))))
    # Non-integer ratios keep the mean.
    odd = np.random.default_rng(1).integers(0, 1000, (300, 700)).astype(np.int16)
    assert shrink(odd, 37, 91).mean() == pytest.approx(odd.mean(), rel=1e-4)


def test_size_must_be_positive(phantom_dir: Path) -> None:
    [volume] = scan(phantom_dir).volumes
    with pytest.raises(ValueError):
        thumbnail(volume, size=0)
