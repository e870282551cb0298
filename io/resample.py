"""Resample an irregular stack (gaps, uneven spacing, gantry tilt) onto a regular grid.

The grid comes from :func:`cbctviewer.io.geometry.analyse_stack`: same row/column axes
and in-plane spacing as the slices, the usual slice spacing along the normal, widened
in-plane so that tilted slices fit. Every output voxel takes the value at its true
patient position:

* along the normal, linear interpolation between the two acquired slices around it
  (an output slice that coincides with an acquired slice copies it exactly);
* in-plane, each acquired slice is shifted by its own offset (non-zero for tilt) with
  bilinear weights — a uniform shift, so it is four slice-sized array operations;
* outside the acquired data the voxel gets the smallest value of the data.

Slices arrive one at a time in order, so only two input slices are held at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

#: Output slices this close (mm) to an acquired slice copy it instead of blending.
SAME_POSITION_MM = 1e-3
_EPS = 1e-6

Rect = tuple[int, int, int, int]  # j0, j1, i0, i1 (half-open) in output pixels


@dataclass(frozen=True, slots=True)
class SlicePlan:
    """How one output slice is made: ``(1 - weight) * lower + weight * upper``."""

    lower: int  #: input slice index, -1 when the output slice lies outside the data
    upper: int
    weight: float


def plan_slices(input_positions: np.ndarray, output_positions: np.ndarray) -> list[SlicePlan]:
    """Pair each output slice with the acquired slices around it.

    Parameters
    ----------
    input_positions : numpy.ndarray
        Distance of each acquired slice along the normal (mm), ascending.
    output_positions : numpy.ndarray
        Distance of each output slice along the normal (mm), ascending.

    Returns
    -------
    list of SlicePlan
        One per output slice.
    """
    z = np.asarray(input_positions, float)
    plans = []
    for position in np.asarray(output_positions, float):
        nearest = int(np.argmin(np.abs(z - position)))
        if abs(z[nearest] - position) <= SAME_POSITION_MM:
            plans.append(SlicePlan(nearest, nearest, 0.0))
            continue
        upper = int(np.searchsorted(z, position))
        if upper == 0 or upper >= len(z):
            plans.append(SlicePlan(-1, -1, 0.0))
            continue
        lower = upper - 1
        plans.append(SlicePlan(lower, upper, float((position - z[lower]) / (z[upper] - z[lower]))))
    return plans


def shift_slice(
    source: np.ndarray, shift: tuple[float, float], shape: tuple[int, int]
) -> tuple[np.ndarray, Rect]:
    """Sample ``source`` at output pixel ``(j, i)`` → source ``(j + shift[1], i + shift[0])``.

    Parameters
    ----------
    source : numpy.ndarray
        One acquired slice (rows, columns), float.
    shift : tuple of float
        (dx, dy): source column/row of output pixel (0, 0), in pixels.
    shape : tuple of int
        Output slice shape (rows, columns).

    Returns
    -------
    values : numpy.ndarray
        Bilinearly interpolated values inside the valid rectangle (float32).
    rect : tuple of int
        ``(j0, j1, i0, i1)``: where in the output slice ``values`` belong; output pixels
        outside it fall outside the acquired slice.
    """
    (y_range, y_parts), (x_range, x_parts) = (
        _axis(shift[1], source.shape[0], shape[0]),
        _axis(shift[0], source.shape[1], shape[1]),
    )
    j0, j1 = y_range
    i0, i1 = x_range
    if j1 <= j0 or i1 <= i0:
        return np.empty((0, 0), np.float32), (0, 0, 0, 0)
    values = np.zeros((j1 - j0, i1 - i0), np.float32)
    for sy, wy in y_parts:
        for sx, wx in x_parts:
            block = source[j0 + sy : j1 + sy, i0 + sx : i1 + sx]
            values += np.float32(wy * wx) * block
    return values, (j0, j1, i0, i1)


def _axis(shift: float, n_in: int, n_out: int) -> tuple[tuple[int, int], list[tuple[int, float]]]:
    """Valid output range and (source offset, weight) taps along one axis."""
    base = math.floor(shift + _EPS)
    frac = shift - base
    if frac < _EPS or n_in == 1:
        taps, need = [(base, 1.0)], 0
    else:
        taps, need = [(base, 1.0 - frac), (base + 1, frac)], 1
    start = max(0, -base)
    stop = min(n_out, n_in - need - base)
    return (start, max(start, stop)), taps


def resample_stack(
    dest: np.ndarray,
    plans: list[SlicePlan],
    shifts: np.ndarray,
    slices: Iterable[tuple[int, np.ndarray]],
    *,
    on_slice: Callable[[int], None] | None = None,
) -> float:
    """Fill ``dest`` (z, y, x) from acquired slices arriving in order.

    Parameters
    ----------
    dest : numpy.ndarray
        The output volume (int16 values are rounded, float32 kept).
    plans : list of SlicePlan
        From :func:`plan_slices`, one per ``dest`` slice.
    shifts : numpy.ndarray
        Shape (n_inputs, 2): (dx, dy) of each acquired slice for :func:`shift_slice`.
    slices : iterable of (int, numpy.ndarray)
        ``(input index, float32 slice)`` in increasing index order.
    on_slice : callable, optional
        Called with each input index as it is consumed (progress, cancel).

    Returns
    -------
    float
        The fill value used outside the data (the smallest acquired value).
    """
    shape = (dest.shape[1], dest.shape[2])
    held: dict[int, tuple[np.ndarray, Rect]] = {}
    source = iter(slices)
    lowest = math.inf
    valid: list[Rect] = []
    for k, plan in enumerate(plans):
        if plan.lower < 0:
            valid.append((0, 0, 0, 0))
            continue
        needed = plan.upper if plan.weight > 0 else plan.lower
        while needed not in held:
            index, values = next(source)
            lowest = min(lowest, float(values.min()))
            if on_slice is not None:
                on_slice(index)
            if index >= plan.lower:
                held[index] = shift_slice(values, (shifts[index, 0], shifts[index, 1]), shape)
        for index in [i for i in held if i < plan.lower]:
            del held[index]
        low, low_rect = held[plan.lower]
        if plan.weight > 0:
            high, high_rect = held[plan.upper]
            rect = _intersect(low_rect, high_rect)
            value = (1.0 - plan.weight) * _crop(low, low_rect, rect) + plan.weight * _crop(
                high, high_rect, rect
            )
        else:
            rect, value = low_rect, low
        _write(dest[k], rect, value)
        valid.append(rect)
    for _index, _values in source:  # slices no output needed still count for the minimum
        lowest = min(lowest, float(_values.min()))
        if on_slice is not None:
            on_slice(_index)
    fill = lowest if math.isfinite(lowest) else 0.0
    if dest.dtype.kind in "iu":
        fill = float(np.rint(fill))
    for k, rect in enumerate(valid):
        _fill_outside(dest[k], rect, fill)
    return fill


def _intersect(a: Rect, b: Rect) -> Rect:
    j0, j1 = max(a[0], b[0]), min(a[1], b[1])
    i0, i1 = max(a[2], b[2]), min(a[3], b[3])
    if j1 <= j0 or i1 <= i0:
        return (0, 0, 0, 0)
    return (j0, j1, i0, i1)


def _crop(values: np.ndarray, have: Rect, want: Rect) -> np.ndarray:
    return values[want[0] - have[0] : want[1] - have[0], want[2] - have[2] : want[3] - have[2]]


def _write(target: np.ndarray, rect: Rect, values: np.ndarray) -> None:
    j0, j1, i0, i1 = rect
    if j1 <= j0 or i1 <= i0:
        return
    if target.dtype.kind in "iu":
        info = np.iinfo(target.dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    target[j0:j1, i0:i1] = values


def _fill_outside(target: np.ndarray, rect: Rect, fill: float) -> None:
    j0, j1, i0, i1 = rect
    if j1 <= j0 or i1 <= i0:
        target[...] = fill
        return
    target[:j0] = fill
    target[j1:] = fill
    target[j0:j1, :i0] = fill
    target[j0:j1, i1:] = fill
