"""Grey values of a :class:`~cbctviewer.core.volume.Volume` at patient points, and 1D profiles.

Trilinear interpolation of the voxel grid at arbitrary patient points (LPS, mm), grey
profiles along a ray, and sub-sample threshold crossings of such profiles (linear
interpolation between the two samples that straddle the threshold). Pure numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]


def continuous_indices(volume: Volume, points: ArrayLike) -> FloatArray:
    """Continuous voxel indices ``(i, j, k)`` of patient points, shape ``(..., 3)``."""
    p = np.asarray(points, dtype=float)
    direction = np.asarray(volume.direction).reshape(3, 3)
    rel = p - np.asarray(volume.origin)
    return np.asarray((rel @ direction) / np.asarray(volume.spacing), dtype=float)


def contains(volume: Volume, points: ArrayLike) -> NDArray[np.bool_]:
    """True where a patient point lies inside the grid (between the outer voxel centres)."""
    idx = continuous_indices(volume, points)
    upper = np.asarray(volume.size, dtype=float) - 1.0
    tol = 1e-9
    return np.asarray(np.all((idx >= -tol) & (idx <= upper + tol), axis=-1))


def sample_trilinear(volume: Volume, points: ArrayLike, *, outside: float = np.nan) -> FloatArray:
    """Trilinearly interpolated grey values at patient points.

    Parameters
    ----------
    volume
        The volume to sample.
    points
        Patient points (LPS, mm), shape ``(3,)`` or ``(..., 3)``.
    outside
        Value returned for points outside the grid (beyond the outer voxel centres).

    Returns
    -------
    numpy.ndarray
        Float64 values of shape ``points.shape[:-1]``.
    """
    idx = continuous_indices(volume, points)
    shape = idx.shape[:-1]
    idx = idx.reshape(-1, 3)
    arr = volume.array
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    nz, ny, nx = arr.shape
    upper = np.array([nx - 1, ny - 1, nz - 1], dtype=float)
    tol = 1e-9
    inside = np.all((idx >= -tol) & (idx <= upper + tol), axis=1)
    out = np.full(idx.shape[0], float(outside))
    if np.any(inside):
        q = np.clip(idx[inside], 0.0, upper)
        lo = np.minimum(np.floor(q).astype(np.intp), np.maximum(upper.astype(np.intp) - 1, 0))
        f = q - lo
        hi = np.minimum(lo + 1, upper.astype(np.intp))
        i0, j0, k0 = lo[:, 0], lo[:, 1], lo[:, 2]
        i1, j1, k1 = hi[:, 0], hi[:, 1], hi[:, 2]
        fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]

        def at(k: NDArray[np.intp], j: NDArray[np.intp], i: NDArray[np.intp]) -> FloatArray:
            return np.asarray(arr[k, j, i], dtype=float)

        c00 = at(k0, j0, i0) * (1 - fx) + at(k0, j0, i1) * fx
        c01 = at(k0, j1, i0) * (1 - fx) + at(k0, j1, i1) * fx
        c10 = at(k1, j0, i0) * (1 - fx) + at(k1, j0, i1) * fx
        c11 = at(k1, j1, i0) * (1 - fx) + at(k1, j1, i1) * fx
        c0 = c00 * (1 - fy) + c01 * fy
        c1 = c10 * (1 - fy) + c11 * fy
        out[inside] = c0 * (1 - fz) + c1 * fz
    return out.reshape(shape)


def sample_ray(
    volume: Volume,
    start: ArrayLike,
    direction: ArrayLike,
    *,
    length_mm: float,
    step_mm: float = 0.1,
) -> tuple[FloatArray, FloatArray]:
    """Grey profile along ``start + t * direction`` for ``t`` in ``[0, length_mm]``.

    ``direction`` must be a unit vector. The profile stops at the last sample inside the
    grid, so the returned arrays may be shorter than ``length_mm / step_mm + 1``.

    Returns
    -------
    tuple of numpy.ndarray
        Distances ``t`` (mm) and the grey values there.
    """
    n = int(np.floor(length_mm / step_mm + 1e-9)) + 1
    t = np.arange(n, dtype=float) * step_mm
    pts = np.asarray(start, dtype=float) + t[:, np.newaxis] * np.asarray(direction, dtype=float)
    values = sample_trilinear(volume, pts)
    outside = np.flatnonzero(np.isnan(values))
    end = int(outside[0]) if outside.size else n
    return t[:end], values[:end]


def crossing(t: FloatArray, values: FloatArray, i: int, threshold: float) -> float:
    """Position between samples ``i`` and ``i + 1`` where the profile meets ``threshold``."""
    a, b = float(values[i]), float(values[i + 1])
    if a == b:
        return float(t[i])
    frac = (threshold - a) / (b - a)
    return float(t[i] + min(max(frac, 0.0), 1.0) * (t[i + 1] - t[i]))


def last_exit(t: FloatArray, values: FloatArray, threshold: float) -> tuple[float, bool]:
    """Where a profile leaves the above-threshold material for good: its last fall below.

    Everything after the returned position is below ``threshold`` up to the end of the
    profile, so dips inside the material (marrow spaces, a canal lumen) are crossed; the
    caller chooses the profile length so that it ends before unrelated structures.

    Returns
    -------
    tuple
        The crossing position (mm, sub-sample by linear interpolation) and ``True``; or,
        when the profile is still above threshold at its end, the last position and
        ``False``. Raises ``ValueError`` when no sample reaches ``threshold``.
    """
    above = np.flatnonzero(values >= threshold)
    if not above.size:
        raise ValueError("the profile never reaches the threshold")
    i = int(above[-1])
    if i == values.size - 1:
        return float(t[-1]), False
    return crossing(t, values, i, threshold), True
