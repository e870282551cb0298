"""2D slice views rendered off-screen with VTK, checked with pixel probes.

Expected pixels are computed by hand from the display conventions and SimpleITK's own
index ↔ patient mapping, not from the code under test. The "ramp" volume holds the linear
function ``100 k + 10 j + i`` of the voxel index, which trilinear interpolation
reproduces exactly anywhere, so any re-sliced pixel can be checked against its patient
position.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.view_state import SlabMode, ViewerState, ViewKind
from cbctviewer.core.volume import Volume, VolumeMetadata
from cbctviewer.core.window_level import WINDOW_PRESETS
from cbctviewer.rendering.grey import GreyMapper, grey_of
from cbctviewer.rendering.overlays import VIEW_COLOURS
from cbctviewer.rendering.reslice import slab_sampling
from cbctviewer.rendering.slice_view import SliceView
from cbctviewer.rendering.vtk_image import VolumeImage

AXIAL, CORONAL, SAGITTAL = ViewKind.AXIAL, ViewKind.CORONAL, ViewKind.SAGITTAL
L, P, S = np.eye(3)
VIEWPORT = (96, 96)
#: A tilted scan: 20° about S, then 10° about L (direction matrix not identity).
TILT = rotation_about(S, 20.0) @ rotation_about(L, 10.0)


def image_of(array: np.ndarray, *, spacing, origin, direction=None) -> sitk.Image:
    direction = np.eye(3) if direction is None else direction
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(np.asarray(direction, float).ravel().tolist())
    return image


def patient(image: sitk.Image, index) -> np.ndarray:
    """SimpleITK's own continuous index → patient mapping (independent of our code)."""
    return np.asarray(image.TransformContinuousIndexToPhysicalPoint([float(v) for v in index]))


def centre_of(image: sitk.Image) -> np.ndarray:
    return patient(image, [(n - 1) / 2 for n in image.GetSize()])


def expected_pixel(point, centre, right, up, pixel_size) -> tuple[float, float]:
    """Hand-made view mapping: viewport centre shows the volume centre, rows grow down."""
    d = np.asarray(point) - centre
    return ((VIEWPORT[1] - 1) / 2 - d @ up / pixel_size, (VIEWPORT[0] - 1) / 2 + d @ right / pixel_size)


def bright_centroid(grey: np.ndarray, threshold: int = 128) -> tuple[float, float]:
    rows, cols = np.nonzero(grey >= threshold)
    assert rows.size, "no bright pixels"
    return float(rows.mean()), float(cols.mean())


@pytest.fixture
def views() -> Iterator[list[SliceView]]:
    made: list[SliceView] = []
    yield made
    for view in made:
        view.close()


def open_view(views, state, kind, **options) -> SliceView:
    view = SliceView(state, kind, overlays=options.pop("overlays", False), **options)
    views.append(view)
    return view


# -- volumes --------------------------------------------------------------------------
MARKERS = [(24, 20, 16), (34, 11, 22), (12, 30, 9)]  # (i, j, k), distinct on every axis


def marker_volume(direction=TILT) -> Volume:
    """48×40×32 voxels, spacing 0.5/0.6/0.75 mm (24 mm each way), 3×3×3 bright markers."""
    array = np.full((32, 40, 48), -1000, np.int16)
    for i, j, k in MARKERS:
        array[k - 1 : k + 2, j - 1 : j + 2, i - 1 : i + 2] = 3000
    return Volume(image_of(array, spacing=(0.5, 0.6, 0.75), origin=(12.0, -30.0, 55.0), direction=direction))


def ramp_volume(direction=None, spacing=(0.5, 0.6, 0.75)) -> Volume:
    direction = np.eye(3) if direction is None else direction
    k, j, i = np.mgrid[:32, :40, :48]
    array = (100 * k + 10 * j + i).astype(np.int16)
    return Volume(image_of(array, spacing=spacing, origin=(-7.0, 4.0, -20.0), direction=direction))


def ramp_value(volume: Volume, point) -> float:
    i, j, k = volume.image.TransformPhysicalPointToContinuousIndex([float(v) for v in point])
    return 100 * k + 10 * j + i


# -- tests ----------------------------------------------------------------------------
def test_vtk_image_shares_the_simpleitk_buffer():
    volume = marker_volume()
    source = VolumeImage.from_volume(volume)
    assert source.shares_buffer_with(volume.array)
    assert source.image.GetDimensions() == volume.size
    np.testing.assert_allclose(source.grid_to_patient @ source.patient_to_grid, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("frame", ["scan", "patient"])
@pytest.mark.parametrize("kind", list(ViewKind))
def test_marker_appears_at_the_expected_pixel(views, kind, frame):
    """Tilted scan; views along the scan axes and along the patient axes."""
    volume = marker_volume()
    state = ViewerState(volume, viewport=VIEWPORT)
    state.reset_axes(to=frame)
    axes = TILT if frame == "scan" else np.eye(3)
    right, up = {AXIAL: (axes[:, 0], -axes[:, 1]), CORONAL: (axes[:, 0], axes[:, 2])}.get(
        kind, (axes[:, 1], axes[:, 2])
    )
    pixel_size = 24.0 / 96
    assert state.pixel_size(kind) == pixel_size
    view = open_view(views, state, kind)
    for marker in MARKERS:
        point = patient(volume.image, marker)
        state.crosshair = point
        expected = expected_pixel(point, centre_of(volume.image), right, up, pixel_size)
        found = bright_centroid(view.grey())
        assert found == pytest.approx(expected, abs=0.6)
        probe = view.probe(point)
        assert (probe.row, probe.col) == pytest.approx(expected, abs=1e-6)
        assert probe.inside and probe.grey == 255 and probe.value > 2000


def test_marker_in_a_30_degree_oblique_view(views):
    """Rotating the crosshair ≈31° in axial makes coronal oblique; a marker in it lands right."""
    volume = marker_volume(direction=np.eye(3))
    image = volume.image
    first = patient(image, (14, 26, 10))
    second = patient(image, (24, 20, 14))  # 5 mm L, 3.6 mm A, 3 mm S of the first
    offset = second - first
    degrees = math.degrees(math.atan2(-offset[1], offset[0]))  # turn L towards the marker
    assert 30.0 < degrees < 40.0
    array = sitk.GetArrayFromImage(image)
    array[:] = -1000
    for i, j, k in ((14, 26, 10), (24, 20, 14)):
        array[k - 1 : k + 2, j - 1 : j + 2, i - 1 : i + 2] = 3000
    volume = Volume(image_of(array, spacing=image.GetSpacing(), origin=image.GetOrigin()))
    state = ViewerState(volume, viewport=VIEWPORT)
    state.crosshair = first
    state.rotate(AXIAL, degrees)
    view = open_view(views, state, CORONAL, overlays=True)
    right = np.array([offset[0], offset[1], 0.0]) / np.hypot(offset[0], offset[1])
    expected = expected_pixel(second, centre_of(volume.image), right, S, 0.25)
    assert view.probe(second).depth == pytest.approx(0.0, abs=1e-9)
    grey = view.grey().copy()
    first_rc = expected_pixel(first, centre_of(volume.image), right, S, 0.25)
    grey[: round(first_rc[0]) + 8, : round(first_rc[1]) + 8] = 0  # hide the first marker
    assert bright_centroid(grey) == pytest.approx(expected, abs=0.6)
    assert view.label_texts() == {"right": "LA", "left": "RP", "top": "S", "bottom": "I"}


@pytest.mark.parametrize(
    ("kind", "labels"),
    [
        (AXIAL, {"right": "L", "left": "R", "top": "A", "bottom": "P"}),
        (CORONAL, {"right": "L", "left": "R", "top": "S", "bottom": "I"}),
        (SAGITTAL, {"right": "P", "left": "A", "top": "S", "bottom": "I"}),
    ],
)
def test_orientation_labels(views, kind, labels):
    state = ViewerState(marker_volume(direction=np.eye(3)), viewport=VIEWPORT)
    assert open_view(views, state, kind, overlays=True).label_texts() == labels


def test_patient_left_is_on_screen_right_in_axial(views):
    volume = marker_volume(direction=np.eye(3))
    state = ViewerState(volume, viewport=VIEWPORT)
    left_marker = patient(volume.image, MARKERS[1])  # i = 34 > centre: patient's left
    assert left_marker[0] > centre_of(volume.image)[0]
    state.crosshair = left_marker
    row, col = bright_centroid(open_view(views, state, AXIAL).grey())
    assert col > VIEWPORT[0] / 2 + 10
    state.crosshair = patient(volume.image, MARKERS[2])  # j = 30: posterior, so lower half
    row, col = bright_centroid(open_view(views, state, AXIAL).grey())
    assert row > VIEWPORT[1] / 2 + 10 and col < VIEWPORT[0] / 2 - 10


@pytest.mark.parametrize("direction", [np.eye(3), TILT], ids=["identity", "tilted"])
@pytest.mark.parametrize("turn", [0.0, 30.0])
def test_resliced_values_match_the_patient_positions(views, direction, turn):
    volume = ramp_volume(direction=direction)
    state = ViewerState(volume, viewport=VIEWPORT)
    state.rotate(SAGITTAL, turn)
    state.views[AXIAL].zoom = 1.7
    state.views[AXIAL].pan = (1.3, -0.7)
    rng = np.random.default_rng(7)
    for kind in ViewKind:
        view = open_view(views, state, kind)
        values = view.resliced()
        geometry = view.geometry
        checked = 0
        for row, col in rng.integers(0, 96, size=(60, 2)):
            point = geometry.pixel_to_patient((row, col))
            index = np.asarray(volume.patient_to_index(point))
            if np.all(index >= 0.01) and np.all(index <= np.asarray(volume.size) - 1.01):
                assert values[row, col] == pytest.approx(ramp_value(volume, point), abs=0.51)
                checked += 1
        assert checked > 10


def test_scrolling_moves_by_one_voxel(views):
    volume = ramp_volume()
    state = ViewerState(volume, viewport=VIEWPORT)
    view = open_view(views, state, AXIAL)
    probe = view.probe(state.crosshair)
    row, col = round(probe.row), round(probe.col)
    before = float(view.resliced()[row, col])
    state.scroll(AXIAL, 1)  # towards the viewer at the feet: one slice inferior
    assert float(view.resliced()[row, col]) == before - 100
    state.scroll(AXIAL, -3)
    assert float(view.resliced()[row, col]) == before + 200
    assert view.probe(volume.index_to_patient((0, 0, 10))).depth == pytest.approx(-0.75 * (10 - 18))


def test_moving_the_crosshair_moves_the_other_views(views):
    volume = ramp_volume()
    state = ViewerState(volume, viewport=VIEWPORT)
    axial, coronal, sagittal = (open_view(views, state, kind) for kind in ViewKind)
    axial_before = axial.resliced().copy()
    coronal_before, sagittal_before = coronal.resliced().copy(), sagittal.resliced().copy()
    state.crosshair = np.asarray(state.crosshair) + 2 * 0.6 * P + 3 * 0.5 * L  # j + 2, i + 3
    np.testing.assert_array_equal(axial.resliced(), axial_before)
    inside = coronal_before > 0
    np.testing.assert_array_equal((coronal.resliced() - coronal_before)[inside], 20)
    inside = sagittal_before > 0
    np.testing.assert_array_equal((sagittal.resliced() - sagittal_before)[inside], 3)


def test_slab_mip_shows_a_dense_object_off_the_plane(views):
    array = np.full((40, 40, 40), 500, np.int16)
    array[25:27, 19:21, 19:21] = 2500  # 1 mm cube, 2.5–3 mm superior of the central slice 20
    volume = Volume(image_of(array, spacing=(0.5, 0.5, 0.5), origin=(0.0, 0.0, 0.0)))
    state = ViewerState(volume, viewport=(80, 80))
    view = open_view(views, state, AXIAL)
    cube = volume.index_to_patient((19.5, 19.5, 25.5))
    slab = state.views[AXIAL]

    def value() -> float:
        return view.probe(cube).value

    assert view.probe(cube).depth == pytest.approx(-2.75)  # its centre, seen from the feet
    assert value() == 500  # thin slice misses it
    slab.slab_thickness = 10.0
    assert value() == 2500
    state.interacting = True  # the preview while dragging still finds it
    assert value() > 2000
    state.interacting = False
    slab.slab_thickness = 4.0
    assert value() == 500  # ±2 mm does not reach 2.5 mm
    slab.slab_thickness, slab.slab_mode = 10.0, SlabMode.MEAN
    assert 500 < value() < 1000
    slab.slab_mode = SlabMode.MINIP
    assert value() == 500
    slab.slab_mode = SlabMode.MIP
    state.rotate(SAGITTAL, 25.0)  # oblique axial slab: the cube is still within ±5 mm
    assert 2.0 < abs(view.probe(cube).depth) < 3.0
    assert value() > 2000
    state.interacting = True  # oblique preview: coarser, nearest-neighbour, still there
    assert value() > 2000


def test_slab_sampling_is_odd_and_exact():
    sampling = slab_sampling(10.0, 0.3)
    assert sampling.samples % 2 == 1 and sampling.thickness == pytest.approx(10.0)
    assert abs(sampling.spacing - 0.3) < 0.02
    assert slab_sampling(0.2, 0.3).samples == 1
    assert slab_sampling(30.0, 0.05).samples == 101


def test_window_presets_change_the_image(views):
    array = np.full((20, 20, 20), -1000, np.int16)
    array[:, :, 5:10] = 50
    array[:, :, 10:15] = 1000
    volume = Volume(image_of(array, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)))
    state = ViewerState(volume, viewport=(40, 40))
    view = open_view(views, state, AXIAL)
    soft_point, bone_point = volume.index_to_patient((7, 10, 10)), volume.index_to_patient((12, 10, 10))
    images = {}
    for name in ("soft tissue", "bone", "full range"):
        state.apply_window_preset(name)
        images[name] = view.render().copy()
        for point, value in ((soft_point, 50), (bone_point, 1000)):
            probe = view.probe(point)
            assert probe.grey == int(grey_of(value, state.window_level))
            assert (images[name][round(probe.row), round(probe.col)] == probe.grey).all()
    assert view.probe(soft_point).grey < view.probe(bone_point).grey
    state.apply_window_preset("soft tissue")
    assert view.probe(bone_point).grey == 255 and 100 < view.probe(soft_point).grey < 200
    assert not np.array_equal(images["soft tissue"], images["bone"])
    assert not np.array_equal(images["bone"], images["full range"])


def test_grey_mapper_matches_the_reference_formula():
    window = WINDOW_PRESETS["bone"]
    mapper = GreyMapper()
    for dtype, low, high in (
        (np.int16, -5000, 5000),
        (np.uint16, 0, 5000),
        (np.uint8, 0, 255),
        (np.float32, -5e3, 5e3),
    ):
        values = np.linspace(low, high, 999).astype(dtype)
        out = np.empty(values.shape, np.uint8)
        mapper.map(values, window, out)
        np.testing.assert_array_equal(out, grey_of(values, window))


def test_overlays_crosshair_colours_and_patient_text(views):
    volume = marker_volume(direction=np.eye(3))
    volume.metadata = VolumeMetadata(patient_name="DOE^JANE", patient_id="X1", study_date="20240131")
    state = ViewerState(volume, viewport=(160, 160))
    state.crosshair = volume.index_to_patient((15, 25, 5))  # in the dark, away from markers
    view = open_view(views, state, AXIAL, overlays=True)
    frame = view.render()
    probe = view.probe(state.crosshair)
    row, col = round(probe.row), round(probe.col)
    coronal = np.asarray(VIEW_COLOURS[CORONAL]) * 255
    sagittal = np.asarray(VIEW_COLOURS[SAGITTAL]) * 255
    assert np.abs(frame[row, col + 20].astype(float) - coronal).max() < 40  # coronal trace: left-right
    assert np.abs(frame[row + 20, col].astype(float) - sagittal).max() < 40  # sagittal: up-down
    assert frame[row, col].max() < 40  # the gap keeps the point itself visible
    corner = (slice(0, 40), slice(0, 40))  # left of the sagittal line at col ≈ 51
    assert frame[corner].max() > 200  # patient name, ID, date
    state.show_patient_info = False
    assert view.render()[corner].max() < 40
    view.show_overlays = False
    assert view.render().max(axis=2)[row, col + 20] < 40


def test_viewport_resize_and_empty_state(views):
    state = ViewerState(viewport=(50, 30))
    view = open_view(views, state, SAGITTAL, overlays=True)
    assert view.render().shape == (30, 50, 3)
    state.volume = marker_volume()
    state.views[SAGITTAL].viewport = (64, 48)
    frame = view.render()
    assert frame.shape == (48, 64, 3) and frame.max() > 0


@pytest.mark.parametrize("viewport", [(96, 96), (101, 67)])
def test_rendered_frame_is_the_windowed_slice_pixel_for_pixel(views, viewport):
    state = ViewerState(ramp_volume(direction=TILT), viewport=viewport)
    state.rotate(CORONAL, 12.0)
    state.apply_window_preset("full range")
    view = open_view(views, state, SAGITTAL)
    frame = view.render()
    np.testing.assert_array_equal(frame, np.repeat(view.grey()[..., None], 3, axis=2))
