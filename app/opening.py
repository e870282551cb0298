"""Opening a case: scan the media, pick the series, load it — off the GUI thread.

:class:`CaseOpener` runs :func:`~cbctviewer.io.scan.scan` and
:func:`~cbctviewer.io.load.load` as :class:`~.workers.Task` jobs and reports back with Qt
signals; it opens no dialogs (the window decides what to ask). :func:`choose_series`
and :func:`open_notes` are the plain decisions and texts, testable without Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from cbctviewer.core.tasks import CancelCheck, Cancelled, ProgressCallback
from cbctviewer.core.volume import Volume
from cbctviewer.io.report import CandidateKind, ScanReport, SeriesCandidate
from cbctviewer.io.summary import verdict

from .workers import Task, TaskRunner

Scanner = Callable[..., ScanReport]
Loader = Callable[..., Volume]


def loadable_series(report: ScanReport) -> list[SeriesCandidate]:
    """The candidates worth opening: the 3D volumes, else the 2D images, else any pictures.

    Localizers and screen captures are offered only when nothing better is there (the
    banner then says that no 3D scan was found).
    """
    volumes = report.volumes
    if volumes:
        return volumes
    images = [s for s in report.series if s.kind is CandidateKind.IMAGE_2D]
    if images:
        return images
    return [s for s in report.series if s.kind is not CandidateKind.NOT_IMAGE and s.frames]


def choose_series(
    report: ScanReport, wanted: str | None = None
) -> SeriesCandidate | list[SeriesCandidate] | str:
    """What to open from a scan report.

    Returns
    -------
    SeriesCandidate
        Open this one directly (the only volume, or the one asked for with ``wanted``).
    list of SeriesCandidate
        Several to choose from: ask the user.
    str
        Nothing can be opened; the text says why in plain words.
    """
    if wanted:
        found = report.find(wanted)
        if found is not None:
            return found
    choices = loadable_series(report)
    if len(choices) == 1:
        return choices[0]
    if choices:
        return choices
    return verdict(report)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def open_notes(report: ScanReport, candidate: SeriesCandidate, volume: Volume) -> list[str]:
    """Warnings worth telling the user after a case opened (deduplicated, in plain words)."""
    notes: list[str] = []
    for text in (*volume.metadata.warnings, *candidate.warnings, *report.warnings):
        if text and text not in notes:
            notes.append(text)
    if report.problems:
        notes.append(
            f"{_plural(len(report.problems), 'file')} on the media could not be used "
            "(Tools › DICOM tags shows what was read)."
        )
    return notes


class CaseOpener(QObject):
    """Runs the scan and the load of a case on worker threads, one at a time."""

    #: ``(fraction, message)`` of the step running now.
    progress = Signal(float, str)
    #: True while a scan or load runs.
    busy_changed = Signal(bool)
    #: The scan finished: ``(report, path)``; the window picks a series and calls :meth:`load`.
    scanned = Signal(object, object)
    #: ``(volume, candidate, report)``: ready to show.
    loaded = Signal(object, object, object)
    #: ``(title, message)`` in plain words.
    failed = Signal(str, str)
    #: The user cancelled.
    cancelled = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        scanner: Scanner | None = None,
        loader: Loader | None = None,
    ) -> None:
        super().__init__(parent)
        from cbctviewer.io.load import load
        from cbctviewer.io.scan import scan

        self.scanner: Scanner = scanner or scan
        self.loader: Loader = loader or load
        self.runner = TaskRunner(self)
        self.task: Task | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None

    def cancel(self) -> None:
        """Ask the running scan or load to stop."""
        if self.task is not None:
            self.task.cancel()

    def shutdown(self) -> None:
        """Cancel and wait for the worker threads (on close)."""
        self.runner.shutdown()

    def _start(self, fn: Callable[[ProgressCallback, CancelCheck], Any], name: str) -> Task:
        if self.task is not None:
            self.task.cancel()
        task = Task(fn, name=name)
        task.signals.progress.connect(lambda f, m: self._if_current(task, self.progress.emit, f, m))
        task.signals.cancelled.connect(lambda: self._if_current(task, self.cancelled.emit))
        task.signals.finished.connect(lambda: self._finished(task))
        self.task = task
        self.busy_changed.emit(True)
        self.runner.start(task)
        return task

    def _if_current(self, task: Task, emit: Callable[..., None], *args: object) -> None:
        """Pass on a signal of ``task`` unless a newer task replaced it."""
        if self.task is task:
            emit(*args)

    def _finished(self, task: Task) -> None:
        if self.task is task:
            self.task = None
            self.busy_changed.emit(False)

    def scan(self, path: Path) -> None:
        """Scan ``path`` (folder, disc, DICOMDIR, zip or file); emits :attr:`scanned` or a failure."""

        def run(progress: ProgressCallback, cancel: CancelCheck) -> ScanReport:
            report = self.scanner(path, progress=progress, cancel=cancel)
            if report.cancelled or cancel():
                report.close()
                raise Cancelled("scan cancelled")
            return report

        task = self._start(run, "Reading the media")
        task.signals.succeeded.connect(lambda report: self._scanned(task, report, path))
        task.signals.failed.connect(
            lambda text: self._if_current(task, self.failed.emit, "Could not read the media", text)
        )

    def _scanned(self, task: Task, report: ScanReport, path: Path) -> None:
        if self.task is task:
            self.scanned.emit(report, path)
        else:
            report.close()  # superseded: drop its temporary folder (archives)

    def load(self, report: ScanReport, candidate: SeriesCandidate) -> None:
        """Load one candidate of ``report``; emits :attr:`loaded` or a failure."""

        def run(progress: ProgressCallback, cancel: CancelCheck) -> Volume:
            return self.loader(candidate, progress=progress, cancel=cancel)

        task = self._start(run, "Loading the images")
        task.signals.succeeded.connect(
            lambda volume: self._if_current(task, self.loaded.emit, volume, candidate, report)
        )
        task.signals.failed.connect(
            lambda text: self._if_current(task, self.failed.emit, "The scan could not be opened", text)
        )
