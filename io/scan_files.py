"""Find the files under a path and examine each one: DICOM header, other item, or problem.

Examining is the slow part of a scan (pydicom parses headers in pure Python, ~0.55 ms of
CPU per CT header). Measured on the 2-core development machine with 2,000 CT headers:
threads make it *slower* than one thread (GIL contention: 1.4 s vs 1.1 s); worker
processes halve the parse time once started, but start-up costs ~0.3 s with
``forkserver``/``spawn`` (``fork`` is unsafe in a program running Qt threads), and they
re-import the caller's ``__main__`` module, which breaks scripts without an
``if __name__ == "__main__"`` guard. So the default is to read in the calling thread;
callers that are safe (the app, the CLI) may pass ``workers=2`` or more for big folders.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from cbctviewer.core.tasks import CancelCheck
from cbctviewer.io import limits
from cbctviewer.io.classify import classify_dir, classify_file, is_ignored
from cbctviewer.io.errors import MediaError, NotDicomError
from cbctviewer.io.headers import FileHeader, has_dicom_signature, looks_like_legacy_dicom, read_header
from cbctviewer.io.processes import worker_context
from cbctviewer.io.report import FileProblem, FoundItem

#: A scan stops collecting files beyond this many (a user pointing at a whole drive).
MAX_FILES = 500_000
_SNIFF_BYTES = 8192

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Examined:
    """The outcome for one file: exactly one of the fields is set (or none: skipped)."""

    path: Path
    header: FileHeader | None = None
    item: FoundItem | None = None
    problem: FileProblem | None = None


@dataclass(slots=True)
class FileList:
    """Files found under a root, plus folder-level items and problems."""

    files: list[Path] = field(default_factory=list)
    items: list[FoundItem] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    truncated: bool = False
    cancelled: bool = False


def find_files(root: Path, *, cancel: CancelCheck | None = None, max_files: int = MAX_FILES) -> FileList:
    """List the files under ``root`` recursively, in a stable (sorted) order.

    Hidden files and system clutter are skipped, symlinked folders are not followed
    (no loops), and application bundles (``.app``) are reported as items, not entered.
    """
    out = FileList()
    stack = [root]
    while stack:
        if cancel is not None and cancel():
            out.cancelled = True
            break
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            out.problems.append(FileProblem(folder, f"the folder could not be opened ({_why(exc)})"))
            continue
        subfolders = []
        for entry in entries:
            if is_ignored(entry.name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    item = classify_dir(path)
                    if item is not None:
                        out.items.append(item)
                    else:
                        subfolders.append(path)
                elif entry.is_file():
                    if len(out.files) >= max_files:
                        out.truncated = True
                        return out
                    out.files.append(path)
            except OSError:
                continue
        stack.extend(reversed(subfolders))
    return out


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == 5:
        return "input/output error — the disc may be scratched or the drive failing"
    return exc.strerror or type(exc).__name__


def examine(path: Path) -> Examined:
    """Examine one file; never raises (every failure becomes a :class:`FileProblem`)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return _problem(path, "file is empty (0 bytes) — the copy may be incomplete")
        if size > limits.MAX_FILE_BYTES:
            head = _head(path)
            if has_dicom_signature(head) or looks_like_legacy_dicom(head):
                gb = size / 1024**3
                return _problem(path, f"too large to open safely: the file is {gb:.1f} GB")
            return _other(path, head)
        return Examined(path, header=read_header(path, size=size))
    except MediaError as exc:
        if isinstance(exc, NotDicomError):
            try:
                return _other(path, _head(path))
            except OSError as os_exc:
                return Examined(path, problem=FileProblem(path, f"file could not be read ({_why(os_exc)})"))
        return Examined(path, problem=FileProblem(path, str(exc)))
    except OSError as exc:
        return Examined(path, problem=FileProblem(path, f"file could not be read ({_why(exc)})"))
    except Exception as exc:  # untrusted input: no parser failure may stop the scan
        reason = f"DICOM header is damaged: unexpected structure ({type(exc).__name__})"
        return Examined(path, problem=FileProblem(path, reason))


def _problem(path: Path, reason: str) -> Examined:
    return Examined(path, problem=FileProblem(path, reason))


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_SNIFF_BYTES)


def _other(path: Path, head: bytes) -> Examined:
    found = classify_file(path, head)
    if isinstance(found, FileProblem):
        return Examined(path, problem=found)
    return Examined(path, item=found)


def examine_batch(paths: Sequence[Path]) -> list[Examined]:
    """Examine several files (the unit of work sent to a worker process)."""
    return [examine(p) for p in paths]


#: ``scan(workers=AUTO_WORKERS)``: choose by the number of files (see :func:`default_workers`).
AUTO_WORKERS = 0
#: Below this many files, process start-up (~0.3 s) costs more than parallel parsing saves.
PARALLEL_MIN_FILES = 1500
#: With fewer cores, worker processes lose: on 2 cores, 2,000 headers took 0.86 s in-process
#: and 2.19 s with two processes (start-up, pickling, and the GUI/main thread competing).
PARALLEL_MIN_CORES = 4


def default_workers(n_files: int, *, cores: int | None = None) -> int:
    """Worker processes for ``AUTO_WORKERS``: one per core (at most 4) for big folders on
    machines with at least :data:`PARALLEL_MIN_CORES` cores, else 1 (in-process).

    Processes are unsafe for scripts without a main guard and for frozen programs without
    ``freeze_support`` (see the module doc), so only callers that opt in get them.
    """
    cores = cores if cores is not None else (os.cpu_count() or 1)
    if n_files < PARALLEL_MIN_FILES or cores < PARALLEL_MIN_CORES:
        return 1
    return min(4, cores)


def examine_all(
    paths: Sequence[Path],
    *,
    workers: int,
    progress: Progress | None = None,
    cancel: CancelCheck | None = None,
) -> tuple[list[Examined], bool]:
    """Examine ``paths`` in order; return the results and whether it was cancelled.

    With ``workers <= 1`` everything runs in the calling thread; otherwise that many
    worker processes examine chunks of files while this thread polls ``cancel`` every
    0.1 s. A cancelled run returns promptly with the results finished so far.
    """
    if workers <= 1 or len(paths) < 2:
        return _serial(paths, progress=progress, cancel=cancel)
    try:
        return _parallel(paths, workers=workers, progress=progress, cancel=cancel)
    except (OSError, RuntimeError, ImportError):  # e.g. processes not allowed: still scan
        return _serial(paths, progress=progress, cancel=cancel)


def _serial(
    paths: Sequence[Path], *, progress: Progress | None, cancel: CancelCheck | None
) -> tuple[list[Examined], bool]:
    results: list[Examined] = []
    last = 0.0
    for i, path in enumerate(paths):
        if cancel is not None and cancel():
            return results, True
        results.append(examine(path))
        now = time.monotonic()
        if progress is not None and now - last > 0.05:
            last = now
            progress(i + 1, len(paths))
    return results, False


def _parallel(
    paths: Sequence[Path], *, workers: int, progress: Progress | None, cancel: CancelCheck | None
) -> tuple[list[Examined], bool]:
    size = max(8, min(128, len(paths) // (workers * 8) or 1))
    chunks = [list(paths[i : i + size]) for i in range(0, len(paths), size)]
    results: dict[int, list[Examined]] = {}
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=worker_context())
    cancelled = False
    try:
        futures: dict[Future[list[Examined]], int] = {
            executor.submit(examine_batch, chunk): i for i, chunk in enumerate(chunks)
        }
        pending = set(futures)
        done_files = 0
        while pending:
            if cancel is not None and cancel():
                cancelled = True
                break
            finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in finished:
                index = futures[future]
                try:
                    results[index] = future.result()
                except Exception:  # a crashed worker: redo its files here
                    results[index] = examine_batch(chunks[index])
                done_files += len(chunks[index])
            if progress is not None and finished:
                progress(done_files, len(paths))
    finally:
        executor.shutdown(wait=not cancelled, cancel_futures=True)
    if cancelled:
        # Keep only the finished prefix so that the partial result is in file order.
        ordered: list[Examined] = []
        for i in range(len(chunks)):
            if i not in results:
                break
            ordered.extend(results[i])
        return ordered, True
    return [e for i in range(len(chunks)) for e in results[i]], False
