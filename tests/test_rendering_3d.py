"""The 3D view rendered off-screen: presets, projection, clipping, mapper choice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.view_state import ClipBox, ViewerState, ViewKind, VolumePreset
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.capabilities import default_gl_info, is_software_renderer
from cbctviewer.rendering.volume_presets import PRESETS
from cbctviewer.rendering.volume_render import VolumeView

S = np.array([0.0, 0.0, 1.0])
SPHERE_INDEX = (40, 26, 30)  # off the volume centre (31.5, 31.5, 31.5) on every axis
RADIUS_VOXELS = 12.0


def sphere_volume() -> Volume:
    """64³ voxels of 0.5 mm, tilted 25° about S, a bone-bright sphere with a smooth edge."""
    k, j, i = np.mgrid[:64, :64, :64].astype(np.float32)
    ci, cj, ck = SPHERE_INDEX
    r = np.sqrt((i - ci) ** 2 + (j - cj) ** 2 + (k - ck) ** 2)
    array = (-1000 + 3000 / (1 + np.exp((r - RADIUS_VOXELS) / 0.8))).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.5, 0.5, 0.5))
    image.SetOrigin((-30.0, 10.0, 40.0))
    image.SetDirection(rotation_about(S, 25.0).ravel().tolist())
    return Volume(image)


@pytest.fixture
def scene() -> Iterator[tuple[ViewerState, VolumeView, np.ndarray]]:
    volume = sphere_volume()
    state = ViewerState(volume, viewport=(160, 140))
    view = VolumeView(state)
    centre = np.asarray(
        volume.image.TransformContinuousIndexToPhysicalPoint([float(v) for v in SPHERE_INDEX])
    )
    yield state, view, centre
    view.close()


def bright(frame: np.ndarray, threshold: int = 60) -> np.ndarray:
    return np.asarray(frame.max(axis=2) >= threshold)


def test_sphere_is_rendered_where_its_centre_projects(scene):
    state, view, centre = scene
    frame = view.render()
    mask = bright(frame)
    assert mask.sum() > 100, "3D render is black"
    rows, cols = np.nonzero(mask)
    assert (rows.mean(), cols.mean()) == pytest.approx(view.project(centre), abs=2.0)
    # Default camera looks from the front: patient's left (+x) is on screen right.
    left_of_centre = state.volume_centre() + np.array([10.0, 0.0, 0.0])
    assert view.project(left_of_centre)[1] > view.project(state.volume_centre())[1]
    assert view.project(state.volume_centre() + 10 * S)[0] < view.project(state.volume_centre())[0]


def test_mapper_follows_the_gl_capabilities(scene):
    _, view, _ = scene
    view.render()
    expected = "vtkFixedPointVolumeRayCastMapper" if default_gl_info().is_software else "GPUVolumeRayCast"
    assert expected in view.mapper_name
    assert is_software_renderer("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert not is_software_renderer("NVIDIA GeForce RTX 3060/PCIe/SSE2")


def test_clip_box_and_clip_by_planes(scene):
    state, view, centre = scene
    settings = state.volume_render
    assert bright(view.render()).sum() > 100
    settings.clip_box = ClipBox(tuple(centre + 6.0), tuple(centre + 30.0))  # misses the sphere
    assert bright(view.render()).sum() == 0
    settings.clip_box = None
    # Clipping by the coronal plane removes what lies between it and a viewer in front.
    settings.clip_planes = {ViewKind.CORONAL}
    state.crosshair = centre + np.array([0.0, -10.0, 0.0])  # plane 10 mm anterior of the sphere
    assert bright(view.render()).sum() > 100
    state.crosshair = centre + np.array([0.0, 10.0, 0.0])  # plane posterior: sphere removed
    assert bright(view.render()).sum() == 0
    state.crosshair = centre  # cut through the middle: a disc the size of the sphere remains
    assert bright(view.render()).sum() > 100


def test_presets_threshold_and_opacity_change_the_image(scene):
    state, view, _ = scene
    settings = state.volume_render
    bone = view.render().copy()
    settings.preset = VolumePreset.SOFT_TISSUE
    assert not np.array_equal(view.render(), bone)
    settings.preset = VolumePreset.BONE
    settings.threshold = 2500.0  # above the sphere's values: nothing left to see
    assert bright(view.render(), 20).sum() == 0
    settings.threshold = None
    settings.opacity = 0.0
    assert bright(view.render(), 20).sum() == 0
    assert PRESETS[VolumePreset.TEETH].shifted_opacity(threshold=1500.0, scale=1.0)[1][0] == 1500.0


def test_interacting_frames_and_camera_round_trip(scene):
    state, view, _ = scene
    still = view.render()
    state.interacting = True
    moving = view.render()
    assert bright(moving).sum() > 100
    state.interacting = False
    view.renderer.GetActiveCamera().Azimuth(40.0)
    state.volume_render.camera = view.camera_state()
    turned = view.render()
    assert not np.array_equal(turned, still)
    state.volume_render.reset_camera()
    assert np.array_equal(view.render(), still)


def test_scene_renders_all_views_from_one_shared_image():
    from cbctviewer.rendering.scene import MprScene

    state = ViewerState(sphere_volume(), viewport=(64, 48))
    state.volume_render.viewport = (64, 48)
    scene = MprScene(state)
    try:
        frames = scene.render()
        assert sorted(frames) == ["3d", "axial", "coronal", "sagittal"]
        assert all(frame.shape == (48, 64, 3) and frame.max() > 0 for frame in frames.values())
        first = [view.resampler.source for view in scene.slices.values()]
        assert all(source is first[0] for source in first)
        assert scene.volume_view.mapper.GetInputDataObject(0, 0) is first[0].image
        state.volume = sphere_volume()  # a new scan: shared again, no stale image
        scene.render()
        second = [view.resampler.source for view in scene.slices.values()]
        assert all(source is second[0] for source in second) and second[0] is not first[0]
        assert second[0].volume is state.volume
    finally:
        scene.close()
