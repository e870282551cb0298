"""Short human-readable values of measurements, for on-screen labels and the table."""

from __future__ import annotations

import math

from .measurements import SITE_WIDTH_DEPTHS_MM, Measurement, MeasurementKind, measurement_values
from .volume import Volume

__all__ = ["value_text"]


def value_text(m: Measurement, volume: Volume | None = None) -> str:
    """``"12.3 mm"``, ``"87.5°"``, ``"1234"`` (grey value) or ``"12.3 mm²"``; "—" if unknown."""
    values = measurement_values(m, volume)
    if m.kind == MeasurementKind.ANGLE:
        return _num(values["angle_deg"], "°")
    if m.kind == MeasurementKind.IMPLANT_SITE:
        widths = " / ".join(_num(values[f"width_{d:g}_mm"], "") for d in SITE_WIDTH_DEPTHS_MM)
        depths = "/".join(f"{d:g}" for d in SITE_WIDTH_DEPTHS_MM)
        return f"height {_num(values['height_mm'], ' mm')}, width at {depths} mm: {widths} mm"
    if m.kind == MeasurementKind.POINT:
        return _num(values["value"], "", digits=0)
    if "area_mm2" in values:
        return _num(values["area_mm2"], " mm²")
    return _num(values["length_mm"], " mm")


def _num(value: float, unit: str, *, digits: int = 1) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}{unit}"
