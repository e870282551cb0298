"""The panoramic's first height range: the jaw around the arch, not a fixed band.

A fixed 40 mm band centred on the arch's plane misses the mandibular canal and the lower
border when the arch is drawn at crown level (where it is easiest to see). When an arch
is first made, :func:`fitted_spec` spans the scan's height within :data:`REACH_MM` of the
arch plane on either side, so the crowns, the roots, the canal and the border show.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cbctviewer.core.arch import ArchCurve
    from cbctviewer.core.panoramic import PanoramicSpec
    from cbctviewer.core.volume import Volume

#: How far above and below the arch plane the first panoramic reaches at most (mm).
REACH_MM = 40.0
#: The smallest height worth fitting (mm); below it the spec is kept.
MIN_HEIGHT_MM = 10.0


def fitted_spec(spec: PanoramicSpec, volume: Volume, arch: ArchCurve) -> PanoramicSpec:
    """``spec`` with its height and centre covering the scan near the arch plane."""
    i, j, k = (int(n) - 1 for n in volume.size)
    corners = np.array(
        [volume.index_to_patient((a, b, c)) for a in (0, i) for b in (0, j) for c in (0, k)], dtype=np.float64
    )
    heights = corners @ np.asarray(arch.up, dtype=float) - arch.plane_height
    low = max(float(heights.min()), -REACH_MM)
    high = min(float(heights.max()), REACH_MM)
    if high - low < MIN_HEIGHT_MM:
        return spec
    return dataclasses.replace(
        spec, height_mm=round(high - low, 1), centre_height_mm=round((high + low) / 2, 1)
    )
