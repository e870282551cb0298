"""Pure value computations for measurements: lengths, angles, areas, grey-value sampling.

Everything takes patient points (LPS, mm) or plane coordinates ``(u, v)`` in mm and never
pixels. The sampling functions read a :class:`~cbctviewer.core.volume.Volume`'s voxels
through its direction, spacing and origin, so they work for any oblique plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import sampling
from .geometry import Plane
from .volume import Volume

FloatArray = NDArray[np.float64]

__all__ = [
    "LineProfile",
    "RoiStats",
    "angle_deg",
    "distance",
    "ellipse_outline",
    "line_profile",
    "point_in_polygon",
    "polygon_area",
    "polyline_length",
    "roi_stats",
    "sample_nearest",
    "sample_trilinear",
]


def _points(points: ArrayLike, dim: int = 3) -> FloatArray:
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != dim or not np.all(np.isfinite(p)):
        raise ValueError(f"expected an (n, {dim}) array of finite numbers")
    return p


def distance(a: ArrayLike, b: ArrayLike) -> float:
    """Euclidean distance (mm) between two patient points."""
    return float(np.linalg.norm(np.asarray(b, dtype=float) - np.asarray(a, dtype=float)))


def angle_deg(a: ArrayLike, vertex: ArrayLike, b: ArrayLike) -> float:
    """Angle (degrees, 0–180) at ``vertex`` between the rays to ``a`` and ``b``.

    Raises ``ValueError`` when either ray has zero length.
    """
    u = np.asarray(a, dtype=float) - np.asarray(vertex, dtype=float)
    v = np.asarray(b, dtype=float) - np.asarray(vertex, dtype=float)
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu == 0.0 or nv == 0.0:
        raise ValueError("an angle needs two rays of non-zero length")
    # atan2 of |u×v| and u·v stays accurate near 0° and 180° (acos does not).
    return math.degrees(math.atan2(float(np.linalg.norm(np.cross(u, v))), float(u @ v)))


def polyline_length(points: ArrayLike, *, closed: bool = False) -> float:
    """Total length (mm) of an open (or ``closed``) polyline through patient points."""
    p = _points(points)
    if closed and len(p) > 2:
        p = np.vstack([p, p[:1]])
    return float(np.sum(np.linalg.norm(np.diff(p, axis=0), axis=1)))


def polygon_area(uv: ArrayLike) -> float:
    """Area (mm²) of a simple polygon given by its in-plane vertices ``(u, v)`` (shoelace)."""
    p = _points(uv, 2)
    if len(p) < 3:
        return 0.0
    u, v = p[:, 0], p[:, 1]
    return float(abs(np.dot(u, np.roll(v, -1)) - np.dot(v, np.roll(u, -1))) / 2.0)


def ellipse_outline(centre: ArrayLike, semi_axis_a: ArrayLike, semi_b: float, *, n: int = 128) -> FloatArray:
    """``n`` in-plane points ``(u, v)`` on an ellipse.

    ``semi_axis_a`` is the vector (u, v) from the centre to the end of the first semi-axis;
    the second semi-axis, of length ``semi_b``, is perpendicular to it.
    """
    c = np.asarray(centre, dtype=float)[:2]
    a = np.asarray(semi_axis_a, dtype=float)[:2]
    perp = np.array([-a[1], a[0]])
    norm = float(np.linalg.norm(perp))
    perp = perp / norm * semi_b if norm > 0 else perp
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.asarray(c + np.outer(np.cos(t), a) + np.outer(np.sin(t), perp), dtype=float)


def point_in_polygon(points: ArrayLike, polygon: ArrayLike) -> NDArray[np.bool_]:
    """Even-odd test of in-plane ``points`` (n, 2) against a ``polygon`` (m, 2)."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    poly = _points(polygon, 2)
    x, y = p[:, 0:1], p[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    hits = crosses & (x < x_at)
    return np.asarray(np.count_nonzero(hits, axis=1) % 2 == 1)


# ----------------------------------------------------------------------------- sampling


def _continuous_index(volume: Volume, points: ArrayLike) -> FloatArray:
    """Patient points (n, 3) → continuous (z, y, x) array indices (n, 3)."""
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    direction = np.asarray(volume.direction).reshape(3, 3)
    ijk = ((p - np.asarray(volume.origin)) @ direction) / np.asarray(volume.spacing)
    return np.asarray(ijk[:, ::-1], dtype=float)


def sample_nearest(volume: Volume, points: ArrayLike) -> FloatArray:
    """Grey value of the voxel containing each patient point (NaN outside the volume)."""
    array = volume.array
    if array.ndim == 2:
        array = array[np.newaxis]
    idx = np.rint(_continuous_index(volume, points)).astype(np.int64)
    shape = np.asarray(array.shape)
    inside = np.all((idx >= 0) & (idx < shape), axis=1)
    out = np.full(len(idx), np.nan)
    i = idx[inside]
    out[inside] = array[i[:, 0], i[:, 1], i[:, 2]]
    return out


def sample_trilinear(volume: Volume, points: ArrayLike) -> FloatArray:
    """Trilinearly interpolated grey value at each patient point (NaN outside the volume).

    A point is inside when it lies within the voxel centres' bounding box. One sampler
    serves the whole domain layer: :func:`cbctviewer.core.sampling.sample_trilinear`.
    """
    flat = np.asarray(points, dtype=float).reshape(-1, 3)
    return np.asarray(sampling.sample_trilinear(volume, flat), dtype=float)


@dataclass(frozen=True, slots=True)
class LineProfile:
    """Grey values along a segment: ``positions`` (mm from the start) and ``values``."""

    positions: FloatArray
    values: FloatArray
    step: float


def line_profile(
    volume: Volume, start: ArrayLike, end: ArrayLike, *, step: float | None = None
) -> LineProfile:
    """Sample the volume trilinearly from ``start`` to ``end`` (both included).

    ``step`` defaults to, and is never more than, half the smallest voxel spacing; the
    samples are evenly spaced so that the last one falls exactly on ``end``.
    """
    a, b = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    length = distance(a, b)
    limit = 0.5 * min(volume.spacing)
    step = limit if step is None else min(float(step), limit)
    if not step > 0:
        raise ValueError("step must be positive")
    n = max(math.ceil(length / step - 1e-9), 1) + 1
    t = np.linspace(0.0, 1.0, n)
    points = a + np.outer(t, b - a)
    return LineProfile(positions=t * length, values=sample_trilinear(volume, points), step=length / (n - 1))


@dataclass(frozen=True, slots=True)
class RoiStats:
    """Area of an in-plane region and statistics of the voxels sampled inside it."""

    area_mm2: float
    mean: float
    sd: float
    minimum: float
    maximum: float
    count: int


def roi_stats(
    volume: Volume | None, plane: Plane, outline_uv: ArrayLike, *, step: float | None = None
) -> RoiStats:
    """Area and grey statistics of the region bounded by ``outline_uv`` on ``plane``.

    The region is sampled on a square grid in the plane with ``step`` mm (default, and
    never more than, the smallest voxel spacing), nearest voxel values; samples outside
    the volume are ignored. Without a volume, only the area is filled (the rest NaN).
    """
    poly = _points(outline_uv, 2)
    area = polygon_area(poly)
    nan = float("nan")
    if volume is None:
        return RoiStats(area, nan, nan, nan, nan, 0)
    limit = min(volume.spacing)
    step = limit if step is None else min(float(step), limit)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    # A grid aligned on the outline's bounding box; sample centres at half steps.
    nu = max(math.ceil((hi[0] - lo[0]) / step), 1)
    nv = max(math.ceil((hi[1] - lo[1]) / step), 1)
    us = lo[0] + (np.arange(nu) + 0.5) * (hi[0] - lo[0]) / nu
    vs = lo[1] + (np.arange(nv) + 0.5) * (hi[1] - lo[1]) / nv
    grid = np.stack(np.meshgrid(us, vs, indexing="xy"), axis=-1).reshape(-1, 2)
    grid = grid[point_in_polygon(grid, poly)]
    values = sample_nearest(volume, plane.to_patient(grid)) if len(grid) else np.empty(0)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return RoiStats(area, nan, nan, nan, nan, 0)
    return RoiStats(
        area_mm2=area,
        mean=float(values.mean()),
        sd=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        minimum=float(values.min()),
        maximum=float(values.max()),
        count=len(values),
    )
