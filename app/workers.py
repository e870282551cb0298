"""Long work (scan, load) off the GUI thread, with progress, cancel and plain-language errors.

A :class:`Task` runs a function ``fn(progress, cancel)`` on a ``QThreadPool`` thread; its
:class:`TaskSignals` arrive on the GUI thread (queued): ``progress(fraction, message)``
(throttled), then exactly one of ``succeeded(result)``, ``failed(message)`` or
``cancelled()``, then ``finished()``. ``cancel()`` is safe from any thread; the function
sees it through the ``cancel`` callable it polls, as :func:`cbctviewer.io.scan.scan` and
:func:`cbctviewer.io.load.load` do.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from cbctviewer.core.tasks import CancelCheck, Cancelled, ProgressCallback
from cbctviewer.io.errors import MediaError

log = logging.getLogger(__name__)

#: Least time between two progress signals (s); the last one (fraction 1) always passes.
PROGRESS_INTERVAL = 0.05
TaskFunction = Callable[[ProgressCallback, CancelCheck], Any]


class TaskSignals(QObject):
    """Signals of one :class:`Task` (a QObject living on the GUI thread)."""

    progress = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()


def unexpected_error_text(what: str, exc: BaseException) -> str:
    """A plain sentence for a bug: names only the exception type (messages may hold header text)."""
    return f"{what} failed because of an unexpected problem ({type(exc).__name__}). Please report it."


def log_unexpected(what: str, exc: BaseException) -> None:
    """Log a bug's type and stack, but not its message (it may quote patient header fields)."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s failed: %s\n%s", what, type(exc).__name__, stack)


class Task(QRunnable):
    """One cancellable job: ``fn(progress, cancel)`` on a pool thread."""

    def __init__(self, fn: TaskFunction, *, name: str) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it (TaskRunner keeps it until finished)
        self.fn = fn
        self.name = name
        self.signals = TaskSignals()
        self._cancel = threading.Event()
        self._last_progress = 0.0
        self.done = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.signals.progress.emit(float(fraction), str(message))

    def run(self) -> None:
        try:
            result = self.fn(self._progress, self._cancel.is_set)
        except Cancelled:
            self.signals.cancelled.emit()
        except MediaError as exc:
            self.signals.failed.emit(str(exc))
        except MemoryError:
            self.signals.failed.emit("There is not enough memory for this scan.")
        except Exception as exc:
            log_unexpected(self.name, exc)
            self.signals.failed.emit(unexpected_error_text(self.name, exc))
        else:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.succeeded.emit(result)
        finally:
            self.done.set()
            self.signals.finished.emit()


class TaskRunner(QObject):
    """Starts tasks on a private thread pool and keeps them alive until they finish."""

    def __init__(self, parent: QObject | None = None, *, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._running: set[Task] = set()

    def start(self, task: Task) -> Task:
        """Run ``task``; its signals fire on the GUI thread."""
        self._running.add(task)
        task.signals.finished.connect(lambda: self._running.discard(task))
        self.pool.start(task)
        return task

    @property
    def running(self) -> list[Task]:
        return [t for t in self._running if not t.done.is_set()]

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything and wait for the threads; True when all stopped in time."""
        self.cancel_all()
        return bool(self.pool.waitForDone(timeout_ms))
