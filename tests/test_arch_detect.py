"""Automatic arch proposal: close to the phantom's truth arch, plain errors on other data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.arch_detect import otsu_threshold, propose_arch
from cbctviewer.core.spline import nearest_on_polyline
from cbctviewer.core.tasks import Cancelled
from cbctviewer.core.volume import Volume


def _volume(
    array: np.ndarray, spacing: float = 1.0, origin: tuple[float, float, float] = (0, 0, 0)
) -> Volume:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((spacing,) * 3)
    image.SetOrigin(origin)
    return Volume(image)


def test_proposal_follows_the_phantom_arch(phantom_dir: Path) -> None:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    curve = propose_arch(load(scan(phantom_dir).volumes[0]))
    assert 5 <= len(curve.control_points) <= 9
    assert np.allclose(curve.up, [0.0, 0.0, 1.0])
    assert curve.control_points[0, 0] < curve.control_points[-1, 0]  # starts on the patient's right
    poly = np.asarray(truth["arch"]["polyline"])[:, :2]
    truth_length = truth["arch"]["arc_length_mm"]
    hits = [nearest_on_polyline(poly, p[:2]) for p in curve.frames(0.5).points]
    s = np.array([h[0] for h in hits])
    d = np.array([h[2] for h in hits])
    overlap = (s > 0.5) & (s < truth_length - 0.5)  # not projected onto the truth's ends
    assert d[overlap].mean() < 2.0
    assert np.ptp(s[overlap]) > 0.8 * truth_length  # covers most of the arch
    # The buccal side is outwards: anterior at the incisors.
    _, _, normal = curve.frame_at(curve.length_mm / 2)
    assert normal[1] < -0.9


def _u_volume() -> np.ndarray:
    """A synthetic U of 'bone' in air, 1 mm voxels: y = 20 + 0.04 (x − 40)², |x − 40| ≤ 25."""
    z, y, x = np.mgrid[0:30, 0:80, 0:80]
    ridge = 20 + 0.04 * (x - 40.0) ** 2
    band = (np.abs(y - ridge) < 4) & (np.abs(x - 40) <= 25) & (z >= 8) & (z <= 22)
    vol = np.where(band, 1500.0, -1000.0) + np.where((z > 2) & (z < 28), 1000.0, 0.0)  # soft tissue
    return vol.astype(np.float32)


def test_a_synthetic_u_in_either_orientation() -> None:
    vol = _volume(_u_volume())
    curve = propose_arch(vol)
    for p in curve.frames(1.0).points[5:-5]:
        x, y = p[0], p[1]
        assert abs(y - (20 + 0.04 * (x - 40.0) ** 2)) < 2.5
    assert curve.control_points[0, 0] < curve.control_points[-1, 0]


def test_closed_ring_small_and_flat_volumes_raise_plainly() -> None:
    _z, y, x = np.mgrid[0:40, 0:90, 0:90]
    r = np.hypot(y - 45, x - 45)
    skull = np.where((r > 35) & (r < 40), 1500.0, np.where(r <= 35, 40.0, -1000.0)).astype(np.float32)
    with pytest.raises(ValueError, match="closed ring"):
        propose_arch(_volume(skull))
    with pytest.raises(ValueError, match="too small"):
        propose_arch(_volume(np.zeros((5, 5, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="too small"):
        propose_arch(_volume(_u_volume(), spacing=0.3))  # 24 mm across
    with pytest.raises(ValueError):
        propose_arch(_volume(np.full((30, 60, 60), 100.0, dtype=np.float32)))
    noise = np.random.default_rng(0).normal(0.0, 10.0, size=(30, 60, 60)).astype(np.float32)
    with pytest.raises(ValueError):
        propose_arch(_volume(noise))


def test_cancel_and_otsu() -> None:
    with pytest.raises(Cancelled):
        propose_arch(_volume(_u_volume()), cancel=lambda: True)
    values = np.concatenate([np.full(100, 10.0), np.full(50, 90.0)])
    assert 10.0 < otsu_threshold(values) <= 90.0
