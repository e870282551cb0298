"""The follow-up on the baseline's grid: resampling with a registration transform, and where it has data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import SimpleITK as sitk
from numpy.typing import NDArray

from cbctviewer.core.registration_transform import RigidTransform
from cbctviewer.core.volume import Volume

__all__ = ["coverage_mask", "resample_followup"]


def _no_data_value(followup: Volume) -> float:
    stats = sitk.MinimumMaximumImageFilter()
    stats.Execute(followup.image)
    return float(stats.GetMinimum())


def resample_followup(
    baseline: Volume,
    followup: Volume,
    transform: RigidTransform,
    *,
    default_value: float | None = None,
) -> Volume:
    """The follow-up resampled (linear) onto the baseline grid: one new buffer, the follow-up's pixel type.

    Parameters
    ----------
    baseline, followup : Volume
        Grid donor and source of the grey values.
    transform : RigidTransform
        Baseline → follow-up (as returned by :func:`register_rigid`).
    default_value : float, optional
        Value where the baseline grid lies outside the follow-up's field of view; default
        the follow-up's minimum (reads as air). Use :func:`coverage_mask` to tell it apart.
    """
    fill = _no_data_value(followup) if default_value is None else float(default_value)
    image = sitk.Resample(
        followup.image,
        baseline.image,
        transform.to_sitk(),
        sitk.sitkLinear,
        fill,
        followup.image.GetPixelID(),
    )
    metadata = replace(
        followup.metadata,
        warnings=[
            *followup.metadata.warnings,
            "Resampled onto the baseline's grid with the registration transform",
        ],
    )
    return Volume(image, metadata)


def coverage_mask(baseline: Volume, followup: Volume, transform: RigidTransform) -> NDArray[np.bool_]:
    """True (z, y, x on the baseline grid) where the follow-up has data after the transform."""
    ones = sitk.Image(followup.image.GetSize(), sitk.sitkUInt8)
    ones.CopyInformation(followup.image)
    ones += 1
    covered = sitk.Resample(ones, baseline.image, transform.to_sitk(), sitk.sitkNearestNeighbor, 0)
    return np.asarray(sitk.GetArrayViewFromImage(covered), dtype=bool).copy()
