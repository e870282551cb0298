"""The 3D view of a large volume draws a reduced copy in the right place (off-screen)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.view_state import ViewerState
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.reduced import DEFAULT_MAX_VOXELS, reduced_image, shrink_factors
from cbctviewer.rendering.volume_render import VolumeView
from cbctviewer.rendering.vtk_image import VolumeImage

SIZE = (97, 90, 83)  # (nx, ny, nz): no axis divides evenly by 2
SPHERE_INDEX = (61.0, 35.0, 50.0)
BUDGET = 100_000  # voxels; the volume has ~725 k


def large_sphere_volume() -> Volume:
    """Tilted, non-isotropic grid with a bright sphere (radius 6 mm) off its centre."""
    nx, ny, nz = SIZE
    k, j, i = np.mgrid[:nz, :ny, :nx].astype(np.float32)
    spacing = np.array([0.4, 0.4, 0.45])
    offset = (np.stack([i, j, k], axis=-1) - np.array(SPHERE_INDEX)) * spacing
    r = np.sqrt((offset**2).sum(axis=-1))
    array = (-1000 + 3000 / (1 + np.exp((r - 6.0) / 0.4))).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(spacing))
    image.SetOrigin((-20.0, 5.0, 30.0))
    image.SetDirection(rotation_about(np.array([0.3, 0.2, 1.0]) / np.sqrt(1.13), 35.0).ravel().tolist())
    return Volume(image)


def small_volume() -> Volume:
    """64³ voxels of 0.5 mm: far below the default budget."""
    image = sitk.GetImageFromArray(np.full((64, 64, 64), -1000, np.int16))
    image[20:40, 20:40, 20:40] = 2000
    image.SetSpacing((0.5, 0.5, 0.5))
    return Volume(image)


def bright(frame: np.ndarray, threshold: int = 60) -> np.ndarray:
    return np.asarray(frame.max(axis=2) >= threshold)


def centroid(frame: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(bright(frame))
    assert rows.size > 100, "3D render is black"
    return float(rows.mean()), float(cols.mean())


def test_shrink_factors_fit_the_budget_and_grow_the_finest_axes_first():
    assert shrink_factors((400, 400, 300), (0.2, 0.2, 0.2), DEFAULT_MAX_VOXELS) == (2, 2, 2)
    assert shrink_factors((512, 512, 400), (0.3, 0.3, 0.3), DEFAULT_MAX_VOXELS) == (2, 2, 2)
    assert shrink_factors((512, 512, 400), (0.3, 0.3, 0.3), None) == (1, 1, 1)
    assert shrink_factors((64, 64, 64), (0.5, 0.5, 0.5), DEFAULT_MAX_VOXELS) == (1, 1, 1)
    assert shrink_factors((100, 100, 100), (0.2, 0.2, 0.6), 400_000) == (2, 2, 1)
    with pytest.raises(ValueError):
        shrink_factors((10, 10, 10), (1, 1, 1), 0)


def test_reduced_copy_keeps_the_patient_geometry_and_fits_the_budget():
    volume = large_sphere_volume()
    source = VolumeImage.from_volume(volume)
    reduced = reduced_image(source, BUDGET)
    copy = reduced.volume
    factors = np.array(shrink_factors(volume.size, volume.spacing, BUDGET))
    assert np.prod(copy.size) <= BUDGET
    assert copy.nbytes <= BUDGET * volume.array.itemsize
    assert copy.array.dtype == volume.array.dtype
    assert copy.direction == pytest.approx(volume.direction)
    assert copy.spacing == pytest.approx(tuple(factors * volume.spacing))
    # Reduced voxel m is the centre of the block it averages: full index f*m + (f-1)/2.
    for m in [(0, 0, 0), (5, 7, 3), tuple(np.array(copy.size) - 1)]:
        full_index = factors * np.array(m) + (factors - 1) / 2
        assert copy.index_to_patient(m) == pytest.approx(volume.index_to_patient(full_index))
    # The sphere's value at its centre survives the block mean.
    centre_m = np.round((np.array(SPHERE_INDEX) - (factors - 1) / 2) / factors).astype(int)
    assert copy.array[centre_m[2], centre_m[1], centre_m[0]] > 1500
    # A volume within the budget is the shared source itself, not a copy.
    assert reduced_image(source, None) is source
    assert reduced_image(source, int(np.prod(volume.size))) is source


def test_reduced_render_puts_the_sphere_where_the_full_render_does():
    volume = large_sphere_volume()
    centre = volume.index_to_patient(SPHERE_INDEX)
    frames, projected = [], []
    for budget in (None, BUDGET):
        state = ViewerState(volume, viewport=(160, 140))
        view = VolumeView(state, max_voxels=budget)
        try:
            frames.append(view.render())
            projected.append(view.project(centre))
            rendered = view.rendered_image
            assert rendered is not None
            assert (rendered.volume is volume) == (budget is None)
            if budget is not None:
                assert view.mapper.GetInputDataObject(0, 0) is rendered.image
                assert np.prod(rendered.volume.size) <= budget
        finally:
            view.close()
    full, reduced = (centroid(frame) for frame in frames)
    assert projected[0] == pytest.approx(projected[1], abs=1e-6)  # same camera framing
    assert full == pytest.approx(projected[0], abs=2.0)
    assert reduced == pytest.approx(full, abs=1.5)


def test_small_volumes_render_at_full_resolution_and_copies_go_with_their_volume():
    state = ViewerState(small_volume(), viewport=(64, 48))
    state.volume_render.viewport = (64, 48)
    view = VolumeView(state)  # default budget: 64³ is far below it
    try:
        view.render()
        assert view.rendered_image is not None and view.rendered_image.volume is state.volume
        view.max_voxels = BUDGET  # takes effect with the next volume
        state.volume = large_sphere_volume()
        view.render()
        first = view.rendered_image
        assert first is not None and first.volume is not state.volume
        gone = weakref.ref(first)
        del first
        state.volume = large_sphere_volume()
        view.render()
        gc.collect()
        assert gone() is None, "the previous volume's reduced copy is still alive"
        state.volume = None
        view.render()
        assert view.rendered_image is None
    finally:
        view.close()
