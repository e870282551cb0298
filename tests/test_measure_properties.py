"""Property tests of the measurement geometry (issue 4), headless.

- A distance, polyline, angle or ROI area drawn on a view does not change when that view's
  plane is turned (:meth:`ViewerState.rotate` in another view, as Ctrl+drag does) about an
  in-plane line through the drawing, and the drawing turns with the plane.
- View pixel → patient → view pixel, and patient → plane → patient for points on the plane,
  round-trip to 1e-9 for random views: zoom, pan, viewport, roll, oblique MPR axes and
  scans whose grid is not aligned with the patient (any direction, either handedness).
- A measurement survives ``measurement_to_dict`` → JSON → ``measurement_from_dict`` exactly.
"""

from __future__ import annotations

import json
import math

import numpy as np
import SimpleITK as sitk
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cbctviewer.core.geometry import Plane, SliceGeometry, rotation_about
from cbctviewer.core.measurements import (
    ROI_KINDS,
    Measurement,
    MeasurementKind,
    measurement_from_dict,
    measurement_to_dict,
    measurement_values,
)
from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import Volume

#: Pixel and millimetre agreement required of the exact (affine) mappings.
EXACT = 1e-9
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

quaternions = st.tuples(*(st.floats(-1, 1),) * 4).filter(lambda q: sum(v * v for v in q) > 0.05)
millimetres = st.floats(-150, 150, allow_nan=False)
points3 = st.tuples(millimetres, millimetres, millimetres)
kinds = st.sampled_from(list(ViewKind))


def quaternion_matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    """The rotation of a (not necessarily unit) quaternion ``(w, x, y, z)``."""
    w, x, y, z = np.asarray(q) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


@st.composite
def volumes(draw: st.DrawFn) -> Volume:
    """A coarse grid with a CBCT-sized field of view (8–240 mm), any origin and direction.

    The direction may be left-handed. Few voxels keep the examples fast; the field of view
    sets the views' pixel sizes, which stay realistic (at least ~1e-4 mm at the top zoom).
    """
    size = draw(st.tuples(*(st.integers(2, 6),) * 3))
    spacing = draw(st.tuples(*(st.floats(4.0, 40.0),) * 3))
    direction = quaternion_matrix(draw(quaternions))
    if draw(st.booleans()):
        direction[:, 2] *= -1.0  # DICOM allows slices stacked against the row × column normal
    image = sitk.GetImageFromArray(np.zeros(size[::-1], np.int16))
    image.SetSpacing(spacing)
    image.SetOrigin(draw(points3))
    image.SetDirection(direction.ravel().tolist())
    return Volume(image)


@st.composite
def viewer_states(draw: st.DrawFn) -> ViewerState:
    """A viewer on a random scan: crosshair, MPR axes (scan-aligned then turned), rolls, views."""
    state = ViewerState(draw(volumes()))
    state.crosshair = draw(points3)
    for kind in draw(st.lists(kinds, max_size=3)):  # oblique MPR through the app's own rotations
        state.rotate(kind, draw(st.floats(-180, 180)))
    for kind in ViewKind:
        state.set_roll(kind, draw(st.floats(-360, 360)))
        view = state.views[kind]
        view.viewport = draw(st.tuples(st.integers(1, 1200), st.integers(1, 1200)))
        view.zoom = draw(st.floats(0.05, 64.0))
        view.pan = draw(st.tuples(millimetres, millimetres))
    return state


def pixels(count: int) -> st.SearchStrategy[np.ndarray]:
    """``count`` random (row, col) positions, fractional, some outside the viewport."""
    coordinate = st.floats(-100, 1300, allow_nan=False)
    return st.lists(st.tuples(coordinate, coordinate), min_size=count, max_size=count).map(np.asarray)


def assert_close(actual: object, expected: object, tolerance: float = EXACT) -> None:
    """Equal to ``tolerance`` relative to the magnitude (absolute below 1): float64 exactness."""
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
    assert np.max(np.abs(a - e), initial=0.0) <= tolerance * scale, (a, e)


# ----------------------------------------------------------------------------- round trips


@PROPERTY_SETTINGS
@given(state=viewer_states(), kind=kinds, clicks=pixels(8))
def test_view_patient_view_round_trip(state: ViewerState, kind: ViewKind, clicks: np.ndarray) -> None:
    geometry = state.slice_geometry(kind)
    patient = geometry.pixel_to_patient(clicks)
    assert_close(geometry.patient_to_pixel(patient), clicks)
    assert_close(geometry.depth(patient), np.zeros(len(clicks)))  # on the view's plane
    assert_close(geometry.pixel_to_patient(geometry.patient_to_pixel(patient)), patient)
    # The plane is the one the crosshair lies on, whatever the pan and zoom.
    assert abs(float(geometry.depth(state.crosshair))) <= EXACT


@PROPERTY_SETTINGS
@given(
    state=viewer_states(),
    kind=kinds,
    uv=st.lists(st.tuples(millimetres, millimetres), min_size=1, max_size=8),
)
def test_patient_plane_patient_round_trip_on_the_plane(
    state: ViewerState, kind: ViewKind, uv: list[tuple[float, float]]
) -> None:
    plane = state.slice_geometry(kind).plane
    on_plane = plane.to_patient(np.asarray(uv))
    uvw = plane.to_plane(on_plane)
    assert_close(uvw, np.column_stack([np.asarray(uv), np.zeros(len(uv))]))
    assert_close(plane.to_patient(uvw), on_plane)
    assert_close(plane.to_patient(uvw[:, :2]), on_plane)


@PROPERTY_SETTINGS
@given(
    origin=points3,
    q=quaternions,
    pixel_size=st.floats(0.001, 5.0),
    size=st.tuples(st.integers(1, 2000), st.integers(1, 2000)),
    clicks=pixels(6),
)
def test_slice_geometry_round_trip(
    origin: tuple[float, float, float],
    q: tuple[float, float, float, float],
    pixel_size: float,
    size: tuple[int, int],
    clicks: np.ndarray,
) -> None:
    """Any plane and grid, also ones no ViewerState would build (tiny pixels, huge viewports)."""
    r = quaternion_matrix(q)
    geometry = SliceGeometry(Plane.from_axes(origin, r[:, 0], r[:, 1]), pixel_size, *size)
    patient = geometry.pixel_to_patient(clicks)
    assert_close(geometry.patient_to_pixel(patient), clicks)
    # Pixel distances are patient distances times the pixel size (an isometry up to scale).
    in_pixels = np.linalg.norm(np.diff(clicks, axis=0), axis=1) * pixel_size
    assert_close(np.linalg.norm(np.diff(patient, axis=0), axis=1), in_pixels)


# ----------------------------------------------------------------------------- turning the plane

#: Handles per kind drawn on a view, and whether the kind is an ROI (drawn with its plane).
DRAWN = {
    MeasurementKind.DISTANCE: 2,
    MeasurementKind.ANGLE: 3,
    MeasurementKind.POLYLINE: 5,
    MeasurementKind.POLYGON: 5,
    MeasurementKind.ELLIPSE: 3,
}


def draw_on(geometry: SliceGeometry, kind: MeasurementKind, clicks: np.ndarray) -> Measurement:
    """The measurement a tool makes from clicks at ``clicks`` on this view."""
    plane = geometry.plane if kind in ROI_KINDS else None
    return Measurement.create(kind, geometry.pixel_to_patient(clicks), plane=plane)


def apart(uv: np.ndarray, *, minimum_mm: float = 1.0) -> bool:
    """Handles at least ``minimum_mm`` apart (no zero-length rays, well-conditioned values)."""
    gaps = np.linalg.norm(uv[:, np.newaxis] - uv[np.newaxis], axis=-1)
    return bool(np.all(gaps[np.triu_indices(len(uv), 1)] >= minimum_mm))


def values(m: Measurement) -> dict[str, float]:
    return {k: v for k, v in measurement_values(m).items() if math.isfinite(v)}


@PROPERTY_SETTINGS
@given(
    state=viewer_states(),
    view=kinds,
    other=st.integers(1, 2),
    tool=st.sampled_from(list(DRAWN)),
    data=st.data(),
    angle=st.floats(-180, 180).filter(lambda a: abs(a) > 1e-3),
)
def test_measurement_unchanged_when_its_plane_turns_about_an_in_plane_line(
    state: ViewerState,
    view: ViewKind,
    other: int,
    tool: MeasurementKind,
    data: st.DataObject,
    angle: float,
) -> None:
    """Turning in another view turns this view's plane about a line through a handle."""
    kinds_ = list(ViewKind)
    turner = kinds_[(kinds_.index(view) + other) % 3]
    before = state.slice_geometry(view)
    # Handles within 60 mm of the view's centre, clicked at (fractional) pixels.
    near = st.tuples(st.floats(-60, 60), st.floats(-60, 60))
    uv = np.asarray(data.draw(st.lists(near, min_size=DRAWN[tool], max_size=DRAWN[tool])))
    assume(apart(uv))
    clicks = before.plane_to_pixel(uv)
    drawn = draw_on(before, tool, clicks)
    # Move the crosshair onto a handle (it stays on this view's plane): the turn goes through it.
    pivot_row, pivot_col = clicks[data.draw(st.integers(0, len(clicks) - 1))]
    state.set_crosshair_at(view, row=pivot_row, col=pivot_col)
    pivot = np.asarray(state.crosshair)
    line = state.normal(turner)
    assert abs(float(before.plane.to_plane(pivot)[2])) <= EXACT
    assert abs(float(np.asarray(before.plane.normal) @ line)) <= 1e-9  # the line lies in the plane

    state.rotate(turner, angle)
    after = state.slice_geometry(view)
    turn = rotation_about(line, angle)
    moved = pivot + (drawn.array - pivot) @ turn.T
    # The turned plane holds the turned drawing at the same place relative to the pivot ...
    assert_close(after.depth(moved), np.zeros(len(moved)))
    uv_before = before.plane.to_plane(drawn.array) - before.plane.to_plane(pivot)
    uv_after = after.plane.to_plane(moved) - after.plane.to_plane(pivot)
    assert_close(uv_after, uv_before)
    # ... and drawing it again there by clicking gives the same values.
    again = draw_on(after, tool, after.patient_to_pixel(moved))
    assert_close(again.array, moved)
    expected = values(drawn)
    got = values(again)
    assert got.keys() == expected.keys() and expected
    for key, value in expected.items():
        assert math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-9), (key, got[key], value)


@PROPERTY_SETTINGS
@given(
    state=viewer_states(),
    view=kinds,
    other=st.integers(1, 2),
    length=st.floats(1.0, 80.0),
    angle=st.floats(-180, 180),
)
def test_distance_along_the_turn_axis_keeps_its_handles(
    state: ViewerState, view: ViewKind, other: int, length: float, angle: float
) -> None:
    """A distance drawn along the line the plane turns about stays on the plane, unchanged."""
    kinds_ = list(ViewKind)
    turner = kinds_[(kinds_.index(view) + other) % 3]
    a = np.asarray(state.crosshair)
    b = a + length * state.normal(turner)
    before = state.slice_geometry(view)
    drawn = draw_on(before, MeasurementKind.DISTANCE, before.patient_to_pixel(np.stack([a, b])))
    state.rotate(turner, angle)
    after = state.slice_geometry(view)
    assert_close(after.depth(drawn.array), np.zeros(2))
    again = draw_on(after, MeasurementKind.DISTANCE, after.patient_to_pixel(drawn.array))
    assert_close(again.array, drawn.array)
    assert math.isclose(measurement_values(again)["length_mm"], length, rel_tol=1e-9)


# ----------------------------------------------------------------------------- serialising

labels = st.text(max_size=20)


@st.composite
def measurements(draw: st.DrawFn) -> Measurement:
    """Any measurement kind with random handles (on a random plane for ROIs), label and note."""
    kind = draw(st.sampled_from(list(MeasurementKind)))
    counts = {
        MeasurementKind.DISTANCE: (2, 2),
        MeasurementKind.ANGLE: (3, 3),
        MeasurementKind.POLYLINE: (2, 8),
        MeasurementKind.ELLIPSE: (3, 3),
        MeasurementKind.POLYGON: (3, 8),
        MeasurementKind.POINT: (1, 1),
        MeasurementKind.PROFILE: (2, 2),
        MeasurementKind.IMPLANT_SITE: (1, 4),  # pairs
    }
    low, high = counts[kind]
    n = draw(st.integers(low, high))
    if kind == MeasurementKind.IMPLANT_SITE:
        n *= 2
    points = draw(st.lists(points3, min_size=n, max_size=n))
    plane = None
    if kind in ROI_KINDS:
        r = quaternion_matrix(draw(quaternions))
        plane = Plane.from_axes(draw(points3), r[:, 0], r[:, 1])
    return Measurement.create(kind, points, label=draw(labels), plane=plane, note=draw(labels))


@settings(max_examples=150, deadline=None)
@given(m=measurements())
def test_measurement_dict_json_round_trip(m: Measurement) -> None:
    text = json.dumps(measurement_to_dict(m))
    back = measurement_from_dict(json.loads(text))
    assert back == m
    assert measurement_to_dict(back) == measurement_to_dict(m)
