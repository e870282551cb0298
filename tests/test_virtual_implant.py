"""Virtual implants: apex-to-canal distance and bone around against the phantom's truth."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_canal import traced

from cbctviewer.core.canal import CanalPath
from cbctviewer.core.geometry import Plane
from cbctviewer.core.virtual_implant import COMMON_SIZES, VirtualImplant
from cbctviewer.core.volume import Volume

VOXEL = 0.4  # phantom voxel size (mm): the accuracy budget


@pytest.fixture(scope="module")
def phantom(phantom_dir: Path) -> tuple[Volume, dict[str, Any]]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    return load(scan(phantom_dir).volumes[0]), truth


def buccal_at(truth: dict[str, Any], point: Any) -> np.ndarray:
    """Unit buccal normal of the truth parabola y = y0 + a·x² at a point (outward of the U)."""
    a, x = truth["arch"]["a"], float(point[0])
    n = np.array([2.0 * a * x, -1.0, 0.0])  # ⟂ tangent (1, 2ax); away from the inside of the U
    return n / np.linalg.norm(n)


def cross_section_at(truth: dict[str, Any], point: Any) -> Plane:
    """The cross-section through a point of the arch: screen right buccal, screen up superior."""
    return Plane.from_axes(point, buccal_at(truth, point), (0.0, 0.0, 1.0))


def truth_implant(truth: dict[str, Any]) -> VirtualImplant:
    t = truth["implant"]
    return VirtualImplant(
        "truth",
        t["diameter_mm"],
        t["length_mm"],
        t["shoulder"],
        t["direction"],
        lateral=buccal_at(truth, t["shoulder"]),
    )


def test_apex_to_true_canal_within_one_voxel(phantom: tuple[Volume, dict[str, Any]]) -> None:
    _, truth = phantom
    implant = truth_implant(truth)
    assert np.allclose(implant.apex, truth["implant"]["apex"], atol=1e-6)
    canal = CanalPath("left", truth["canals"]["left"]["points"], 2 * truth["canals"]["radius_mm"])
    assert implant.apex_to_canal_mm(canal) == pytest.approx(truth["implant"]["apex_to_canal_mm"], abs=VOXEL)


@pytest.mark.parametrize("spacing", [5.0, 8.0])
def test_apex_to_traced_canal_within_one_voxel(
    phantom: tuple[Volume, dict[str, Any]], spacing: float
) -> None:
    _, truth = phantom
    canal = traced(truth, "left", spacing_mm=spacing, diameter_mm=2 * truth["canals"]["radius_mm"])
    implant = truth_implant(truth)
    assert implant.apex_to_canal_mm(canal) == pytest.approx(truth["implant"]["apex_to_canal_mm"], abs=VOXEL)
    # Deeper by 3 mm: the canal axis is straight below the apex, so 3 mm closer.
    below = np.asarray(truth["implant"]["canal_axis_point_below_apex"])
    deeper = implant.moved(along_axis_mm=3.0)
    expected = float(np.linalg.norm(np.asarray(deeper.apex) - below)) - truth["canals"]["radius_mm"]
    assert deeper.apex_to_canal_mm(canal) == pytest.approx(expected, abs=VOXEL)
    assert np.allclose(deeper.shoulder, np.add(implant.shoulder, (0.0, 0.0, -3.0)))


def test_placed_on_a_cross_section(phantom: tuple[Volume, dict[str, Any]]) -> None:
    _, truth = phantom
    t = truth["implant"]
    plane = cross_section_at(truth, t["shoulder"])
    implant = VirtualImplant.placed_on(plane, t["shoulder"], t["diameter_mm"], t["length_mm"])
    assert np.allclose(implant.direction, -np.asarray(plane.y_axis))
    assert np.allclose(implant.direction, t["direction"], atol=1e-9)
    assert np.allclose(implant.apex, t["apex"], atol=1e-6)
    assert np.allclose(implant.lateral, plane.x_axis)
    assert implant.id and implant.id != VirtualImplant.placed_on(plane, t["shoulder"], 4.0, 10.0).id
    # The placement plane contains the axis: the axis has no component along its normal.
    assert abs(float(np.dot(implant.direction, plane.normal))) < 1e-9


def test_bone_around_matches_the_ridge(phantom: tuple[Volume, dict[str, Any]]) -> None:
    volume, truth = phantom
    implant = truth_implant(truth)
    bone = implant.bone_around(volume)
    b = truth["bone"]
    radius = 0.5 * truth["implant"]["diameter_mm"]
    crest_z = truth["implant"]["shoulder"][2]  # the shoulder sits at the crest
    for level, depth in bone.depths_mm.items():
        # The implant is centred on the ridge: wall = ridge half-width at that depth − radius.
        half = min(b["crest_half_width_mm"] + b["taper_per_mm"] * depth, b["basal_half_width_mm"])
        assert crest_z - depth > b["inferior_border_z_baseline"]
        for side in ("buccal", "lingual"):
            wall = bone.thickness_mm[level, side]
            assert wall == pytest.approx(half - radius, abs=VOXEL), (level, side)
    assert bone.minimum_mm == min(bone.thickness_mm.values()) > 0
    assert bone.threshold_estimated
    # An explicit threshold is used as given.
    assert implant.bone_around(volume, threshold=bone.threshold + 1.0).threshold == bone.threshold + 1.0


def test_bone_around_is_zero_outside_the_ridge(phantom: tuple[Volume, dict[str, Any]]) -> None:
    volume, truth = phantom
    implant = truth_implant(truth)
    outside = implant.moved(10.0 * np.asarray(implant.lateral))  # 10 mm buccal of the ridge centre
    bone = outside.bone_around(volume)
    for level in bone.depths_mm:
        assert bone.thickness_mm[level, "buccal"] == 0.0  # only soft tissue buccally
        assert bone.thickness_mm[level, "lingual"] > 1.0  # the ridge lingually


def test_tilt_keeps_the_shoulder() -> None:
    implant = VirtualImplant("a", 4.0, 10.0, (1.0, 2.0, 3.0), (0.0, 0.0, -1.0), lateral=(1.0, 0.0, 0.0))
    for tilt in (
        implant.tilted_bucco_lingual(5.0),
        implant.tilted_mesio_distal(-5.0),
        implant.tilted((1, 1, 0), 12),
    ):
        assert tilt.shoulder == implant.shoulder
        assert np.linalg.norm(np.asarray(tilt.apex) - np.asarray(tilt.shoulder)) == pytest.approx(10.0)
        assert abs(float(np.dot(tilt.direction, tilt.lateral))) < 1e-9
    bl = implant.tilted_bucco_lingual(5.0)
    assert math.degrees(math.acos(float(np.dot(bl.direction, implant.direction)))) == pytest.approx(5.0)
    assert float(np.dot(bl.direction, implant.mesio_distal)) == pytest.approx(
        0.0, abs=1e-12
    )  # stays in its plane
    md = implant.tilted_mesio_distal(5.0)
    assert float(np.dot(md.direction, implant.lateral)) == pytest.approx(0.0, abs=1e-12)
    assert math.degrees(math.acos(float(np.dot(md.direction, implant.direction)))) == pytest.approx(5.0)
    back = bl.tilted_bucco_lingual(-5.0)
    assert np.allclose(back.direction, implant.direction)


def test_sizes_contains_and_dict_round_trip() -> None:
    assert (4.0, 10.0) in COMMON_SIZES and (3.3, 8.0) in COMMON_SIZES
    implant = VirtualImplant("x", 4.1, 11.5, (0.0, 0.0, 0.0), (0.0, 0.0, -2.0), label="36")
    assert implant.direction == (0.0, 0.0, -1.0)
    assert implant.contains([(0.0, 0.0, -5.0), (1.9, 0.0, -5.0)]).all()
    assert not implant.contains([(0.0, 0.0, 0.5), (2.2, 0.0, -5.0), (0.0, 0.0, -11.6)]).any()
    assert implant.resized(length_mm=8.0).apex == (0.0, 0.0, -8.0)
    data = json.loads(json.dumps(implant.to_dict()))
    assert VirtualImplant.from_dict(data) == implant
    for bad in (
        {**data, "diameter_mm": -1},
        {**data, "direction": [0, 0, 0]},
        {**data, "shoulder": [0, 0]},
        {**data, "id": ""},
        {k: v for k, v in data.items() if k != "length_mm"},
        "implant",
    ):
        with pytest.raises(ValueError):
            VirtualImplant.from_dict(bad)
