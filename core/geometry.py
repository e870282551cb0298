"""Planes, rotations and the exact mapping between view pixels, plane mm and patient mm.

Everything is in patient coordinates (LPS, millimetres): +x is the patient's left, +y
posterior, +z superior. A :class:`Plane` is an origin plus two in-plane unit axes; its
normal ``x_axis × y_axis`` points towards the person looking at it. A
:class:`SliceGeometry` lays a ``width × height`` pixel grid on a plane.

Pixel coordinates are ``(row, col)`` like numpy image indexing: row 0 is the top row,
integer values are pixel centres, and they may be fractional. All functions are pure and
accept a single point or an array of points (last axis 2 or 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Vec3 = tuple[float, float, float]

#: Anatomical letter of each positive LPS axis and of its opposite.
_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))
#: A direction component smaller than this (|cos| < 0.2, i.e. more than ~78° away) is not
#: named in an orientation label, so a few degrees of tilt do not clutter the label.
LABEL_MIN_COMPONENT = 0.2
_UNIT_TOLERANCE = 1e-6


def vec3(value: ArrayLike) -> Vec3:
    """Return ``value`` as a tuple of three finite floats (raises ``ValueError``)."""
    array = np.asarray(value, dtype=float).reshape(-1)
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise ValueError(f"expected three finite numbers, got {value!r}")
    return (float(array[0]), float(array[1]), float(array[2]))


def rotation_about(axis: ArrayLike, angle_deg: float) -> FloatArray:
    """Rotation matrix turning by ``angle_deg`` about ``axis`` (right-hand rule).

    Seen from the tip of ``axis`` looking back, positive angles turn counter-clockwise.
    """
    a = np.asarray(axis, dtype=float)
    norm = float(np.linalg.norm(a))
    if norm == 0.0 or not math.isfinite(norm):
        raise ValueError("rotation axis must be a non-zero finite vector")
    x, y, z = a / norm
    t = math.radians(angle_deg)
    c, s, k = math.cos(t), math.sin(t), 1.0 - math.cos(t)
    return np.array(
        [
            [c + x * x * k, x * y * k - z * s, x * z * k + y * s],
            [y * x * k + z * s, c + y * y * k, y * z * k - x * s],
            [z * x * k - y * s, z * y * k + x * s, c + z * z * k],
        ]
    )


def nearest_rotation(matrix: ArrayLike) -> FloatArray:
    """The proper rotation (orthonormal, determinant +1) closest to ``matrix``.

    Used to clean up accumulated rounding after many incremental rotations.
    """
    u, _, vt = np.linalg.svd(np.asarray(matrix, dtype=float).reshape(3, 3))
    fix = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(u @ vt)) or 1.0)])
    return np.asarray(u @ fix @ vt, dtype=float)


def is_rotation(matrix: ArrayLike, *, tolerance: float = 1e-6) -> bool:
    """True when ``matrix`` is a 3×3 proper rotation within ``tolerance``."""
    m = np.asarray(matrix, dtype=float)
    return (
        m.shape == (3, 3)
        and bool(np.all(np.isfinite(m)))
        and bool(np.allclose(m.T @ m, np.eye(3), atol=tolerance))
        and abs(float(np.linalg.det(m)) - 1.0) < tolerance
    )


def scan_aligned_axes(direction: ArrayLike) -> FloatArray:
    """The rotation whose columns are the scan's grid axes nearest to patient L, P, S.

    ``direction`` is the volume's 3×3 direction matrix (columns = grid axes in patient
    space). Each patient axis is matched with the grid axis most parallel to it and the
    sign is chosen to agree, so an axial view of a slightly tilted scan runs along its
    slices while staying axial; for an identity direction this is the identity.
    """
    d = np.asarray(direction, dtype=float).reshape(3, 3)
    columns = np.zeros((3, 3))
    free = [0, 1, 2]
    # Assign the most decisive patient axis first so that near-45° scans stay consistent.
    for patient_axis in np.argsort(-np.max(np.abs(d), axis=1)):
        grid_axis = max(free, key=lambda j: abs(d[patient_axis, j]))
        free.remove(grid_axis)
        column = d[:, grid_axis]
        columns[:, patient_axis] = column if column[patient_axis] >= 0 else -column
    return nearest_rotation(columns)


def direction_label(direction: ArrayLike, *, min_component: float = LABEL_MIN_COMPONENT) -> str:
    """Anatomical letters for a patient direction, strongest first (``"L"``, ``"LA"``…).

    Oblique directions get one letter per component of at least ``min_component`` (as in
    DICOM viewers' orientation markers), so a 30° oblique axis reads e.g. ``"LA"``.
    """
    d = np.asarray(direction, dtype=float).reshape(3)
    norm = float(np.linalg.norm(d))
    if norm == 0.0:
        return ""
    d = d / norm
    letters = []
    for axis in np.argsort(-np.abs(d), kind="stable"):
        if abs(d[axis]) >= min_component:
            letters.append(_LETTERS[axis][0 if d[axis] > 0 else 1])
    return "".join(letters)


def spacing_along(direction: ArrayLike, spacing: ArrayLike, grid_axes: ArrayLike) -> float:
    """The voxel spacing (mm) of a grid measured along a patient direction.

    ``grid_axes`` is the 3×3 direction matrix (columns = grid axes), ``spacing`` the voxel
    size along them. The result is the radius of the voxel ellipsoid along ``direction``:
    the spacing of the grid axis itself when the direction is a grid axis.
    """
    d = np.asarray(direction, dtype=float).reshape(3)
    d = d / np.linalg.norm(d)
    in_grid = np.asarray(grid_axes, dtype=float).reshape(3, 3).T @ d
    return float(1.0 / np.sqrt(np.sum((in_grid / np.asarray(spacing, dtype=float)) ** 2)))


@dataclass(frozen=True, slots=True)
class Plane:
    """An oriented plane in patient space: origin plus two orthonormal in-plane axes.

    ``x_axis`` is the direction of screen right and ``y_axis`` of screen up when the plane
    is displayed; ``normal = x_axis × y_axis`` points towards the viewer.
    """

    origin: Vec3
    x_axis: Vec3
    y_axis: Vec3

    def __post_init__(self) -> None:
        x, y = np.asarray(self.x_axis), np.asarray(self.y_axis)
        if (
            abs(float(x @ x) - 1.0) > _UNIT_TOLERANCE
            or abs(float(y @ y) - 1.0) > _UNIT_TOLERANCE
            or abs(float(x @ y)) > _UNIT_TOLERANCE
        ):
            raise ValueError("plane axes must be orthonormal")

    @classmethod
    def from_axes(cls, origin: ArrayLike, x_axis: ArrayLike, y_axis: ArrayLike) -> Plane:
        """Build a plane from array-likes (axes are normalised, y made orthogonal to x)."""
        x = np.asarray(x_axis, dtype=float)
        x = x / np.linalg.norm(x)
        y = np.asarray(y_axis, dtype=float)
        y = y - (y @ x) * x
        y = y / np.linalg.norm(y)
        return cls(vec3(origin), vec3(x), vec3(y))

    @property
    def normal(self) -> Vec3:
        """Unit normal ``x_axis × y_axis`` (towards the viewer)."""
        return vec3(np.cross(self.x_axis, self.y_axis))

    @property
    def rotation(self) -> FloatArray:
        """3×3 matrix with columns ``x_axis``, ``y_axis``, ``normal``."""
        return np.column_stack([self.x_axis, self.y_axis, self.normal])

    def to_patient(self, plane_points: ArrayLike) -> FloatArray:
        """Map plane coordinates ``(u, v)`` or ``(u, v, w)`` (mm) to patient points.

        ``w`` is the signed distance along the normal (0 on the plane).
        """
        p = np.asarray(plane_points, dtype=float)
        if p.shape[-1] == 2:
            p = np.concatenate([p, np.zeros((*p.shape[:-1], 1))], axis=-1)
        return np.asarray(self.origin) + p @ self.rotation.T

    def to_plane(self, points: ArrayLike) -> FloatArray:
        """Map patient points to plane coordinates ``(u, v, w)`` (mm)."""
        p = np.asarray(points, dtype=float) - np.asarray(self.origin)
        return np.asarray(p @ self.rotation, dtype=float)

    def moved_to(self, point: ArrayLike) -> Plane:
        """The same orientation with the origin moved to ``point``."""
        return Plane(vec3(point), self.x_axis, self.y_axis)


@dataclass(frozen=True, slots=True)
class SliceGeometry:
    """A ``width × height`` pixel grid laid on a plane; the plane origin is the grid centre.

    The mapping is affine and exactly invertible (up to float rounding):
    ``u = (col - (width - 1) / 2) * pixel_size`` and
    ``v = ((height - 1) / 2 - row) * pixel_size``, so rows grow downwards on screen while
    ``v`` grows along the plane's ``y_axis`` (screen up).
    """

    plane: Plane
    pixel_size: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.pixel_size > 0 and math.isfinite(self.pixel_size)):
            raise ValueError(f"pixel size must be positive, got {self.pixel_size}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"viewport must be at least 1×1, got {self.width}×{self.height}")

    @property
    def _centre(self) -> FloatArray:
        return np.array([(self.height - 1) / 2.0, (self.width - 1) / 2.0])

    def pixel_to_plane(self, pixels: ArrayLike) -> FloatArray:
        """``(row, col)`` → plane ``(u, v)`` in mm."""
        rc = np.asarray(pixels, dtype=float) - self._centre
        return np.stack([rc[..., 1], -rc[..., 0]], axis=-1) * self.pixel_size

    def plane_to_pixel(self, plane_points: ArrayLike) -> FloatArray:
        """Plane ``(u, v)`` in mm → ``(row, col)``."""
        uv = np.asarray(plane_points, dtype=float)[..., :2] / self.pixel_size
        return np.stack([-uv[..., 1], uv[..., 0]], axis=-1) + self._centre

    def pixel_to_patient(self, pixels: ArrayLike) -> FloatArray:
        """``(row, col)`` → patient point on the plane (LPS mm)."""
        return self.plane.to_patient(self.pixel_to_plane(pixels))

    def patient_to_pixel(self, points: ArrayLike) -> FloatArray:
        """Patient points → ``(row, col)`` of their projection onto the plane."""
        return self.plane_to_pixel(self.plane.to_plane(points))

    def depth(self, points: ArrayLike) -> FloatArray:
        """Signed distance (mm) of patient points from the plane, positive towards the viewer."""
        return np.asarray(self.plane.to_plane(points)[..., 2], dtype=float)

    def corner(self) -> FloatArray:
        """Patient position of the centre of the bottom-left pixel (row height-1, col 0)."""
        return self.pixel_to_patient((self.height - 1.0, 0.0))
