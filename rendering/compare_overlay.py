"""Pixel maths of the baseline / follow-up overlay views (numpy only, no VTK, no Qt).

Inputs are two images of the **same** slice geometry: the baseline and the follow-up
resampled onto the baseline grid, re-sliced by two views that share plane, zoom and pan.
``*_grey`` are the windowed 8-bit images shown on screen; raw grey values (the scanner's
units) feed :func:`difference_rgb`. Every function returns ``(rows, cols, 3)`` uint8 RGB.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "OverlayMode",
    "blend_rgb",
    "checkerboard_mask",
    "checkerboard_rgb",
    "difference_rgb",
    "diverging_colours",
    "flicker_rgb",
    "legend_rgb",
]

U8 = NDArray[np.uint8]


class OverlayMode(StrEnum):
    """How the pair is shown in one view."""

    SIDE_BY_SIDE = "side by side"
    BLEND = "blend"
    CHECKERBOARD = "checkerboard"
    DIFFERENCE = "difference"
    FLICKER = "flicker"


#: The follow-up's tint in the blend (warm), the baseline stays grey: where both agree the
#: picture looks grey, where only the follow-up has bone it turns orange.
_FOLLOWUP_TINT = np.array([1.0, 0.62, 0.25])


def _check_pair(a: NDArray[np.generic], b: NDArray[np.generic]) -> None:
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"the two images must be 2D and the same size, got {a.shape} and {b.shape}")


def _grey_rgb(grey: U8) -> U8:
    return np.repeat(grey[:, :, None], 3, axis=2)


def blend_rgb(baseline_grey: U8, followup_grey: U8, *, opacity: float) -> U8:
    """Baseline in grey with the follow-up laid over it at ``opacity`` (0: baseline only, 1: follow-up).

    The follow-up layer is tinted so the two can be told apart where they differ.
    """
    _check_pair(baseline_grey, followup_grey)
    alpha = float(np.clip(opacity, 0.0, 1.0))
    base = baseline_grey.astype(np.float32)[:, :, None]
    follow = followup_grey.astype(np.float32)[:, :, None] * _FOLLOWUP_TINT.astype(np.float32)
    mixed = (1.0 - alpha) * base + alpha * follow
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def checkerboard_mask(
    shape: tuple[int, int], *, pixel_size_mm: float, square_mm: float, offset_px: ArrayLike = (0.0, 0.0)
) -> NDArray[np.bool_]:
    """True on the squares that show the follow-up, squares of ``square_mm`` on screen.

    ``offset_px`` (rows, cols) shifts the pattern, e.g. to keep it fixed to the anatomy
    while panning.
    """
    if pixel_size_mm <= 0 or square_mm <= 0:
        raise ValueError("pixel size and square size must be positive")
    side = square_mm / pixel_size_mm
    off = np.asarray(offset_px, dtype=float)
    rows = np.floor((np.arange(shape[0]) + off[0]) / side).astype(np.int64)
    cols = np.floor((np.arange(shape[1]) + off[1]) / side).astype(np.int64)
    return ((rows[:, None] + cols[None, :]) % 2).astype(bool)


def checkerboard_rgb(
    baseline_grey: U8,
    followup_grey: U8,
    *,
    pixel_size_mm: float,
    square_mm: float,
    offset_px: ArrayLike = (0.0, 0.0),
) -> U8:
    """Alternating squares of baseline and follow-up (both grey): edges line up when registered."""
    _check_pair(baseline_grey, followup_grey)
    mask = checkerboard_mask(
        baseline_grey.shape, pixel_size_mm=pixel_size_mm, square_mm=square_mm, offset_px=offset_px
    )
    return _grey_rgb(np.where(mask, followup_grey, baseline_grey))


def diverging_colours(t: ArrayLike) -> U8:
    """Blue (−1) → black (0) → red/yellow (+1) for ``t`` in [−1, 1] (clipped).

    Black at zero keeps matching anatomy dark, so only changes draw the eye.
    """
    v = np.clip(np.asarray(t, dtype=np.float32), -1.0, 1.0)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    red = np.clip(2.0 * pos, 0, 1) + np.clip(2.0 * neg - 1.0, 0, 1) * 0.2
    green = np.clip(2.0 * pos - 1.0, 0, 1) * 0.9 + np.clip(2.0 * neg - 1.0, 0, 1) * 0.8
    blue = np.clip(2.0 * neg, 0, 1)
    rgb = np.stack([red, green, blue], axis=-1)
    return (np.clip(rgb, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def difference_rgb(
    baseline_values: ArrayLike,
    followup_values: ArrayLike,
    *,
    limit: float,
    valid: ArrayLike | None = None,
) -> U8:
    """Follow-up minus baseline in grey-value units, coloured with :func:`diverging_colours`.

    ``limit`` (grey units) maps to full colour; ``valid`` (bool, same shape) marks where the
    follow-up has data — elsewhere the pixel is dark grey (no comparison possible).
    """
    a = np.asarray(baseline_values, dtype=np.float32)
    b = np.asarray(followup_values, dtype=np.float32)
    _check_pair(a, b)
    if limit <= 0:
        raise ValueError("the difference colour limit must be positive")
    rgb = diverging_colours((b - a) / float(limit))
    if valid is not None:
        mask = np.asarray(valid, dtype=bool)
        rgb[~mask] = (40, 40, 40)
    return rgb


def flicker_rgb(baseline_grey: U8, followup_grey: U8, *, show_followup: bool) -> U8:
    """One phase of the flicker: the baseline or the follow-up (a timer alternates the phase)."""
    _check_pair(baseline_grey, followup_grey)
    return _grey_rgb(followup_grey if show_followup else baseline_grey)


def legend_rgb(*, width: int = 256, height: int = 14) -> U8:
    """The colour bar of :func:`difference_rgb`, −limit on the left to +limit on the right."""
    t = np.linspace(-1.0, 1.0, max(2, width))
    return np.repeat(diverging_colours(t)[None, :, :], max(1, height), axis=0)
