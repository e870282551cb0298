"""Centripetal Catmull–Rom splines and arc-length tools for polylines (patient mm).

The dental arch is drawn by clicking control points; :func:`catmull_rom` turns them into a
smooth curve through every point (the centripetal variant never overshoots into loops or
cusps between close points) and resamples it at a uniform arc-length step, so that sample
index × step is the distance along the curve in mm. All functions are pure numpy.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: Consecutive points closer than this (mm) are treated as one.
DUPLICATE_MM = 1e-6
#: Chord length (mm) of the dense evaluation before uniform resampling; its arc-length
#: error (≈ chord² · curvature² / 24 relative) is negligible for dental curvatures.
DENSE_CHORD_MM = 0.05


def _as_points(points: ArrayLike) -> FloatArray:
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] not in (2, 3) or not np.all(np.isfinite(p)):
        raise ValueError("points must be an (n, 2) or (n, 3) array of finite numbers")
    return p


def _distinct(points: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """Drop consecutive duplicates; also return, per input point, its index among the kept."""
    if len(points) == 0:
        return points, np.zeros(0, dtype=np.intp)
    gaps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.concatenate([[True], gaps > DUPLICATE_MM])
    return points[keep], np.cumsum(keep) - 1


def polyline_length(points: ArrayLike) -> float:
    """Total length (mm) of a polyline given as ``(n, 2|3)`` points (0 for fewer than 2)."""
    p = _as_points(points)
    if len(p) < 2:
        return 0.0
    return float(np.sum(np.linalg.norm(np.diff(p, axis=0), axis=1)))


def cumulative_length(points: ArrayLike) -> FloatArray:
    """Arc length (mm) from the first point to each point of a polyline, shape ``(n,)``."""
    p = _as_points(points)
    if len(p) == 0:
        return np.zeros(0)
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def interpolate_at(points: ArrayLike, s_mm: ArrayLike) -> FloatArray:
    """Points at arc positions ``s_mm`` along a polyline (clamped to its ends).

    Returns an array of shape ``(*np.shape(s_mm), dim)``.
    """
    p = _as_points(points)
    s = cumulative_length(p)
    q = np.asarray(s_mm, dtype=float)
    flat = q.reshape(-1)
    out = np.column_stack([np.interp(flat, s, p[:, k]) for k in range(p.shape[1])])
    return out.reshape(*q.shape, p.shape[1])


def resample_polyline(points: ArrayLike, step_mm: float) -> FloatArray:
    """Resample a polyline at a uniform arc-length step, keeping both ends.

    The step is adjusted to the nearest value that divides the length into whole
    intervals, so the result has ``round(length / step_mm) + 1`` points (at least 2).

    Parameters
    ----------
    points
        ``(n, 2|3)`` polyline, ``n >= 1``.
    step_mm
        Wanted spacing along the polyline (mm), positive.

    Returns
    -------
    numpy.ndarray
        ``(m, dim)`` points equally spaced in arc length.
    """
    if not (step_mm > 0 and math.isfinite(step_mm)):
        raise ValueError(f"step must be a positive number of mm, got {step_mm}")
    p, _ = _distinct(_as_points(points))
    if len(p) < 2:
        raise ValueError("a polyline needs at least two distinct points")
    length = polyline_length(p)
    count = max(1, round(length / step_mm))
    return interpolate_at(p, np.linspace(0.0, length, count + 1))


def _segment(p0: FloatArray, p1: FloatArray, p2: FloatArray, p3: FloatArray, u: FloatArray) -> FloatArray:
    """Barry–Goldman evaluation of one centripetal segment from ``p1`` to ``p2`` at ``u ∈ [0, 1]``."""
    eps = 1e-12
    t0 = 0.0
    t1 = t0 + max(float(np.linalg.norm(p1 - p0)) ** 0.5, eps)
    t2 = t1 + max(float(np.linalg.norm(p2 - p1)) ** 0.5, eps)
    t3 = t2 + max(float(np.linalg.norm(p3 - p2)) ** 0.5, eps)
    t = (t1 + u * (t2 - t1))[:, np.newaxis]
    a1 = ((t1 - t) * p0 + (t - t0) * p1) / (t1 - t0)
    a2 = ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
    a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
    b1 = ((t2 - t) * a1 + (t - t0) * a2) / (t2 - t0)
    b2 = ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
    return np.asarray(((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1), dtype=float)


def dense_catmull_rom(
    points: ArrayLike, *, closed: bool = False, chord_mm: float = DENSE_CHORD_MM
) -> tuple[FloatArray, FloatArray]:
    """Evaluate the centripetal Catmull–Rom spline densely (chords ≲ ``chord_mm``).

    Open curves get mirrored phantom end points (``2·P0 − P1``), so two points give a
    straight segment. Consecutive duplicate points are merged.

    Returns
    -------
    tuple of numpy.ndarray
        The dense polyline ``(m, dim)`` (passing exactly through every control point) and
        the arc position (mm, along that polyline) of each input point, shape ``(n,)``.
    """
    raw = _as_points(points)
    p, index_of = _distinct(raw)
    if closed and len(p) > 2 and np.linalg.norm(p[-1] - p[0]) <= DUPLICATE_MM:
        p = p[:-1]
        index_of = np.minimum(index_of, len(p) - 1)
    n = len(p)
    if n < 2:
        raise ValueError("a curve needs at least two distinct points")
    if closed:
        padded = np.vstack([p[-1], p, p[0], p[1]])
        segments = n
    else:
        padded = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
        segments = n - 1
    pieces = [p[:1]]
    knot_rows = [0]
    for i in range(segments):
        p0, p1, p2, p3 = padded[i], padded[i + 1], padded[i + 2], padded[i + 3]
        chord = float(np.linalg.norm(p2 - p1))
        samples = max(8, math.ceil(1.5 * chord / chord_mm))
        u = np.linspace(0.0, 1.0, samples + 1)[1:]
        pieces.append(_segment(p0, p1, p2, p3, u))
        knot_rows.append(knot_rows[-1] + samples)
    dense = np.vstack(pieces)
    s = cumulative_length(dense)
    knot_s = s[np.asarray(knot_rows)]
    return dense, knot_s[index_of]


def catmull_rom(points: ArrayLike, *, step_mm: float = 0.25, closed: bool = False) -> FloatArray:
    """Centripetal Catmull–Rom curve through all ``points``, resampled uniformly in arc length.

    Parameters
    ----------
    points
        ``(n, 2|3)`` control points, at least two distinct ones; two give a straight segment.
    step_mm
        Wanted spacing of the output samples along the curve (mm); adjusted slightly so
        that both ends are kept (see :func:`resample_polyline`).
    closed
        Join the last point back to the first with a smooth segment.

    Returns
    -------
    numpy.ndarray
        ``(m, dim)`` points on the curve, first = first control point (and last = last
        control point for an open curve).
    """
    dense, _ = dense_catmull_rom(points, closed=closed)
    if closed:
        dense = np.vstack([dense, dense[:1]])
    return resample_polyline(dense, step_mm)


def nearest_on_polyline(polyline: ArrayLike, point: ArrayLike) -> tuple[float, FloatArray, float]:
    """The point of a polyline nearest to ``point``.

    Returns
    -------
    tuple
        ``(s_mm, nearest, distance)``: arc position of the nearest point from the first
        vertex, the nearest point itself and its distance to ``point`` (mm).
    """
    p = _as_points(polyline)
    q = np.asarray(point, dtype=float).reshape(-1)
    if q.shape != (p.shape[1],) or not np.all(np.isfinite(q)):
        raise ValueError("point must be a finite point of the polyline's dimension")
    if len(p) == 1:
        return 0.0, p[0].copy(), float(np.linalg.norm(q - p[0]))
    a, b = p[:-1], p[1:]
    ab = b - a
    denom = np.einsum("ij,ij->i", ab, ab)
    t = np.einsum("ij,ij->i", q - a, ab) / np.where(denom > 0, denom, 1.0)
    t = np.clip(np.where(denom > 0, t, 0.0), 0.0, 1.0)
    foot = a + t[:, np.newaxis] * ab
    dist2 = np.einsum("ij,ij->i", foot - q, foot - q)
    i = int(np.argmin(dist2))
    s = cumulative_length(p)
    return float(s[i] + t[i] * math.sqrt(denom[i])), foot[i].copy(), float(math.sqrt(dist2[i]))
