"""Implant-site measurements kept editable: the threshold used, and how to measure again.

An implant site is stored as plain points (crest → limit, then width pairs) and a note;
these helpers recover from that what :func:`cbctviewer.core.implant_site.measure_site`
needs to measure the same site again (with another bone threshold, another margin, a
canal traced since), and add the facts the table should show to the note. No Qt here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cbctviewer.core.implant_site import SiteMeasurement
from cbctviewer.core.measurements import Measurement, MeasurementKind

__all__ = ["SiteParameters", "site_extras", "site_parameters", "site_threshold"]

_THRESHOLD = re.compile(r"bone threshold (-?\d+(?:\.\d+)?) \((estimated|set by hand)\)")


@dataclass(frozen=True, slots=True)
class SiteParameters:
    """Where a site was measured: crest point, direction into the bone, direction across."""

    crest: np.ndarray
    axis: np.ndarray
    width_direction: np.ndarray


def site_parameters(m: Measurement) -> SiteParameters:
    """Crest, axis and width direction of an implant-site measurement.

    The axis runs from the crest to the height limit; the width direction from the
    negative to the positive end of the first non-empty width pair (as measured).

    Raises
    ------
    ValueError
        Not an implant site, or one without a height or any width to orient it.
    """
    if m.kind != MeasurementKind.IMPLANT_SITE:
        raise ValueError(f"a {m.kind} is not an implant site")
    pts = m.array
    crest, axis = pts[0], pts[1] - pts[0]
    if float(np.linalg.norm(axis)) < 1e-6:
        raise ValueError("the site has no height to take the axis from")
    axis = axis / np.linalg.norm(axis)
    for start, end in zip(pts[2::2], pts[3::2], strict=True):
        across = start - end
        across = across - float(across @ axis) * axis
        if float(np.linalg.norm(across)) > 1e-6:
            return SiteParameters(crest, axis, across / np.linalg.norm(across))
    raise ValueError("the site has no width to take the direction across the ridge from")


def site_extras(result: SiteMeasurement) -> str:
    """What the table adds to :func:`~cbctviewer.core.implant_record.site_note`.

    The canal's depth and the safe length when the canal limits the height, and the bone
    threshold used (so that it can be shown, edited and read back by :func:`site_threshold`).
    """
    extras = []
    if result.canal_height_mm is not None:
        extras.append(f"canal surface {result.canal_height_mm:.1f} mm below the crest")
    if result.limit == "canal":
        extras.append(
            f"safe length {max(result.safe_length_mm, 0.0):.1f} mm "
            f"(keeping {result.safety_margin_mm:g} mm from the canal)"
        )
    how = "estimated" if result.threshold_estimated else "set by hand"
    extras.append(f"bone threshold {result.threshold:.0f} ({how})")
    return "; ".join(extras)


def site_threshold(m: Measurement) -> tuple[float, bool] | None:
    """``(threshold, estimated)`` read from a site's note; ``None`` if it does not say."""
    found = _THRESHOLD.search(m.note)
    if found is None:
        return None
    return float(found.group(1)), found.group(2) == "estimated"
