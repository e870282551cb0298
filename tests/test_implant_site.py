"""Implant-site measurements: synthetic slabs and the dental phantom's ground truth."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.implant_site import Canal, measure_site
from cbctviewer.core.sampling import last_exit, sample_trilinear
from cbctviewer.core.volume import Volume

VOXEL = 0.4  # phantom voxel size (mm): the accuracy budget of the phantom tests


# ----- synthetic ridge ---------------------------------------------------------------------
SP = 0.5
CORTICAL, TRABECULAR, SOFT = 1450.0, 500.0, 0.0
HALF, TOP, BOTTOM, SHELL = 4.0, -10.0, -30.0, 1.5  # ridge |x| <= HALF, BOTTOM <= z <= TOP


def _ridge(*, lumen: bool = True) -> Volume:
    """A box ridge (cortical shell around trabecular core), optionally with a canal lumen.

    Boundaries fall half-way between voxel centres, so a threshold at the middle of a step
    is crossed exactly at the boundary.
    """
    n = (61, 21, 101)  # x, y, z
    origin = (-15.0, -5.0, -40.0)
    x = origin[0] + SP * np.arange(n[0])
    z = origin[2] + SP * np.arange(n[2])
    zz, xx = np.meshgrid(z, x, indexing="ij")
    inside = (np.abs(xx) <= HALF) & (zz >= BOTTOM) & (zz <= TOP)
    core = (np.abs(xx) <= HALF - SHELL) & (zz >= BOTTOM + SHELL) & (zz <= TOP - SHELL)
    grey = np.where(inside, CORTICAL, SOFT)
    grey = np.where(core, TRABECULAR, grey)
    if lumen:
        grey = np.where(core & (np.hypot(xx, zz + 22.0) < 1.3), SOFT, grey)
    vol = np.repeat(grey[:, np.newaxis, :], n[1], axis=1).astype(np.float32)  # (z, y, x)
    image = sitk.GetImageFromArray(vol)
    image.SetSpacing((SP, SP, SP))
    image.SetOrigin(origin)
    return Volume(image)


@pytest.fixture(scope="module")
def ridge() -> Volume:
    return _ridge()


def test_sampling_interpolates_linearly_and_flags_outside(ridge: Volume) -> None:
    # Half-way between the voxel centres x = 4.0 (cortical) and 4.5 (soft): the mean.
    v = sample_trilinear(ridge, [[4.25, 0.0, -20.0], [0.0, 0.0, -20.0], [100.0, 0.0, 0.0]])
    assert v[0] == pytest.approx(0.5 * (CORTICAL + SOFT))
    assert v[1] == pytest.approx(TRABECULAR)
    assert math.isnan(v[2])


def test_last_exit_crosses_dips_and_interpolates() -> None:
    t = np.arange(8) * 1.0
    values = np.array([0, 10, 0, 0, 10, 10, 4, 0], dtype=float)
    assert last_exit(t, values, 5.0) == (pytest.approx(5 + 5 / 6), True)
    assert last_exit(t, np.full(8, 10.0), 5.0) == (7.0, False)
    with pytest.raises(ValueError):
        last_exit(t, np.zeros(8), 5.0)


def test_slab_exact_with_mid_step_threshold(ridge: Volume) -> None:
    crest = (0.0, 0.0, TOP + 0.25)  # the top boundary
    m = measure_site(ridge, crest, (0, 0, -1), (1, 0, 0), threshold=0.5 * CORTICAL)
    assert m.limit == "cortex"
    assert m.height_mm == pytest.approx(TOP - BOTTOM + 0.5, abs=1e-6)  # the lumen dip is crossed
    for depth in (1, 3, 5):
        assert m.widths[depth] == pytest.approx(2 * HALF + SP, abs=1e-6)
    assert not m.threshold_estimated and m.threshold == 0.5 * CORTICAL
    labels = {s.label: s for s in m.segments}
    assert set(labels) == {"height", "width_1", "width_3", "width_5"}
    assert labels["width_3"].start == pytest.approx((HALF + 0.25, 0.0, TOP + 0.25 - 3))
    assert labels["height"].length_mm == pytest.approx(m.height_mm)


def test_slab_estimated_threshold_is_between_levels(ridge: Volume) -> None:
    crest = (0.0, 0.0, TOP + 0.25)
    m = measure_site(ridge, crest, (0, 0, -1), (1, 0, 0))
    assert m.threshold_estimated
    assert m.threshold == pytest.approx(0.5 * (TRABECULAR + CORTICAL), rel=0.05)
    assert m.height_mm == pytest.approx(TOP - BOTTOM + 0.5, abs=0.5 * SP)
    assert m.widths[3] == pytest.approx(2 * HALF + SP, abs=SP)


@pytest.mark.parametrize("angle", [8.0, -25.0])
def test_slab_oblique_axis(ridge: Volume, angle: float) -> None:
    a = math.radians(angle)
    axis = (math.sin(a), 0.0, -math.cos(a))
    across = (math.cos(a), 0.0, math.sin(a))
    crest = (0.0, 0.0, TOP + 0.25)
    m = measure_site(ridge, crest, axis, (1, 0, 0), threshold=0.5 * CORTICAL, width_depths_mm=(5.0, 8.0))
    assert m.width_direction == pytest.approx(across)
    vertical, side = TOP - BOTTOM + 0.5, HALF + 0.25
    # The axis leaves through the bottom face (8°) or through a side face (25°).
    expected = min(vertical / math.cos(a), side / abs(math.sin(a)))
    assert m.height_mm == pytest.approx(expected, abs=SP)
    for depth in (5, 8):
        assert m.widths[depth] == pytest.approx((2 * HALF + SP) / math.cos(a), abs=SP)


def test_degenerate_input(ridge: Volume) -> None:
    crest = (0.0, 0.0, TOP)
    with pytest.raises(ValueError, match="axis"):
        measure_site(ridge, crest, (0, 0, 0), (1, 0, 0))
    with pytest.raises(ValueError, match="width direction"):
        measure_site(ridge, crest, (0, 0, -1), (0, 0, 0))
    with pytest.raises(ValueError, match="parallel"):
        measure_site(ridge, crest, (0, 0, -1), (0, 0, 2))
    with pytest.raises(ValueError, match="outside the volume"):
        measure_site(ridge, (0.0, 0.0, 50.0), (0, 0, -1), (1, 0, 0))
    with pytest.raises(ValueError, match="finite"):
        measure_site(ridge, (0.0, float("nan"), TOP), (0, 0, -1), (1, 0, 0))
    with pytest.raises(ValueError, match="no bone"):
        measure_site(ridge, (12.0, 0.0, TOP), (0, 0, -1), (1, 0, 0), threshold=0.5 * CORTICAL)


# ----- the dental phantom -----------------------------------------------------------------
@pytest.fixture(scope="module")
def phantom(phantom_dir: Path) -> tuple[Volume, dict[str, Any]]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    return load(scan(phantom_dir).volumes[0]), truth


def _site(truth: dict[str, Any]) -> tuple[Any, Any, Any, Canal]:
    s = truth["implant_site"]
    canal = Canal.from_points(truth["canals"]["right"]["points"], truth["canals"]["radius_mm"])
    return s["crest_point"], s["axis_direction"], s["buccal_direction"], canal


def test_phantom_site_46_with_canal(phantom: tuple[Volume, dict[str, Any]]) -> None:
    volume, truth = phantom
    crest, axis, buccal, canal = _site(truth)
    m = measure_site(volume, crest, axis, buccal, canal=canal)
    site = truth["implant_site"]
    assert m.limit == "canal"
    assert m.canal_clearance_mm == 0.0
    assert m.height_mm == pytest.approx(site["bone_height_to_canal_mm"], abs=VOXEL)
    assert m.safe_length_mm == pytest.approx(m.height_mm - 2.0)
    for w in site["widths"]:
        depth = w["depth_mm"]
        assert m.widths[depth] == pytest.approx(w["width_mm"], abs=VOXEL)
        seg = next(s for s in m.segments if s.label == f"width_{depth:g}")
        assert np.linalg.norm(np.subtract(seg.start, w["buccal_point"])) < VOXEL
        assert np.linalg.norm(np.subtract(seg.end, w["lingual_point"])) < VOXEL
    assert m.warnings == ()


def test_phantom_height_to_inferior_cortex(phantom: tuple[Volume, dict[str, Any]]) -> None:
    volume, truth = phantom
    crest, axis, buccal, _ = _site(truth)
    m = measure_site(volume, crest, axis, buccal)
    assert m.limit == "cortex"
    assert m.canal_height_mm is None
    assert m.height_mm == pytest.approx(truth["bone"]["height_mm"], abs=VOXEL)
    levels = truth["image"]["grey_levels"]
    assert levels["trabecula"] < m.threshold < levels["cortical"]


@pytest.mark.parametrize("margin", [2.0, 3.0])
def test_phantom_planned_length_warning(phantom: tuple[Volume, dict[str, Any]], margin: float) -> None:
    volume, truth = phantom
    crest, axis, buccal, canal = _site(truth)
    limit = truth["implant_site"]["bone_height_to_canal_mm"] - margin  # crest → canal top − margin

    def warned(length: float) -> bool:
        m = measure_site(
            volume, crest, axis, buccal, canal=canal, safety_margin_mm=margin, planned_length_mm=length
        )
        assert any(s.label == "planned" and s.length_mm == pytest.approx(length) for s in m.segments)
        return any("safety margin" in w for w in m.warnings)

    assert not warned(limit - 0.2)
    assert warned(limit + 0.2)
    assert not warned(8.0)
    assert warned(limit + 5.0)


def test_phantom_threshold_override(phantom: tuple[Volume, dict[str, Any]]) -> None:
    volume, truth = phantom
    crest, axis, buccal, _ = _site(truth)
    low = measure_site(volume, crest, axis, buccal, threshold=700.0)
    high = measure_site(volume, crest, axis, buccal, threshold=1250.0)
    assert low.threshold == 700.0 and not low.threshold_estimated
    # A lower threshold counts more of the blurred edges as bone: wider and deeper.
    for depth in (1, 3, 5):
        assert low.widths[depth] > high.widths[depth]
    assert low.height_mm > high.height_mm
    # Both stay close to the truth on this sharp-edged phantom.
    assert high.widths[3] == pytest.approx(8.6, abs=2 * VOXEL)
    # A threshold above every grey value finds no bone.
    with pytest.raises(ValueError, match="no bone"):
        measure_site(volume, crest, axis, buccal, threshold=5000.0)


def test_phantom_axis_missing_canal(phantom: tuple[Volume, dict[str, Any]]) -> None:
    volume, truth = phantom
    crest, axis, buccal, canal = _site(truth)
    shifted = Canal.from_points(np.asarray(canal.points) + 3.0 * np.asarray(buccal), canal.radius_mm)
    m = measure_site(volume, crest, axis, buccal, canal=shifted)
    canal_axis_depth = truth["implant_site"]["bone_height_to_canal_mm"] + canal.radius_mm
    assert m.limit == "canal"
    assert m.canal_clearance_mm == pytest.approx(3.0 - canal.radius_mm, abs=0.05)
    assert m.height_mm == pytest.approx(canal_axis_depth, abs=0.05)
    assert any("misses the canal" in w for w in m.warnings)
