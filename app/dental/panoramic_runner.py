"""Panoramic regeneration on a worker thread, the latest request wins.

Editing the arch asks for a new panoramic on every mouse move. :class:`PanoramicRunner` runs
at most one sampling at a time on its own thread pool; a request that arrives meanwhile
replaces any waiting one and cancels the running one (the sampler polls ``cancel``), so the
GUI thread never waits and the picture follows the latest curve.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.volume import Volume

if TYPE_CHECKING:
    from cbctviewer.core.panoramic import PanoramicImage, PanoramicSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PanoramicRequest:
    """What to sample: the volume, the curve, the settings and the quality."""

    volume: Volume
    curve: ArchCurve
    spec: PanoramicSpec
    preview: bool
    generation: int


class _Job(QRunnable):
    def __init__(self, runner: PanoramicRunner, request: PanoramicRequest) -> None:
        super().__init__()
        self.runner = runner
        self.request = request

    def run(self) -> None:
        req = self.request
        try:
            from cbctviewer.core.panoramic import panoramic

            image = panoramic(
                req.volume,
                req.curve,
                req.spec,
                preview=req.preview,
                cancel=lambda: self.runner.latest_generation != req.generation,
            )
        except Exception as exc:  # reported to the user: the thread must not die
            cancelled = self.runner.latest_generation != req.generation
            self.runner.bridge.failed.emit(req.generation, "" if cancelled else str(exc))
            return
        self.runner.bridge.finished.emit(req.generation, image, req.preview)


class _Bridge(QObject):
    """Lives in the GUI thread: signals emitted by the worker arrive there queued."""

    finished = Signal(int, object, bool)
    failed = Signal(int, str)


class PanoramicRunner(QObject):
    """Samples panoramics off the GUI thread; emits :attr:`ready` with the newest one."""

    #: A panoramic image is ready (``PanoramicImage``, ``preview``).
    ready = Signal(object, bool)
    #: Sampling failed (a plain-language message).
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.bridge = _Bridge(self)
        self.bridge.finished.connect(self._finished)
        self.bridge.failed.connect(self._failed)
        self._lock = threading.Lock()
        self._generation = 0
        self._running = False
        self._waiting: PanoramicRequest | None = None
        self._shown_generation = -1

    @property
    def latest_generation(self) -> int:
        """Generation of the newest request (a running job with an older one gives up)."""
        return self._generation

    @property
    def busy(self) -> bool:
        """A sampling is running or waiting."""
        return self._running or self._waiting is not None

    def request(self, volume: Volume, curve: ArchCurve, spec: PanoramicSpec, *, preview: bool) -> None:
        """Ask for a panoramic; returns at once."""
        with self._lock:
            self._generation += 1
            req = PanoramicRequest(volume, curve, spec, preview, self._generation)
        if self._running:
            self._waiting = req
        else:
            self._start(req)

    def cancel(self) -> None:
        """Drop any waiting request and make the running one give up."""
        with self._lock:
            self._generation += 1
        self._waiting = None

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the worker is idle (tests, shutdown)."""
        return bool(self.pool.waitForDone(msecs))

    def _start(self, req: PanoramicRequest) -> None:
        self._running = True
        self.pool.start(_Job(self, req))

    def _next(self) -> None:
        self._running = False
        if self._waiting is not None:
            req, self._waiting = self._waiting, None
            self._start(req)

    def _finished(self, generation: int, image: PanoramicImage, preview: bool) -> None:
        self._next()
        if generation > self._shown_generation:
            self._shown_generation = generation
            self.ready.emit(image, preview)

    def _failed(self, generation: int, message: str) -> None:
        self._next()
        if message and generation == self._generation:
            log.info("panoramic failed: %s", message)
            self.failed.emit(message)
