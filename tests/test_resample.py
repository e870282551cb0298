"""Resampling onto a regular grid: slice pairing, in-plane shifts, filling."""

from __future__ import annotations

import numpy as np
import pytest

from cbctviewer.io.resample import SlicePlan, plan_slices, resample_stack, shift_slice


def test_plan_copies_existing_slices_and_blends_gaps() -> None:
    plans = plan_slices(np.array([0.0, 2.0, 6.0]), np.array([-2.0, 0.0, 2.0, 4.0, 6.0, 8.0]))
    assert plans[0] == SlicePlan(-1, -1, 0.0)  # before the data
    assert plans[1] == SlicePlan(0, 0, 0.0)
    assert plans[2] == SlicePlan(1, 1, 0.0)
    assert plans[3] == SlicePlan(1, 2, 0.5)  # the missing slice: halfway
    assert plans[4] == SlicePlan(2, 2, 0.0)
    assert plans[5] == SlicePlan(-1, -1, 0.0)  # after the data


def test_plan_tolerates_rounding_in_positions() -> None:
    plans = plan_slices(np.array([0.0, 0.5004, 1.0]), np.array([0.0, 0.5, 1.0]))
    assert [p.lower for p in plans] == [0, 1, 2]
    assert all(p.weight == 0 for p in plans)


def test_integer_shift_is_exact() -> None:
    src = np.arange(20, dtype=np.float32).reshape(4, 5)
    values, rect = shift_slice(src, (-2.0, 1.0), (4, 7))
    # output (j, i) = source (j + 1, i - 2): valid j in [0, 3), i in [2, 7)
    assert rect == (0, 3, 2, 7)
    np.testing.assert_array_equal(values, src[1:4, 0:5])


def test_fractional_shift_is_bilinear() -> None:
    src = np.array([[0.0, 10.0, 20.0], [100.0, 110.0, 120.0]], np.float32)
    values, rect = shift_slice(src, (0.25, 0.5), (2, 3))
    # x = i + 0.25, y = j + 0.5: only j = 0 and i in [0, 2) stay inside the source
    assert rect == (0, 1, 0, 2)
    np.testing.assert_allclose(values, [[52.5, 62.5]])


def test_shift_entirely_outside() -> None:
    values, rect = shift_slice(np.ones((3, 3), np.float32), (10.0, 0.0), (3, 3))
    assert rect == (0, 0, 0, 0)
    assert values.size == 0


def _stream(slices: list[np.ndarray]):
    for index, values in enumerate(slices):
        yield index, values.astype(np.float32)


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_gap_filled_by_linear_interpolation(dtype: type) -> None:
    slices = [np.full((3, 4), v, np.float32) for v in (10.0, 20.0, 41.0)]
    slices[0][0, 0] = -5.0
    dest: np.ndarray = np.zeros((4, 3, 4), dtype)
    plans = plan_slices(np.array([0.0, 1.0, 3.0]), np.arange(4.0))
    fill = resample_stack(dest, plans, np.zeros((3, 2)), _stream(slices))
    assert fill == -5.0
    np.testing.assert_array_equal(dest[0], slices[0])
    np.testing.assert_array_equal(dest[1], slices[1])
    np.testing.assert_array_equal(dest[3], slices[2])
    expected = 30.5 if dtype is np.float32 else 30.0  # int16 rounds half to even
    assert np.all(dest[2] == expected)


def test_tilt_shift_and_minimum_outside() -> None:
    # Three slices, each shifted one more row; the grid is one row taller than a slice.
    slices = [np.arange(6, dtype=np.float32).reshape(2, 3) + 10 * k for k in range(3)]
    shifts = np.array([[0.0, 0.0], [0.0, -1.0], [0.0, -1.0]])
    dest = np.full((3, 3, 3), 99, np.float32)
    plans = plan_slices(np.arange(3.0), np.arange(3.0))
    fill = resample_stack(dest, plans, shifts, _stream(slices))
    assert fill == 0.0
    np.testing.assert_array_equal(dest[0, :2], slices[0])
    np.testing.assert_array_equal(dest[0, 2], [0.0, 0.0, 0.0])  # outside slice 0: minimum
    np.testing.assert_array_equal(dest[1, 1:], slices[1])
    np.testing.assert_array_equal(dest[1, 0], [0.0, 0.0, 0.0])


def test_progress_sees_every_input() -> None:
    seen: list[int] = []
    dest = np.zeros((2, 2, 2), np.float32)
    plans = plan_slices(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0]))
    resample_stack(dest, plans, np.zeros((3, 2)), _stream([np.ones((2, 2))] * 3), on_slice=seen.append)
    assert seen == [0, 1, 2]
