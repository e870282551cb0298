"""Trilinear sampling of a curved sheet of a volume, thin or as a slab (mean or MIP).

The sheet is a set of columns; column ``c`` samples the points
``origin[c] + offset[k] * normal[c] + height[r] * up`` for every row height ``r`` and slab
offset ``k``, and reduces over ``k`` (mean or maximum). Each sample is the trilinear
interpolation of the voxel grid, exactly as :func:`cbctviewer.core.sampling.sample_trilinear`
would give it; samples outside the grid are left out of the reduction, and pixels with no
sample inside the grid get ``nan``.

When ``up`` runs along a grid axis (the usual case: the arch drawn on an axial view of a
scan with axial slices), every sample of a column at a given slab offset lies on one voxel
column of that axis. Trilinear interpolation is separable, so a block of columns reads its
footprint (the voxel columns under it, over the rows' levels) once, interpolates along the
axis (rows on slices are copies), and mixes four voxel columns per sample in plane. The
slab mean is linear, so its bilinear weights are summed per voxel column first; the MIP
needs every sample. Work is split into column blocks run on threads (numpy releases the
GIL in copies, gathers and arithmetic). No BLAS is used, so no BLAS thread setting
matters (products on BLAS threads were 2-4× slower on a busy 2-core machine).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.sampling import continuous_indices, sample_trilinear
from cbctviewer.core.tasks import CancelCheck, check_cancel
from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]
SlabReduce = Literal["mean", "mip"]
#: Grey values as stored (any numeric dtype) or interpolated (float32).
Grey = NDArray[Any]

#: Columns per work item: small enough to stay in cache, large enough to amortise numpy calls.
BLOCK_COLUMNS = 48
#: A MIP block holds every sample (columns × slab samples × rows) three times over: at most
#: this many columns × slab samples per block keeps thick slabs from spilling the caches.
MIP_BLOCK_SAMPLES = 48 * 51
_AXIS_TOLERANCE = 1e-9


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
    size = BLOCK_COLUMNS if mode == "mean" else max(8, min(BLOCK_COLUMNS, MIP_BLOCK_SAMPLES // len(offsets)))
    blocks = [slice(a, min(a + size, len(origins))) for a in range(0, len(origins), size)]

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
    """``up`` along the grid's k axis: 1D along k first, then bilinear in plane.

    Trilinear interpolation is separable, so the voxel columns the block touches are
    read once and interpolated along k to the row heights (rows that fall on slices are
    plain copies), laid out so that each voxel column's rows are contiguous; each sample
    column is then two in-plane linear interpolations of four such columns.
    """
    arr = volume.array
    nz, ny, nx = arr.shape
    cols, nk = len(origins), len(offsets)
    xy_points = origins[:, np.newaxis, :] + offsets[np.newaxis, :, np.newaxis] * normals[:, np.newaxis, :]
    idx = continuous_indices(volume, xy_points.reshape(-1, 3))  # (cols * nk, 3), column-major in k
    k_per_mm = float((np.asarray(volume.direction).reshape(3, 3).T @ up)[2] / volume.spacing[2])
    if np.ptp(idx[:, 2]) > 1e-6:  # column bases off one slice plane: no shared voxel columns
        return _generic_block(volume, origins, normals, up, heights, offsets, mode)
    k_rows = float(idx[0, 2]) + heights * k_per_mm
    tol = 1e-9
    inside_xy = (
        (idx[:, 0] >= -tol) & (idx[:, 0] <= nx - 1 + tol) & (idx[:, 1] >= -tol) & (idx[:, 1] <= ny - 1 + tol)
    )
    inside_rows = (k_rows >= -tol) & (k_rows <= nz - 1 + tol)
    out = np.full((len(heights), cols), np.nan, dtype=np.float32)
    if not (np.any(inside_xy) and np.any(inside_rows)):
        return out
    corners, fx, fy = _bilinear(idx[:, 0], idx[:, 1], nx, ny)
    counts = inside_xy.reshape(cols, nk).sum(axis=1)
    levels, local, lo, frac = _footprint(arr, corners, k_rows[inside_rows])
    if mode == "mean" and nk > 1:
        weights = _weights(fx, fy)
        if 2 * len(lo) <= len(levels):  # rows sparser than slices (preview): to the rows first
            values = _slab_means(_along_k(levels, lo, frac), local, weights, inside_xy, counts)
        else:  # the mean is linear: at every level, then along k (cheaper, no float copy)
            values = _along_k(_slab_means(levels, local, weights, inside_xy, counts), lo, frac)
        out[inside_rows] = np.where(counts > 0, values, np.nan)
        return out
    columns = np.ascontiguousarray(_along_k(levels, lo, frac).T, dtype=np.float32)
    samples = _mix_columns(columns, local, fx, fy)  # (cols * nk, rows inside)
    if mode == "mean":
        samples[~inside_xy] = 0.0
        values = samples.reshape(cols, nk, -1).sum(axis=1) / np.maximum(counts, 1)[:, np.newaxis]
    else:
        samples[~inside_xy] = -np.inf
        values = samples.reshape(cols, nk, -1).max(axis=1)
    out[inside_rows] = np.where(counts > 0, values.T, np.nan)
    return out


def _footprint(
    arr: Grey, corners: NDArray[np.intp], k: FloatArray
) -> tuple[Grey, NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    """The voxel columns holding ``corners`` (flat in-plane indices) over the levels of ``k``.

    Returns ``(levels, local, lo, frac)``: ``levels`` is ``(levels, voxels)``, ``local``
    the voxel (column of ``levels``) of each corner, and ``k`` lies between levels ``lo``
    and ``lo + 1`` at ``frac`` (see :func:`_along_k`).
    """
    nz, ny, nx = arr.shape
    kr = np.clip(k, 0.0, nz - 1.0)
    # Rows a rounding error away from a slice are on it (copies, not interpolations).
    kr = np.where(np.abs(kr - np.round(kr)) < 1e-9, np.round(kr), kr)
    k0 = np.minimum(np.floor(kr).astype(np.intp), max(nz - 2, 0))
    fk = (kr - k0).astype(np.float32)
    first, last = int(k0.min()), min(int(k0.max()) + 1, nz - 1)
    cj, ci = np.divmod(corners, nx)
    j_lo, j_hi, i_lo, i_hi = int(cj.min()), int(cj.max()), int(ci.min()), int(ci.max())
    if (j_hi - j_lo + 1) * (i_hi - i_lo + 1) <= corners.size:  # compact (a slab): copy the box
        box = arr[first : last + 1, j_lo : j_hi + 1, i_lo : i_hi + 1]
        levels = box.reshape(len(box), -1)
        local = (cj - j_lo) * (i_hi - i_lo + 1) + (ci - i_lo)
    else:  # sparse (a thin sheet across a wide area): only the voxel columns used
        voxels, local = np.unique(corners, return_inverse=True)
        local = local.reshape(corners.shape)
        # Slice by slice: ascending addresses within each slice (a view of a contiguous array).
        levels = np.take(arr[first : last + 1].reshape(last + 1 - first, ny * nx), voxels, axis=1)
    return levels, local, k0 - first, fk


def _slab_means(
    levels: Grey,
    local: NDArray[np.intp],
    weights: NDArray[np.float32],
    inside: NDArray[np.bool_],
    counts: NDArray[np.intp],
) -> NDArray[np.float32]:
    """Slab means ``(levels, cols)`` at every level (row of ``levels``).

    The mean is linear, so each pixel column's bilinear weights are first summed per voxel
    column (neighbouring slab samples share voxels), then every voxel column is read once
    per pixel column. (A dense matrix product would be faster on one core but BLAS threads
    on a busy machine stall it; this stays predictable.)
    """
    cols = len(counts)
    nk = len(local) // cols
    column = np.repeat(np.arange(cols), nk)[:, np.newaxis]
    share = np.where(inside[:, np.newaxis], weights, 0.0) / np.maximum(counts, 1)[column]
    pairs, which = np.unique((column * levels.shape[1] + local).ravel(), return_inverse=True)
    mix = np.bincount(which.ravel(), weights=share.ravel(), minlength=len(pairs)).astype(np.float32)
    pair_column, voxel = np.divmod(pairs, levels.shape[1])
    terms = np.multiply(np.take(levels, voxel, axis=1), mix, dtype=np.float32)
    # Pairs are sorted by pixel column and every pixel column has some (its corners).
    return np.add.reduceat(terms, np.searchsorted(pair_column, np.arange(cols)), axis=1)


def _mix_columns(
    columns: NDArray[np.float32], local: NDArray[np.intp], fx: NDArray[np.float32], fy: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Bilinear mix ``(n, rows)`` of the four columns ``local[:, 0..3]`` (i0j0, i1j0, i0j1, i1j1)."""
    fx, fy = fx[:, np.newaxis], fy[:, np.newaxis]
    near = np.take(columns, local[:, 0], axis=0)  # j0 row: lerp along i, in place
    step = np.take(columns, local[:, 1], axis=0)
    step -= near
    step *= fx
    near += step
    far = np.take(columns, local[:, 2], axis=0)  # j1 row
    np.take(columns, local[:, 3], axis=0, out=step)
    step -= far
    step *= fx
    far += step
    far -= near  # then along j
    far *= fy
    near += far
    return near


def _along_k(levels: Grey, lo: NDArray[np.intp], frac: NDArray[np.float32]) -> Grey:
    """Linear interpolation between consecutive levels (rows of ``levels``) at ``lo + frac``.

    Rows one level apart with a common fraction (pixel size = slice spacing) are slices,
    not gathers; rows on the levels themselves are returned as they are (a view).
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
        share = np.float32(frac[0])
        out = np.multiply(a, np.float32(1.0) - share, dtype=np.float32)
        out += np.multiply(b, share, dtype=np.float32)
        return out
    f = frac[:, np.newaxis]
    return np.asarray(levels[lo] * (1 - f) + levels[hi] * f, dtype=np.float32)


def _bilinear(
    x: FloatArray, y: FloatArray, nx: int, ny: int
) -> tuple[NDArray[np.intp], NDArray[np.float32], NDArray[np.float32]]:
    """Flat in-plane indices ``(n, 4)`` of the cells' corners and the fractions along i and j."""
    qx, qy = np.clip(x, 0.0, nx - 1.0), np.clip(y, 0.0, ny - 1.0)
    i0 = np.minimum(np.floor(qx).astype(np.intp), max(nx - 2, 0))
    j0 = np.minimum(np.floor(qy).astype(np.intp), max(ny - 2, 0))
    i1, j1 = np.minimum(i0 + 1, nx - 1), np.minimum(j0 + 1, ny - 1)
    corners = np.column_stack([j0 * nx + i0, j0 * nx + i1, j1 * nx + i0, j1 * nx + i1])
    return corners, (qx - i0).astype(np.float32), (qy - j0).astype(np.float32)


def _weights(fx: NDArray[np.float32], fy: NDArray[np.float32]) -> NDArray[np.float32]:
    """Bilinear weights ``(n, 4)`` of the corners given by :func:`_bilinear`."""
    return np.column_stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])


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
