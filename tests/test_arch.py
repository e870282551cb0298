"""Arch curve: Catmull–Rom spline, arc length, frames, arch coordinates, editing, persistence."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.spline import (
    catmull_rom,
    dense_catmull_rom,
    interpolate_at,
    nearest_on_polyline,
    polyline_length,
    resample_polyline,
)

# The phantom's arch (see core/phantom_truth.py): y = Y0 + A x², LPS, anterior is −y.
A, Y0, Z = 0.05, -38.0, -42.0


def _parabola_arc(u: float) -> float:
    return u / 2 * math.sqrt(1 + 4 * A**2 * u**2) + math.asinh(2 * A * u) / (4 * A)


def _parabola_points(u: np.ndarray) -> np.ndarray:
    return np.column_stack([u, Y0 + A * u**2, np.full(u.size, Z)])


def _u_at_arc(s: float) -> float:
    lo, hi = -100.0, 100.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _parabola_arc(mid) < s else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.fixture(scope="module")
def u_arch() -> np.ndarray:
    """Control-point parameters every ~13 mm of arc over the phantom's ±53 mm."""
    return np.array([_u_at_arc(s) for s in np.linspace(-53.0, 53.0, 9)])


@pytest.fixture(scope="module")
def arch(u_arch: np.ndarray) -> ArchCurve:
    return ArchCurve(_parabola_points(u_arch))


# ----- spline ------------------------------------------------------------------------------
def test_spline_passes_through_every_control_point() -> None:
    rng = np.random.default_rng(3)
    points = np.cumsum(rng.uniform(1.0, 8.0, size=(7, 3)), axis=0)
    dense, knot_s = dense_catmull_rom(points)
    np.testing.assert_allclose(interpolate_at(dense, knot_s), points, atol=1e-9)
    assert np.all(np.diff(knot_s) > 0)
    curve = catmull_rom(points, step_mm=0.25)
    np.testing.assert_allclose(curve[[0, -1]], points[[0, -1]], atol=1e-9)
    for p in points:  # every control point lies on the resampled curve (chord error only)
        assert nearest_on_polyline(curve, p)[2] < 0.01


def test_spline_arc_length_of_a_circle_and_a_segment() -> None:
    radius = 25.0
    angles = np.linspace(0.0, math.pi, 9)
    points = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
    assert polyline_length(catmull_rom(points, step_mm=0.1)) == pytest.approx(math.pi * radius, rel=2e-3)
    line = catmull_rom([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]], step_mm=0.3)  # n == 2 → straight
    assert polyline_length(line) == pytest.approx(5.0, abs=1e-9)
    assert np.max(np.abs(line[:, 0] * 4.0 - line[:, 1] * 3.0)) < 1e-9


def test_resampling_is_uniform_and_keeps_both_ends() -> None:
    poly = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 7.3]])
    out = resample_polyline(poly, 0.5)
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    # Uniform along the path: the corner cuts one chord short, all others are equal.
    assert np.median(steps) == pytest.approx(17.3 / round(17.3 / 0.5), rel=1e-9)
    np.testing.assert_allclose(out[[0, -1]], poly[[0, -1]])
    with pytest.raises(ValueError):
        resample_polyline(poly, 0.0)
    with pytest.raises(ValueError):
        resample_polyline([[1.0, 1.0], [1.0, 1.0]], 0.5)


def test_nearest_on_polyline() -> None:
    poly = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0]])
    s, foot, dist = nearest_on_polyline(poly, [12.0, 4.0, 0.0])
    assert s == pytest.approx(14.0)
    np.testing.assert_allclose(foot, [10.0, 4.0, 0.0])
    assert dist == pytest.approx(2.0)
    assert nearest_on_polyline(poly, [-3.0, 0.0, 0.0])[0] == 0.0


# ----- arch curve --------------------------------------------------------------------------
def test_arch_length_and_shape_match_the_phantom_parabola(arch: ArchCurve) -> None:
    assert arch.length_mm == pytest.approx(106.0, rel=0.005)
    truth = _parabola_points(np.array([_u_at_arc(s) for s in np.arange(-53.0, 53.01, 0.5)]))
    frames = arch.frames(0.25)
    worst = max(nearest_on_polyline(frames.points, p)[2] for p in truth)
    assert worst < 0.4  # control points 13 mm apart on a 10 mm radius at the incisors
    np.testing.assert_allclose(arch.control_s[[0, -1]], [0.0, arch.length_mm])


def test_frames_are_orthonormal_and_step_exact(arch: ArchCurve) -> None:
    f = arch.frames(0.2)
    assert np.allclose(np.diff(f.s), 0.2) and f.s[0] == 0.0 and f.s[-1] <= arch.length_mm
    for name in ("tangents", "normals"):
        assert np.allclose(np.linalg.norm(getattr(f, name), axis=1), 1.0)
    assert np.allclose(np.einsum("ij,ij->i", f.tangents, f.normals), 0.0, atol=1e-9)
    assert np.allclose(f.normals @ f.up, 0.0, atol=1e-9) and np.allclose(f.tangents @ f.up, 0.0, atol=1e-9)
    # Tangents point along increasing s: the chord to the next sample.
    chords = np.diff(f.points, axis=0)
    assert np.all(np.einsum("ij,ij->i", chords, f.tangents[:-1]) > 0)
    # Consecutive samples are step_mm apart along the curve.
    assert np.allclose(np.linalg.norm(chords, axis=1), 0.2, atol=2e-4)


@pytest.mark.parametrize("reverse", [False, True])
def test_buccal_normal_points_out_of_the_u(u_arch: np.ndarray, reverse: bool) -> None:
    points = _parabola_points(u_arch)
    curve = ArchCurve(points[::-1] if reverse else points)
    f = curve.frames(1.0)
    # The truth's buccal normal (2 a u, −1)/√(1 + 4 a² u²) at every sample.
    u = f.points[:, 0]
    truth = np.column_stack([2 * A * u, -np.ones_like(u), np.zeros_like(u)])
    truth /= np.linalg.norm(truth, axis=1, keepdims=True)
    assert np.min(np.einsum("ij,ij->i", f.normals, truth)) > 0.99  # within 8°
    _, _, front = curve.frame_at(curve.length_mm / 2)
    assert front[1] < -0.99  # at the incisors buccal is anterior (−y in LPS)


def test_locate_round_trip(arch: ArchCurve) -> None:
    rng = np.random.default_rng(7)
    for s, d, h in zip(
        rng.uniform(1, 105, 20), rng.uniform(-6, 6, 20), rng.uniform(-20, 10, 20), strict=True
    ):
        point = arch.point_at(s, d, h)
        got = arch.locate(point)
        assert got == pytest.approx((s, d, h), abs=1e-3)
    assert arch.plane_height == pytest.approx(Z)


def test_off_plane_control_points_are_projected() -> None:
    curve = ArchCurve([[0.0, 0.0, 0.0], [10.0, 0.0, 2.0]])
    f = curve.frames(1.0)
    assert np.allclose(f.points[:, 2], 1.0)  # the mean height
    assert curve.length_mm == pytest.approx(10.0)


def test_editing_returns_new_curves(arch: ArchCurve) -> None:
    n = len(arch.control_points)
    moved = arch.moved(2, [0.0, 0.0, Z])
    assert np.allclose(moved.control_points[2], [0.0, 0.0, Z]) and moved != arch
    assert not np.allclose(arch.control_points[2], [0.0, 0.0, Z])  # the original is untouched
    with pytest.raises(ValueError):
        arch.control_points[0, 0] = 1.0  # read-only
    mid_s = 0.5 * (arch.control_s[3] + arch.control_s[4])
    near = arch.point_at(mid_s, 0.7)
    index = arch.insert_index(near)
    assert index == 4
    longer = arch.inserted(index, near)
    assert len(longer.control_points) == n + 1
    assert np.all(np.diff(longer.control_s) > 0)  # still in order along the curve
    start, tangent, _ = arch.frame_at(0.0)
    assert arch.insert_index(start - 3 * tangent) == 0
    end, tangent, _ = arch.frame_at(arch.length_mm)
    assert arch.insert_index(end + 3 * tangent) == n
    assert len(arch.removed(0).control_points) == n - 1
    with pytest.raises(ValueError):
        ArchCurve([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]).removed(0)
    with pytest.raises(IndexError):
        arch.moved(n, [0.0, 0.0, 0.0])


def test_dict_round_trip_and_validation(arch: ArchCurve) -> None:
    data = json.loads(json.dumps(arch.to_dict()))
    again = ArchCurve.from_dict(data)
    assert again == arch and hash(again) == hash(arch)
    assert again.length_mm == arch.length_mm
    for bad in (
        {},
        {"control_points": [[0, 0, 0]]},
        {"control_points": [[0, 0, 0], [1, 0, float("nan")]]},
        {"control_points": [[0, 0, 0], [0, 0, 5]]},  # both on one spot of the axial plane
        {"control_points": [[0, 0, 0], [1, 0, 0]], "up": [0, 0, 0]},
        {"control_points": "abc"},
    ):
        with pytest.raises(ValueError):
            ArchCurve.from_dict(bad)
