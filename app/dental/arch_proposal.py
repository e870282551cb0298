"""The arch proposed from the grey values, found on a worker thread.

:class:`ArchProposer` runs :func:`~cbctviewer.core.arch_detect.propose_arch` on its own
one-thread pool and reports on the GUI thread through :attr:`ArchProposer.finished`; a
failure becomes a plain-language message, never a dead worker.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance

from cbctviewer.core.arch_detect import propose_arch
from cbctviewer.core.volume import Volume

log = logging.getLogger(__name__)

__all__ = ["ArchProposer"]


class _ProposalJob(QRunnable):
    def __init__(self, volume: Volume, done: SignalInstance) -> None:
        super().__init__()
        self.volume, self.done = volume, done

    def run(self) -> None:
        try:
            self.done.emit(propose_arch(self.volume), "")
        except ValueError as exc:  # no arch in this scan: the reason in plain words
            self.done.emit(None, str(exc))
        except Exception as exc:  # reported: never kills the worker
            log.exception("arch proposal failed")
            self.done.emit(None, f"the arch could not be proposed ({type(exc).__name__})")


class ArchProposer(QObject):
    """Proposes arches off the GUI thread, one at a time."""

    #: A proposal ended: the ``ArchCurve`` (None when none was found) and a message.
    finished = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def start(self, volume: Volume) -> None:
        """Look for the arch in ``volume``; returns at once."""
        # Emitted from the worker thread, the signal reaches the GUI thread queued.
        self._pool.start(_ProposalJob(volume, self.finished))

    def wait(self, msecs: int) -> bool:
        """Block until no proposal runs (shutdown)."""
        return bool(self._pool.waitForDone(msecs))
