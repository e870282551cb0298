"""The 3D view renders on its own thread so that the window never waits for the ray caster.

A volume's first 3D frame costs seconds on a CPU (the ray caster computes gradients for
shading) and a still frame of a large scan 100–300 ms; on the GUI thread that would
freeze the window. :class:`VolumeRenderThread` owns the
:class:`~cbctviewer.rendering.volume_render.VolumeView` — created, rendered and
finalised on the thread, so its OpenGL context never changes threads — and hands each
frame to the GUI thread through a queued Qt signal. Requests coalesce: however many
arrive while a frame renders, one more frame follows with the latest model state. VTK
releases the GIL while it renders, so Python on the GUI thread keeps running.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from cbctviewer.core.view_state import Camera, ViewerState
from cbctviewer.rendering.dental_3d import SceneObject
from cbctviewer.rendering.volume_render import MapperChoice, VolumeView
from cbctviewer.rendering.vtk_image import VolumeImage

from ..workers import log_unexpected

log = logging.getLogger(__name__)
_UNSET = object()
_SKIPPED = object()


class VolumeRenderThread(QObject):
    """Renders ``state``'s 3D view on a worker thread; frames arrive on :attr:`frame_ready`."""

    #: ``(frame (h, w, 3) uint8 or None when there is no volume, Camera or None)``.
    frame_ready = Signal(object, object)
    #: A plain-language message when the 3D view cannot be drawn.
    failed = Signal(str)

    def __init__(self, state: ViewerState, *, mapper: MapperChoice = "auto") -> None:
        super().__init__()
        self.state = state
        self._mapper = mapper
        self._wake = threading.Condition()
        self._requested = False
        self._stopping = False
        self._pending_source: object = _UNSET
        self._pending_objects: tuple[SceneObject, ...] | None = None
        self._busy = False
        self._source: VolumeImage | None = None
        self.mapper_name = ""
        self._thread = threading.Thread(target=self._run, name="cbct-3d-render", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Ask for a frame with the model's current state (cheap; coalesces)."""
        with self._wake:
            self._requested = True
            self._wake.notify()

    def set_source(self, source: VolumeImage | None) -> None:
        """Share the wrapped volume; applied on the thread before the next frame.

        Swapping it there (not here) keeps the old buffer alive while a frame of it renders.
        """
        with self._wake:
            self._pending_source = source
            self._requested = True
            self._wake.notify()

    def set_scene_objects(self, objects: tuple[SceneObject, ...]) -> None:
        """Show these canal/implant snapshots in 3D; applied on the thread before the next frame."""
        with self._wake:
            self._pending_objects = tuple(objects)
            self._requested = True
            self._wake.notify()

    @property
    def busy(self) -> bool:
        """True while a frame is being rendered or one is waiting to be."""
        with self._wake:
            return self._busy or self._requested

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread after the frame in progress and release its window."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a renderer stuck in the driver
            log.warning("the 3D render thread did not stop within %.0f s", timeout)

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            view = VolumeView(self.state, mapper=self._mapper)
        except Exception as exc:  # pragma: no cover - no OpenGL at all
            log_unexpected("creating the 3D view", exc)
            self.failed.emit("The 3D view cannot be shown: no usable OpenGL was found on this computer.")
            return
        try:
            self._loop(view)
        finally:
            view.close()

    def _next(self) -> tuple[bool, object, tuple[SceneObject, ...] | None]:
        with self._wake:
            while not (self._requested or self._stopping):
                self._wake.wait()
            if self._stopping:
                return False, _UNSET, None
            self._requested = False
            self._busy = True
            source, self._pending_source = self._pending_source, _UNSET
            objects, self._pending_objects = self._pending_objects, None
            return True, source, objects

    def _loop(self, view: VolumeView) -> None:
        while True:
            go, source, objects = self._next()
            if not go:
                return
            frame: object = _SKIPPED
            camera: Camera | None = None
            try:
                if source is not _UNSET:
                    self._source = source  # type: ignore[assignment]
                    view.set_source(self._source)
                if objects is not None:
                    view.set_scene_objects(objects)
                if self.state.volume is not None and (
                    self._source is None or self._source.volume is not self.state.volume
                ):
                    continue  # a new volume whose wrapped source is on its way (set_source)
                frame, camera = self._render(view)
                self.mapper_name = view.mapper_name
            except Exception as exc:
                log_unexpected("3D rendering", exc)
                frame, camera = None, None
                self.failed.emit("The 3D view could not be drawn (see the log for details).")
            finally:
                with self._wake:
                    self._busy = False
            if frame is not _SKIPPED:
                try:
                    self.frame_ready.emit(frame, camera)
                except RuntimeError:  # the Qt side is gone (interpreter shutting down)
                    return

    def _render(self, view: VolumeView) -> tuple[np.ndarray | None, Camera | None]:
        if self.state.volume is None:
            view.update()
            return None, None
        start = time.perf_counter()
        frame = view.render()
        log.debug(
            "3D frame %dx%d in %.0f ms (%s)",
            frame.shape[1],
            frame.shape[0],
            1000 * (time.perf_counter() - start),
            "interacting" if self.state.interacting else "still",
        )
        return frame, view.camera_state()
