"""The compare controller's work for the worker threads, and the follow-up's first placement.

Each ``*_job`` function returns the callable a :class:`~cbctviewer.app.workers.Task` runs
off the GUI thread (it takes ``(progress, cancel)``); everything it needs is captured when
the job is made, so later changes on the GUI thread cannot reach into a running job.
:class:`LatestJob` runs them one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import SimpleITK as sitk
from PySide6.QtCore import QObject, Signal

from cbctviewer.core.registration import RegistrationResult, RigidTransform, register_rigid, resample_followup
from cbctviewer.core.tasks import CancelCheck, ProgressCallback
from cbctviewer.core.volume import Volume
from cbctviewer.io.errors import MediaError

from ..workers import Task, TaskRunner

__all__ = [
    "LatestJob",
    "initial_placement",
    "registration_job",
    "registration_quality",
    "resample_job",
]

Job = Callable[[ProgressCallback, CancelCheck], Any]


class LatestJob(QObject):
    """One job at a time on a worker thread: starting one cancels the one running.

    Only the current job's progress and failure are passed on (a cancelled job may still
    report before it stops); :attr:`busy_changed` says when a job starts or the last ends.
    """

    #: ``(fraction, message)`` of the current job.
    progress = Signal(float, str)
    #: ``(job name, message)``: the current job failed, in plain words.
    failed = Signal(str, str)
    #: A job started (True) or the current one ended (False).
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(self, threads=1)
        self.task: Task | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None

    def start(self, job: Job, name: str) -> Task:
        """Run ``job`` (cancelling the current one); connect to the returned task's results."""
        self.cancel()
        task = Task(job, name=name)
        task.signals.progress.connect(lambda f, m: self.progress.emit(f, m) if self.task is task else None)
        task.signals.failed.connect(lambda text: self.failed.emit(name, text) if self.task is task else None)
        task.signals.finished.connect(lambda: self._finished(task))
        self.task = task
        self.busy_changed.emit(True)
        self.runner.start(task)
        return task

    def cancel(self) -> None:
        """Ask the current job to stop (it reports ``cancelled`` when it has)."""
        if self.task is not None:
            self.task.cancel()

    def wait(self, timeout_ms: int) -> None:
        """Wait for every started job's thread to end (the window is closing)."""
        self.runner.pool.waitForDone(timeout_ms)

    def _finished(self, task: Task) -> None:
        if self.task is task:
            self.task = None
            self.busy_changed.emit(False)


def initial_placement(baseline: Volume, followup: Volume) -> RigidTransform:
    """Before registration: the scanners' coordinates if the fields of view overlap, else centres.

    Parameters
    ----------
    baseline, followup
        The two scans.

    Returns
    -------
    RigidTransform
        Identity when the follow-up's centre lies inside the baseline's field of view,
        otherwise the translation that puts the two centres on each other.
    """
    base_centre = _centre(baseline)
    follow_centre = _centre(followup)
    index = baseline.patient_to_index(tuple(follow_centre))
    inside = all(-0.5 <= i <= n - 0.5 for i, n in zip(index, baseline.size, strict=True))
    if inside:
        return RigidTransform.identity()
    return RigidTransform.from_rotation_translation(np.eye(3), follow_centre - base_centre)


def resample_job(baseline: Volume, followup: Volume, transform: RigidTransform) -> Job:
    """The follow-up resampled onto the baseline grid through ``transform``.

    The job returns ``(volume, no_data_below)``: resampled values below the threshold are
    outside the follow-up's field of view (``None``: cannot be told apart).
    """

    def run(progress: ProgressCallback, cancel: CancelCheck) -> tuple[Volume, float | None]:
        fill, valid_from = _no_data_fill(followup)
        return resample_followup(baseline, followup, transform, default_value=fill), valid_from

    return run


def registration_job(
    baseline: Volume,
    followup: Volume,
    *,
    initial: RigidTransform | None,
    region: tuple[np.ndarray, np.ndarray] | None,
    landmarks: tuple[np.ndarray, np.ndarray] | None,
) -> Job:
    """Automatic rigid registration (:func:`~cbctviewer.core.registration.register_rigid`).

    Its plain-language refusals (too little overlap, a bad region…) become
    :class:`~cbctviewer.io.errors.MediaError`, which the task reports as they are.
    """

    def run(progress: ProgressCallback, cancel: CancelCheck) -> RegistrationResult:
        try:
            return register_rigid(
                baseline,
                followup,
                initial=initial,
                region=region,
                landmarks=landmarks,
                progress=progress,
                cancel=cancel,
            )
        except ValueError as exc:
            raise MediaError(str(exc)) from exc

    return run


def registration_quality(result: RegistrationResult) -> dict[str, Any]:
    """What the panel shows and the case file keeps about a finished registration.

    ``method`` uses :data:`cbctviewer.core.registration_record.METHODS`.
    """
    return {
        "method": "landmarks+automatic" if result.landmark_residual_mm is not None else "automatic",
        "metric": result.metric,
        "landmark_residual_mm": result.landmark_residual_mm,
        "levels": [
            {
                "spacing_mm": lv.spacing_mm,
                "iterations": lv.iterations,
                "metric": lv.metric,
                "seconds": lv.seconds,
            }
            for lv in result.levels
        ],
    }


def _no_data_fill(followup: Volume) -> tuple[float | None, float | None]:
    """A fill value below the follow-up's data for "outside its field of view", and the threshold.

    Integer scans get their type's minimum when that is below the data (then the overlays
    can tell "no data" from air); otherwise the default fill (the data minimum) is used.
    """
    dtype = followup.array.dtype
    if not np.issubdtype(dtype, np.integer):
        return None, None
    stats = sitk.MinimumMaximumImageFilter()
    stats.Execute(followup.image)
    lowest = float(np.iinfo(dtype).min)
    if stats.GetMinimum() <= lowest + 1:
        return None, None
    return lowest, float(stats.GetMinimum()) - 0.5


def _centre(volume: Volume) -> np.ndarray:
    nx, ny, nz = volume.size
    return volume.index_to_patient(((nx - 1) / 2.0, (ny - 1) / 2.0, (nz - 1) / 2.0))
