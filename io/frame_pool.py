"""Decode frames in order, in parallel worker processes when that pays off.

The codecs pydicom uses (GDCM, pylibjpeg's openjpeg and libjpeg) hold the GIL while
they decode (measured: two threads are no faster than one), so threads cannot spread
the work over the cores. Worker processes each decode whole frames into one slot of a
small shared-memory ring; the loader copies each slot into the volume as it arrives.
Only ``2 × workers`` frames are ever in flight, so memory stays small whatever the
series size.

Compressed single-frame greyscale series that GDCM can decode exactly go to
:mod:`cbctviewer.io.gdcm_threads` instead: SimpleITK's reader releases the GIL, so plain
threads use every core there without any process start-up.

Processes come from ``forkserver`` on Linux (the server preloads this module, so a
pool starts in tens of milliseconds after the first) and ``spawn`` elsewhere; plain
``fork`` is unsafe next to Qt threads. An application entry point therefore needs the
usual ``if __name__ == "__main__":`` guard, and a frozen (PyInstaller) build must call
``multiprocessing.freeze_support()``.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from cbctviewer.core.tasks import CancelCheck, check_cancel
from cbctviewer.io import gdcm_threads
from cbctviewer.io.errors import DamagedError
from cbctviewer.io.pixels import PixelLayout, decode_frame
from cbctviewer.io.processes import worker_context
from cbctviewer.io.report import FrameRef

#: Below this much estimated decoding time (s), starting processes (about 0.6 s the first
#: time in a program, then tens of ms) costs more than it saves.
MIN_PARALLEL_SECONDS = 1.0
#: Rough single-core decoding cost (ns per pixel) by transfer syntax, measured with
#: pydicom's GDCM/pylibjpeg plugins on 512x512 16-bit CT; unknown syntaxes count as JPEG 2000.
_COST_NS = {
    "1.2.840.10008.1.2": 1.0,  # native: reading, not decoding
    "1.2.840.10008.1.2.1": 1.0,
    "1.2.840.10008.1.2.2": 1.0,
    "1.2.840.10008.1.2.1.99": 10.0,  # deflated
    "1.2.840.10008.1.2.5": 5.0,  # RLE
    "1.2.840.10008.1.2.4.50": 20.0,  # JPEG baseline
    "1.2.840.10008.1.2.4.51": 25.0,  # JPEG extended
    "1.2.840.10008.1.2.4.57": 35.0,  # JPEG lossless
    "1.2.840.10008.1.2.4.70": 35.0,  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.80": 70.0,  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": 70.0,  # JPEG-LS near-lossless
}
_DEFAULT_COST_NS = 100.0  # JPEG 2000 and anything else
#: Bytes reserved per decoded sample in a slot (decoders return at most 32-bit samples;
#: palette colour expands to three 16-bit samples).
_SLOT_BYTES_PER_SAMPLE = 4

# Worker-side: shared-memory blocks this process has attached to, by name.
_attached: dict[str, SharedMemory] = {}


def worth_parallel(count: int, layout: PixelLayout, workers: int) -> bool:
    """True when ``count`` frames of ``layout`` justify a process pool of ``workers``."""
    cost = _COST_NS.get(layout.transfer_syntax, _DEFAULT_COST_NS) * 1e-9
    seconds = count * layout.rows * layout.columns * cost
    return workers > 1 and count > 1 and seconds >= MIN_PARALLEL_SECONDS


def iter_decoded(
    refs: Sequence[FrameRef],
    layout: PixelLayout,
    *,
    workers: int = 1,
    cancel: CancelCheck | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode ``refs`` and yield ``(index, frame)`` in order.

    Parameters
    ----------
    refs : sequence of FrameRef
        Frames to decode.
    layout : PixelLayout
        The series' pixel layout.
    workers : int, optional
        Worker processes to use; 1 (or too little work) decodes in this thread.
    cancel : callable, optional
        Polled before each frame; raises :class:`~cbctviewer.core.tasks.Cancelled`.

    Yields
    ------
    tuple[int, numpy.ndarray]
        The index into ``refs`` and the frame as :func:`~cbctviewer.io.pixels.decode_frame`
        returns it. The array may live in shared memory: use it before the next
        iteration and do not keep it.
    """
    if workers > 1 and len(refs) > 1 and gdcm_threads.eligible(refs, layout):
        yield from gdcm_threads.iter_decoded(refs, layout, workers=workers, cancel=cancel)
        return
    if not worth_parallel(len(refs), layout, workers):
        for index, ref in enumerate(refs):
            check_cancel(cancel)
            yield index, decode_frame(ref, layout)
        return
    workers = min(workers, len(refs))
    samples = 3 if layout.is_colour else 1
    slot = layout.rows * layout.columns * samples * _SLOT_BYTES_PER_SAMPLE
    slots = 2 * workers
    memory = SharedMemory(create=True, size=slot * slots)
    try:
        with ProcessPoolExecutor(workers, mp_context=worker_context()) as pool:
            pending: deque[tuple[int, int, Future[tuple[str, tuple[int, ...]]]]] = deque()
            free = list(range(slots))
            following = 0
            try:
                while following < len(refs) or pending:
                    while free and following < len(refs):
                        s = free.pop()
                        future = pool.submit(
                            _decode_into, refs[following], layout, memory.name, s * slot, slot
                        )
                        pending.append((following, s, future))
                        following += 1
                    check_cancel(cancel)
                    index, s, future = pending.popleft()
                    dtype, shape = future.result()
                    frame = np.ndarray(shape, np.dtype(dtype), buffer=memory.buf, offset=s * slot)
                    yield index, frame
                    del frame
                    free.append(s)
            finally:
                for _, _, future in pending:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        with contextlib.suppress(BufferError):  # a caller still holds a view; it keeps the mapping
            memory.close()
        memory.unlink()


def _decode_into(
    ref: FrameRef, layout: PixelLayout, name: str, offset: int, capacity: int
) -> tuple[str, tuple[int, ...]]:
    """Worker: decode one frame into the shared slot; return its dtype and shape."""
    frame = decode_frame(ref, layout)
    if frame.nbytes > capacity:
        raise DamagedError(f"An image in file '{ref.path.name}' is larger than the series says.")
    memory = _attached.get(name)
    if memory is None:
        memory = _attached[name] = SharedMemory(name=name)
    target = np.ndarray(frame.shape, frame.dtype, buffer=memory.buf, offset=offset)
    target[...] = frame
    del target
    return frame.dtype.str, frame.shape
