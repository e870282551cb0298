"""Grey-value windows (window/level) for CBCT: fixed presets and windows from the data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class WindowLevel:
    """Grey-value window: ``center`` ± ``width`` / 2 is mapped to black…white."""

    center: float
    width: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.center) and math.isfinite(self.width) and self.width > 0):
            raise ValueError(f"invalid window center={self.center} width={self.width}")

    @classmethod
    def from_range(cls, lower: float, upper: float) -> WindowLevel:
        """The window spanning ``lower``…``upper`` (at least 1 wide)."""
        return cls((lower + upper) / 2.0, max(float(upper - lower), 1.0))

    @property
    def lower(self) -> float:
        return self.center - self.width / 2.0

    @property
    def upper(self) -> float:
        return self.center + self.width / 2.0


#: Fixed presets for CBCT grey values (air ≈ -1000, soft tissue 0–100, bone 300–1700,
#: teeth 1600–2900, titanium 3000+). CBCT values are not calibrated HU, so these are
#: starting points; "full range" and "auto" are computed from the data.
WINDOW_PRESETS: Mapping[str, WindowLevel] = {
    "bone": WindowLevel(800.0, 2600.0),
    "teeth": WindowLevel(1800.0, 2800.0),
    "soft tissue": WindowLevel(50.0, 500.0),
}
WindowPresetName = Literal["bone", "teeth", "soft tissue", "full range", "auto"]


def _sample(array: NDArray[np.generic], max_samples: int) -> NDArray[np.generic]:
    """A strided subsample (a view) with at most about ``max_samples`` values."""
    step = max(1, round((array.size / max_samples) ** (1.0 / 3.0))) if array.ndim == 3 else 1
    return array[::step, ::step, ::step] if array.ndim == 3 else array


def full_range_window(array: NDArray[np.generic]) -> WindowLevel:
    """The window from the data's minimum to its maximum."""
    return WindowLevel.from_range(float(np.min(array)), float(np.max(array)))


def auto_window(
    array: NDArray[np.generic],
    *,
    low_percentile: float = 0.5,
    high_percentile: float = 99.5,
    max_samples: int = 2_000_000,
) -> WindowLevel:
    """Window between two percentiles of the grey-value histogram.

    A regular subsample of at most ``max_samples`` voxels keeps this fast on large scans.
    When both percentiles fall on the same value the full range is used instead.
    """
    values = np.asarray(_sample(array, max_samples), dtype=np.float32).ravel()
    lower, upper = np.percentile(values, [low_percentile, high_percentile])
    if upper <= lower:
        # Mostly one value (air around a small object): the percentiles collapse.
        return full_range_window(array)
    return WindowLevel.from_range(float(lower), float(upper))
