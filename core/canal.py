"""A traced mandibular canal: clicked control points, a smooth centreline and a tube.

The user clicks points along the canal on the panoramic and/or the cross-sections; the
canal is the tube of ``diameter_mm`` about the smooth curve through those points
(centripetal Catmull–Rom from :mod:`cbctviewer.core.spline`). Distances to the canal are
measured to the tube surface: positive outside, negative inside. Editing returns new
values (the evented :class:`~cbctviewer.core.dental_state.DentalState` keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.implant_site import Canal

FloatArray = NDArray[np.float64]
CanalSide = Literal["left", "right"]
SIDES: tuple[CanalSide, ...] = ("left", "right")
DEFAULT_DIAMETER_MM = 2.0


def _points_array(points: ArrayLike) -> FloatArray:
    p = np.array(points, dtype=float)
    if p.size == 0:
        p = p.reshape(0, 3)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 1 or not np.all(np.isfinite(p)):
        raise ValueError("canal points must be a non-empty (n, 3) array of finite numbers")
    p.setflags(write=False)
    return p


def _resample_linear(points: FloatArray, step_mm: float) -> FloatArray:
    """Uniform arc-length resampling of a polyline (both ends kept)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0.0:
        return points[:1].copy()
    n = max(int(np.ceil(s[-1] / step_mm)), 1) + 1
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, points[:, k]) for k in range(3)])


def smooth_curve(points: FloatArray, step_mm: float) -> FloatArray:
    """Smooth curve through ``points`` sampled every ~``step_mm`` (linear fallback)."""
    # Coincident consecutive clicks would make the spline degenerate: drop them.
    keep = np.concatenate([[True], np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-6])
    pts = points[keep]
    if len(pts) < 2:
        return pts.copy()
    try:
        from cbctviewer.core.spline import catmull_rom
    except ImportError:  # dental-core's spline module not there yet
        return _resample_linear(pts, step_mm)
    return np.asarray(catmull_rom(pts, step_mm=step_mm), dtype=float)


def polyline_nearest(polyline: FloatArray, points: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Nearest points on a polyline for each query point.

    Returns
    -------
    tuple of numpy.ndarray
        Arc position ``s`` (mm from the first vertex), the nearest point and the distance,
        with shapes ``(m,)``, ``(m, 3)``, ``(m,)`` for ``(m, 3)`` queries.
    """
    q = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(polyline) == 1:
        d = np.linalg.norm(q - polyline[0], axis=1)
        return np.zeros(len(q)), np.repeat(polyline[:1], len(q), axis=0), d
    a, ab = polyline[:-1], np.diff(polyline, axis=0)
    seg_len = np.linalg.norm(ab, axis=1)
    s0 = np.concatenate([[0.0], np.cumsum(seg_len)])[:-1]
    denom = np.maximum(seg_len**2, 1e-12)
    best_d = np.full(len(q), np.inf)
    best_s = np.zeros(len(q))
    best_p = np.zeros((len(q), 3))
    # Chunk the queries so (queries × segments) stays small.
    for start in range(0, len(q), 256):
        qq = q[start : start + 256]
        rel = qq[:, np.newaxis, :] - a[np.newaxis]
        u = np.clip(np.einsum("mnj,nj->mn", rel, ab) / denom, 0.0, 1.0)
        closest = a[np.newaxis] + u[..., np.newaxis] * ab[np.newaxis]
        dist = np.linalg.norm(qq[:, np.newaxis, :] - closest, axis=2)
        j = np.argmin(dist, axis=1)
        rows = np.arange(len(qq))
        best_d[start : start + 256] = dist[rows, j]
        best_s[start : start + 256] = s0[j] + u[rows, j] * seg_len[j]
        best_p[start : start + 256] = closest[rows, j]
    return best_s, best_p, best_d


@dataclass(frozen=True, eq=False)
class CanalPath:
    """A traced canal on one side.

    Parameters
    ----------
    side
        ``"left"`` or ``"right"`` (the patient's side).
    points
        ``(n, 3)`` clicked control points (patient LPS mm), n >= 1, in tracing order.
    diameter_mm
        Tube diameter (the canal lumen), default 2 mm.
    """

    side: CanalSide
    points: FloatArray
    diameter_mm: float = DEFAULT_DIAMETER_MM
    _cache: dict[float, FloatArray] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"canal side must be 'left' or 'right', got {self.side!r}")
        object.__setattr__(self, "points", _points_array(self.points))
        d = float(self.diameter_mm)
        if not (np.isfinite(d) and d > 0.0):
            raise ValueError(f"canal diameter must be a positive number, got {self.diameter_mm}")
        object.__setattr__(self, "diameter_mm", d)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CanalPath):
            return NotImplemented
        return (
            self.side == other.side
            and self.diameter_mm == other.diameter_mm
            and self.points.shape == other.points.shape
            and bool(np.array_equal(self.points, other.points))
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def radius_mm(self) -> float:
        """Half the diameter (mm)."""
        return 0.5 * self.diameter_mm

    def centreline(self, step_mm: float = 0.25) -> FloatArray:
        """The smooth curve through the control points, sampled every ~``step_mm`` (m, 3).

        One control point gives that single point. The result is cached per step.
        """
        if not step_mm > 0:
            raise ValueError(f"step must be positive, got {step_mm}")
        line = self._cache.get(step_mm)
        if line is None:
            line = smooth_curve(self.points, float(step_mm))
            line.setflags(write=False)
            self._cache[step_mm] = line
        return line

    @property
    def length_mm(self) -> float:
        """Length of the centreline (mm)."""
        line = self.centreline()
        return float(np.sum(np.linalg.norm(np.diff(line, axis=0), axis=1)))

    def nearest(self, point: ArrayLike) -> tuple[float, FloatArray, float]:
        """Nearest centreline point to ``point``.

        Returns
        -------
        tuple
            ``(s, centreline point, distance to the tube surface)`` with ``s`` the arc
            position (mm from the first control point); the distance is negative inside.
        """
        s, p, d = polyline_nearest(self.centreline(), point)
        return float(s[0]), p[0], float(d[0]) - self.radius_mm

    def distance_to(self, point: ArrayLike) -> float:
        """Distance (mm) from ``point`` to the tube surface; negative inside the canal."""
        return self.nearest(point)[2]

    def distances_to(self, points: ArrayLike) -> FloatArray:
        """:meth:`distance_to` for an ``(m, 3)`` array of points."""
        return polyline_nearest(self.centreline(), points)[2] - self.radius_mm

    def to_site_canal(self) -> Canal:
        """The implant-site tool's limit: centreline and lumen radius."""
        return Canal.from_points(self.centreline(), self.radius_mm)

    # ---------------------------------------------------------------- editing
    def with_point(self, point: ArrayLike, *, index: int | None = None) -> CanalPath:
        """A copy with ``point`` inserted before ``index`` (appended when ``None``)."""
        p = np.asarray(point, dtype=float).reshape(1, 3)
        i = len(self.points) if index is None else int(index)
        if not -len(self.points) <= i <= len(self.points):
            raise IndexError(f"canal point index {index} out of range")
        return CanalPath(self.side, np.insert(self.points, i, p, axis=0), self.diameter_mm)

    def moved(self, index: int, point: ArrayLike) -> CanalPath:
        """A copy with control point ``index`` moved to ``point``."""
        pts = self.points.copy()
        pts[index] = np.asarray(point, dtype=float).reshape(3)
        return CanalPath(self.side, pts, self.diameter_mm)

    def removed(self, index: int) -> CanalPath | None:
        """A copy without control point ``index`` (``None`` when it was the last one)."""
        if len(self.points) == 1:
            if index not in (0, -1):
                raise IndexError(f"canal point index {index} out of range")
            return None
        return CanalPath(self.side, np.delete(self.points, index, axis=0), self.diameter_mm)

    def with_diameter(self, diameter_mm: float) -> CanalPath:
        """A copy with another tube diameter."""
        return CanalPath(self.side, self.points, diameter_mm)

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (points as lists of floats)."""
        return {"side": self.side, "diameter_mm": self.diameter_mm, "points": self.points.tolist()}

    @classmethod
    def from_dict(cls, d: Any) -> CanalPath:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on malformed data."""
        if not isinstance(d, dict):
            raise ValueError("a canal must be a JSON object")
        try:
            return cls(d["side"], d["points"], float(d.get("diameter_mm", DEFAULT_DIAMETER_MM)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed canal: {exc}") from None
