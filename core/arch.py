"""The dental arch curve: control points clicked on an axial view and the frames along it.

An :class:`ArchCurve` is an immutable value (editing returns a new curve) holding the
clicked control points (patient LPS mm) and the ``up`` direction (superior of the
panoramic; the axial plane's normal towards the head). The curve itself is the centripetal
Catmull–Rom spline through the control points after projecting them onto the *curve plane*:
the plane perpendicular to ``up`` at the control points' mean height. Along it every arc
position ``s`` (mm from the first control point) has an orthonormal frame:

- ``tangent``: direction of increasing ``s``;
- ``normal``: perpendicular to ``up`` and the tangent, pointing **buccal**, i.e. away from the
  concave side of the arch (outwards of the U). The side is chosen once for the whole curve
  from its total turning, so it never flips at an inflection; a straight curve uses
  ``tangent × up``;
- ``up``.

A patient point has arch coordinates ``(s, buccal offset, height)`` (see
:meth:`ArchCurve.locate`); the panoramic and cross-sections are built on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.spline import DENSE_CHORD_MM, dense_catmull_rom, interpolate_at, nearest_on_polyline

FloatArray = NDArray[np.float64]

#: Version of the dict written by :meth:`ArchCurve.to_dict`.
ARCH_DICT_VERSION = 1


def _readonly(array: ArrayLike) -> FloatArray:
    a = np.array(array, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True)
class ArchFrames:
    """Samples along an arch: positions, unit tangents, unit buccal normals and arc positions.

    ``points``, ``tangents`` and ``normals`` have shape ``(m, 3)`` (patient mm / unit
    vectors), ``s`` shape ``(m,)`` (mm from the first control point), ``up`` shape ``(3,)``.
    """

    points: FloatArray
    tangents: FloatArray
    normals: FloatArray
    s: FloatArray
    up: FloatArray


@dataclass(frozen=True, eq=False)
class ArchCurve:
    """A dental arch: control points (patient LPS mm, ``n >= 2``) and the ``up`` direction.

    Raises ``ValueError`` when the points are not finite, fewer than two, or all project to
    one point of the curve plane. Equality compares the values of the arrays.
    """

    control_points: FloatArray
    up: FloatArray = (0.0, 0.0, 1.0)  # type: ignore[assignment]  # normalised to an array below
    _dense: FloatArray = field(init=False, repr=False)
    _knot_s: FloatArray = field(init=False, repr=False)
    _plane_height: float = field(init=False, repr=False)
    _side: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        points = np.asarray(self.control_points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) < 2 or not np.all(np.isfinite(points)):
            raise ValueError("an arch needs at least two control points, each three finite numbers")
        up = np.asarray(self.up, dtype=float).reshape(-1)
        norm = float(np.linalg.norm(up)) if up.shape == (3,) else 0.0
        if not (norm > 0 and math.isfinite(norm)):
            raise ValueError("the arch's up direction must be a non-zero finite 3-vector")
        up = up / norm
        height = float(np.mean(points @ up))
        projected = points - np.outer(points @ up - height, up)
        try:
            dense, knot_s = dense_catmull_rom(projected)
        except ValueError:
            raise ValueError("the arch's control points all lie on one spot of the axial plane") from None
        d = np.diff(dense, axis=0)
        turning = float(np.sum(np.cross(d[:-1], d[1:]) @ up)) if len(d) > 1 else 0.0
        object.__setattr__(self, "control_points", _readonly(points))
        object.__setattr__(self, "up", _readonly(up))
        object.__setattr__(self, "_dense", _readonly(dense))
        object.__setattr__(self, "_knot_s", _readonly(knot_s))
        object.__setattr__(self, "_plane_height", height)
        object.__setattr__(self, "_side", 1.0 if turning >= 0 else -1.0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArchCurve):
            return NotImplemented
        return bool(
            np.array_equal(self.control_points, other.control_points) and np.array_equal(self.up, other.up)
        )

    def __hash__(self) -> int:
        return hash((self.control_points.tobytes(), self.up.tobytes()))

    # -- geometry -------------------------------------------------------------------------
    @property
    def length_mm(self) -> float:
        """Arc length of the curve (mm)."""
        return float(self._knot_s[-1]) if len(self._knot_s) else 0.0

    @property
    def plane_height(self) -> float:
        """Height of the curve plane along ``up`` (``point · up``, mm)."""
        return self._plane_height

    @property
    def control_s(self) -> FloatArray:
        """Arc position (mm) of each control point along the curve, shape ``(n,)``."""
        return self._knot_s

    @property
    def polyline(self) -> FloatArray:
        """The curve as a dense polyline in the curve plane (chords ≈ 0.05 mm), ``(m, 3)``."""
        return self._dense

    def frames_at(self, s_mm: ArrayLike) -> ArchFrames:
        """Frames at arbitrary arc positions (clamped to ``[0, length_mm]``)."""
        s = np.clip(np.atleast_1d(np.asarray(s_mm, dtype=float)), 0.0, self.length_mm)
        points = interpolate_at(self._dense, s)
        h = DENSE_CHORD_MM
        ahead = interpolate_at(self._dense, np.minimum(s + h, self.length_mm))
        behind = interpolate_at(self._dense, np.maximum(s - h, 0.0))
        tangents = ahead - behind
        tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
        normals = self._side * np.cross(tangents, self.up)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        return ArchFrames(points=points, tangents=tangents, normals=normals, s=s, up=self.up.copy())

    def frames(self, step_mm: float) -> ArchFrames:
        """Frames every ``step_mm`` of arc from the first control point.

        The positions are exact multiples of ``step_mm`` (so a panoramic column is exactly
        ``step_mm`` wide); the last sample is the last multiple not beyond the curve's end.
        """
        if not (step_mm > 0 and math.isfinite(step_mm)):
            raise ValueError(f"step must be a positive number of mm, got {step_mm}")
        count = math.floor(self.length_mm / step_mm + 1e-9) + 1
        return self.frames_at(step_mm * np.arange(count, dtype=float))

    def frame_at(self, s_mm: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(point, tangent, buccal normal)`` at arc position ``s_mm`` (clamped to the curve)."""
        f = self.frames_at([s_mm])
        return f.points[0], f.tangents[0], f.normals[0]

    def locate(self, point: ArrayLike) -> tuple[float, float, float]:
        """Arch coordinates of a patient point by nearest-point projection.

        Returns
        -------
        tuple of float
            ``(s_mm, buccal_offset_mm, height_mm)``: arc position of the nearest curve
            point, signed distance along its buccal normal (lingual is negative) and height
            along ``up`` above the curve plane. Beyond the curve's ends ``s`` is clamped.
        """
        p = np.asarray(point, dtype=float).reshape(-1)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise ValueError("a point is three finite numbers")
        height = float(p @ self.up) - self._plane_height
        in_plane = p - height * self.up
        s, _, _ = nearest_on_polyline(self._dense, in_plane)
        s = self._refine(s, in_plane)
        foot, _, normal = self.frame_at(s)
        return s, float((in_plane - foot) @ normal), height

    def _refine(self, s: float, in_plane: FloatArray) -> float:
        """Where ``in_plane`` lies on the normal line of the smoothed frames near ``s``.

        The polyline's nearest point can be off by a few µm at large offsets (its chords
        turn in steps); this makes :meth:`locate` invert :meth:`point_at` exactly.
        """
        span = 4 * DENSE_CHORD_MM
        candidates = np.linspace(s - span, s + span, 81)
        f = self.frames_at(candidates)
        along = np.einsum("ij,ij->i", in_plane - f.points, f.tangents)
        change = np.flatnonzero((along[:-1] >= 0) & (along[1:] < 0))
        if not change.size:
            return s
        i = int(change[np.argmin(np.abs(candidates[change] - s))])
        a, b = along[i], along[i + 1]
        return float(
            np.clip(candidates[i] + a / (a - b) * (candidates[i + 1] - candidates[i]), 0, self.length_mm)
        )

    def point_at(self, s_mm: float, offset_mm: float = 0.0, height_mm: float = 0.0) -> FloatArray:
        """The patient point with arch coordinates ``(s, buccal offset, height)``."""
        point, _, normal = self.frame_at(s_mm)
        return point + offset_mm * normal + height_mm * self.up

    # -- editing ----------------------------------------------------------------------------
    def _with_points(self, points: ArrayLike) -> ArchCurve:
        return ArchCurve(np.asarray(points, dtype=float), self.up)

    def _check_index(self, index: int, *, upper: int) -> int:
        i = int(index)
        if not 0 <= i <= upper:
            raise IndexError(f"control point index {index} out of range 0..{upper}")
        return i

    def moved(self, index: int, point: ArrayLike) -> ArchCurve:
        """A copy with control point ``index`` moved to ``point``."""
        i = self._check_index(index, upper=len(self.control_points) - 1)
        points = self.control_points.copy()
        points[i] = np.asarray(point, dtype=float).reshape(3)
        return self._with_points(points)

    def inserted(self, index: int, point: ArrayLike) -> ArchCurve:
        """A copy with ``point`` inserted before control point ``index`` (``n`` appends)."""
        i = self._check_index(index, upper=len(self.control_points))
        new = np.asarray(point, dtype=float).reshape(1, 3)
        return self._with_points(np.vstack([self.control_points[:i], new, self.control_points[i:]]))

    def removed(self, index: int) -> ArchCurve:
        """A copy without control point ``index``; ``ValueError`` when only two are left."""
        i = self._check_index(index, upper=len(self.control_points) - 1)
        if len(self.control_points) <= 2:
            raise ValueError("an arch needs at least two control points")
        return self._with_points(np.delete(self.control_points, i, axis=0))

    def insert_index(self, point: ArrayLike) -> int:
        """Where a control point clicked at ``point`` belongs (an index for :meth:`inserted`).

        Between the two control points whose arc positions bracket the point's nearest
        curve position; ``0`` or ``n`` when it lies beyond the first or last end.
        """
        s, _, _ = self.locate(point)
        n = len(self.control_points)
        p = np.asarray(point, dtype=float).reshape(3)
        in_plane = p - (float(p @ self.up) - self._plane_height) * self.up
        start, start_tangent, _ = self.frame_at(0.0)
        end, end_tangent, _ = self.frame_at(self.length_mm)
        if s <= 1e-9 and float((in_plane - start) @ start_tangent) < 0:
            return 0
        if s >= self.length_mm - 1e-9 and float((in_plane - end) @ end_tangent) > 0:
            return n
        return int(np.clip(np.searchsorted(self._knot_s, s, side="right"), 1, n - 1))

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"version", "control_points": [[x, y, z], …], "up": [x, y, z]}``."""
        return {
            "version": ARCH_DICT_VERSION,
            "control_points": [[float(v) for v in p] for p in self.control_points],
            "up": [float(v) for v in self.up],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchCurve:
        """Rebuild from :meth:`to_dict` output; ``ValueError`` in plain words on bad input."""
        if not isinstance(data, dict) or "control_points" not in data:
            raise ValueError("an arch needs a 'control_points' list")
        try:
            points = np.asarray(data["control_points"], dtype=float)
            up = np.asarray(data.get("up", (0.0, 0.0, 1.0)), dtype=float)
        except (TypeError, ValueError):
            raise ValueError("the arch's points must be lists of numbers") from None
        return cls(points, up)
