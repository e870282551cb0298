"""The fast sheet sampler's paths against exact trilinear samples of random volumes.

Every path of :func:`cbctviewer.core.panoramic_sampler.sample_sheet` (slab box or sparse
voxel columns; rows on slices or between them; mean or MIP; k running up or down) must give
the slab reduction of :func:`cbctviewer.core.sampling.sample_trilinear` at every pixel,
including sheets that leave the scan. Random grey values make any wrong voxel, weight or
row visible.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core import panoramic_sampler
from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.cross_sections import cross_section_positions, cross_section_strip
from cbctviewer.core.panoramic import PanoramicSpec, panoramic
from cbctviewer.core.panoramic_sampler import sample_sheet, slab_offsets
from cbctviewer.core.sampling import sample_trilinear
from cbctviewer.core.volume import Volume

SPACING = (0.3, 0.25, 0.2)  # anisotropic, so i/j/k mix-ups show
ORIGIN = (-12.0, 7.5, -3.0)


def random_volume(direction: tuple[float, ...] = (1, 0, 0, 0, 1, 0, 0, 0, 1), seed: int = 3) -> Volume:
    rng = np.random.default_rng(seed)
    grey = rng.integers(-1000, 3000, size=(70, 90, 110), dtype=np.int16)  # (z, y, x)
    image = sitk.GetImageFromArray(grey)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    image.SetDirection(direction)
    return Volume(image)


def exact_sheet(volume: Volume, origins, normals, up, heights, offsets, mode: str) -> np.ndarray:
    """The definition: trilinear samples of every point, reduced over the slab (nan outside)."""
    points = (
        origins[np.newaxis, :, np.newaxis, :]
        + offsets[np.newaxis, np.newaxis, :, np.newaxis] * normals[np.newaxis, :, np.newaxis, :]
        + heights[:, np.newaxis, np.newaxis, np.newaxis] * np.asarray(up)
    )
    values = sample_trilinear(volume, points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan pixels stay nan
        return np.nanmean(values, axis=2) if mode == "mean" else np.nanmax(values, axis=2)


def arch_in(volume: Volume, *, z_mm: float, overhang_mm: float = 0.0) -> ArchCurve:
    """A U-shaped arch in the volume's axial plane at ``z_mm``; ``overhang_mm`` pushes its ends outside."""
    centre_x = ORIGIN[0] + 0.5 * 109 * SPACING[0]
    back_y = ORIGIN[1] + 89 * SPACING[1] - 3.0 + overhang_mm
    u = np.linspace(-13.0, 13.0, 7)
    points = np.column_stack([centre_x + u, back_y - 14.0 + 14.0 * (u / 13.0) ** 2, np.full(7, z_mm)])
    return ArchCurve(points)


def assert_exact(fast: np.ndarray, exact: np.ndarray) -> None:
    assert fast.shape == exact.shape
    assert np.array_equal(np.isnan(fast), np.isnan(exact))
    inside = ~np.isnan(exact)
    assert inside.sum() > 0.3 * inside.size
    # float32 arithmetic on values up to 3000: a few 1e-4 at most.
    assert np.max(np.abs(fast[inside] - exact[inside])) < 0.02


@pytest.fixture(scope="module")
def volume() -> Volume:
    return random_volume()


CASES = {
    # name: (pixel mm, slab mm, height-centre mm): rows on slices (step = k spacing), between
    # slices, rows sparser than slices (preview-like), a thin sheet (sparse voxel columns).
    "slab rows on slices": (0.2, 3.0, 0.0),
    "slab rows between slices": (0.2, 3.0, 0.07),
    "slab sparse rows": (0.5, 3.0, 0.13),
    "thin": (0.2, 0.0, 0.0),
    "thin sparse rows": (0.45, 0.0, 0.05),
}


@pytest.mark.parametrize("mode", ["mean", "mip"])
@pytest.mark.parametrize("case", list(CASES))
def test_sheet_is_the_exact_slab_of_trilinear_samples(volume: Volume, case: str, mode: str) -> None:
    step, slab, centre = CASES[case]
    z = ORIGIN[2] + 35 * SPACING[2]  # on a slice
    curve = arch_in(volume, z_mm=z, overhang_mm=2.0)  # its ends leave the scan: partial slabs, nan
    frames = curve.frames(step)
    spec = PanoramicSpec(step_mm=step, height_mm=16.0, centre_height_mm=centre, slab_mm=slab)
    heights = spec.heights()  # reaches above the top slice: nan rows
    offsets = slab_offsets(slab, min(SPACING), centre_mm=0.5)
    fast = sample_sheet(volume, frames.points, frames.normals, curve.up, heights, offsets, mode=mode)
    exact = exact_sheet(volume, frames.points, frames.normals, curve.up, heights, offsets, mode)
    assert_exact(fast, exact)
    assert np.isnan(fast).any(axis=0).any()  # the overhang really is outside


@pytest.mark.parametrize("mode", ["mean", "mip"])
def test_k_running_down_and_a_rotated_grid(mode: str) -> None:
    # k along −z (slices stored top to bottom) and i/j swapped in plane: still the aligned path.
    flipped = random_volume(direction=(0, 1, 0, 1, 0, 0, 0, 0, -1), seed=4)
    assert flipped.direction != (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    bounds = [flipped.image.TransformIndexToPhysicalPoint(c) for c in [(0, 0, 0), (109, 89, 69)]]
    lo, hi = np.min(bounds, axis=0), np.max(bounds, axis=0)
    centre = 0.5 * (lo + hi)
    u = np.linspace(-6.0, 6.0, 5)
    curve = ArchCurve(
        np.column_stack([centre[0] + u, centre[1] - 3.0 + 0.08 * u**2, np.full(5, centre[2] + 0.2)])
    )
    frames = curve.frames(0.25)
    heights = PanoramicSpec(step_mm=0.2, height_mm=10.0, slab_mm=2.0).heights()
    offsets = slab_offsets(2.0, 0.2)
    fast = sample_sheet(flipped, frames.points, frames.normals, curve.up, heights, offsets, mode=mode)
    assert_exact(fast, exact_sheet(flipped, frames.points, frames.normals, curve.up, heights, offsets, mode))


def test_slab_is_the_stack_of_thin_panoramics(volume: Volume) -> None:
    curve = arch_in(volume, z_mm=ORIGIN[2] + 30 * SPACING[2])
    base = PanoramicSpec(step_mm=0.2, height_mm=8.0, offset_mm=-0.5)
    offsets = slab_offsets(2.4, min(SPACING), centre_mm=base.offset_mm)
    stack = np.stack(
        [
            panoramic(volume, curve, PanoramicSpec(step_mm=0.2, height_mm=8.0, offset_mm=o)).pixels
            for o in offsets
        ]
    )
    assert not np.isnan(stack).any()
    for mode, reduce in (("mean", np.mean), ("mip", np.max)):
        slab = panoramic(
            volume,
            curve,
            PanoramicSpec(step_mm=0.2, height_mm=8.0, offset_mm=-0.5, slab_mm=2.4, slab_mode=mode),
        )
        assert np.max(np.abs(slab.pixels - reduce(stack, axis=0))) < 0.02


def test_panoramic_pixels_are_samples_at_pixel_to_patient(volume: Volume) -> None:
    curve = arch_in(volume, z_mm=ORIGIN[2] + 20.5 * SPACING[2])  # between slices
    image = panoramic(volume, curve, PanoramicSpec(step_mm=0.2, height_mm=6.0, centre_height_mm=1.0))
    rng = np.random.default_rng(8)
    rows, cols = image.shape
    for r, c in zip(rng.integers(0, rows, 60), rng.integers(0, cols, 60), strict=True):
        expected = sample_trilinear(volume, image.pixel_to_patient(r, c))
        assert image.pixels[r, c] == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("mode", ["mean", "mip"])
def test_threads_and_block_size_do_not_change_the_pixels(
    volume: Volume, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    curve = arch_in(volume, z_mm=ORIGIN[2] + 35 * SPACING[2])
    spec = PanoramicSpec(step_mm=0.2, height_mm=8.0, slab_mm=3.0, slab_mode=mode)
    pooled = panoramic(volume, curve, spec).pixels
    monkeypatch.setattr(panoramic_sampler, "_threads", lambda: 1)
    monkeypatch.setattr(panoramic_sampler, "BLOCK_COLUMNS", 7)  # uneven blocks, a short last one
    monkeypatch.setattr(panoramic_sampler, "MIP_BLOCK_SAMPLES", 40)
    assert np.array_equal(panoramic(volume, curve, spec).pixels, pooled, equal_nan=True)


def test_cross_section_strip_is_exact(volume: Volume) -> None:
    curve = arch_in(volume, z_mm=ORIGIN[2] + 35 * SPACING[2])
    positions = cross_section_positions(curve.length_mm / 3, count=5, length_mm=curve.length_mm)
    for slab, mode in ((0.0, "mean"), (1.0, "mean"), (1.0, "mip")):
        strip = cross_section_strip(
            volume, curve, positions, width_mm=12.0, height_mm=8.0, pixel_mm=0.2, slab_mm=slab, slab_mode=mode
        )
        for geometry, pixels in strip:
            plane = geometry.plane
            rc = np.stack(
                np.meshgrid(np.arange(geometry.height), np.arange(geometry.width), indexing="ij"), -1
            )
            centres = geometry.pixel_to_patient(rc.reshape(-1, 2)).reshape(geometry.height, geometry.width, 3)
            offsets = slab_offsets(slab, min(SPACING))
            values = sample_trilinear(
                volume, centres[:, :, np.newaxis, :] + offsets[:, np.newaxis] * np.asarray(plane.normal)
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                exact = np.nanmean(values, axis=2) if mode == "mean" else np.nanmax(values, axis=2)
            assert_exact(pixels, exact)
