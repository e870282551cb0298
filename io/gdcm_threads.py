"""Threaded decoding of compressed single-frame files through SimpleITK's GDCM reader.

pydicom's codec plugins (pylibjpeg, python-gdcm) hold the GIL, so threads cannot share their
work and worker processes pay start-up and transfer costs. SimpleITK's file reader releases
the GIL while GDCM decodes: with one thread per core, JPEG lossless reads at about twice the
speed of SimpleITK's own (serial) series reader on 2 cores.

GDCM applies the modality rescale itself. For the common case this module accepts — greyscale
MONOCHROME2, slope 1 and a whole-number intercept — its output is exactly ``stored +
intercept``, so subtracting the intercept gives back the stored values the loader expects.
Anything else, and any frame GDCM refuses or returns in another shape, goes through the
pydicom path (:func:`cbctviewer.io.pixels.decode_frame`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import SimpleITK as sitk

from cbctviewer.core.tasks import CancelCheck, check_cancel
from cbctviewer.io.pixels import PixelLayout, decode_frame
from cbctviewer.io.report import FrameRef

#: Syntaxes whose GDCM output was verified identical to pydicom's decoders on the sample
#: corpus (JPEG lossless, JPEG lossless SV1, JPEG 2000 lossless and lossy).
SYNTAXES = frozenset(
    {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
)


def eligible(refs: Sequence[FrameRef], layout: PixelLayout) -> bool:
    """True when every frame can be decoded by GDCM with an exactly invertible rescale."""
    return (
        layout.transfer_syntax in SYNTAXES
        and layout.single_frame_files
        and not layout.is_colour
        and layout.photometric == "MONOCHROME2"
        and layout.bits_allocated in (8, 16)
        and all(
            ref.frame_index == 0 and ref.rescale_slope == 1.0 and float(ref.rescale_intercept).is_integer()
            for ref in refs
        )
    )


def _decode(ref: FrameRef, layout: PixelLayout) -> np.ndarray:
    """Stored values of one frame; GDCM first, the pydicom path when GDCM cannot."""
    try:
        reader = sitk.ImageFileReader()
        reader.SetImageIO("GDCMImageIO")
        reader.SetFileName(str(ref.path))
        image = reader.Execute()
        values = sitk.GetArrayViewFromImage(image)
        if values.shape not in ((1, layout.rows, layout.columns), (layout.rows, layout.columns)):
            raise ValueError("unexpected frame shape")
        stored = values.reshape(layout.rows, layout.columns) - np.int64(ref.rescale_intercept)
        info = np.iinfo(layout.raw_dtype)
        if stored.min() < info.min or stored.max() > info.max:
            raise ValueError("values outside the stored range")
        return stored.astype(layout.raw_dtype)
    except (RuntimeError, ValueError):
        return decode_frame(ref, layout)


def iter_decoded(
    refs: Sequence[FrameRef], layout: PixelLayout, *, workers: int, cancel: CancelCheck | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Decode ``refs`` on ``workers`` threads and yield ``(index, stored frame)`` in order.

    At most ``2 * workers`` frames are in flight, so memory stays a few frames.
    """
    threads = max(1, workers)
    with ThreadPoolExecutor(threads, thread_name_prefix="gdcm-decode") as pool:
        pending: deque[Future[np.ndarray]] = deque()
        submitted = 0
        try:
            for index in range(len(refs)):
                while submitted < len(refs) and len(pending) < 2 * threads:
                    pending.append(pool.submit(_decode, refs[submitted], layout))
                    submitted += 1
                check_cancel(cancel)
                yield index, pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
