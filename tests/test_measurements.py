"""Measurements: pure values, sampling, plane crossings, the undoable set, phantom accuracy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from cbctviewer.core.geometry import Plane, SliceGeometry, rotation_about
from cbctviewer.core.measure_crossing import crossing_tolerance, measurement_crossing, points_crossing
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measure_values import (
    angle_deg,
    distance,
    ellipse_outline,
    line_profile,
    point_in_polygon,
    polygon_area,
    polyline_length,
    roi_stats,
    sample_nearest,
    sample_trilinear,
)
from cbctviewer.core.measurements import (
    Measurement,
    measurement_from_dict,
    measurement_to_dict,
    measurement_values,
)
from cbctviewer.core.volume import SeriesIdentity, Volume

IDENTITY = SeriesIdentity("1.2.3.4", "1.2.3", "1.2.3.9", "CT")
AXIAL = Plane((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0))

finite = st.floats(-100, 100, allow_nan=False)
point3 = st.tuples(finite, finite, finite)
unit = st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
    lambda v: np.linalg.norm(v) > 0.1
)


def make_volume(array_zyx, *, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=None) -> Volume:
    image = sitk.GetImageFromArray(np.asarray(array_zyx, dtype=np.float32))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(tuple(np.asarray(direction, float).reshape(-1)))
    return Volume(image)


# ----------------------------------------------------------------------------- values


def test_hand_computed_values():
    assert distance((0, 0, 0), (3, 4, 12)) == pytest.approx(13.0)
    assert angle_deg((1, 0, 0), (0, 0, 0), (0, 1, 0)) == pytest.approx(90.0)
    assert angle_deg((1, 0, 0), (0, 0, 0), (-1, 1e-12, 0)) == pytest.approx(180.0)
    assert angle_deg((2, 2, 0), (1, 1, 0), (3, 1, 0)) == pytest.approx(45.0)
    assert polyline_length([(0, 0, 0), (3, 4, 0), (3, 4, 2)]) == pytest.approx(7.0)
    assert polyline_length([(0, 0, 0), (1, 0, 0), (1, 1, 0)], closed=True) == pytest.approx(2 + math.sqrt(2))
    assert polygon_area([(0, 0), (4, 0), (4, 3)]) == pytest.approx(6.0)
    assert polygon_area([(0, 0), (2, 0), (2, 2), (1, 1), (0, 2)]) == pytest.approx(3.0)  # concave
    with pytest.raises(ValueError):
        angle_deg((0, 0, 0), (0, 0, 0), (1, 0, 0))


def test_point_in_polygon_concave():
    poly = [(0, 0), (2, 0), (2, 2), (1, 1), (0, 2)]
    inside = point_in_polygon([(0.5, 0.5), (1.0, 1.5), (1.5, 1.2), (3, 1)], poly)
    assert inside.tolist() == [True, False, True, False]


@given(st.floats(0.5, 30), st.floats(0.5, 30), st.floats(0, 2 * math.pi))
def test_ellipse_outline_area_converges(a, b, turn):
    outline = ellipse_outline((1.0, -2.0), (a * math.cos(turn), a * math.sin(turn)), b, n=512)
    assert polygon_area(outline) == pytest.approx(math.pi * a * b, rel=1e-4)


@given(p=point3, q=point3, axis=unit, angle=st.floats(-180, 180))
def test_distance_does_not_change_when_its_plane_turns_about_it(p, q, axis, angle):
    """A distance drawn on a plane, whose plane is rotated about the segment, is the same."""
    a, b = np.asarray(p), np.asarray(q)
    d = b - a
    if np.linalg.norm(d) < 1e-3:
        return
    x = d / np.linalg.norm(d)
    plane = Plane.from_axes(
        a, x, np.cross(x, axis) if np.linalg.norm(np.cross(x, axis)) > 1e-3 else np.cross(x, (1, 2, 3.3))
    )
    turned = rotation_about(x, angle)
    plane2 = Plane.from_axes(a, turned @ np.asarray(plane.x_axis), turned @ np.asarray(plane.y_axis))
    a2, b2 = (plane2.to_patient(plane2.to_plane(v)) for v in (a, b))
    assert distance(a2, b2) == pytest.approx(distance(a, b), rel=1e-9, abs=1e-9)


@given(
    origin=point3,
    axis=unit,
    angle=st.floats(-180, 180),
    pixel=st.floats(0.05, 2.0),
    row=st.floats(-50, 600),
    col=st.floats(-50, 600),
)
def test_view_patient_view_round_trip(origin, axis, angle, pixel, row, col):
    r = rotation_about(axis, angle)
    geometry = SliceGeometry(Plane.from_axes(origin, r[:, 0], r[:, 1]), pixel, 512, 400)
    patient = geometry.pixel_to_patient((row, col))
    back = geometry.patient_to_pixel(patient)
    assert np.allclose(back, (row, col), atol=1e-9)
    assert np.allclose(geometry.pixel_to_patient(back), patient, atol=1e-9)
    assert abs(float(geometry.depth(patient))) < 1e-9


# ----------------------------------------------------------------------------- sampling


def test_trilinear_is_exact_on_a_linear_field_in_an_oblique_volume():
    z, y, x = np.mgrid[0:6, 0:7, 0:8].astype(float)
    direction = rotation_about((1, 2, 3), 25.0)
    vol = make_volume(2 * x - y + 3 * z, spacing=(0.5, 0.7, 0.9), origin=(10, -5, 3), direction=direction)
    rng = np.random.default_rng(1)
    idx = rng.uniform([0, 0, 0], [7, 6, 5], size=(50, 3))  # (i, j, k)
    points = np.array([vol.index_to_patient(tuple(i)) for i in idx])
    expected = 2 * idx[:, 0] - idx[:, 1] + 3 * idx[:, 2]
    assert np.allclose(sample_trilinear(vol, points), expected, atol=1e-4)
    assert np.isnan(sample_trilinear(vol, [vol.index_to_patient((-1, 0, 0))])[0])
    assert sample_nearest(vol, [vol.index_to_patient((2.4, 3.6, 1.0))])[0] == pytest.approx(2 * 2 - 4 + 3)


def test_profile_of_a_step_edge():
    array = np.zeros((5, 5, 40))
    array[:, :, 20:] = 100.0  # edge between voxel centres x=19 and x=20 (spacing 0.5 → 9.75 mm)
    vol = make_volume(array, spacing=(0.5, 0.5, 0.5))
    prof = line_profile(vol, (2.0, 1.0, 1.0), (17.5, 1.0, 1.0))
    assert prof.step <= 0.25 + 1e-12
    assert prof.positions[0] == 0.0 and prof.positions[-1] == pytest.approx(15.5)
    x = 2.0 + prof.positions
    assert np.all(prof.values[x <= 9.5 + 1e-9] == 0.0)
    assert np.all(prof.values[x >= 10.0 - 1e-9] == 100.0)
    ramp = (x > 9.5) & (x < 10.0)
    assert np.allclose(prof.values[ramp], (x[ramp] - 9.5) / 0.5 * 100.0)
    half = np.interp(50.0, prof.values, x)
    assert half == pytest.approx(9.75)


def test_roi_stats_on_a_known_pattern():
    array = np.zeros((3, 40, 40))
    array[:, :, 20:] = 10.0  # right half brighter
    vol = make_volume(array, spacing=(0.5, 0.5, 1.0))
    plane = Plane((9.75, 10.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))  # edge at u = 0
    square = [(-4.0, -4.0), (4.0, -4.0), (4.0, 4.0), (-4.0, 4.0)]
    stats = roi_stats(vol, plane, square)
    assert stats.area_mm2 == pytest.approx(64.0)
    assert stats.mean == pytest.approx(5.0)
    assert (stats.minimum, stats.maximum) == (0.0, 10.0)
    assert stats.count == pytest.approx(64 / 0.25, rel=0.05)


# ----------------------------------------------------------------------------- model values


def test_measurement_values_and_dict_round_trip():
    vol = make_volume(np.arange(1000, dtype=float).reshape(10, 10, 10))
    plane = Plane((5.0, 5.0, 5.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    cases = [
        (Measurement.create("distance", [(0, 0, 0), (0, 3, 4)]), {"length_mm": 5.0}),
        (Measurement.create("angle", [(1, 0, 0), (0, 0, 0), (0, 0, 1)]), {"angle_deg": 90.0}),
        (Measurement.create("polyline", [(0, 0, 0), (1, 0, 0), (1, 2, 0)]), {"length_mm": 3.0}),
        (Measurement.create("point", [(1, 2, 3)]), {"value": 321.0}),
        (
            Measurement.create("ellipse", [(5, 5, 7), (8, 5, 9), (5, 7, 5)], plane=plane),
            {"area_mm2": math.pi * 6},
        ),
        (
            Measurement.create(
                "polygon", [(2.25, 2.25, 5), (6.25, 2.25, 5), (6.25, 5.25, 5), (2.25, 5.25, 5)], plane=plane
            ),
            {"area_mm2": 12.0, "mean": 544.5, "min": 533, "max": 556},
        ),
    ]
    for m, expected in cases:
        values = measurement_values(m, vol)
        for key, value in expected.items():
            assert values[key] == pytest.approx(value, abs=1e-6), (m.kind, key)
        assert measurement_from_dict(json.loads(json.dumps(measurement_to_dict(m)))) == m
    ellipse = cases[4][0]
    assert all(abs(p[2] - 5.0) < 1e-12 for p in ellipse.points)  # projected onto its plane
    with pytest.raises(ValueError):
        Measurement.create("polygon", [(0, 0, 0)] * 3)  # an ROI needs its plane
    with pytest.raises(ValueError):
        Measurement.create("distance", [(0, 0, 0)])


def test_plane_crossing():
    seg = [(0.0, 0.0, -3.0), (4.0, 2.0, 1.0)]  # crosses z = 0 at t = 0.75
    hit = points_crossing(seg, AXIAL, tolerance=0.2)
    assert not hit.in_plane and hit.visible and hit.near.tolist() == [False, False]
    assert np.allclose(hit.crossings, [(3.0, -1.5)])
    assert points_crossing(seg, AXIAL.moved_to((0, 0, 5)), tolerance=0.2).visible is False
    flat = points_crossing(
        [(0, 0, 0.1), (5, 5, -0.1)], AXIAL, tolerance=crossing_tolerance(slice_step_mm=0.4)
    )
    assert flat.in_plane and np.allclose(flat.uv, [(0, 0), (5, -5)])
    assert crossing_tolerance(slab_mm=10.0, slice_step_mm=0.4) == 5.0
    roi_plane = Plane((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))  # coronal
    roi = Measurement.create("ellipse", [(0, 0, 0), (2, 0, 0), (0, 0, 1)], plane=roi_plane)
    across = measurement_crossing(roi, AXIAL, tolerance=0.01)
    assert np.allclose(sorted(across.crossings[:, 0]), [-2.0, 2.0], atol=1e-6)
    assert measurement_crossing(roi, roi_plane, tolerance=0.01).in_plane


# ----------------------------------------------------------------------------- the set, undo/redo


def test_set_events_and_undo_redo_restore_exact_states():
    s = MeasurementSet(IDENTITY)
    log: list[tuple] = []
    s.events.added.connect(lambda m: log.append(("added", m.id)))
    s.events.removed.connect(lambda m: log.append(("removed", m.id)))
    s.events.changed.connect(lambda old, new: log.append(("changed", new.id)))
    a = s.add(Measurement.create("distance", [(0, 0, 0), (1, 0, 0)], id="a"))
    b = s.add(Measurement.create("angle", [(1, 0, 0), (0, 0, 0), (0, 1, 0)], id="b"))
    assert (a.label, b.label) == ("Distance 1", "Angle 1")
    states = [s.items]
    s.move_handle("a", 1, (2, 0, 0), merge=True)
    s.move_handle("a", 1, (3, 0, 0), merge=True)  # one drag → one step
    s.end_drag()
    states.append(s.items)
    s.relabel("b", "ANB")
    states.append(s.items)
    s.remove("a")
    states.append(s.items)
    assert [m.id for m in s] == ["b"] and s.can_undo and not s.can_redo
    for expected in reversed(states[:-1]):
        assert s.undo()
        assert s.items == expected
    assert s.undo() and s.undo() and not s.undo() and len(s) == 0
    for _ in range(2):
        s.redo()
    for expected in states[1:]:
        assert s.redo()
        assert s.items == expected
    assert not s.redo()
    assert ("changed", "a") in log and ("removed", "a") in log and log.count(("added", "a")) >= 2
    s.undo()
    s.relabel("b", "new")  # a new change drops the redo branch
    assert not s.can_redo
    with pytest.raises(ValueError):
        s.add(Measurement.create("point", [(0, 0, 0)], id="b"))
    with pytest.raises(KeyError):
        s.remove("nope")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "remove", "move", "label"]), point3, st.integers(0, 10)),
        max_size=25,
    )
)
def test_random_edit_sequences_undo_and_redo_exactly(ops):
    s = MeasurementSet(IDENTITY)
    history = [s.items]
    for n, (op, p, k) in enumerate(ops):
        ids = [m.id for m in s]
        if op == "add" or not ids:
            s.add(Measurement.create("polyline", [p, (0, 0, 0), (1, 1, 1)], id=f"m{n}"))
        elif op == "remove":
            s.remove(ids[k % len(ids)])
        elif op == "move":
            s.move_handle(ids[k % len(ids)], k % 3, p)
        else:
            s.relabel(ids[k % len(ids)], f"L{n}")
        history.append(s.items)
    for expected in reversed(history[:-1]):
        s.undo()
        assert s.items == expected
    for expected in history[1:]:
        s.redo()
        assert s.items == expected


# ----------------------------------------------------------------------------- phantom accuracy


@pytest.fixture(scope="module")
def phantom(phantom_dir):
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    volume = load(scan(phantom_dir).volumes[0])
    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    return volume, truth


def _view_geometries(volume: Volume) -> dict[str, tuple[SliceGeometry, float]]:
    spacing = min(volume.spacing)
    # Views centred on a voxel, as ViewerState does: pixel centres fall on voxel centres.
    centre = volume.index_to_patient(tuple(float(v) for v in (np.asarray(volume.size) - 1) // 2))
    oblique = rotation_about((0, 0, 1), 30.0)
    planes = {
        "axial": Plane.from_axes(centre, (1, 0, 0), (0, -1, 0)),
        "coronal": Plane.from_axes(centre, (1, 0, 0), (0, 0, 1)),
        "sagittal": Plane.from_axes(centre, (0, 1, 0), (0, 0, 1)),
        "oblique30": Plane.from_axes(centre, oblique @ (1, 0, 0), (0, 0, 1)),
        "slab10": Plane.from_axes(centre, (1, 0, 0), (0, -1, 0)),
    }
    slabs = {"slab10": 10.0}
    return {k: (SliceGeometry(p, spacing, 512, 512), slabs.get(k, 0.0)) for k, p in planes.items()}


def _snap(geometry: SliceGeometry, point: np.ndarray) -> np.ndarray:
    """Click on ``point`` in a view scrolled to its depth: the pixel centre, back to patient."""
    depth = float(geometry.depth(point))
    pixel = np.rint(geometry.patient_to_pixel(point))
    plane = geometry.plane
    return np.asarray(plane.to_patient(np.append(geometry.pixel_to_plane(pixel), depth)))


def test_phantom_distances_snapped_to_every_view(phantom):
    """Clicking each landmark (rounded to its pixel centre) in five views measures its truth.

    Snapping moves each end by up to half a pixel along both in-plane axes, so one
    distance can be off by up to ``voxel * (|d·x| + |d·y|)`` (``d`` its unit direction,
    up to √2 voxels); over all pairs and views the error is within 0.5 voxel on average.
    """
    volume, truth = phantom
    voxel = min(volume.spacing)
    assert len(truth["distance_pairs"]) >= 5
    errors = []
    for name, (geometry, slab) in _view_geometries(volume).items():
        tolerance = crossing_tolerance(slab_mm=slab, slice_step_mm=voxel)
        x, y = np.asarray(geometry.plane.x_axis), np.asarray(geometry.plane.y_axis)
        for pair in truth["distance_pairs"]:
            truth_a, truth_b = np.asarray(pair["point_a"]), np.asarray(pair["point_b"])
            a, b = _snap(geometry, truth_a), _snap(geometry, truth_b)
            for p, q in ((a, truth_a), (b, truth_b)):
                assert np.linalg.norm(p - q) <= voxel * math.sqrt(0.5) + 1e-9
                # The handle is drawn in the view scrolled to its own slice or slab.
                handle = Measurement.create("point", [p])
                assert measurement_crossing(handle, geometry.plane.moved_to(q), tolerance=tolerance).in_plane
            m = Measurement.create("distance", [a, b])
            error = abs(measurement_values(m)["length_mm"] - pair["distance_mm"])
            d = (truth_b - truth_a) / pair["distance_mm"]
            bound = voxel * (abs(d @ x) + abs(d @ y)) + 1e-3
            assert error <= bound, (name, pair["a"], pair["b"], error)
            errors.append(error)
    assert np.mean(errors) <= 0.5 * voxel
    assert max(errors) <= math.sqrt(2) * voxel


def test_phantom_implant_cross_section_area(phantom):
    volume, truth = phantom
    implant = truth["implant"]
    direction = np.asarray(implant["direction"], dtype=float)
    centre = np.asarray(implant["shoulder"]) + 0.5 * implant["length_mm"] * direction
    plane = Plane.from_axes(centre, (1, 0, 0), np.cross(direction, (1, 0, 0)))
    radius = implant["diameter_mm"] / 2.0
    step = 0.25 * min(volume.spacing)
    angles = np.linspace(0.0, 2 * math.pi, 180, endpoint=False)
    radii = np.arange(0.0, radius + 2.5, step)
    rays = np.stack([np.outer(np.cos(angles), radii), np.outer(np.sin(angles), radii)], axis=-1)
    values = sample_trilinear(volume, plane.to_patient(rays.reshape(-1, 2))).reshape(rays.shape[:2])
    # Nominal titanium: the scanner's 12-bit range saturates it (3400 → 3095), which
    # would move a threshold taken from the image outwards.
    titanium = float(truth["image"]["grey_levels"]["titanium"])
    bone = float(np.median(values[:, (radii > radius + 1.0) & (radii < radius + 2.0)]))
    threshold = 0.5 * (titanium + bone)
    edge = []
    for ray in values:  # the first fall below the threshold, linearly interpolated
        i = int(np.argmax(ray < threshold))
        t = (ray[i - 1] - threshold) / (ray[i - 1] - ray[i])
        edge.append(radii[i - 1] + t * step)
    outline = np.stack([np.cos(angles) * edge, np.sin(angles) * edge], axis=-1)
    roi = Measurement.create("polygon", plane.to_patient(outline), plane=plane)
    values_roi = measurement_values(roi, volume)
    expected = math.pi * radius**2
    assert values_roi["area_mm2"] == pytest.approx(expected, rel=0.02)
    assert values_roi["mean"] > threshold


def test_roi_handles_stay_on_their_plane_and_history_is_announced():
    plane = Plane.from_axes((0, 0, 2), (1, 1, 0), (0, 0, 1))
    s = MeasurementSet(IDENTITY)
    history: list[tuple[bool, bool]] = []
    s.events.history.connect(lambda u, r: history.append((u, r)))
    roi = s.add(Measurement.create("polygon", [(0, 0, 2), (1, 1, 2), (1, 1, 3)], plane=plane))
    moved = s.move_handle(roi.id, 2, (5, -5, 7))  # off the plane: projected back onto it
    assert abs(float(plane.to_plane(moved.points[2])[2])) < 1e-12
    shifted = s.translate(roi.id, (0, 0, 1))
    assert shifted.plane is not None and shifted.plane.origin == (0.0, 0.0, 3.0)
    assert measurement_values(shifted)["area_mm2"] == pytest.approx(measurement_values(moved)["area_mm2"])
    s.undo()
    assert history[-1] == (True, True)
    s.reset([])
    assert len(s) == 0 and history[-1] == (False, False)
