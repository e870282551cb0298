"""Rigid transforms between a baseline and a follow-up scan, and paired-landmark fitting.

Convention (the same as SimpleITK's registration and the phantom truth's
``registration.baseline_to_followup``): :attr:`RigidTransform.matrix` is a 4×4 homogeneous
matrix, column vectors, mapping a **baseline** (fixed) patient point (LPS, mm) to the
**follow-up** (moving) patient point showing the same anatomy::

    [x_f, y_f, z_f, 1] = matrix @ [x_b, y_b, z_b, 1]

Resampling the follow-up onto the baseline grid therefore samples the follow-up at
``apply(baseline voxel centre)``; a point clicked in the follow-up reaches the baseline
through :meth:`RigidTransform.apply_inverse`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.geometry import is_rotation, nearest_rotation

__all__ = [
    "RigidTransform",
    "box_corners",
    "landmark_residuals",
    "landmark_transform",
    "transform_error",
]

FloatArray = NDArray[np.float64]
TRANSFORM_KIND = "rigid-baseline-to-followup"
#: Smallest spread (mm) of the landmarks across their best-fit line for a rotation to be defined.
_MIN_SPREAD_MM = 1.0


@dataclass(frozen=True, eq=False)
class RigidTransform:
    """A rigid (rotation + translation) map from baseline to follow-up patient points.

    Parameters
    ----------
    matrix : numpy.ndarray
        4×4 ``[[R, t], [0, 0, 0, 1]]`` with ``R`` a proper rotation; stored read-only.
    """

    matrix: FloatArray

    def __post_init__(self) -> None:
        m = np.array(self.matrix, dtype=float)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise ValueError("a rigid transform needs a finite 4×4 matrix")
        if not np.allclose(m[3], (0.0, 0.0, 0.0, 1.0), atol=1e-9):
            raise ValueError("the last row of a rigid transform must be 0, 0, 0, 1")
        if not is_rotation(m[:3, :3], tolerance=1e-5):
            raise ValueError("the transform's 3×3 part is not a rotation (scaling, shear or mirroring)")
        # Remove accumulated rounding so that ITK accepts the matrix; an already clean matrix
        # is kept bit for bit (to_dict/from_dict round trips are exact).
        if not is_rotation(m[:3, :3], tolerance=1e-12):
            m[:3, :3] = nearest_rotation(m[:3, :3])
        m[3] = (0.0, 0.0, 0.0, 1.0)
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)

    @classmethod
    def identity(cls) -> RigidTransform:
        """The transform that leaves every point where it is."""
        return cls(np.eye(4))

    @classmethod
    def from_rotation_translation(cls, rotation: ArrayLike, translation: ArrayLike) -> RigidTransform:
        """Build from a 3×3 rotation and a translation (mm): ``p_f = R p_b + t``."""
        m = np.eye(4)
        m[:3, :3] = np.asarray(rotation, dtype=float)
        m[:3, 3] = np.asarray(translation, dtype=float)
        return cls(m)

    @property
    def rotation(self) -> FloatArray:
        """The 3×3 rotation part."""
        return np.array(self.matrix[:3, :3])

    @property
    def translation(self) -> FloatArray:
        """The translation part (mm)."""
        return np.array(self.matrix[:3, 3])

    @property
    def angle_deg(self) -> float:
        """Rotation angle about the transform's axis (degrees, 0…180)."""
        return _rotation_angle_deg(self.matrix[:3, :3])

    def apply(self, points: ArrayLike) -> FloatArray:
        """Map baseline points to follow-up points; shape ``(3,)`` or ``(n, 3)``."""
        p = np.asarray(points, dtype=float)
        return np.asarray(p @ self.matrix[:3, :3].T + self.matrix[:3, 3], dtype=float)

    def inverse(self) -> RigidTransform:
        """The follow-up → baseline transform."""
        r = self.matrix[:3, :3]
        return RigidTransform.from_rotation_translation(r.T, -r.T @ self.matrix[:3, 3])

    def apply_inverse(self, points: ArrayLike) -> FloatArray:
        """Map follow-up points to baseline points; shape ``(3,)`` or ``(n, 3)``."""
        p = np.asarray(points, dtype=float)
        return np.asarray((p - self.matrix[:3, 3]) @ self.matrix[:3, :3], dtype=float)

    def compose(self, first: RigidTransform) -> RigidTransform:
        """``self ∘ first``: apply ``first``, then ``self``."""
        return RigidTransform(self.matrix @ first.matrix)

    def to_sitk(self, *, center: ArrayLike | None = None) -> sitk.Euler3DTransform:
        """The same map as a SimpleITK transform (fixed = baseline → moving = follow-up).

        ``sitk.Resample(followup_image, baseline_grid, transform.to_sitk())`` puts the
        follow-up on the baseline grid. ``center`` (mm) only changes the parameterisation.
        """
        c = np.zeros(3) if center is None else np.asarray(center, dtype=float)
        r = self.matrix[:3, :3]
        t = self.matrix[:3, 3]
        euler = sitk.Euler3DTransform()
        euler.SetCenter([float(v) for v in c])
        euler.SetMatrix([float(v) for v in r.ravel()], 1e-6)
        # ITK: p' = R (p - c) + c + translation.
        euler.SetTranslation([float(v) for v in t + r @ c - c])
        return euler

    @classmethod
    def from_sitk(cls, transform: sitk.Transform) -> RigidTransform:
        """Read any SimpleITK rigid (Euler/Versor/affine-without-scale) 3D transform."""
        probe = np.eye(3)
        origin = np.asarray(transform.TransformPoint((0.0, 0.0, 0.0)), dtype=float)
        columns = [np.asarray(transform.TransformPoint(tuple(v)), dtype=float) - origin for v in probe]
        return cls.from_rotation_translation(np.column_stack(columns), origin)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (see the module docstring for the convention)."""
        return {
            "kind": TRANSFORM_KIND,
            "matrix": [[float(v) for v in row] for row in self.matrix],
        }

    @classmethod
    def from_dict(cls, data: Any) -> RigidTransform:
        """Inverse of :meth:`to_dict`; ``ValueError`` for anything that is not a rigid transform."""
        if not isinstance(data, dict) or data.get("kind") != TRANSFORM_KIND:
            raise ValueError("not a stored baseline → follow-up rigid transform")
        rows = data.get("matrix")
        if not isinstance(rows, list) or len(rows) != 4:
            raise ValueError("a stored transform needs a 4×4 matrix")
        values: list[list[float]] = []
        for row in rows:
            if not isinstance(row, list) or len(row) != 4:
                raise ValueError("a stored transform needs a 4×4 matrix")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row):
                raise ValueError("the stored transform holds something that is not a number")
            values.append([float(v) for v in row])
        return cls(np.asarray(values))


def _rotation_angle_deg(rotation: ArrayLike) -> float:
    r = np.asarray(rotation, dtype=float)
    # atan2 form: accurate for small angles, where acos((tr - 1) / 2) loses precision.
    skew = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return math.degrees(math.atan2(0.5 * float(np.linalg.norm(skew)), 0.5 * (float(np.trace(r)) - 1.0)))


def _paired_points(baseline_points: ArrayLike, followup_points: ArrayLike) -> tuple[FloatArray, FloatArray]:
    a = np.asarray(baseline_points, dtype=float)
    b = np.asarray(followup_points, dtype=float)
    if a.ndim != 2 or a.shape[1] != 3 or b.shape != a.shape:
        raise ValueError(
            "landmarks must come in pairs: the same number of 3D points in the baseline and the follow-up"
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a landmark has no valid position")
    return a, b


def landmark_transform(baseline_points: ArrayLike, followup_points: ArrayLike) -> RigidTransform:
    """Best rigid fit (least squares, Kabsch) of paired landmarks: baseline → follow-up.

    Parameters
    ----------
    baseline_points, followup_points : array_like, shape (n, 3)
        The same anatomical points clicked in each scan (patient mm), in the same order.

    Returns
    -------
    RigidTransform
        Minimises the summed squared distance between ``apply(baseline)`` and ``follow-up``.

    Raises
    ------
    ValueError
        Fewer than 3 pairs, or points (nearly) on one line in either scan, in which case
        the rotation about that line is undefined.
    """
    a, b = _paired_points(baseline_points, followup_points)
    if len(a) < 3:
        raise ValueError(f"at least 3 landmark pairs are needed for a rigid fit (got {len(a)})")
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    for pts, name in ((a - ca, "baseline"), (b - cb, "follow-up")):
        spread = np.linalg.svd(pts, compute_uv=False)
        # The second singular value / sqrt(n) is the RMS distance from the best-fit line.
        if spread[1] / math.sqrt(len(pts)) < _MIN_SPREAD_MM:
            raise ValueError(
                f"the {name} landmarks lie (nearly) on one line; place at least one landmark "
                "away from the line through the others"
            )
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    fix = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(vt.T @ u.T)) or 1.0)])
    rotation = vt.T @ fix @ u.T
    return RigidTransform.from_rotation_translation(rotation, cb - rotation @ ca)


def landmark_residuals(
    transform: RigidTransform, baseline_points: ArrayLike, followup_points: ArrayLike
) -> FloatArray:
    """Distance (mm) between each mapped baseline landmark and its follow-up partner."""
    a, b = _paired_points(baseline_points, followup_points)
    return np.asarray(np.linalg.norm(transform.apply(a) - b, axis=1), dtype=float)


def box_corners(lower: ArrayLike, upper: ArrayLike) -> FloatArray:
    """The 8 corners of an axis-aligned box (mm), shape (8, 3)."""
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    picks = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=bool)
    return np.where(picks, hi, lo)


def transform_error(
    estimate: RigidTransform | ArrayLike,
    truth: RigidTransform | ArrayLike,
    *,
    points: ArrayLike,
) -> tuple[float, float]:
    """How far an estimated transform is from the truth.

    Parameters
    ----------
    estimate, truth : RigidTransform or 4×4 array
        Baseline → follow-up transforms.
    points : array_like, shape (n, 3)
        Baseline points where the displacement error is checked; for a box, pass
        :func:`box_corners` (the error of a rigid map is largest at a convex region's corners).

    Returns
    -------
    (max_displacement_mm, angle_deg)
        Largest distance between the two mapped points, and the angle of the residual
        rotation ``R_est R_trueᵀ``.
    """
    est = estimate if isinstance(estimate, RigidTransform) else RigidTransform(np.asarray(estimate))
    tru = truth if isinstance(truth, RigidTransform) else RigidTransform(np.asarray(truth))
    p = np.atleast_2d(np.asarray(points, dtype=float))
    displacement = float(np.max(np.linalg.norm(est.apply(p) - tru.apply(p), axis=1)))
    angle = _rotation_angle_deg(est.matrix[:3, :3] @ tru.matrix[:3, :3].T)
    return displacement, angle
