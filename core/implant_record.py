"""An implant-site result as a measurement of the series, with its findings in plain words.

:func:`site_measurement` turns a :class:`~cbctviewer.core.implant_site.SiteMeasurement`
into an ``implant_site`` :class:`~cbctviewer.core.measurements.Measurement` (so it is
drawn, listed, undone, saved and exported like any other); :func:`site_note` says what
limits the height and what the user should watch out for.
"""

from __future__ import annotations

import math

import numpy as np

from .implant_site import SiteMeasurement
from .measurements import SITE_WIDTH_DEPTHS_MM, Measurement, MeasurementKind

__all__ = ["site_measurement", "site_note"]

_LIMITS = {"cortex": "the inferior cortex", "canal": "the nerve canal"}


def site_note(result: SiteMeasurement, *, planned_length_mm: float | None = None) -> str:
    """``"limit: the inferior cortex; …warnings"`` in plain words."""
    limit = _LIMITS[result.limit]
    margin = result.safety_margin_mm
    notes = [f"limit: {limit}"]
    for warning in result.warnings:
        if " mm implant reaches " not in warning:  # said below, in the user's terms
            notes.append(warning)
    if planned_length_mm is not None:
        planned = f"the planned {planned_length_mm:g} mm implant"
        if planned_length_mm > result.height_mm:
            notes.append(f"{planned} would pass through {limit} (height {result.height_mm:.1f} mm)")
        elif planned_length_mm > result.height_mm - margin:
            notes.append(f"{planned} would reach within {margin:g} mm of {limit}")
    return "; ".join(notes)


def site_measurement(
    result: SiteMeasurement, *, planned_length_mm: float | None = None, label: str = ""
) -> Measurement:
    """The result as an ``implant_site`` measurement: crest → limit, then the width pairs."""
    crest, axis = np.asarray(result.crest), np.asarray(result.axis)
    points = [crest, crest + result.height_mm * axis]
    segments = {s.label: s for s in result.segments}
    for depth in SITE_WIDTH_DEPTHS_MM:
        seg = segments.get(f"width_{depth:g}")
        width = result.widths.get(depth, math.nan)
        if seg is None or not math.isfinite(width):
            on_axis = crest + depth * axis  # zero length: no bone there
            points += [on_axis, on_axis]
        else:
            points += [np.asarray(seg.start), np.asarray(seg.end)]
    return Measurement.create(
        MeasurementKind.IMPLANT_SITE,
        points,
        label=label,
        note=site_note(result, planned_length_mm=planned_length_mm),
    )
