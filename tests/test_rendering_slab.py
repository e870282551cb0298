"""Thick oblique slabs (cached stack of thin re-slices) against a brute-force numpy reference.

The reference samples the slab with its own trilinear interpolation in numpy, using
SimpleITK's index ↔ patient mapping, at ``count`` points ``step`` mm apart along the view
normal (``count`` = the odd number nearest ``thickness / step``), and reduces them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.view_state import SlabMode, ViewerState, ViewKind
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.reslice import lattice_sampling
from cbctviewer.rendering.slice_view import SliceView

AXIAL, CORONAL, SAGITTAL = ViewKind.AXIAL, ViewKind.CORONAL, ViewKind.SAGITTAL
CUBE = 3000


@pytest.fixture
def views() -> Iterator[list[SliceView]]:
    made: list[SliceView] = []
    yield made
    for view in made:
        view.close()


def phantom(direction=None) -> Volume:
    """40×36×30 voxels of smooth noise-free texture plus a 2×2×2 dense cube off the centre."""
    k, j, i = np.mgrid[:30, :36, :40].astype(float)
    array = 200 + 150 * np.sin(i / 3.0) * np.cos(j / 4.0) + 100 * np.cos(k / 2.5)
    array = array.astype(np.int16)
    array[19:21, 20:22, 22:24] = CUBE  # about 2 mm above the central slice k = 15
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.5, 0.45, 0.6))
    image.SetOrigin((-5.0, 3.0, 10.0))
    direction = np.eye(3) if direction is None else direction
    image.SetDirection(np.asarray(direction, float).ravel().tolist())
    return Volume(image)


def trilinear(volume: Volume, points: np.ndarray) -> np.ndarray:
    """Sample at patient points (…, 3) like ``vtkImageReslice`` with its default border.

    Up to half a voxel outside the voxel-centre box takes the edge voxels' values, further
    out the darkest voxel (the view's background).
    """
    image = volume.image
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    index = (points - np.asarray(image.GetOrigin())) @ direction / np.asarray(image.GetSpacing())
    array = volume.array.astype(float)  # (k, j, i)
    size = np.asarray(image.GetSize())
    inside = np.all((index >= -0.5) & (index <= size - 0.5), axis=-1)
    index = np.clip(index, 0, size - 1)
    low = np.minimum(np.floor(index).astype(int), size - 2)
    t = index - low
    out = np.zeros(points.shape[:-1])
    for corner in np.ndindex(2, 2, 2):
        c = np.asarray(corner)
        weight = np.prod(np.where(c == 1, t, 1 - t), axis=-1)
        ii, jj, kk = (low + c)[..., 0], (low + c)[..., 1], (low + c)[..., 2]
        out += weight * array[kk, jj, ii]
    return np.where(inside, out, array.min())


def reference(state: ViewerState, kind: ViewKind, mode: SlabMode) -> np.ndarray:
    geometry = state.slice_geometry(kind)
    step = state.slice_step(kind)
    thickness = state.views[kind].slab_thickness
    count = round(thickness / step)
    count += 1 - count % 2
    rows, cols = np.mgrid[: geometry.height, : geometry.width]
    on_plane = geometry.pixel_to_patient(np.stack([rows, cols], axis=-1).astype(float))
    normal = np.asarray(geometry.plane.normal)
    depths = (np.arange(count) - count // 2) * step
    samples = np.stack([trilinear(state.volume, on_plane + d * normal) for d in depths])
    reduce = {SlabMode.MIP: np.max, SlabMode.MINIP: np.min, SlabMode.MEAN: np.mean}[mode]
    return reduce(samples, axis=0)


def oblique_state(direction=None) -> tuple[ViewerState, Volume]:
    volume = phantom(direction)
    state = ViewerState(volume, viewport=(72, 64))
    state.rotate(CORONAL, 30.0)
    state.rotate(SAGITTAL, -12.0)  # tilted about two axes: no grid-aligned shortcut
    state.views[AXIAL].slab_thickness = 8.0
    return state, volume


@pytest.mark.parametrize("mode", list(SlabMode))
@pytest.mark.parametrize("tilted_scan", [False, True])
def test_oblique_slab_matches_brute_force(views, mode, tilted_scan):
    direction = rotation_about((0, 0, 1), 15.0) if tilted_scan else None
    state, _ = oblique_state(direction)
    state.views[AXIAL].slab_mode = mode
    view = SliceView(state, AXIAL, overlays=False)
    views.append(view)
    fast = view.resliced().astype(float)
    expected = reference(state, AXIAL, mode)
    assert view.resampler.use_stack
    # int16 output: rounding (≤ 0.5) plus float32 arithmetic in VTK
    assert np.abs(fast - expected).max() <= 1.0


def test_oblique_mip_shows_the_cube_where_expected(views):
    state, volume = oblique_state()
    view = SliceView(state, AXIAL, overlays=False)
    views.append(view)
    cube = volume.index_to_patient((22.5, 20.5, 19.5))
    probe = view.probe(cube)
    assert 1.0 < abs(probe.depth) < 4.0  # off the plane, inside the ±4 mm slab
    assert probe.value > 0.9 * CUBE
    image = view.resliced()
    row, col = np.unravel_index(np.argmax(image), image.shape)
    assert abs(row - probe.row) <= 2 and abs(col - probe.col) <= 2
    state.views[AXIAL].slab_thickness = 0.0
    assert view.probe(cube).value < CUBE / 2  # a thin slice misses it


@pytest.mark.parametrize("mode", list(SlabMode))
def test_scrolled_slab_reuses_planes_and_equals_a_fresh_one(views, mode):
    state, _ = oblique_state()
    state.views[AXIAL].slab_mode = mode
    view = SliceView(state, AXIAL, overlays=False)
    views.append(view)
    view.resliced()
    stack = view.resampler.stack
    samples = view.resampler.slab.samples
    assert stack.resliced_planes == samples
    for slices in (1, 1, -3, 2):
        state.scroll(AXIAL, slices)
        scrolled = view.resliced().copy()
        fresh = SliceView(state, AXIAL, overlays=False)
        views.append(fresh)
        np.testing.assert_array_equal(scrolled, fresh.resliced())
    # 1 + 1 new planes; 3 back (all evicted by then); 2 forward (evicted by the step back)
    assert stack.resliced_planes == samples + 1 + 1 + 3 + 2
    state.rotate(AXIAL, 5.0)  # a turn rebuilds the whole slab
    view.resliced()
    assert stack.resliced_planes >= 2 * samples


def test_still_slab_is_at_least_the_preview(views):
    state, _ = oblique_state()
    view = SliceView(state, AXIAL, overlays=False)
    views.append(view)
    still = view.resliced().copy()
    state.interacting = True
    preview = view.resliced()
    assert not view.resampler.use_stack and preview.shape[0] < still.shape[0]
    state.interacting = False
    np.testing.assert_array_equal(view.resliced(), still)


def test_lattice_sampling_spacing_is_a_multiple_of_the_step():
    assert lattice_sampling(10.0, 0.3).samples == 33
    assert lattice_sampling(10.0, 0.3).spacing == 0.3
    assert lattice_sampling(0.4, 0.3).samples == 1
    many = lattice_sampling(30.0, 0.05)
    assert many.samples <= 101 and many.samples % 2 == 1
    assert many.spacing == pytest.approx(0.3) and many.thickness == pytest.approx(30.0, abs=0.31)
