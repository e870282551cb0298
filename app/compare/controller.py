"""The follow-up scan of the open case: opening, registration, resampling and what is saved.

:class:`CompareController` owns the follow-up :class:`~cbctviewer.core.volume.Volume`, the
baseline → follow-up :class:`~cbctviewer.core.registration.RigidTransform`, the follow-up
resampled onto the baseline grid and a second :class:`ViewerState` showing it, linked to the
window's state (:class:`~.link.LinkedStates`). Scanning, loading, registering and resampling
run on worker threads (:mod:`cbctviewer.app.workers`, :mod:`.jobs`); the results arrive as
Qt signals. Landmarks and the registration region are :mod:`.landmarks`; what the case
file keeps is :mod:`.saving`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.paired_measurements import PairedMeasurements, to_baseline_frame
from cbctviewer.core.registration import RegistrationResult, RigidTransform
from cbctviewer.core.view_state import ViewerState
from cbctviewer.core.volume import SeriesIdentity, Volume
from cbctviewer.io.report import ScanReport, SeriesCandidate

from .. import integrations
from ..opening import CaseOpener, choose_series, open_notes
from ..workers import Task
from . import jobs
from .identity import patient_mismatch
from .landmarks import CompareLandmarks
from .link import LinkedStates
from .saving import CompareRecord

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow


class CompareController(QObject, CompareLandmarks):
    """The follow-up of ``window``'s open scan and its registration."""

    #: A follow-up was opened or closed.
    followup_changed = Signal()
    #: The transform changed (a new resampled follow-up is shown).
    transform_changed = Signal()
    #: ``(fraction, message)`` of the follow-up's opening or the registration.
    progress = Signal(float, str)
    #: True while opening, registering or resampling.
    busy_changed = Signal(bool)
    #: A finished registration (``RegistrationResult``).
    registered = Signal(object)
    #: Landmarks, pending landmark or region changed.
    landmarks_changed = Signal()
    #: A message for the status bar / panel.
    message = Signal(str)
    #: ``(title, message)``: something failed, in plain words.
    failed = Signal(str, str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.opener = CaseOpener(self, scanner=window.opener.scanner, loader=window.opener.loader)
        #: Resampling and registration, one at a time on a worker thread.
        self.worker = jobs.LatestJob(self)
        #: The follow-up shown on the baseline grid (what the compare views draw).
        self.state = ViewerState()
        self.link: LinkedStates | None = None
        self.followup: Volume | None = None
        self.resampled: Volume | None = None
        self.report: ScanReport | None = None
        self.candidate: SeriesCandidate | None = None
        self.source: Path | None = None
        self.baseline: Volume | None = None
        self.transform = RigidTransform.identity()
        #: The transform came from a registration or landmarks (not the rough initial placement).
        self.is_registered = False
        self.result: RegistrationResult | None = None
        self.quality: dict[str, Any] = {}
        self.paired: PairedMeasurements | None = None
        #: Follow-up measurements mapped into the baseline frame, for drawing in the follow-up view.
        self.display_set = MeasurementSet(SeriesIdentity())
        self.landmarks: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending_landmark: np.ndarray | None = None
        self.region: tuple[np.ndarray, np.ndarray] | None = None
        self.identity_warning: str | None = None
        #: Resampled follow-up values below this are outside its field of view (None: unknown).
        self.no_data_below: float | None = None
        #: The follow-up's own warnings (geometry, media problems) in plain words.
        self.notes: list[str] = []
        #: What the case file remembered about the follow-up (``None``: nothing).
        self.saved: CompareRecord | None = None
        self._restoring: CompareRecord | None = None
        self._wanted_series: str | None = None
        self.worker.progress.connect(self.progress)
        self.worker.failed.connect(self.failed)
        self.worker.busy_changed.connect(lambda _: self.busy_changed.emit(self.busy))
        self.opener.progress.connect(self.progress)
        self.opener.scanned.connect(self._scanned)
        self.opener.loaded.connect(self._loaded)
        self.opener.failed.connect(self._open_failed)
        self.opener.cancelled.connect(lambda: self.message.emit("Cancelled: no follow-up was opened."))
        self.opener.busy_changed.connect(lambda busy: self.busy_changed.emit(busy or self.busy))
        window.state.events.volume.connect(self._baseline_changed)

    @property
    def busy(self) -> bool:
        return self.worker.busy or self.opener.busy

    @property
    def has_followup(self) -> bool:
        return self.followup is not None and self.resampled is not None

    # -- opening ------------------------------------------------------------------------
    def open_followup(self, path: Path | str, *, series: str | None = None) -> None:
        """Scan ``path`` and open one of its series as the follow-up (returns at once)."""
        if self.window.state.volume is None:
            self.failed.emit("No scan open", "Open the baseline scan first, then its follow-up.")
            return
        path = Path(path).expanduser()
        if not path.exists():
            self.failed.emit("Nothing to open", f"{path} does not exist (was the disc or stick removed?).")
            return
        self.source, self._wanted_series = path, series
        self.message.emit("Reading the follow-up…")
        self.opener.scan(path)

    def reopen_saved(self) -> None:
        """Open the follow-up the case file remembers, with its saved transform."""
        if self.saved is None or not self.saved.source:
            self.message.emit("This scan has no saved follow-up.")
            return
        self._restoring = self.saved
        self.open_followup(self.saved.source, series=self.saved.series_uid or None)

    def _scanned(self, report: ScanReport, path: Path) -> None:
        choice = choose_series(report, self._wanted_series)
        if isinstance(choice, str):
            report.close()
            self._open_failed("No follow-up to show", choice)
            return
        if isinstance(choice, list):
            picked = integrations.choose_series_dialog(report, choice, self.window)
            if picked is None:
                report.close()
                self.message.emit("Cancelled: no follow-up was opened.")
                return
            choice = picked
        self.opener.load(report, choice)

    def _open_failed(self, title: str, message: str) -> None:
        self._restoring = None
        self.failed.emit(title, message)

    def _loaded(self, volume: Volume, candidate: SeriesCandidate, report: ScanReport) -> None:
        baseline = self.window.state.volume
        if baseline is None:
            report.close()
            return
        if min(volume.size) < 2:
            report.close()
            self._open_failed("Not a 3D scan", "The follow-up must be a 3D scan (CBCT or CT volume).")
            return
        self.close_followup(keep_saved=True)
        if self.report is not None and self.report is not report:
            self.report.close()
        self.baseline, self.followup, self.candidate, self.report = baseline, volume, candidate, report
        self.identity_warning = patient_mismatch(baseline.metadata, volume.metadata)
        identity = volume.metadata.identity
        restoring, self._restoring = self._restoring, None
        if restoring is None:
            restoring = self.saved  # the same follow-up opened by hand: reuse its registration
        if restoring is not None and restoring.series_uid == identity.series_instance_uid:
            self.paired = restoring.paired(identity)
            self.landmarks, self.region, self.quality = (
                restoring.landmarks,
                restoring.region,
                restoring.quality,
            )
            transform, registered = restoring.transform, restoring.registered
        else:
            self.paired = PairedMeasurements(identity)
            transform, registered = self.initial_placement(), False
        self.paired.followup.events.all.connect(self._followup_measurements_changed)
        self.notes = open_notes(report, candidate, volume)
        if self.identity_warning:
            self.window.banner.show_notes([self.identity_warning, *self.window.banner.notes])
        self.set_transform(transform, registered=registered)
        self.followup_changed.emit()

    def initial_placement(self) -> RigidTransform:
        """Before registration: the scanners' coordinates if the fields of view overlap, else centres."""
        assert self.baseline is not None and self.followup is not None
        return jobs.initial_placement(self.baseline, self.followup)

    def close_followup(self, *, keep_saved: bool = True) -> None:
        """Forget the follow-up (the case file keeps its record unless ``keep_saved`` is False)."""
        self.worker.cancel()
        had = self.followup is not None
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.paired is not None:
            self.paired.followup.events.all.disconnect(self._followup_measurements_changed)
        self.state.volume = None
        self.followup = self.resampled = self.baseline = None
        self.paired = None
        self.display_set.reset()
        self.landmarks, self.pending_landmark, self.region = [], None, None
        self.result, self.quality, self.is_registered = None, {}, False
        self.transform = RigidTransform.identity()
        self.identity_warning = None
        if self.report is not None:
            self.report.close()
            self.report = None
        if not keep_saved:
            self.saved = None
        if had:
            self.followup_changed.emit()

    def _baseline_changed(self, volume: Volume | None) -> None:
        if self.followup is not None and volume is not self.baseline:
            self.close_followup()
        self.saved = None  # the new case's record (if any) is restored after this

    def shutdown(self) -> None:
        """Cancel and wait for the worker threads (the window is closing)."""
        self.worker.cancel()
        self.opener.shutdown()
        self.worker.wait(30_000)
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.report is not None:
            self.report.close()
            self.report = None

    # -- transform and resampling -------------------------------------------------------
    def set_transform(self, transform: RigidTransform, *, registered: bool) -> None:
        """Show the follow-up through ``transform`` (resampled on a worker thread)."""
        baseline, followup = self.baseline, self.followup
        if baseline is None or followup is None:
            return
        self.transform, self.is_registered = transform, registered
        task = self.worker.start(jobs.resample_job(baseline, followup, transform), "Resampling the follow-up")
        task.signals.succeeded.connect(lambda volume: self._resampled(task, volume))

    def _resampled(self, task: Task, result: tuple[Volume, float | None]) -> None:
        if self.followup is None or self.baseline is not self.window.state.volume:
            return
        volume, self.no_data_below = result
        self.resampled = volume
        if self.link is None:
            self.state.volume = volume
            self.link = LinkedStates(self.window.state, self.state)
        else:
            self.link.replace_follower_volume(volume)
        self._followup_measurements_changed()
        self.transform_changed.emit()

    def cancel(self) -> None:
        """Stop the registration (or opening) running now; the previous transform stays."""
        self.worker.cancel()
        self.opener.cancel()

    # -- registration -------------------------------------------------------------------
    def register(self, *, use_landmarks: bool = False) -> None:
        """Automatic rigid registration (inside :attr:`region` if set) on a worker thread.

        ``use_landmarks`` starts from the landmark fit and reports the landmark residual.
        """
        baseline, followup = self.baseline, self.followup
        if baseline is None or followup is None:
            self.failed.emit("No follow-up", "Open a follow-up scan first (Compare › Open follow-up…).")
            return
        landmarks = self.landmark_arrays() if use_landmarks and len(self.landmarks) >= 3 else None
        initial = None if landmarks is not None or not self.is_registered else self.transform
        job = jobs.registration_job(
            baseline, followup, initial=initial, region=self.region, landmarks=landmarks
        )
        task = self.worker.start(job, "Registration")
        task.signals.succeeded.connect(lambda result: self._registration_done(task, result))
        task.signals.cancelled.connect(lambda: self.message.emit("Registration cancelled: nothing changed."))

    def _registration_done(self, task: Task, result: RegistrationResult) -> None:
        if self.followup is None:
            return
        self.result = result
        self.quality = jobs.registration_quality(result)
        self.set_transform(result.transform, registered=True)
        self.registered.emit(result)
        self.request_save()

    # -- landmarks and region: see .landmarks ---------------------------------------------
    def reset_registration(self) -> None:
        """Back to the rough initial placement (landmarks stay)."""
        if self.followup is None:
            return
        self.result, self.quality = None, {}
        self.set_transform(self.initial_placement(), registered=False)
        self.request_save()

    # -- follow-up measurements ---------------------------------------------------------
    def _followup_measurements_changed(self, *_: object) -> None:
        if self.paired is None:
            self.display_set.reset()
        else:
            self.display_set.reset([to_baseline_frame(m, self.transform) for m in self.paired.followup])
        self.request_save()

    # -- saving -------------------------------------------------------------------------
    def record(self) -> CompareRecord | None:
        """What the case file keeps about the follow-up (``None`` when none is open)."""
        if self.followup is None or self.paired is None:
            return self.saved
        return CompareRecord.of(self)

    def request_save(self) -> None:
        save = getattr(self.window.measure, "request_save", None)
        if callable(save) and self.followup is not None:
            save()
