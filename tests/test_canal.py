"""Traced canals: smoothness and accuracy against the phantom's canal, distances, editing."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from cbctviewer.core.canal import CanalPath, polyline_nearest

VOXEL = 0.4  # phantom voxel size (mm)
PIXEL = 0.4  # screen pixel size of the simulated clicks (mm)


def traced(
    truth: dict[str, Any], side: str, *, spacing_mm: float = 6.5, diameter_mm: float = 2.0
) -> CanalPath:
    """A canal traced like a user would: clicks every ~spacing mm on the true centreline,
    each landing on the centre of the 0.4 mm screen pixel under it."""
    return CanalPath(side, click_points(truth, side, spacing_mm), diameter_mm)


def click_points(truth: dict[str, Any], side: str, spacing_mm: float) -> np.ndarray:
    line = np.asarray(truth["canals"][side]["points"])
    step = truth["canals"][side]["points_step_mm"]
    every = round(spacing_mm / step)
    picks = line[::every]
    if np.linalg.norm(picks[-1] - line[-1]) > 1e-9:  # always end where the canal ends
        picks = np.vstack([picks, line[-1]])
    origin = np.asarray(truth["origin"])
    return np.round((picks - origin) / PIXEL) * PIXEL + origin


def rms_to_truth(canal: CanalPath, truth_line: np.ndarray) -> float:
    """RMS distance both ways between the traced centreline and the true one."""
    ours = canal.centreline()
    _, _, d1 = polyline_nearest(ours, truth_line)
    _, _, d2 = polyline_nearest(truth_line, ours)
    return float(np.sqrt(np.mean(np.concatenate([d1, d2]) ** 2)))


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("spacing", [5.0, 8.0])
def test_traced_canal_matches_truth_within_half_mm_rms(
    truth: dict[str, Any], side: str, spacing: float
) -> None:
    canal = traced(truth, side, spacing_mm=spacing)
    line = np.asarray(truth["canals"][side]["points"])
    rms = rms_to_truth(canal, line)
    assert rms < 0.5, f"{side} canal traced every {spacing} mm: RMS {rms:.3f} mm"
    # The curve is smooth: far better than the straight segments between the clicks.
    assert canal.length_mm == pytest.approx(truth["canals"][side]["length_mm"], rel=0.02)
    # It passes through every clicked point.
    _, _, through = polyline_nearest(canal.centreline(), canal.points)
    assert np.max(through) < 0.05


def test_distance_to_tube_surface(truth: dict[str, Any]) -> None:
    radius = truth["canals"]["radius_mm"]
    canal = traced(truth, "left", diameter_mm=2 * radius)
    line = np.asarray(truth["canals"]["left"]["points"])
    mid = line[len(line) // 2]
    assert canal.distance_to(mid) == pytest.approx(-radius, abs=0.25)
    up = mid + np.array([0.0, 0.0, 5.0])  # the canal runs horizontally
    assert canal.distance_to(up) == pytest.approx(5.0 - radius, abs=0.25)
    s, nearest, d = canal.nearest(up)
    assert d == pytest.approx(canal.distance_to(up))
    assert np.linalg.norm(nearest - mid) < 0.4
    assert 0.0 < s < canal.length_mm
    site = canal.to_site_canal()
    assert site.radius_mm == radius
    assert len(site.points) == len(canal.centreline())


def test_site_tool_uses_traced_canal_as_limit(truth: dict[str, Any]) -> None:
    from cbctviewer.core.implant_site import canal_along_axis

    site = truth["implant_site"]
    canal = traced(truth, "right", diameter_mm=2 * truth["canals"]["radius_mm"]).to_site_canal()
    depth, clearance = canal_along_axis(
        np.asarray(site["crest_point"]), np.asarray(site["axis_direction"]), canal, max_depth_mm=40.0
    )
    assert clearance == 0.0
    assert depth == pytest.approx(site["bone_height_to_canal_mm"], abs=VOXEL)


def test_editing_returns_new_values() -> None:
    canal = CanalPath("right", [[0.0, 0.0, 0.0]])
    assert canal.centreline().shape == (1, 3)
    assert canal.length_mm == 0.0
    two = canal.with_point([10.0, 0.0, 0.0])
    assert len(canal.points) == 1 and len(two.points) == 2
    assert two.length_mm == pytest.approx(10.0)
    three = two.with_point([5.0, 3.0, 0.0], index=1)
    assert three.points[1].tolist() == [5.0, 3.0, 0.0]
    moved = three.moved(1, [5.0, 0.0, 0.0])
    assert moved.length_mm == pytest.approx(10.0, abs=1e-6)
    assert moved.removed(1) == two
    assert canal.removed(0) is None
    assert two.with_diameter(3.0).radius_mm == 1.5
    with pytest.raises(ValueError):
        two.points[0, 0] = 1.0  # the points are read-only, like the frozen value


def test_dict_round_trip_and_validation() -> None:
    canal = CanalPath("left", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], 2.5)
    data = json.loads(json.dumps(canal.to_dict()))
    assert CanalPath.from_dict(data) == canal
    for bad in (
        {**data, "side": "middle"},
        {**data, "points": []},
        {**data, "points": [[1.0, 2.0]]},
        {**data, "points": [[1.0, 2.0, float("nan")]]},
        {**data, "diameter_mm": 0.0},
        {"side": "left"},
        [1, 2, 3],
    ):
        with pytest.raises(ValueError):
            CanalPath.from_dict(bad)
