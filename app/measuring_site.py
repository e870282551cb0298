"""The implant-site tool of :class:`~cbctviewer.app.measuring.MeasureController`.

A click on the alveolar crest in a 2D view measures the site straight down that view
(:func:`cbctviewer.core.implant_site.measure_site`): bone height to the limiting
structure (the traced canal nearest the crest, when there is one), widths across, and
the fit of a planned implant. The result is stored as an implant-site
:class:`~cbctviewer.core.measurements.Measurement` whose note lists the details.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from cbctviewer.core.geometry import Plane
from cbctviewer.core.implant_record import site_measurement
from cbctviewer.core.implant_site import Canal, measure_site
from cbctviewer.core.measurements import Measurement
from cbctviewer.core.volume import Volume

from .panels.measure_site import site_extras

__all__ = ["SiteSettings", "measure_site_down", "site_axes"]


class SiteSettings(Protocol):
    """The implant-site tool's settings (the measure controller's attributes)."""

    #: Distance to keep from the limiting structure (mm).
    safety_margin_mm: float
    #: The planned implant length (mm), ``None`` when not planned.
    planned_length_mm: float | None
    #: Bone threshold (grey value), ``None`` to estimate it per site.
    threshold: float | None
    #: The traced nerve canal nearest a patient point, if any.
    canal_provider: Callable[[np.ndarray], Canal | None] | None


def site_axes(plane: Plane) -> tuple[np.ndarray, np.ndarray]:
    """``(axis, across)`` of a site clicked in ``plane``: screen down (into the bone) and across."""
    return -np.asarray(plane.y_axis, dtype=float), np.asarray(plane.x_axis, dtype=float)


def measure_site_down(
    volume: Volume, crest: ArrayLike, axis: ArrayLike, across: ArrayLike, settings: SiteSettings
) -> Measurement:
    """The implant-site measurement from ``crest`` along ``axis`` (widths along ``across``).

    Parameters
    ----------
    volume
        The scan measured.
    crest, axis, across
        Patient point of the crest and the two unit directions (patient mm, LPS).
    settings
        Safety margin, planned length, threshold and the canal provider.

    Returns
    -------
    Measurement
        An implant-site measurement (not yet added to any set).

    Raises
    ------
    ValueError
        No site can be measured here (in plain words: outside the scan, no bone…).
    """
    crest = np.asarray(crest, dtype=float)
    canal = settings.canal_provider(crest) if settings.canal_provider is not None else None
    result = measure_site(
        volume,
        crest,
        np.asarray(axis, dtype=float),
        np.asarray(across, dtype=float),
        canal=canal,
        threshold=settings.threshold,
        safety_margin_mm=settings.safety_margin_mm,
        planned_length_mm=settings.planned_length_mm,
    )
    m = site_measurement(result, planned_length_mm=settings.planned_length_mm)
    return dataclasses.replace(m, note=f"{m.note}; {site_extras(result)}")
