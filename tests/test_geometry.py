"""Stack ordering, spacing analysis, gaps and gantry tilt (io.geometry)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from cbctviewer.io.errors import MediaError
from cbctviewer.io.geometry import analyse_stack
from cbctviewer.io.report import FrameRef

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _frames(zs, *, orientation=AXIAL, shift_per_mm=(0.0, 0.0), origin=(-10.0, -20.0, 0.0)):
    row = np.asarray(orientation[:3])
    col = np.asarray(orientation[3:])
    normal = np.cross(row, col)
    frames = []
    for i, z in enumerate(zs):
        p = np.asarray(origin) + z * normal + z * shift_per_mm[0] * row + z * shift_per_mm[1] * col
        frames.append(
            FrameRef(
                path=Path(f"f{i}"),
                position=tuple(p),
                orientation=orientation,
                pixel_spacing=(0.5, 0.25),
                instance_number=len(zs) - i,  # deliberately misleading
            )
        )
    return frames


def test_orders_by_position_on_normal_not_by_instance_number():
    frames = _frames([0.0, 2.0, 4.0, 6.0])
    shuffled = frames[:]
    random.Random(3).shuffle(shuffled)
    g = analyse_stack(shuffled, rows=8, columns=16)
    assert [f.path.name for f in g.ordered] == ["f0", "f1", "f2", "f3"]
    assert g.size == (16, 8, 4)
    assert g.spacing == pytest.approx((0.25, 0.5, 2.0))  # PixelSpacing is (row, column)
    assert g.origin == pytest.approx((-10.0, -20.0, 0.0))
    assert g.direction == pytest.approx((1, 0, 0, 0, 1, 0, 0, 0, 1))
    assert not g.needs_resampling and g.warnings == []


def test_oblique_orientation_direction_matches_iop_and_normal():
    c, s = math.cos(0.3), math.sin(0.3)
    iop = (c, s, 0.0, 0.0, 0.0, -1.0)  # coronal-ish, rotated about z
    frames = _frames([5.0, 1.0, 3.0], orientation=iop)
    g = analyse_stack(frames, rows=4, columns=4)
    d = np.asarray(g.direction).reshape(3, 3)
    assert d[:, 0] == pytest.approx([c, s, 0])
    assert d[:, 1] == pytest.approx([0, 0, -1])
    assert d[:, 2] == pytest.approx(np.cross([c, s, 0], [0, 0, -1]))
    assert g.normal_positions - g.normal_positions[0] == pytest.approx([0.0, 2.0, 4.0])
    assert [f.path.name for f in g.ordered] == ["f1", "f2", "f0"]
    assert g.spacing[2] == pytest.approx(2.0)


def test_missing_slice_is_named_and_grid_is_regular():
    g = analyse_stack(_frames([0, 2, 4, 8, 10]), rows=4, columns=4)
    assert g.needs_resampling
    assert g.size[2] == 6 and g.spacing[2] == pytest.approx(2.0)
    assert any("missing" in w for w in g.warnings)


def test_uneven_spacing_is_reported():
    g = analyse_stack(_frames([0, 1.0, 2.2, 3.0, 4.1]), rows=4, columns=4)
    assert g.needs_resampling
    assert any("uneven" in w for w in g.warnings)


def test_rounding_noise_is_not_irregular():
    zs = [i * 0.3 + (1e-4 if i % 2 else 0.0) for i in range(20)]
    g = analyse_stack(_frames(zs), rows=4, columns=4)
    assert not g.needs_resampling and g.warnings == []
    assert g.spacing[2] == pytest.approx(0.3, abs=1e-4)


def test_gantry_tilt_detected_with_angle_and_union_grid():
    slope = math.tan(math.radians(20))
    g = analyse_stack(_frames([0, 1, 2, 3, 4], shift_per_mm=(0.0, slope)), rows=10, columns=10)
    assert g.needs_resampling
    assert g.tilt_degrees == pytest.approx(20.0, abs=0.01)
    assert any("tilt of 20.0" in w for w in g.warnings)
    # The grid grows along the column direction to hold the sheared slices.
    assert g.size[0] == 10 and g.size[1] == 10 + math.ceil(4 * slope / 0.5)
    assert g.in_plane_offsets[-1] == pytest.approx([0.0, 4 * slope])


def test_duplicates_are_dropped_with_warning():
    g = analyse_stack(_frames([0, 1, 1, 2]), rows=4, columns=4)
    assert len(g.ordered) == 3
    assert any("repeat" in w for w in g.warnings)


def test_mixed_orientations_raise_plain_error():
    frames = _frames([0, 1]) + _frames([2], orientation=(1, 0, 0, 0, 0, -1))
    with pytest.raises(MediaError, match="orientation"):
        analyse_stack(frames, rows=4, columns=4)


def test_missing_positions_fall_back_to_file_order_with_warning():
    frames = [FrameRef(path=Path(f"f{i}"), instance_number=i) for i in (3, 1, 2)]
    g = analyse_stack(frames, rows=4, columns=4)
    assert [f.instance_number for f in g.ordered] == [1, 2, 3]
    assert any("not calibrated" in w for w in g.warnings)


def test_invalid_input_raises_media_error():
    with pytest.raises(MediaError):
        analyse_stack([], rows=4, columns=4)
    bad = [FrameRef(path=Path("x"), position=(0, 0, 0), orientation=(0, 0, 0, 0, 0, 0))]
    with pytest.raises(MediaError):
        analyse_stack(bad, rows=4, columns=4)


def test_sparse_slices_far_apart_are_not_a_volume():
    with pytest.raises(MediaError, match="do not form one 3D volume"):
        analyse_stack(_frames([0, 1, 2, 3, 60]), rows=4, columns=4)
