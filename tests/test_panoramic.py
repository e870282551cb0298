"""Panoramic (curved planar reformation) of the dental phantom, checked against its truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.panoramic import PanoramicSpec, panoramic
from cbctviewer.core.panoramic_sampler import _aligned_block, _generic_block, slab_offsets
from cbctviewer.core.sampling import sample_trilinear
from cbctviewer.core.spline import polyline_length
from cbctviewer.core.tasks import Cancelled
from cbctviewer.core.volume import Volume

VOXEL = 0.4


@pytest.fixture(scope="module")
def phantom(phantom_dir: Path) -> tuple[Volume, dict[str, Any]]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    return load(scan(phantom_dir).volumes[0]), truth


def truth_curve(truth: dict[str, Any], count: int = 9) -> ArchCurve:
    """Control points sampled from the truth polyline every ~13 mm, ends included."""
    poly = np.asarray(truth["arch"]["polyline"])
    return ArchCurve(poly[np.linspace(0, len(poly) - 1, count).round().astype(int)])


@pytest.fixture(scope="module")
def curve(phantom: tuple[Volume, dict[str, Any]]) -> ArchCurve:
    return truth_curve(phantom[1])


SPEC = PanoramicSpec(step_mm=0.4, height_mm=50.0, centre_height_mm=-8.0)


def test_pixels_are_the_volume_on_the_surface(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    volume, _ = phantom
    rng = np.random.default_rng(1)
    for offset in (0.0, 2.5, -3.0):
        image = panoramic(volume, curve, PanoramicSpec(step_mm=0.4, height_mm=30.0, offset_mm=offset))
        rows, cols = image.shape
        assert cols == len(image.s_mm) and rows == len(image.heights_mm)
        for r, c in zip(rng.integers(0, rows, 40), rng.integers(0, cols, 40), strict=True):
            point = image.pixel_to_patient(r, c)
            s, d, h = curve.locate(point)
            assert (s, d, h) == pytest.approx((image.s_mm[c], offset, image.heights_mm[r]), abs=1e-3)
            expected = sample_trilinear(volume, point)
            if np.isnan(expected):
                assert np.isnan(image.pixels[r, c])
            else:
                assert image.pixels[r, c] == pytest.approx(expected, abs=0.05)


def test_pixel_patient_round_trip(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    image = panoramic(phantom[0], curve, SPEC, preview=True)
    assert image.spec.step_mm == 0.5 and image.preview
    for row, col in [(0.0, 0.0), (12.3, 45.6), (80.5, 200.25), (99.0, 211.0)]:
        assert image.patient_to_pixel(image.pixel_to_patient(row, col)) == pytest.approx((row, col), abs=1e-3)


def test_teeth_and_implant_where_the_truth_says(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    volume, truth = phantom
    image = panoramic(volume, curve, SPEC)
    levels = truth["image"]["grey_levels"]
    bright = 0.5 * (levels["dentin"] + levels["soft"])

    def value_at(point: Any) -> float:
        r, c = image.patient_to_pixel(point)
        return float(image.pixels[round(r), round(c)])

    start = truth["arch"]["arc_length_mm"] / 2  # truth arc positions run from −53 to +53
    for tooth in truth["teeth"]:
        crown = np.asarray(tooth["cej_center"]) + 0.5 * tooth["crown_height_mm"] * np.asarray(
            tooth["axis_occlusal"]
        )
        _r, c = image.patient_to_pixel(crown)
        assert c * image.spec.step_mm == pytest.approx(tooth["arc_length"] + start, abs=0.5)
        if tooth["present"]:
            assert value_at(crown) > bright, tooth["fdi"]
        else:
            assert value_at(crown) < bright, tooth["fdi"]
    implant = truth["implant"]
    centre = 0.5 * (np.asarray(implant["shoulder"]) + np.asarray(implant["apex"]))
    assert value_at(centre) > 0.5 * (levels["titanium"] + levels["cortical"])


def test_lengths_on_the_panoramic_are_true_lengths(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    volume, truth = phantom
    image = panoramic(volume, curve, SPEC)
    _rows, cols = image.shape
    # A horizontal line across the whole panoramic at the crest height measures the arch.
    crest_row = float(image.heights_mm[0] / image.spec.step_mm)
    across = image.surface_path((crest_row, 0.0), (crest_row, cols - 1.0))
    length = polyline_length(across)
    last_column_gap = curve.length_mm - image.s_mm[-1]
    assert length + last_column_gap == pytest.approx(truth["arch"]["arc_length_mm"], rel=0.01)
    # Canine tip to canine tip along the surface: the arc between them (truth ±14 mm).
    tips = [truth["landmarks"][k] for k in ("canine_tip_43", "canine_tip_33")]
    a, b = (image.patient_to_pixel(p) for p in tips)
    assert a[0] == pytest.approx(b[0], abs=1e-6)  # same height: a horizontal line
    arc = 2 * next(t["arc_length"] for t in truth["teeth"] if t["fdi"] == 33)
    assert polyline_length(image.surface_path(a, b)) == pytest.approx(arc, rel=0.01)
    # Vertical: implant shoulder → apex is its length; rows are step_mm apart.
    implant = truth["implant"]
    a, b = (image.patient_to_pixel(implant[k]) for k in ("shoulder", "apex"))
    assert (b[0] - a[0]) * image.spec.step_mm == pytest.approx(implant["length_mm"], abs=1e-3)
    assert polyline_length(image.surface_path(a, b)) == pytest.approx(implant["length_mm"], abs=0.05)
    # At an offset the surface is longer or shorter than the arch, and the path says so.
    outer = panoramic(volume, curve, PanoramicSpec(step_mm=0.4, height_mm=10.0, offset_mm=3.0))
    outer_length = polyline_length(outer.surface_path((0.0, 0.0), (0.0, cols - 1.0)))
    offset_curve = np.array([curve.point_at(s, 3.0) for s in outer.s_mm])
    assert outer_length == pytest.approx(polyline_length(offset_curve), rel=1e-3)
    assert outer_length > length + 5.0  # buccal of a U is the outside: longer


def test_slab_mean_and_mip(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    volume, _ = phantom
    thin = panoramic(volume, curve, SPEC)
    mean = panoramic(volume, curve, PanoramicSpec(**{**_fields(SPEC), "slab_mm": 4.0}))
    mip = panoramic(volume, curve, PanoramicSpec(**{**_fields(SPEC), "slab_mm": 4.0, "slab_mode": "mip"}))
    both = ~np.isnan(thin.pixels) & ~np.isnan(mip.pixels)
    assert np.all(mip.pixels[both] >= thin.pixels[both] - 1e-3)
    assert np.all(mip.pixels[both] >= mean.pixels[both] - 1e-3)
    # The mean slab is the average of the thin panoramics across it.
    offsets = slab_offsets(4.0, VOXEL)
    stack = np.stack(
        [panoramic(volume, curve, PanoramicSpec(**{**_fields(SPEC), "offset_mm": o})).pixels for o in offsets]
    )
    inside = ~np.isnan(stack).any(axis=0)
    assert np.allclose(mean.pixels[inside], stack.mean(axis=0)[inside], atol=0.05)
    assert np.allclose(mip.pixels[inside], stack.max(axis=0)[inside], atol=0.05)


def _fields(spec: PanoramicSpec) -> dict[str, Any]:
    return {k: getattr(spec, k) for k in PanoramicSpec.__dataclass_fields__}


def test_any_orientation_matches_the_aligned_fast_path(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    volume, _ = phantom
    f = curve.frames(2.0)
    heights = np.linspace(10.0, -20.0, 31)
    offsets = slab_offsets(3.0, VOXEL)
    for mode in ("mean", "mip"):
        fast = _aligned_block(volume, f.points, f.normals, f.up, heights, offsets, mode)
        slow = _generic_block(volume, f.points, f.normals, f.up, heights, offsets, mode)
        assert np.array_equal(np.isnan(fast), np.isnan(slow))
        assert np.allclose(fast[~np.isnan(fast)], slow[~np.isnan(slow)], atol=0.05)


def test_tilted_scan_and_tilted_up(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    volume, _ = phantom
    image = sitk.Image(volume.image)
    image.SetDirection(tuple(rotation_about((1.0, 2.0, 0.5), 12.0).ravel()))  # not axis-aligned
    tilted = Volume(image)
    oblique = ArchCurve(curve.control_points, up=(0.1, 0.0, 1.0))
    pano = panoramic(tilted, oblique, PanoramicSpec(step_mm=1.0, height_mm=20.0))
    rng = np.random.default_rng(5)
    checked = 0
    for r, c in zip(rng.integers(0, pano.shape[0], 60), rng.integers(0, pano.shape[1], 60), strict=True):
        expected = sample_trilinear(tilted, pano.pixel_to_patient(r, c))
        if not np.isnan(expected):
            checked += 1
            assert pano.pixels[r, c] == pytest.approx(expected, abs=0.05)
    assert checked > 10


def test_cancel_and_validation(phantom: tuple[Volume, Any], curve: ArchCurve) -> None:
    with pytest.raises(Cancelled):
        panoramic(phantom[0], curve, SPEC, cancel=lambda: True)
    for bad in ({"slab_mm": 31.0}, {"step_mm": 0.0}, {"slab_mode": "max"}, {"height_mm": float("nan")}):
        with pytest.raises(ValueError):
            PanoramicSpec(**bad)
