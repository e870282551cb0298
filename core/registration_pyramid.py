"""Image preparation for :mod:`cbctviewer.core.registration`: region crop, binned pyramid, start.

The pyramid bins (averages) the stored voxels and only then casts to float32, so a level
costs 4 bytes per *binned* voxel; a region crop copies only the voxels inside the box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike

from cbctviewer.core.registration_transform import RigidTransform, box_corners

if TYPE_CHECKING:
    from cbctviewer.core.registration import RegistrationSettings

__all__ = ["centre_of_mass_start", "crop_to_region", "level_plan", "pyramid_image"]

Region = tuple[ArrayLike, ArrayLike]


def crop_to_region(image: sitk.Image, region: Region) -> sitk.Image:
    """The part of ``image`` inside a box given in patient mm (a copy of that part only)."""
    lower, upper = (np.asarray(c, dtype=float) for c in region)
    if lower.shape != (3,) or upper.shape != (3,) or not np.all(np.isfinite([*lower, *upper])):
        raise ValueError("the registration region needs two corners of 3 coordinates each")
    corners = box_corners(np.minimum(lower, upper), np.maximum(lower, upper))
    index = np.array([image.TransformPhysicalPointToContinuousIndex(tuple(map(float, c))) for c in corners])
    size = np.asarray(image.GetSize())
    start = np.clip(np.floor(index.min(axis=0)).astype(int), 0, size)
    stop = np.clip(np.ceil(index.max(axis=0)).astype(int) + 1, 0, size)
    if np.any(stop - start < 8):
        raise ValueError(
            "the registration region hardly overlaps the baseline scan; draw it over the anatomy"
        )
    return sitk.RegionOfInterest(image, [int(v) for v in stop - start], [int(v) for v in start])


Shrink = tuple[int, int, int]


def _shrink_for(image: sitk.Image, target_mm: float) -> Shrink:
    # Per axis: thick slices are not binned further along the slice axis (they already are
    # coarser than the level), so an anisotropic scan keeps its slices.
    sx, sy, sz = (max(1, round(target_mm / float(s))) for s in image.GetSpacing())
    return (sx, sy, sz)


def level_plan(
    fixed: sitk.Image, moving: sitk.Image, cfg: RegistrationSettings
) -> list[tuple[Shrink, Shrink, float]]:
    """(fixed shrink, moving shrink — per axis —, smoothing mm) per level, repeated levels merged."""
    if len(cfg.smoothing_mm) != len(cfg.level_spacings_mm) or not cfg.level_spacings_mm:
        raise ValueError("give one smoothing value per pyramid level")
    plan: list[tuple[Shrink, Shrink, float]] = []
    for target, smoothing in zip(cfg.level_spacings_mm, cfg.smoothing_mm, strict=True):
        step = (_shrink_for(fixed, target), _shrink_for(moving, target), float(smoothing))
        if plan and plan[-1][:2] == step[:2]:
            plan[-1] = step
        else:
            plan.append(step)
    return plan


def pyramid_image(image: sitk.Image, shrink: int | Shrink, smoothing_mm: float) -> sitk.Image:
    """Bin (average) by ``shrink`` (one factor, or one per axis), as float32, then smooth."""
    wanted = (shrink,) * 3 if isinstance(shrink, int) else tuple(shrink)
    # A thin crop keeps at least 4 voxels along every axis (the recursive Gaussian needs them;
    # BinShrink refuses bins wider than the image).
    factors = [max(1, min(int(f), int(n) // 4)) for f, n in zip(wanted, image.GetSize(), strict=True)]
    small = sitk.BinShrink(image, factors) if max(factors) > 1 else image
    small = sitk.Cast(small, sitk.sitkFloat32)
    if smoothing_mm > 0.0:
        small = sitk.SmoothingRecursiveGaussian(small, smoothing_mm)
    return small


def centre_of_mass_start(fixed: sitk.Image, moving: sitk.Image) -> RigidTransform:
    """Translation between the centres of mass of bright (bone) voxels in both scans."""
    centres = []
    for image in (fixed, moving):
        values = sitk.GetArrayViewFromImage(image)
        # The brightest tenth is bone (and teeth) in any CBCT; its centre survives a crop better
        # than the field-of-view centre.
        zyx = np.argwhere(values > np.percentile(values, 90.0))
        centre_index = zyx[:, ::-1].mean(axis=0) if len(zyx) else (np.asarray(image.GetSize()) - 1) / 2.0
        centres.append(np.asarray(image.TransformContinuousIndexToPhysicalPoint(tuple(centre_index))))
    return RigidTransform.from_rotation_translation(np.eye(3), centres[1] - centres[0])
