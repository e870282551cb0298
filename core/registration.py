"""Rigid registration of a follow-up scan onto its baseline (SimpleITK, Mattes mutual information).

:func:`register_rigid` finds the :class:`RigidTransform` (baseline → follow-up patient mm, see
:mod:`cbctviewer.core.registration_transform` for the convention) that best aligns the two
scans: a centred start (bone centres of mass, paired landmarks, or a given transform), then a
coarse-to-fine pyramid of images binned to ``level_spacings_mm``, Mattes mutual information
on a fixed random sample of the baseline (seeded, so results repeat), and a regular-step
gradient descent with physical-shift scales. The pyramid is our own rather than ITK's so that
each level's time and result can be reported and only binned levels are copied to float
(never a full volume finer than the finest level). A region (a box in baseline mm, e.g.
around the mandible) crops the baseline so that only anatomy inside it drives the fit.
Progress and cancel callbacks make it usable from a worker thread; :func:`resample_followup`
and :func:`coverage_mask` put the follow-up on the baseline grid for side-by-side or overlay
display.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.registration_pyramid import (
    centre_of_mass_start,
    crop_to_region,
    level_plan,
    pyramid_image,
)
from cbctviewer.core.registration_resample import coverage_mask, resample_followup
from cbctviewer.core.registration_transform import (
    RigidTransform,
    box_corners,
    landmark_residuals,
    landmark_transform,
    transform_error,
)
from cbctviewer.core.tasks import CancelCheck, Cancelled, ProgressCallback
from cbctviewer.core.volume import Volume

__all__ = [
    "MIN_VOXELS_PER_AXIS",
    "LevelReport",
    "RegistrationCancelled",
    "RegistrationResult",
    "RegistrationSettings",
    "RigidTransform",
    "box_corners",
    "coverage_mask",
    "landmark_residuals",
    "landmark_transform",
    "register_rigid",
    "resample_followup",
    "transform_error",
]

Region = tuple[ArrayLike, ArrayLike]


#: Fewer voxels than this along any axis is not a volume that can be registered.
MIN_VOXELS_PER_AXIS = 8


class RegistrationCancelled(Cancelled):
    """The user cancelled the registration; no transform was produced."""


@dataclass(frozen=True)
class RegistrationSettings:
    """Tuning of :func:`register_rigid` (the defaults suit dental CBCT at 0.1–0.6 mm voxels)."""

    #: Target voxel size (mm) of each pyramid level, coarse to fine. A volume is binned by
    #: ``round(target / voxel size)`` (at least 1); equal factors are merged.
    level_spacings_mm: tuple[float, ...] = (1.6, 0.8, 0.4)
    #: Gaussian smoothing (mm) applied after binning, per level.
    smoothing_mm: tuple[float, ...] = (0.8, 0.4, 0.0)
    #: Baseline voxels sampled by the metric per level (random, fixed seed).
    samples_per_level: int = 60_000
    histogram_bins: int = 50
    max_iterations: int = 200
    #: Optimizer's first step (mm of largest displacement) at each level, relative to its voxel size.
    first_step_voxels: float = 2.0
    #: Stop when the step shrinks below this fraction of the level's voxel size.
    min_step_voxels: float = 0.002
    seed: int = 20240115


@dataclass(frozen=True)
class LevelReport:
    """What one pyramid level did."""

    level: int
    #: Binning of the baseline per axis (x, y, z); thick slices are not binned along z.
    shrink: tuple[int, int, int]
    smoothing_mm: float
    iterations: int
    metric: float
    seconds: float
    spacing_mm: float = 0.0
    stop_reason: str = ""
    #: The transform after this level (lets benchmarks report the error per level).
    transform: RigidTransform = field(default_factory=RigidTransform.identity)
    #: RMS landmark residual (mm) after this level, when landmarks were given.
    landmark_residual_mm: float | None = None


@dataclass(frozen=True)
class RegistrationResult:
    """The outcome of :func:`register_rigid`.

    ``metric`` is Mattes mutual information as ITK minimises it (negative; lower is better).
    ``landmark_residual_mm`` is the RMS distance of the mapped baseline landmarks from their
    follow-up partners (``None`` without landmarks).
    """

    transform: RigidTransform
    metric: float
    levels: tuple[LevelReport, ...]
    landmark_residual_mm: float | None
    stop_reason: str
    initial: RigidTransform = field(default_factory=RigidTransform.identity)


def register_rigid(
    baseline: Volume,
    followup: Volume,
    *,
    initial: RigidTransform | None = None,
    region: Region | None = None,
    landmarks: tuple[ArrayLike, ArrayLike] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    settings: RegistrationSettings | None = None,
) -> RegistrationResult:
    """Rigidly register ``followup`` (moving) onto ``baseline`` (fixed).

    Parameters
    ----------
    baseline, followup : Volume
        The two scans (any scalar pixel type; not modified). Only the binned pyramid
        levels are copied (as float32), and a region's part of the baseline.
    initial : RigidTransform, optional
        Starting transform (baseline → follow-up). Default: the landmark fit when
        ``landmarks`` are given, else the shift that aligns the two scans' bone centres of mass.
    region : (min corner, max corner), optional
        Box in baseline patient mm; only baseline anatomy inside it drives the fit.
    landmarks : (baseline points, follow-up points), optional
        ≥ 3 paired points; used as the start (unless ``initial`` is given) and to report
        the residual.
    progress : callable, optional
        ``progress(fraction, message)``, called from the calling thread.
    cancel : callable, optional
        Polled every optimizer iteration; when it returns True the run stops and
        :class:`RegistrationCancelled` is raised.
    settings : RegistrationSettings, optional
        Pyramid, sampling and optimizer tuning.

    Returns
    -------
    RegistrationResult

    Raises
    ------
    RegistrationCancelled
        ``cancel()`` turned true.
    ValueError
        A scan that is not 3D (fewer than :data:`MIN_VOXELS_PER_AXIS` voxels along an axis),
        bad landmarks, a region outside the baseline, or images without enough overlap.
    """
    for name, volume in (("open scan", baseline), ("follow-up", followup)):
        if min(volume.size) < MIN_VOXELS_PER_AXIS:
            size = " × ".join(str(n) for n in volume.size)
            raise ValueError(
                f"the {name} is not a 3D scan ({size} voxels): registration needs two 3D volumes"
            )
    cfg = settings or RegistrationSettings()
    report = progress or (lambda fraction, message: None)
    landmark_pairs = None
    if landmarks is not None:
        landmark_pairs = (np.asarray(landmarks[0], dtype=float), np.asarray(landmarks[1], dtype=float))
        if initial is None:
            initial = landmark_transform(*landmark_pairs)
    fixed_full = crop_to_region(baseline.image, region) if region is not None else baseline.image
    moving_full = followup.image
    plan = level_plan(fixed_full, moving_full, cfg)
    report(0.0, "Preparing the images")
    _check_cancel(cancel)
    if initial is None:
        # Whole scans, even with a region: the follow-up holds more than the region's anatomy.
        initial = centre_of_mass_start(
            pyramid_image(baseline.image, plan[0][0], 0.0), pyramid_image(moving_full, plan[0][1], 0.0)
        )

    levels: list[LevelReport] = []
    transform = initial
    metric = math.nan
    stop_reason = ""
    started = time.perf_counter()
    for index, (shrink_fixed, shrink_moving, smoothing) in enumerate(plan):
        _check_cancel(cancel)
        level_start = time.perf_counter()
        fixed = pyramid_image(fixed_full, shrink_fixed, smoothing)
        moving = pyramid_image(moving_full, shrink_moving, smoothing)
        spacing = float(max(fixed.GetSpacing()))
        span = (index / len(plan), (index + 1) / len(plan))
        transform, metric, iterations, stop_reason = _run_level(
            fixed, moving, transform, spacing=spacing, cfg=cfg, span=span, report=report, cancel=cancel
        )
        residual = _rms(landmark_residuals(transform, *landmark_pairs)) if landmark_pairs else None
        levels.append(
            LevelReport(
                level=index,
                shrink=shrink_fixed,
                smoothing_mm=smoothing,
                iterations=iterations,
                metric=metric,
                seconds=time.perf_counter() - level_start,
                spacing_mm=spacing,
                stop_reason=stop_reason,
                transform=transform,
                landmark_residual_mm=residual,
            )
        )
        del fixed, moving
    residual = _rms(landmark_residuals(transform, *landmark_pairs)) if landmark_pairs else None
    report(1.0, f"Registered in {time.perf_counter() - started:.1f} s")
    return RegistrationResult(
        transform=transform,
        metric=metric,
        levels=tuple(levels),
        landmark_residual_mm=residual,
        stop_reason=stop_reason,
        initial=initial,
    )


def _rms(values: NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(np.square(values))))


def _check_cancel(cancel: CancelCheck | None) -> None:
    if cancel is not None and cancel():
        raise RegistrationCancelled("registration cancelled by the user")


def _run_level(
    fixed: sitk.Image,
    moving: sitk.Image,
    start: RigidTransform,
    *,
    spacing: float,
    cfg: RegistrationSettings,
    span: tuple[float, float],
    report: Callable[[float, str], None],
    cancel: CancelCheck | None,
) -> tuple[RigidTransform, float, int, str]:
    """One pyramid level: optimise from ``start``; returns (transform, metric, iterations, stop)."""
    # Rotate about the centre of the fixed image: rotation and translation then decouple.
    size = np.asarray(fixed.GetSize(), dtype=float)
    centre = np.asarray(fixed.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2.0)))
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=cfg.histogram_bins)
    n_voxels = float(np.prod(size))
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(min(1.0, cfg.samples_per_level / n_voxels), cfg.seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=cfg.first_step_voxels * spacing,
        minStep=cfg.min_step_voxels * spacing,
        numberOfIterations=cfg.max_iterations,
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-10,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetInitialTransform(start.to_sitk(center=centre), inPlace=True)
    cancelled = False
    level_name = f"{spacing:.2g} mm"

    def on_iteration() -> None:
        nonlocal cancelled
        done = min(1.0, method.GetOptimizerIteration() / 60.0)
        report(span[0] + (span[1] - span[0]) * done, f"Registering at {level_name}")
        if not cancelled and cancel is not None and cancel():
            cancelled = True
            method.StopRegistration()

    method.AddCommand(sitk.sitkIterationEvent, on_iteration)
    try:
        result = method.Execute(fixed, moving)
    except RuntimeError as exc:
        if cancelled:
            raise RegistrationCancelled("registration cancelled by the user") from exc
        raise ValueError(
            "the scans could not be registered (too little overlap?); try placing landmarks first"
        ) from exc
    if cancelled:
        raise RegistrationCancelled("registration cancelled by the user")
    return (
        RigidTransform.from_sitk(result),
        float(method.GetMetricValue()),
        int(method.GetOptimizerIteration()),
        method.GetOptimizerStopConditionDescription(),
    )
