"""Trilinear sampling of a curved sheet of a volume, thin or as a slab (mean or MIP).

The sheet is a set of columns; column ``c`` samples the points
``origin[c] + offset[k] * normal[c] + height[r] * up`` for every row height ``r`` and slab
offset ``k``, and reduces over ``k`` (mean or maximum). Each sample is the trilinear
interpolation of the voxel grid, exactly as :func:`cbctviewer.core.sampling.sample_trilinear`
would give it; samples outside the grid are left out of the reduction, and pixels with no
sample inside the grid get ``nan``.

When ``up`` runs along a grid axis (the usual case: the arch drawn on an axial view of a
scan with axial slices), every sample of a column at a given slab offset lies on one voxel
column of that axis, so the in-plane (bilinear) weights are computed once per column and
offset and the rows only add a 1D interpolation along the axis. Work is split into
column blocks run on threads (numpy releases the GIL in gathers and arithmetic).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.sampling import continuous_indices, sample_trilinear
from cbctviewer.core.tasks import CancelCheck, check_cancel
from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]
SlabReduce = Literal["mean", "mip"]

#: Columns per work item: small enough to stay in cache, large enough to amortise numpy calls.
BLOCK_COLUMNS = 48
_AXIS_TOLERANCE = 1e-9
#: The slab mean is one matrix product per block when the block's footprint (voxel columns)
#: is below this many per slab sample: the product's cost grows with the footprint, the
#: sample-by-sample path with the sample count (measured: a product is ~700× cheaper per
#: voxel column than gathering one sample).
MATMUL_PER_SAMPLE = 500
#: A block copies its footprint box once when it has at most this many voxel columns per
#: sample; otherwise (thin sheets across wide areas) samples are gathered from the slices.
BOX_PER_SAMPLE = 8


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def sample_sheet(
    volume: Volume,
    origins: FloatArray,
    normals: FloatArray,
    up: FloatArray,
    heights: FloatArray,
    offsets: FloatArray,
    *,
    mode: SlabReduce = "mean",
    cancel: CancelCheck | None = None,
) -> NDArray[np.float32]:
    """Sample a curved sheet; returns ``(len(heights), len(origins))`` float32, nan outside.

    Parameters
    ----------
    volume
        The volume to sample.
    origins, normals
        ``(c, 3)`` column base points (patient mm) and unit directions of the slab offset.
    up
        Unit direction of the rows (``heights`` are measured along it).
    heights, offsets
        Row heights (mm) from the column base, top row first; slab offsets (mm) along
        ``normals``. One offset gives a thin sheet.
    mode
        Reduction over the slab offsets: ``"mean"`` or ``"mip"`` (maximum).
    cancel
        Polled between column blocks; raises :class:`~cbctviewer.core.tasks.Cancelled` when it returns True.
    """
    origins = np.asarray(origins, dtype=float).reshape(-1, 3)
    normals = np.asarray(normals, dtype=float).reshape(-1, 3)
    heights = np.asarray(heights, dtype=float).reshape(-1)
    offsets = np.asarray(offsets, dtype=float).reshape(-1)
    up = np.asarray(up, dtype=float).reshape(3)
    direction = np.asarray(volume.direction).reshape(3, 3)
    up_index = (direction.T @ up) / np.asarray(volume.spacing)
    axis = int(np.argmax(np.abs(up_index)))
    aligned = bool(np.all(np.abs(np.delete(up_index, axis)) < _AXIS_TOLERANCE)) and volume.array.ndim == 3
    work = _aligned_block if aligned and axis == 2 else _generic_block
    blocks = [slice(a, min(a + BLOCK_COLUMNS, len(origins))) for a in range(0, len(origins), BLOCK_COLUMNS)]

    def run(block: slice) -> NDArray[np.float32]:
        check_cancel(cancel)
        return work(volume, origins[block], normals[block], up, heights, offsets, mode)

    if not blocks:
        return np.full((len(heights), 0), np.nan, dtype=np.float32)
    if len(blocks) == 1 or _threads() == 1:
        parts = [run(b) for b in blocks]
    else:
        with ThreadPoolExecutor(_threads()) as pool:
            parts = list(pool.map(run, blocks))
    return np.concatenate(parts, axis=1)


def _reduce(values: NDArray[np.float32], mode: SlabReduce) -> NDArray[np.float32]:
    """Reduce ``(..., k)`` samples (nan outside) over the last axis; nan where none inside."""
    inside = ~np.isnan(values)
    count = inside.sum(axis=-1)
    if mode == "mip":
        out = np.where(inside, values, -np.inf).max(axis=-1)
    else:
        out = np.where(inside, values, 0.0).sum(axis=-1) / np.maximum(count, 1)
    return np.where(count > 0, out, np.nan).astype(np.float32)


def _generic_block(
    volume: Volume,
    origins: FloatArray,
    normals: FloatArray,
    up: FloatArray,
    heights: FloatArray,
    offsets: FloatArray,
    mode: SlabReduce,
) -> NDArray[np.float32]:
    """Any orientation: full trilinear sampling of every point."""
    base = (
        origins[np.newaxis, :, np.newaxis, :]
        + offsets[np.newaxis, np.newaxis, :, np.newaxis] * (normals[np.newaxis, :, np.newaxis, :])
    )
    points = base + heights[:, np.newaxis, np.newaxis, np.newaxis] * up
    values = sample_trilinear(volume, points).astype(np.float32)
    return _reduce(values, mode)


def _aligned_block(
    volume: Volume,
    origins: FloatArray,
    normals: FloatArray,
    up: FloatArray,
    heights: FloatArray,
    offsets: FloatArray,
    mode: SlabReduce,
) -> NDArray[np.float32]:
    """``up`` along the grid's k axis: in-plane weights once, then 1D along k.

    The voxel columns the block touches are gathered once into a compact float32 matrix
    ``levels × voxels``. The mean is linear, so it is one matrix product with the summed
    bilinear weights of each pixel column; the MIP needs every sample, interpolated in
    plane and along k before the maximum.
    """
    arr = volume.array
    nz, ny, nx = arr.shape
    rows, cols, nk = len(heights), len(origins), len(offsets)
    xy_points = origins[:, np.newaxis, :] + offsets[np.newaxis, :, np.newaxis] * normals[:, np.newaxis, :]
    idx = continuous_indices(volume, xy_points.reshape(-1, 3))  # (cols * nk, 3), column-major in k
    k_per_mm = float((np.asarray(volume.direction).reshape(3, 3).T @ up)[2] / volume.spacing[2])
    k_rows = float(np.mean(idx[:, 2])) + heights * k_per_mm
    tol = 1e-9
    inside_xy = (
        (idx[:, 0] >= -tol) & (idx[:, 0] <= nx - 1 + tol) & (idx[:, 1] >= -tol) & (idx[:, 1] <= ny - 1 + tol)
    )
    inside_rows = (k_rows >= -tol) & (k_rows <= nz - 1 + tol)
    out = np.full((rows, cols), np.nan, dtype=np.float32)
    if not (np.any(inside_xy) and np.any(inside_rows)):
        return out
    corners, weights = _bilinear(idx[:, 0], idx[:, 1], nx, ny)
    weights[~inside_xy] = 0.0
    # The block's footprint: a bounding box of voxel columns, sliced (not gathered).
    cj, ci = np.divmod(corners, nx)
    j_lo, j_hi, i_lo, i_hi = int(cj.min()), int(cj.max()), int(ci.min()), int(ci.max())
    local = (cj - j_lo) * (i_hi - i_lo + 1) + (ci - i_lo)
    kr = np.clip(k_rows[inside_rows], 0.0, nz - 1.0)
    k0 = np.minimum(np.floor(kr).astype(np.intp), max(nz - 2, 0))
    fk = (kr - k0).astype(np.float32)
    first, last = int(k0.min()), min(int(k0.max()) + 1, nz - 1)
    footprint = (j_hi - j_lo + 1) * (i_hi - i_lo + 1)
    if footprint <= BOX_PER_SAMPLE * cols * nk:  # compact: copy the box once
        box = arr[first : last + 1, j_lo : j_hi + 1, i_lo : i_hi + 1]
        levels = box.reshape(box.shape[0], -1)
    else:  # sparse (a thin sheet across a wide area): gather straight from the slices
        levels = arr[first : last + 1].reshape(last + 1 - first, -1)
        local = corners
    counts = inside_xy.reshape(cols, nk).sum(axis=1)
    if mode == "mean" and footprint <= MATMUL_PER_SAMPLE * nk and levels.shape[1] == footprint:
        column = np.repeat(np.arange(cols), nk)[:, np.newaxis]
        share = weights / np.maximum(counts, 1)[column]
        mix = np.bincount(
            (local * cols + column).ravel(), weights=share.ravel(), minlength=levels.shape[1] * cols
        ).reshape(levels.shape[1], cols)
        per_level = levels.astype(np.float32) @ mix.astype(np.float32)  # (levels, cols)
        values = _along_k(per_level, k0 - first, fk)
    else:
        samples = levels[:, local[:, 0]] * weights[:, 0]
        for c in range(1, 4):
            samples += levels[:, local[:, c]] * weights[:, c]
        at_rows = _along_k(samples, k0 - first, fk)
        if mode == "mean":
            inside = inside_xy.reshape(cols, nk)
            values = np.where(inside.ravel(), at_rows, 0.0).reshape(-1, cols, nk).sum(axis=2)
            values /= np.maximum(counts, 1)
        else:
            values = np.where(inside_xy, at_rows, -np.inf).reshape(-1, cols, nk).max(axis=2)
    out[inside_rows] = np.where(counts > 0, values, np.nan)
    return out


def _along_k(
    levels: NDArray[np.float32], lo: NDArray[np.intp], frac: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Linear interpolation between consecutive levels (rows of ``levels``) at ``lo + frac``.

    Rows one level apart with a common fraction (pixel size = slice spacing) are slices,
    not gathers.
    """
    hi = np.minimum(lo + 1, len(levels) - 1)
    if (
        len(lo) > 1
        and abs(int(lo[1] - lo[0])) == 1
        and np.all(np.diff(lo) == lo[1] - lo[0])
        and np.ptp(frac) < 1e-6
    ):
        order = slice(None) if lo[1] > lo[0] else slice(None, None, -1)
        a = levels[lo.min() : lo.max() + 1][order]
        if frac[0] < 1e-6:
            return a
        b = levels[hi.min() : hi.max() + 1][order]
        return np.asarray(a + (b - a) * frac[0], dtype=np.float32)
    f = frac[:, np.newaxis]
    return np.asarray(levels[lo] * (1 - f) + levels[hi] * f, dtype=np.float32)


def _bilinear(x: FloatArray, y: FloatArray, nx: int, ny: int) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """Flat in-plane voxel indices ``(n, 4)`` and bilinear weights ``(n, 4)`` of grid points."""
    qx, qy = np.clip(x, 0.0, nx - 1.0), np.clip(y, 0.0, ny - 1.0)
    i0 = np.minimum(np.floor(qx).astype(np.intp), max(nx - 2, 0))
    j0 = np.minimum(np.floor(qy).astype(np.intp), max(ny - 2, 0))
    fx, fy = qx - i0, qy - j0
    i1, j1 = np.minimum(i0 + 1, nx - 1), np.minimum(j0 + 1, ny - 1)
    corners = np.column_stack([j0 * nx + i0, j0 * nx + i1, j1 * nx + i0, j1 * nx + i1])
    weights = np.column_stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    return corners, weights.astype(np.float32)


def slab_offsets(thickness_mm: float, spacing_mm: float, *, centre_mm: float = 0.0) -> FloatArray:
    """Offsets sampling a slab ``thickness_mm`` thick every ``spacing_mm`` at most.

    Both faces and the centre are included (an odd count), so a MIP never misses what the
    thin sheet shows. A thickness of 0 gives the single offset ``centre_mm``.
    """
    if not (thickness_mm >= 0 and math.isfinite(thickness_mm)):
        raise ValueError(f"slab thickness must be ≥ 0 mm, got {thickness_mm}")
    if thickness_mm == 0:
        return np.array([float(centre_mm)])
    count = 2 * math.ceil(0.5 * thickness_mm / spacing_mm - 1e-9) + 1
    return np.asarray(centre_mm + np.linspace(-thickness_mm / 2, thickness_mm / 2, count), dtype=float)
