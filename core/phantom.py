"""The synthetic dental CBCT phantom: the viewer's built-in sample and measurement ground truth.

:func:`render_phantom` voxelises the analytic :class:`PhantomModel` (see
``phantom_anatomy``) on an axial grid. The follow-up variant evaluates the same anatomy at
``T⁻¹(p)`` for every follow-up voxel centre ``p``, with ``T`` the recorded rigid transform
(baseline → follow-up patient coordinates), so both scans are exact and independent
samplings of one anatomy. Everything the tests need to know is in ``PhantomImage.truth``
(see ``phantom_truth``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import SimpleITK as sitk

from cbctviewer.core.phantom_anatomy import GreyLevels, PhantomModel, PhantomParams
from cbctviewer.core.phantom_geometry import apply_matrix, rigid_matrix, rotation_matrix
from cbctviewer.core.phantom_truth import build_truth
from cbctviewer.core.tasks import ProgressCallback
from cbctviewer.core.volume import SeriesIdentity, Volume, VolumeMetadata

__all__ = [
    "BASELINE_SEED",
    "FOLLOWUP_EXTRA_BONE_LOSS",
    "FOLLOWUP_SEED",
    "VALUE_MAX",
    "VALUE_MIN",
    "GreyLevels",
    "PhantomGrid",
    "PhantomImage",
    "PhantomModel",
    "PhantomParams",
    "RigidTransform",
    "followup_transform",
    "phantom_grid",
    "phantom_model",
    "render_phantom",
]

BASELINE_SEED = 1
FOLLOWUP_SEED = 2
#: Stored range: 12 bits above an intercept of -1000 (titanium saturates at the top).
VALUE_MIN = -1000
VALUE_MAX = 3095
NOISE_SIGMA = 40.0
#: Scanner blur (mm) folded into the partial-volume ramp; CBCT images are smooth.
BLUR_MM = 0.3
#: Extra marginal bone loss at the follow-up (mm).
FOLLOWUP_EXTRA_BONE_LOSS = 1.0

_BASELINE_FOV = (80.0, 80.0, 60.0)
_BASELINE_CENTER = (0.0, -18.0, -50.0)
_FOLLOWUP_FOV = (72.0, 72.0, 52.0)
#: Follow-up field-of-view centre relative to the moved baseline centre (partial overlap).
_FOLLOWUP_SHIFT = (-4.0, 5.0, 3.0)
_ROT_AXIS = (0.35, -0.25, 0.90)
_ROT_ANGLE_DEG = 6.5
_ROT_CENTER = (0.0, -12.0, -52.0)
_DISPLACEMENT = (3.0, -4.0, 2.5)


@dataclass(frozen=True, slots=True)
class RigidTransform:
    """``p' = R (p - center) + center + displacement`` as a 4×4 ``matrix`` (baseline → follow-up)."""

    axis: tuple[float, float, float]
    angle_deg: float
    center: tuple[float, float, float]
    displacement: tuple[float, float, float]

    @property
    def matrix(self) -> np.ndarray:
        """4×4 homogeneous matrix mapping baseline patient points to follow-up ones."""
        rot = rotation_matrix(self.axis, self.angle_deg)
        c = np.asarray(self.center)
        return rigid_matrix(rot, c + np.asarray(self.displacement) - rot @ c)

    @property
    def inverse(self) -> np.ndarray:
        """4×4 matrix mapping follow-up patient points to baseline ones."""
        m = self.matrix
        return rigid_matrix(m[:3, :3].T, -m[:3, :3].T @ m[:3, 3])


def followup_transform() -> RigidTransform:
    """The known rigid motion of the anatomy between the baseline and the follow-up scan."""
    axis = np.asarray(_ROT_AXIS) / np.linalg.norm(_ROT_AXIS)
    return RigidTransform(tuple(float(a) for a in axis), _ROT_ANGLE_DEG, _ROT_CENTER, _DISPLACEMENT)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PhantomGrid:
    """Axial voxel grid (identity direction): voxel (i, j, k) is at ``origin + (i, j, k) * spacing``."""

    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    size: tuple[int, int, int]  # (nx, ny, nz)

    @property
    def direction(self) -> tuple[float, ...]:
        """Identity direction cosines (SimpleITK row-major order)."""
        return (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

    def contains(self, point: np.ndarray, *, margin: float = 0.0) -> bool:
        """True when ``point`` (mm) lies inside the grid's voxel-centre box shrunk by ``margin``."""
        lo = np.asarray(self.origin) + margin
        hi = np.asarray(self.origin) + (np.asarray(self.size) - 1) * np.asarray(self.spacing) - margin
        return bool(np.all(point >= lo) and np.all(point <= hi))


def phantom_model(*, followup: bool = False) -> PhantomModel:
    """The analytic model of the baseline or follow-up scan (follow-up: deeper defect, moved frame).

    ``model.evaluate(points)`` takes points in that scan's patient frame.
    """
    base = PhantomParams()
    if not followup:
        return PhantomModel(base)
    params = PhantomParams(defect_depth=base.defect_depth + FOLLOWUP_EXTRA_BONE_LOSS)
    return PhantomModel(params, to_anatomy=followup_transform().inverse)


def phantom_grid(*, voxel_size: float = 0.2, followup: bool = False) -> PhantomGrid:
    """The field of view of the baseline or follow-up scan at ``voxel_size`` mm."""
    if voxel_size <= 0.0:
        raise ValueError("voxel_size must be positive")
    if followup:
        fov = _FOLLOWUP_FOV
        center = apply_matrix(followup_transform().matrix, _BASELINE_CENTER) + np.asarray(_FOLLOWUP_SHIFT)
    else:
        fov, center = _BASELINE_FOV, np.asarray(_BASELINE_CENTER)
    size = tuple(round(f / voxel_size) for f in fov)
    # Rounded to 1 µm so the DICOM decimal strings and the truth file carry it exactly.
    origin = tuple(round(float(c - 0.5 * (n - 1) * voxel_size), 3) for c, n in zip(center, size, strict=True))
    return PhantomGrid(origin, (voxel_size,) * 3, size)  # type: ignore[arg-type]


@dataclass(slots=True)
class PhantomImage:
    """A rendered phantom: grey values (int16, HU-like) in (z, y, x) order plus geometry and truth."""

    array: np.ndarray
    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    direction: tuple[float, ...]
    truth: dict[str, Any] = field(default_factory=dict)

    def to_volume(self) -> Volume:
        """A :class:`~cbctviewer.core.volume.Volume` of this image, as if it had been loaded."""
        variant = self.truth.get("variant", "baseline")
        meta = VolumeMetadata(
            identity=SeriesIdentity(modality="CT"),
            series_description=f"Dental CBCT phantom ({variant})",
            manufacturer="cbct-viewer phantom",
            window_center=1000.0,
            window_width=4000.0,
        )
        return Volume(self.to_sitk(), meta)

    def to_sitk(self) -> sitk.Image:
        """A SimpleITK image (copy of the voxels) with this geometry."""
        image = sitk.GetImageFromArray(self.array)
        image.SetOrigin(self.origin)
        image.SetSpacing(self.spacing)
        image.SetDirection(self.direction)
        return image


def render_phantom(
    *,
    voxel_size: float = 0.2,
    followup: bool = False,
    seed: int | None = None,
    noise_sigma: float = NOISE_SIGMA,
    progress: ProgressCallback | None = None,
) -> PhantomImage:
    """Voxelise the dental phantom.

    Parameters
    ----------
    voxel_size
        Isotropic voxel size in mm. The anatomy and the ground truth (in mm) do not change.
    followup
        Render the follow-up scan: moved by :func:`followup_transform`, cropped
        differently, marginal bone defect 1 mm deeper.
    seed
        Noise seed (default :data:`BASELINE_SEED` or :data:`FOLLOWUP_SEED`). The anatomy,
        including the trabecular texture, does not depend on it.
    noise_sigma
        Standard deviation of the (spatially correlated) Gaussian noise; 0 for none.
    progress
        Called with (fraction, message) after each slab.

    Returns
    -------
    PhantomImage
        Grey values clipped to [-1000, 3095], deterministic for a given seed.
    """
    if seed is None:
        seed = FOLLOWUP_SEED if followup else BASELINE_SEED
    model = phantom_model(followup=followup)
    extra = FOLLOWUP_EXTRA_BONE_LOSS if followup else 0.0
    grid = phantom_grid(voxel_size=voxel_size, followup=followup)
    to_baseline = model.to_anatomy
    nx, ny, nz = grid.size
    ox, oy, oz = grid.origin
    xs = (ox + voxel_size * np.arange(nx)).astype(np.float64)
    ys = (oy + voxel_size * np.arange(ny)).astype(np.float64)
    zs = oz + voxel_size * np.arange(nz)
    width = float(np.hypot(voxel_size, BLUR_MM))
    out = np.empty((nz, ny, nx), dtype=np.int16)
    block = max(1, int(2_000_000 // (nx * ny)))
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    rot, shift = to_baseline[:3, :3], to_baseline[:3, 3]
    in_plane = [rot[c, 0] * gx + rot[c, 1] * gy for c in range(3)]
    if not followup:
        # Axial baseline: the arch coordinates do not depend on z; compute them once.
        u2, d2 = model.arch.project(gx, gy)
        s2 = model.arch.arc_length(u2).astype(np.float32)
        d2 = d2.astype(np.float32)

    def slab(k0: int) -> int:
        k1 = min(nz, k0 + block)
        nb = k1 - k0
        if followup:
            # Anatomical coordinates are affine in (x, y) per slice: add the z part to a 2D base.
            zk = zs[k0:k1, None, None]
            ax, ay, az = ((in_plane[c] + (rot[c, 2] * zk + shift[c])).reshape(nb, -1) for c in range(3))
            u, d = np.empty_like(ax), np.empty_like(ax)
            guess = None
            for i in range(nb):  # neighbouring slices are close: warm-start the projection
                u[i], d[i] = model.arch.project(ax[i], ay[i], guess=guess)
                guess = u[i]
            s = model.arch.arc_length(u)
            values = model.grey_arch(ax, ay, az, s, d, width=width)
        else:
            shape = (nb, ny, nx)
            values = model.grey_arch(
                np.broadcast_to(gx, shape),
                np.broadcast_to(gy, shape),
                np.broadcast_to(zs[k0:k1, None, None], shape),
                np.broadcast_to(s2, shape),
                np.broadcast_to(d2, shape),
                width=width,
            )
        values = values.reshape(nb, ny, nx)
        if noise_sigma > 0.0:
            values += _correlated_noise(seed, k0, k1, nz, (ny, nx), noise_sigma)
        np.clip(np.rint(values), VALUE_MIN, VALUE_MAX, out=values)
        out[k0:k1] = values  # slabs are disjoint, so workers never write the same voxels
        return nb

    # numpy releases the GIL in its loops, so slabs render in parallel threads.
    starts = range(0, nz, block)
    done = 0
    with ThreadPoolExecutor(max_workers=min(len(starts), os.cpu_count() or 1, 4)) as pool:
        for future in as_completed([pool.submit(slab, k0) for k0 in starts]):
            done += future.result()
            if progress is not None:
                progress(done / nz, "Rendering the phantom")
    truth = build_truth(
        model,
        grid=grid,
        followup=followup,
        baseline_to_this=followup_transform().matrix if followup else np.eye(4),
        registration=followup_transform(),
        seed=seed,
        noise_sigma=noise_sigma,
        blur_mm=BLUR_MM,
        value_range=(VALUE_MIN, VALUE_MAX),
        extra_bone_loss=extra,
        baseline_defect_depth=PhantomParams().defect_depth,
    )
    return PhantomImage(out, grid.origin, grid.spacing, grid.direction, truth)


def _correlated_noise(
    seed: int, k0: int, k1: int, nz: int, shape_yx: tuple[int, int], sigma: float
) -> np.ndarray:
    """Slices ``k0:k1`` of a Gaussian noise volume smoothed by a separable [1, 2, 1] kernel.

    Slice ``k`` of the white noise comes from its own generator seeded with ``(seed, k)``,
    so the result does not depend on how the volume is split into slabs.
    """
    ks = np.clip(np.arange(k0 - 1, k1 + 1), 0, nz - 1)
    white = np.stack(
        [np.random.default_rng([seed, int(k)]).standard_normal(shape_yx, np.float32) for k in ks]
    )
    sm = white[:-2] + 2.0 * white[1:-1] + white[2:]
    padded = np.pad(sm, ((0, 0), (1, 1), (0, 0)), mode="edge")
    sm = padded[:, :-2] + 2.0 * padded[:, 1:-1] + padded[:, 2:]
    padded = np.pad(sm, ((0, 0), (0, 0), (1, 1)), mode="edge")
    sm = padded[:, :, :-2] + 2.0 * padded[:, :, 1:-1] + padded[:, :, 2:]
    # Each [1, 2, 1]/4 pass keeps 6/16 of the variance.
    return sm * np.float32(sigma / 64.0 / 0.375**1.5)
