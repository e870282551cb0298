"""Small preview pictures of series candidates, for the series browser.

:func:`thumbnail` decodes one frame only — the middle slice of a volume, the first
image of anything else (the one ``load`` shows) — with the loader's own decoding
(:func:`cbctviewer.io.pixels.decode_frame`, every codec pydicom has), applies the
modality rescale and an automatic window from the grey-value percentiles, and shrinks
it by area averaging so that the longer side is ``size`` pixels and the physical aspect
(pixel spacing) is kept. Colour images stay in colour; MONOCHROME1 is shown inverted
(bone white) as the viewer shows it.

Memory: one frame is decoded (never the series); the rest is small — the thumbnail,
a strip of :data:`_STRIP_ROWS` rows and weight matrices of (frame side × ``size``). A frame larger than the
memory budget is refused before decoding. Safe to call from worker threads.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cbctviewer.core.window_level import WindowLevel, auto_window
from cbctviewer.io import limits
from cbctviewer.io.errors import DamagedError, MediaError, TooLargeError, UnsupportedError
from cbctviewer.io.pixels import PixelLayout, decode_frame
from cbctviewer.io.report import CandidateKind, FrameRef, SeriesCandidate

#: Rows converted to float at a time while shrinking (bounds the temporary memory).
_STRIP_ROWS = 64
#: Values sampled (on a regular grid) to find the automatic window.
_WINDOW_SAMPLES = 250_000
#: A value covering more than this fraction of the frame is padding/background when it
#: is the minimum (air outside a CBCT's cylindrical field of view): left out of the window.
_PADDING_FRACTION = 0.05


def thumbnail(candidate: SeriesCandidate, *, size: int = 128, memory_budget: int | None = None) -> np.ndarray:
    """A preview picture of one series candidate.

    Parameters
    ----------
    candidate : SeriesCandidate
        From :func:`cbctviewer.io.scan.scan`.
    size : int, optional
        Length in pixels of the picture's longer side (small images are enlarged).
    memory_budget : int, optional
        Most bytes the decoded frame may take; default
        :func:`cbctviewer.io.limits.memory_budget`.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` uint8 RGB, C-contiguous, ``max(height, width) == size``,
        with ``height / width`` the physical aspect of the image.

    Raises
    ------
    MediaError
        In plain words: the series holds no image, its frame cannot be decoded (damaged
        file, unsupported compression), or the frame would exceed the memory budget
        (:class:`~cbctviewer.io.errors.TooLargeError`).
    ValueError
        ``size`` is smaller than 1.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    if candidate.kind is CandidateKind.NOT_IMAGE or not candidate.frames:
        raise UnsupportedError("This series holds no image to show.")
    layout = PixelLayout.of(candidate)
    if layout.rows <= 0 or layout.columns <= 0:
        raise DamagedError("The image size in the files is missing or invalid.")
    budget = limits.memory_budget() if memory_budget is None else memory_budget
    samples = 3 if layout.is_colour else 1
    frame_bytes = layout.rows * layout.columns * samples * max(layout.bits_allocated // 8, 1)
    if frame_bytes > budget:
        raise TooLargeError(
            f"One image of this series would need {frame_bytes / 1024**2:.0f} MB of memory, "
            "more than allowed; no preview is shown."
        )
    ref = preview_frame(candidate)
    try:
        frame = decode_frame(ref, layout)
    except MediaError:
        raise
    except MemoryError as exc:
        raise TooLargeError("There is not enough memory to show a preview of this series.") from exc
    except OSError as exc:
        raise MediaError(f"Could not read file '{Path(ref.path).name}': {exc.strerror or exc}.") from exc
    except Exception as exc:
        # Only the type: messages of unexpected errors may quote header values.
        raise MediaError(f"The preview could not be made ({type(exc).__name__}).") from exc
    height, width = thumbnail_shape(candidate, ref, size)
    if frame.ndim == 3:
        return _colour(frame, height, width)
    return _grey(frame, ref, layout, height, width)


def preview_frame(candidate: SeriesCandidate) -> FrameRef:
    """The frame a thumbnail shows: a volume's middle slice, else the first image."""
    frames = candidate.frames
    if candidate.kind is CandidateKind.VOLUME:
        return frames[len(frames) // 2]
    return frames[0]


def thumbnail_shape(candidate: SeriesCandidate, ref: FrameRef, size: int) -> tuple[int, int]:
    """(height, width) of the thumbnail: longer side ``size``, physical aspect kept."""
    spacing = ref.pixel_spacing or candidate.imager_pixel_spacing
    row_mm, col_mm = (1.0, 1.0)
    if spacing is not None and all(math.isfinite(s) and s > 0 for s in spacing):
        row_mm, col_mm = float(spacing[0]), float(spacing[1])
        if not 0.1 <= row_mm / col_mm <= 10:  # implausible: trust the matrix instead
            row_mm, col_mm = 1.0, 1.0
    tall = candidate.rows * row_mm
    wide = candidate.columns * col_mm
    if tall >= wide:
        return size, max(1, round(size * wide / tall))
    return max(1, round(size * tall / wide)), size


# --------------------------------------------------------------------------- pixels


def _grey(frame: np.ndarray, ref: FrameRef, layout: PixelLayout, height: int, width: int) -> np.ndarray:
    slope, intercept = float(ref.rescale_slope), float(ref.rescale_intercept)
    if slope == 0 or not (math.isfinite(slope) and math.isfinite(intercept)):
        slope, intercept = 1.0, 0.0
    window = _stored_window(frame)
    small = shrink(frame, height, width)
    small *= slope
    small += intercept
    lower, upper = sorted((slope * window.lower + intercept, slope * window.upper + intercept))
    grey = np.clip((small - lower) / max(upper - lower, 1e-6), 0.0, 1.0)
    if layout.photometric == "MONOCHROME1":
        grey = 1.0 - grey
    out = np.rint(grey * 255.0).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(out[:, :, None], 3, axis=2))


def _stored_window(frame: np.ndarray) -> WindowLevel:
    """Percentile window of the stored values, leaving out a large padding minimum."""
    step = max(1, math.ceil(math.sqrt(frame.size / _WINDOW_SAMPLES)))
    sample = np.asarray(frame[::step, ::step], dtype=np.float32).ravel()
    if sample.size == 0:
        return WindowLevel(0.0, 1.0)
    low = float(sample.min())
    padding = sample == low
    if np.count_nonzero(padding) > _PADDING_FRACTION * sample.size and not padding.all():
        sample = sample[~padding]
    return auto_window(sample)


def _colour(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    top = 255.0 if frame.dtype.itemsize == 1 else float(max(int(frame.max()), 1))
    channels = [shrink(frame[:, :, c], height, width) for c in range(min(frame.shape[2], 3))]
    rgb = np.stack(channels, axis=2) * (255.0 / top)
    return np.ascontiguousarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))


def shrink(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2D array to ``(height, width)`` by area averaging (float32 result).

    Each output pixel is the mean of the input area it covers (enlarging repeats
    pixels). The input is converted to float a strip of rows at a time; besides the
    input, only the output, one strip and two weight matrices (input side × output
    side) are allocated.
    """
    rows, columns = image.shape
    across = _area_weights(columns, width)  # (columns, width)
    down = _area_weights(rows, height)  # (rows, height)
    out = np.zeros((height, width), np.float32)
    for start in range(0, rows, _STRIP_ROWS):
        strip = np.asarray(image[start : start + _STRIP_ROWS], dtype=np.float32)
        out += down[start : start + _STRIP_ROWS].T @ (strip @ across)
    return out


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_in, n_out) float32 matrix: the share of each output pixel covered by each input pixel."""
    weights = np.zeros((n_in, n_out), np.float32)
    scale = n_in / n_out  # input pixels per output pixel
    for j in range(n_out):
        low, high = j * scale, (j + 1) * scale
        first, last = math.floor(low), min(math.ceil(high), n_in)
        index = np.arange(first, last)
        overlap = np.minimum(index + 1, high) - np.maximum(index, low)
        weights[first:last, j] = overlap / scale
    return weights
