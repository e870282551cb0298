"""Phase one of the DICOM import: scan a folder, disc, DICOMDIR, zip or file into a report.

Only headers are read (never pixels). The result lists patients → studies → series
candidates with geometry summaries and warnings, the non-DICOM things on the media
(reports, screenshots, viewer programs...) and per-file problems; ``load`` then reads
the candidate the user picks. Nothing is ever written to the source; a zip archive is
unpacked into a private temporary folder owned by the report (``report.close()``).

A DICOMDIR given directly is trusted for the list of files (falling back to a scan of
its folder when it lists missing files or none). A *folder* holding a DICOMDIR is
scanned file by file anyway, so that nothing the index forgets is missed; the index is
read to cross-check: files it lists but that are missing, files it does not list, and
references leaving the media are reported as warnings. Further copies of the index
(e.g. ``DICOMDIR.bak``) are recognised by their SOP class and skipped.

Cancellation: ``scan`` never raises :class:`~cbctviewer.core.tasks.Cancelled`. When
``cancel()`` returns True it stops promptly and returns the report with
``cancelled=True`` holding what was found so far (volumes in it may be incomplete and
their geometry is not analysed). A ``Cancelled`` raised by the progress callback has
the same effect.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from cbctviewer.core.tasks import CancelCheck, Cancelled, ProgressCallback
from cbctviewer.io import limits
from cbctviewer.io.archive import extract_zip, is_zip
from cbctviewer.io.dicomdir import DicomDirIndex, is_dicomdir_name, read_dicomdir
from cbctviewer.io.errors import MediaError
from cbctviewer.io.grouping import group
from cbctviewer.io.headers import FileHeader, has_dicom_signature
from cbctviewer.io.report import FileProblem, FoundItem, ScanReport
from cbctviewer.io.scan_files import (
    AUTO_WORKERS,
    Examined,
    default_workers,
    examine,
    examine_all,
    find_files,
)
from cbctviewer.io.scan_summary import overall_warnings

__all__ = ["scan"]


class _Run:
    """State of one scan: the report being filled, options, and progress mapping."""

    def __init__(
        self,
        report: ScanReport,
        *,
        progress: ProgressCallback | None,
        cancel: CancelCheck | None,
        workers: int | None,
        budget: int,
    ) -> None:
        self.report = report
        self._progress = progress
        self._cancel = cancel
        self.workers = workers
        self.budget = budget
        self.lo, self.hi = 0.0, 1.0
        self.headers: list[FileHeader] = []

    def cancelled(self) -> bool:
        if self.report.cancelled:
            return True
        if self._cancel is not None and self._cancel():
            self.report.cancelled = True
        return self.report.cancelled

    def progress(self, fraction: float, message: str) -> None:
        if self._progress is not None:
            self._progress(self.lo + (self.hi - self.lo) * min(max(fraction, 0.0), 1.0), message)

    def phase(self, lo: float, hi: float) -> Callable[[float, str], None]:
        """A progress callback mapping [0, 1] onto [lo, hi] of the current range."""
        base, span = self.lo, self.hi - self.lo

        def report(fraction: float, message: str) -> None:
            if self._progress is not None:
                f = min(max(fraction, 0.0), 1.0)
                self._progress(base + span * (lo + (hi - lo) * f), message)

        return report


def scan(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    workers: int | None = None,
    memory_budget: int | None = None,
) -> ScanReport:
    """Scan a folder, disc root, DICOMDIR, zip archive or single file; read headers only.

    Parameters
    ----------
    path : str or Path
        What to scan. Folders are searched recursively and files are recognised by
        content, not by name. A DICOMDIR is used to find its files; a zip archive is
        unpacked into a private temporary folder (``report.temp_dir``).
    progress : callable, optional
        ``progress(fraction, message)``; called from the calling thread.
    cancel : callable, optional
        Polled often; when it returns True the scan stops and the partial report is
        returned with ``cancelled=True`` (see the module docstring).
    workers : int, optional
        Worker processes for reading headers. ``None`` (default) or 1 reads in the calling
        thread, which is safe in any script. ``AUTO_WORKERS`` (0) uses one process per core
        when there are enough files for it to pay off (programs with a ``__main__`` guard,
        such as the CLI and the app). Any other number is used as given.
    memory_budget : int, optional
        Voxel bytes one load may allocate (default :func:`cbctviewer.io.limits.memory_budget`);
        bigger candidates get a "too large to open safely" warning.

    Returns
    -------
    ScanReport
        Never raises for bad media: unreadable files become ``report.problems``. Call
        ``report.close()`` (or use ``with``) to remove the temporary folder of an archive.
    """
    source = Path(path)
    report = ScanReport(source=source)
    budget = memory_budget if memory_budget is not None else limits.memory_budget()
    run = _Run(report, progress=progress, cancel=cancel, workers=workers, budget=budget)
    run.lo, run.hi = 0.0, 0.92
    try:
        _scan_source(run, source)
        run.lo, run.hi = 0.92, 1.0
        run.progress(0.0, "Grouping series")
        analyse = not report.cancelled
        grouping = group(run.headers, memory_budget=budget, analyse=analyse, cancel=run.cancelled)
        report.patients = grouping.patients
        report.warnings.extend(grouping.warnings)
        report.warnings.extend(overall_warnings(report))
        run.progress(1.0, "Scan finished")
    except Cancelled:
        report.cancelled = True
    except Exception as exc:  # never let a bug in one step hide everything found so far
        report.warnings.append(
            f"The scan stopped early because of an unexpected error ({type(exc).__name__}); "
            "the lists may be incomplete."
        )
    return report


def _scan_source(run: _Run, source: Path) -> None:
    report = run.report
    if source.is_dir():
        _scan_folder(run, source)
        return
    if not source.exists():
        report.problems.append(FileProblem(source, "not found: the file or folder does not exist"))
        return
    if not source.is_file():  # a pipe or device would block or never end
        report.problems.append(FileProblem(source, "not a regular file or folder"))
        return
    if is_dicomdir_name(source.name):
        _scan_dicomdir(run, source)
        return
    with source.open("rb") as f:
        head = f.read(132)
    # A DICOM file whose pixels happen to contain a zip end marker is still DICOM.
    if not has_dicom_signature(head) and is_zip(source):
        _scan_zip(run, source)
        return
    result = examine(source)
    if result.header is not None and result.header.is_directory:
        _scan_dicomdir(run, source)  # a DICOMDIR under another name
    else:
        report.files_seen = 1
        _collect(run, [result])


def _collect(run: _Run, results: list[Examined], *, shown: Callable[[Path], Path] = lambda p: p) -> None:
    """Sort examination results into headers, items and problems."""
    for r in results:
        if r.header is not None:
            if not r.header.is_directory:  # extra copies of the index are not images
                run.headers.append(r.header)
        elif r.item is not None:
            run.report.items.append(FoundItem(shown(r.item.path), r.item.kind, r.item.description))
        elif r.problem is not None:
            run.report.problems.append(FileProblem(shown(r.problem.path), r.problem.error))


def _examine(run: _Run, paths: list[Path], *, lo: float, hi: float) -> list[Examined]:
    workers = default_workers(len(paths)) if run.workers == AUTO_WORKERS else (run.workers or 1)
    phase = run.phase(lo, hi)

    def on_progress(done: int, total: int) -> None:
        phase(done / max(total, 1), f"Reading file headers ({done} of {total})")

    results, cancelled = examine_all(paths, workers=workers, progress=on_progress, cancel=run.cancelled)
    run.report.files_seen += len(paths) if not cancelled else len(results)
    if cancelled:
        run.report.cancelled = True
    return results


def _scan_folder(run: _Run, root: Path, *, shown: Callable[[Path], Path] = lambda p: p) -> None:
    """Scan every file under ``root``; any DICOMDIR found is used to cross-check."""
    run.progress(0.0, "Looking for files")
    found = find_files(root, cancel=run.cancelled)
    report = run.report
    report.items.extend(FoundItem(shown(i.path), i.kind, i.description) for i in found.items)
    report.problems.extend(FileProblem(shown(p.path), p.error) for p in found.problems)
    if found.truncated:
        report.warnings.append(f"Too many files: only the first {len(found.files)} were scanned.")
    if found.cancelled:
        report.cancelled = True
        return
    indexes: list[DicomDirIndex] = []
    paths: list[Path] = []
    for path in found.files:
        if is_dicomdir_name(path.name):
            try:
                indexes.append(read_dicomdir(path))
            except (MediaError, OSError):
                report.warnings.append(
                    "The disc's index (DICOMDIR) could not be read; all files were scanned instead."
                )
        else:
            paths.append(path)
    results = _examine(run, paths, lo=0.05, hi=1.0)
    _collect(run, results, shown=shown)
    for index in indexes:
        _cross_check(run, index, results)


def _cross_check(run: _Run, index: DicomDirIndex, results: list[Examined]) -> None:
    """Tell the user where the folder and its DICOMDIR disagree (all files were scanned)."""
    report = run.report
    _index_warnings(report, index)
    listed = {p.resolve() for p in index.files}
    root = index.root.resolve()
    unlisted = sum(
        1
        for r in results
        if r.header is not None
        and not r.header.is_directory
        and r.path.resolve().is_relative_to(root)
        and r.path.resolve() not in listed
    )
    if unlisted and index.records:
        report.warnings.append(
            f"{unlisted} DICOM file{'s are' if unlisted > 1 else ' is'} not listed in the disc's index "
            "(DICOMDIR); they were included anyway."
        )


def _index_warnings(report: ScanReport, index: DicomDirIndex) -> None:
    if index.missing:
        report.warnings.append(
            f"The disc's index (DICOMDIR) lists {len(index.missing)} file(s) that are not on the media; "
            "the copy may be incomplete."
        )
    if index.refused:
        report.warnings.append(
            f"The disc's index (DICOMDIR) points to {len(index.refused)} file(s) outside the disc; "
            "they were ignored."
        )


def _scan_dicomdir(run: _Run, path: Path) -> None:
    """Scan the files a DICOMDIR lists; fall back to its folder when it is unusable."""
    report = run.report
    try:
        index = read_dicomdir(path)
    except (MediaError, OSError):
        report.warnings.append(
            "The disc's index (DICOMDIR) could not be read; its folder was scanned instead."
        )
        _scan_folder(run, path.parent)
        return
    _index_warnings(report, index)
    if index.missing or not index.files:
        why = "lists files that are missing" if index.missing else "lists no images"
        report.warnings.append(f"The disc's index (DICOMDIR) {why}; its whole folder was scanned instead.")
        _scan_folder(run, path.parent)
        return
    run.progress(0.0, "Reading the disc's index")
    _collect(run, _examine(run, index.files, lo=0.05, hi=1.0))


def _scan_zip(run: _Run, archive: Path) -> None:
    """Unpack into a private temporary folder (kept in the report) and scan that."""
    report = run.report
    report.temp_dir = Path(tempfile.mkdtemp(prefix="cbct-viewer-scan-"))
    try:
        extraction = extract_zip(archive, report.temp_dir, progress=run.phase(0.0, 0.3), cancel=run.cancelled)
    except MediaError as exc:
        report.problems.append(FileProblem(archive, str(exc)))
        return
    report.problems.extend(extraction.problems)
    report.warnings.extend(extraction.warnings)
    if extraction.cancelled:
        report.cancelled = True
        return
    root = report.temp_dir

    def shown(p: Path) -> Path:
        try:
            return archive / p.relative_to(root)
        except ValueError:
            return p

    lo, hi = run.lo, run.hi
    run.lo = lo + 0.3 * (hi - lo)
    _scan_folder(run, root, shown=shown)
    run.lo = lo
