"""The Qt-free, VTK-free viewer model: planes, conventions, scrolling, rotation, windows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from cbctviewer.core.geometry import (
    Plane,
    SliceGeometry,
    direction_label,
    is_rotation,
    nearest_rotation,
    rotation_about,
    scan_aligned_axes,
    spacing_along,
)
from cbctviewer.core.view_state import (
    MAX_SLAB_MM,
    ClipBox,
    SlabMode,
    ViewerState,
    ViewKind,
    VolumePreset,
    VolumeRenderState,
)
from cbctviewer.core.volume import Volume, VolumeMetadata
from cbctviewer.core.window_level import WINDOW_PRESETS, WindowLevel, auto_window

L, P, S = np.eye(3)
A, R, INF = -P, -L, -S  # anterior, right, inferior
AXIAL, CORONAL, SAGITTAL = ViewKind.AXIAL, ViewKind.CORONAL, ViewKind.SAGITTAL


def make_volume(
    size=(20, 16, 12), spacing=(0.4, 0.5, 0.8), origin=(-5.0, 3.0, 10.0), direction=None, fill=None
) -> Volume:
    array = np.zeros(size[::-1], np.int16) if fill is None else fill
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(np.asarray(direction, float).ravel().tolist())
    return Volume(image)


def assert_vec(actual, expected, tol=1e-9):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), atol=tol)


# -- conventions ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "right", "up", "normal"),
    [(AXIAL, L, A, INF), (CORONAL, L, S, A), (SAGITTAL, P, S, L)],
)
def test_radiological_view_axes(kind, right, up, normal):
    """Axial from the feet (R on screen left, A up), coronal from the front, sagittal from the left."""
    state = ViewerState(make_volume())
    plane = state.plane(kind)
    assert_vec(plane.x_axis, right)
    assert_vec(plane.y_axis, up)
    assert_vec(plane.normal, normal)
    assert_vec(plane.origin, state.crosshair)


def test_planes_are_orthogonal_and_meet_at_the_crosshair():
    state = ViewerState(make_volume())
    state.rotate(CORONAL, 17.0)
    state.rotate(AXIAL, -40.0)
    normals = np.array([state.normal(k) for k in ViewKind])
    assert_vec(normals @ normals.T, np.eye(3), 1e-12)
    for kind in ViewKind:
        geometry = state.slice_geometry(kind)
        assert abs(float(geometry.depth(state.crosshair))) < 1e-9


def test_new_volume_centres_the_crosshair_on_a_voxel():
    volume = make_volume(size=(20, 16, 12))
    state = ViewerState(volume)
    assert_vec(volume.patient_to_index(state.crosshair), (10, 8, 6))


# -- rotation -------------------------------------------------------------------------
def test_rotating_in_axial_tilts_the_other_planes_and_keeps_axial_still():
    state = ViewerState(make_volume())
    events = []
    state.events.axes.connect(lambda: events.append("axes"))
    before = state.plane(AXIAL)
    state.rotate(AXIAL, 30.0)
    after = state.plane(AXIAL)
    assert events == ["axes"]
    assert_vec(after.x_axis, before.x_axis, 1e-12)  # the axial image does not turn
    assert_vec(after.y_axis, before.y_axis, 1e-12)
    # Counter-clockwise on the axial screen (seen from the feet): L turns towards A.
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert_vec(state.plane(CORONAL).x_axis, c * L + s * A, 1e-12)
    assert_vec(state.plane(CORONAL).y_axis, S, 1e-12)
    assert_vec(state.normal(SAGITTAL), c * L + s * A, 1e-12)
    assert_vec(state.plane(SAGITTAL).y_axis, S, 1e-12)


def test_reset_axes_restores_scan_axes():
    state = ViewerState(make_volume())
    state.rotate(AXIAL, 30.0)
    state.rotate(SAGITTAL, -12.0)
    state.reset_axes()
    assert_vec(state.axes, np.eye(3), 1e-12)
    assert all(state.roll(k) == 0.0 for k in ViewKind)
    assert_vec(state.plane(CORONAL).x_axis, L)


def test_scan_axes_follow_a_tilted_scan():
    tilt = rotation_about(S, 10.0) @ rotation_about(L, 5.0)
    state = ViewerState(make_volume(direction=tilt))
    assert_vec(state.axes, tilt, 1e-12)  # axial runs along the scan's slices
    state.reset_axes(to="patient")
    assert_vec(state.axes, np.eye(3))


def test_scan_aligned_axes_of_a_permuted_direction_stay_anatomical():
    coronal_scan = np.column_stack([L, -S, P])  # rows run L, columns down (I), slices P
    assert_vec(scan_aligned_axes(coronal_scan), np.eye(3))


# -- scrolling and the crosshair ------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "spacing", "direction"), [(AXIAL, 0.8, INF), (CORONAL, 0.5, A), (SAGITTAL, 0.4, L)]
)
def test_scroll_moves_one_voxel_spacing_along_the_normal(kind, spacing, direction):
    state = ViewerState(make_volume(spacing=(0.4, 0.5, 0.8)))
    start = np.asarray(state.crosshair)
    others = {k: state.slice_geometry(k) for k in ViewKind if k != kind}
    assert state.slice_step(kind) == pytest.approx(spacing)
    state.scroll(kind, 3)
    assert_vec(state.crosshair, start + 3 * spacing * direction)
    for other, geometry in others.items():  # the other planes do not move
        assert state.slice_geometry(other) == geometry


def test_scroll_stops_at_the_edge_of_the_volume():
    volume = make_volume(size=(20, 16, 12))
    state = ViewerState(volume)
    state.scroll(AXIAL, -1000)  # towards S: up to the last slice's outer half voxel
    assert volume.patient_to_index(state.crosshair)[2] == pytest.approx(11.5)


def test_moving_the_crosshair_moves_the_other_planes():
    state = ViewerState(make_volume())
    axial_before = state.slice_geometry(AXIAL)
    old = np.asarray(state.crosshair)
    received: list[tuple[float, float, float]] = []
    state.events.crosshair.connect(received.append)
    state.crosshair = old + 2.0 * L + 1.5 * P
    assert len(received) == 1
    assert state.slice_geometry(AXIAL) == axial_before  # in-plane move: axial image unchanged
    assert float(state.slice_geometry(SAGITTAL).depth(old)) == pytest.approx(-2.0)  # normal L
    assert float(state.slice_geometry(CORONAL).depth(old)) == pytest.approx(1.5)  # normal A


def test_click_sets_the_crosshair_on_that_view():
    state = ViewerState(make_volume())
    geometry = state.slice_geometry(CORONAL)
    state.set_crosshair_at(CORONAL, row=10.0, col=200.0)
    assert_vec(geometry.patient_to_pixel(state.crosshair), (10.0, 200.0), 1e-9)


def test_spacing_along_oblique_direction_is_the_voxel_radius():
    assert spacing_along(L, (0.4, 0.5, 0.8), np.eye(3)) == pytest.approx(0.4)
    d = (L + S) / math.sqrt(2)
    assert spacing_along(d, (0.5, 0.5, 0.5), np.eye(3)) == pytest.approx(0.5)
    assert spacing_along(d, (1.0, 1.0, 2.0), np.eye(3)) == pytest.approx(1 / math.sqrt(0.5 + 0.125))


# -- zoom and pan ---------------------------------------------------------------------
def test_zoom_about_keeps_the_point_under_the_cursor():
    state = ViewerState(make_volume())
    point = state.slice_geometry(AXIAL).pixel_to_patient((100.0, 400.0))
    state.zoom_about(AXIAL, 2.5, row=100.0, col=400.0)
    geometry = state.slice_geometry(AXIAL)
    assert state.views[AXIAL].zoom == 2.5
    assert_vec(geometry.patient_to_pixel(point), (100.0, 400.0), 1e-9)


def test_pan_by_drags_the_content():
    state = ViewerState(make_volume())
    point = state.slice_geometry(SAGITTAL).pixel_to_patient((200.0, 300.0))
    state.pan_by(SAGITTAL, rows=-15.0, cols=40.0)
    assert_vec(state.slice_geometry(SAGITTAL).patient_to_pixel(point), (185.0, 340.0), 1e-9)


def test_zoom_one_fits_the_largest_extent():
    state = ViewerState(make_volume(size=(20, 16, 12), spacing=(0.4, 0.5, 0.8)))
    state.views[AXIAL].viewport = (300, 200)
    assert state.pixel_size(AXIAL) == pytest.approx(max(20 * 0.4, 16 * 0.5, 12 * 0.8) / 200)


# -- slab, window, 3D settings --------------------------------------------------------
def test_slab_settings_are_clamped_and_evented():
    state = ViewerState(make_volume())
    view = state.views[AXIAL]
    seen: list[float] = []
    view.events.slab_thickness.connect(seen.append)
    view.slab_thickness = 100.0
    view.slab_thickness = -3.0
    assert seen == [MAX_SLAB_MM, 0.0]
    view.slab_mode = "minip"
    assert view.slab_mode is SlabMode.MINIP
    with pytest.raises(ValueError):
        view.slab_mode = "sum"


def test_window_presets_full_range_and_auto():
    fill = np.full((12, 16, 20), -1000, np.int16)
    fill[2:10, 3:13, 4:16] = 40
    fill[5, 6, 8] = 2500  # one voxel: in the full range, not in the auto window
    state = ViewerState(make_volume(fill=fill))
    changes: list[WindowLevel] = []
    state.events.window_level.connect(changes.append)
    assert state.apply_window_preset("teeth") == WINDOW_PRESETS["teeth"]
    assert state.apply_window_preset("full range") == WindowLevel.from_range(-1000, 2500)
    auto = state.apply_window_preset("auto")
    assert auto == WindowLevel.from_range(-1000, 40)
    assert len(changes) == 3
    with pytest.raises(ValueError):
        state.apply_window_preset("lung")


def test_auto_window_ignores_rare_extremes():
    values = np.random.default_rng(1).integers(0, 50, (40, 40, 40)).astype(np.int16)
    values[0, 0, :3] = 30000  # a few hot voxels must not stretch the window
    window = auto_window(values, low_percentile=1, high_percentile=99)
    assert window.upper < 100


def test_auto_window_of_nearly_uniform_data_falls_back_to_full_range():
    values = np.full((30, 30, 30), -1000, np.int16)
    values[10, 10, 10] = 3000
    assert auto_window(values) == WindowLevel.from_range(-1000, 3000)


def test_volume_window_from_metadata_wins():
    volume = make_volume()
    volume.metadata = VolumeMetadata(window_center=400.0, window_width=2000.0)
    assert ViewerState(volume).window_level == WindowLevel(400.0, 2000.0)


def test_volume_render_settings():
    settings_ = VolumeRenderState()
    seen = []
    settings_.events.all.connect(lambda info: seen.append(info.signal.name))
    settings_.preset = "teeth"
    settings_.opacity = 3.0
    settings_.clip_planes = {"axial"}
    settings_.reset_camera()
    assert settings_.preset is VolumePreset.TEETH and settings_.opacity == 1.0
    assert settings_.clip_planes == frozenset({AXIAL})
    assert seen == ["preset", "clip_planes", "camera"]  # opacity was already 1.0 after clamp
    with pytest.raises(ValueError):
        ClipBox((0, 0, 0), (1, -1, 1))


# -- pure geometry --------------------------------------------------------------------
def test_direction_labels():
    assert direction_label(L) == "L"
    assert direction_label(-P) == "A"
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert direction_label(c * L + s * A) == "LA"
    assert direction_label(math.cos(0.05) * S + math.sin(0.05) * R) == "S"  # 3° tilt: no clutter


def test_nearest_rotation_cleans_rounding():
    noisy = rotation_about((1, 2, 3), 33.0) + 1e-4
    assert is_rotation(nearest_rotation(noisy))
    assert not is_rotation(noisy)


rotations = st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
    lambda q: sum(v * v for v in q) > 0.01
)


def _quaternion_matrix(q) -> np.ndarray:
    w, x, y, z = np.asarray(q) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


coords = st.floats(-300, 300, allow_nan=False)
pixels = st.tuples(st.floats(-50, 600), st.floats(-50, 600))


@settings(max_examples=150, deadline=None)
@given(
    q=rotations,
    roll=st.floats(-360, 360),
    zoom=st.floats(0.1, 20),
    pan=st.tuples(st.floats(-100, 100), st.floats(-100, 100)),
    viewport=st.tuples(st.integers(1, 900), st.integers(1, 900)),
    kind=st.sampled_from(list(ViewKind)),
    a=pixels,
    b=pixels,
)
def test_view_patient_mapping_round_trips_and_keeps_distances(q, roll, zoom, pan, viewport, kind, a, b):
    state = ViewerState(make_volume())
    state.axes = _quaternion_matrix(q)
    state.set_roll(kind, roll)
    view = state.views[kind]
    view.viewport, view.zoom, view.pan = viewport, zoom, pan
    geometry = state.slice_geometry(kind)
    pa, pb = geometry.pixel_to_patient(a), geometry.pixel_to_patient(b)
    # view → patient → view
    assert_vec(geometry.patient_to_pixel(pa), a, 1e-7)
    # the patient points lie on the plane, and plane → patient → plane round-trips
    uv = geometry.pixel_to_plane(a)
    assert_vec(geometry.plane.to_plane(pa), (*uv, 0.0), 1e-7)
    # distances agree in pixels×pixel size, plane mm and patient mm
    in_patient = float(np.linalg.norm(pa - pb))
    in_plane = float(np.linalg.norm(geometry.pixel_to_plane(a) - geometry.pixel_to_plane(b)))
    in_pixels = float(np.hypot(a[0] - b[0], a[1] - b[1])) * geometry.pixel_size
    assert in_patient == pytest.approx(in_plane, rel=1e-9, abs=1e-7)
    assert in_patient == pytest.approx(in_pixels, rel=1e-9, abs=1e-7)


@settings(max_examples=100, deadline=None)
@given(q=rotations, point=st.tuples(coords, coords, coords), kind=st.sampled_from(list(ViewKind)))
def test_patient_view_patient_round_trip(q, point, kind):
    """Any patient point = its pixel position mapped back plus its depth along the normal."""
    state = ViewerState(make_volume())
    state.axes = _quaternion_matrix(q)
    geometry = state.slice_geometry(kind)
    rc = geometry.patient_to_pixel(point)
    back = geometry.pixel_to_patient(rc) + float(geometry.depth(point)) * np.asarray(geometry.plane.normal)
    assert_vec(back, point, 1e-7)


def test_slice_geometry_pixel_centres():
    plane = Plane((10.0, 20.0, 30.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0))
    geometry = SliceGeometry(plane, 0.5, 4, 2)
    assert_vec(geometry.pixel_to_patient((0.5, 1.5)), (10.0, 20.0, 30.0))  # centre of the grid
    assert_vec(geometry.pixel_to_patient((0.0, 0.0)), (9.25, 19.75, 30.0))  # top-left: up = A
    assert_vec(geometry.corner(), (9.25, 20.25, 30.0))
    with pytest.raises(ValueError):
        Plane((0, 0, 0), (1, 0, 0), (1, 0, 0))
