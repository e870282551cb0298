"""Closed-form geometry for the dental phantom: the parabolic arch and signed distances.

Everything here is numpy only and vectorised. Signed distance functions (SDFs) are negative
inside a shape, positive outside, in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.floating]


@dataclass(frozen=True, slots=True)
class ParabolicArch:
    """The arch curve ``C(u) = (u, y0 + a*u**2)`` in the axial plane (LPS, mm).

    The parameter ``u`` is the x coordinate (patient's left positive). The vertex (the
    midline, anterior) is at ``(0, y0)``; the branches run posteriorly (+y). The buccal
    normal ``N(u)`` points away from the concave side, the tangent ``T(u)`` towards +u.
    """

    a: float
    y0: float

    def point(self, u: ArrayLike) -> FloatArray:
        """Points ``(x, y)`` on the curve, shape ``(..., 2)``."""
        u = np.asarray(u, dtype=float)
        return np.stack([u, self.y0 + self.a * u * u], axis=-1)

    def tangent(self, u: ArrayLike) -> FloatArray:
        """Unit tangent ``(tx, ty)`` towards increasing ``u``."""
        u = np.asarray(u, dtype=float)
        norm = np.sqrt(1.0 + 4.0 * self.a**2 * u * u)
        return np.stack([1.0 / norm, 2.0 * self.a * u / norm], axis=-1)

    def normal(self, u: ArrayLike) -> FloatArray:
        """Unit buccal normal ``(nx, ny)`` (outward: anterior at the midline, lateral behind)."""
        u = np.asarray(u, dtype=float)
        norm = np.sqrt(1.0 + 4.0 * self.a**2 * u * u)
        return np.stack([2.0 * self.a * u / norm, -1.0 / norm], axis=-1)

    def arc_length(self, u: ArrayLike) -> FloatArray:
        """Signed arc length from the vertex: ``s(u) = u/2*sqrt(1+4a²u²) + asinh(2au)/(4a)``."""
        u = np.asarray(u, dtype=float)
        k = 2.0 * self.a * u
        return 0.5 * u * np.sqrt(1.0 + k * k) + np.arcsinh(k) / (4.0 * self.a)

    def u_at_arc_length(self, s: ArrayLike) -> FloatArray:
        """Inverse of :meth:`arc_length` (Newton; ``ds/du = sqrt(1+4a²u²)``)."""
        s = np.asarray(s, dtype=float)
        u = s.copy()
        for _ in range(30):
            step = (self.arc_length(u) - s) / np.sqrt(1.0 + 4.0 * self.a**2 * u * u)
            u = u - step
            if np.all(np.abs(step) < 1e-13):
                break
        return u

    def project(
        self, x: ArrayLike, y: ArrayLike, *, guess: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Closest curve parameter ``u`` and signed buccal offset ``d`` of points (x, y).

        The foot of the perpendicular solves the depressed cubic
        ``u³ + p·u + q = 0`` with ``p = (1 + 2a(y0 - y)) / (2a²)`` and ``q = -x / (2a²)``,
        solved in closed form (trigonometric/hyperbolic) for ``|x|``; when three real roots
        exist (deep inside the arch) the outermost one is the nearest. ``d`` is the signed
        distance to the whole parabola, positive on the buccal (outer) side.

        ``guess`` (same shape, e.g. the answer for a neighbouring slice) switches to Newton
        iterations, which are cheaper; points where they do not provably reach the nearest
        root fall back to the closed form.
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        a = self.a
        scale = 1.0 / (2.0 * a * a)
        p = (1.0 + 2.0 * a * (self.y0 - y)) * scale
        if guess is None:
            u = self._cubic_root(p, x * scale)
        else:
            u = np.array(guess, dtype=np.float64, copy=True)
            q = x * scale
            with np.errstate(divide="ignore", invalid="ignore"):
                for _ in range(3):
                    step = (u * (u * u + p) - q) / (3.0 * u * u + p)
                    u -= step
            # The nearest foot is the only root with the sign of x where the squared
            # distance has a minimum (derivative 3u² + p > 0); anything else is redone.
            ok = (np.abs(step) < 1e-9 * (1.0 + np.abs(u))) & (3.0 * u * u + p > 0.0) & (u * x >= 0.0)
            redo = ~ok
            if np.any(redo):
                u[redo] = self._cubic_root(p[redo], q[redo])
        norm = np.sqrt(1.0 + 4.0 * a * a * u * u)
        d = ((x - u) * (2.0 * a * u) - (y - self.y0 - a * u * u)) / norm
        return u, d

    @staticmethod
    def _cubic_root(p: FloatArray, q_neg: FloatArray) -> FloatArray:
        """Nearest-foot root of ``u³ + p·u - q_neg = 0`` (``q_neg = x / (2a²)``), closed form."""
        big_q = np.abs(q_neg)  # solve for the mirrored point with x >= 0
        u = np.empty_like(p)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ap = np.maximum(np.abs(p), 1e-12)
            root = 2.0 * np.sqrt(ap / 3.0)
            r = 1.5 * big_q / ap * np.sqrt(3.0 / ap)
            # Evaluate each closed form only where it applies (transcendentals are costly).
            one = p >= 0.0
            u[one] = root[one] * np.sinh(np.arcsinh(r[one]) / 3.0)
            far = ~one & (r >= 1.0)
            u[far] = root[far] * np.cosh(np.arccosh(r[far]) / 3.0)
            three = ~one & (r < 1.0)
            u[three] = root[three] * np.cos(np.arccos(r[three]) / 3.0)
            bad = ~np.isfinite(u)
            u[bad] = np.cbrt(big_q[bad])
            # One Newton step polishes rounding near p ~ 0.
            f = u * u * u + p * u - big_q
            df = 3.0 * u * u + p
            u -= np.where(np.abs(df) > 1e-9, f / np.where(df == 0.0, 1.0, df), 0.0)
        return np.where(q_neg < 0.0, -u, u)


def ramp(sdf: FloatArray, width: float) -> FloatArray:
    """Partial-volume occupancy of a shape: 1 inside, 0 outside, 0.5 exactly on the surface.

    A smoothstep over ``width`` mm centred on the zero level, so thresholding the blended
    image half-way between two materials recovers the analytic surface.
    """
    t = np.clip(0.5 - sdf * np.float32(1.0 / width), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def sd_round_box(
    px: FloatArray,
    py: FloatArray,
    pz: FloatArray,
    hx: FloatArray | float,
    hy: FloatArray | float,
    hz: FloatArray | float,
    radius: FloatArray | float,
) -> FloatArray:
    """Exact SDF of an axis-aligned box (half extents h) with edges rounded by ``radius``."""
    qx = np.abs(px) - hx + radius
    qy = np.abs(py) - hy + radius
    qz = np.abs(pz) - hz + radius
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2 + np.maximum(qz, 0.0) ** 2)
    inside = np.minimum(np.maximum(np.maximum(qx, qy), qz), 0.0)
    return outside + inside - radius


def sd_round_cone_z(
    px: FloatArray,
    py: FloatArray,
    pz: FloatArray,
    top: ArrayLike,
    bottom: ArrayLike,
    r1: ArrayLike,
    r2: ArrayLike,
) -> FloatArray:
    """Exact SDF of a vertical round cone: sphere ``r1`` at ``z=top`` hulled with ``r2`` at ``z=bottom``.

    The axis is the local z axis (px, py measured from it); ``top > bottom``.
    """
    h = np.asarray(top) - np.asarray(bottom)
    rx = np.sqrt(px * px + py * py)
    ry = np.asarray(top) - pz  # distance down the axis from the top sphere
    # 2D problem in (rx, ry): circles r1 at ry=0 and r2 at ry=h (iq's round-cone SDF).
    b = (np.asarray(r1) - np.asarray(r2)) / h
    a = np.sqrt(np.maximum(1.0 - b * b, 0.0))
    k = -rx * b + ry * a  # projection onto the cone's side direction
    d_top = np.sqrt(rx * rx + ry * ry) - r1
    d_bottom = np.sqrt(rx * rx + (ry - h) ** 2) - r2
    d_side = rx * a + ry * b - r1
    return np.where(k < 0.0, d_top, np.where(k > a * h, d_bottom, d_side))


def sd_segment(points: FloatArray, start: ArrayLike, end: ArrayLike, radius: float) -> FloatArray:
    """Exact SDF of a capsule (segment ``start``-``end`` thickened by ``radius``); points (n, 3)."""
    a = np.asarray(start, dtype=float)
    ab = np.asarray(end, dtype=float) - a
    ap = points - a
    t = np.clip(ap @ ab / float(ab @ ab), 0.0, 1.0)
    closest = ap - t[:, None] * ab
    return np.sqrt(np.einsum("ij,ij->i", closest, closest)) - radius


def axis_frame(points: FloatArray, origin: ArrayLike, direction: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Distance ``t`` along a unit axis from ``origin`` and radial distance from it; points (n, 3)."""
    rel = points - np.asarray(origin, dtype=float)
    n = np.asarray(direction, dtype=float)
    t = rel @ n
    radial = rel - t[:, None] * n
    return t, np.sqrt(np.einsum("ij,ij->i", radial, radial))


def sd_capped_cylinder(t: FloatArray, radial: FloatArray, radius: float, length: float) -> FloatArray:
    """Exact SDF of a cylinder along an axis from ``t=0`` to ``t=length`` (inputs from :func:`axis_frame`)."""
    dx = radial - radius
    dy = np.abs(t - 0.5 * length) - 0.5 * length
    outside = np.sqrt(np.maximum(dx, 0.0) ** 2 + np.maximum(dy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(dx, dy), 0.0)


def smooth_min(a: FloatArray, b: FloatArray, k: float) -> FloatArray:
    """Polynomial smooth minimum (union with a fillet of about ``k`` mm); ``min`` when ``|a-b| >= k``."""
    h = np.maximum(k - np.abs(a - b), 0.0)
    return np.minimum(a, b) - h * h * np.float32(0.25 / k)


def rotation_matrix(axis: ArrayLike, angle_deg: float) -> FloatArray:
    """Rotation by ``angle_deg`` about the unit vector ``axis`` (right-hand rule, Rodrigues)."""
    n = np.asarray(axis, dtype=float)
    n = n / np.linalg.norm(n)
    theta = np.deg2rad(angle_deg)
    k = np.array([[0.0, -n[2], n[1]], [n[2], 0.0, -n[0]], [-n[1], n[0], 0.0]])
    return np.eye(3) + np.sin(theta) * k + (1.0 - np.cos(theta)) * (k @ k)


def rigid_matrix(rotation: FloatArray, translation: ArrayLike) -> FloatArray:
    """4×4 homogeneous matrix ``[[R, t], [0, 1]]``."""
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = np.asarray(translation, dtype=float)
    return m


def apply_matrix(matrix: FloatArray, points: ArrayLike) -> FloatArray:
    """Apply a 4×4 rigid matrix to points of shape (..., 3)."""
    p = np.asarray(points, dtype=float)
    return p @ matrix[:3, :3].T + matrix[:3, 3]
