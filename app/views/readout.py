"""What the status bar says about the point under the cursor (no Qt)."""

from __future__ import annotations

import numpy as np

from cbctviewer.core.geometry import vec3
from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import Volume

_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))


def patient_position_text(point: np.ndarray) -> str:
    """A patient point as ``"L 23.1  A 11.3  I 47.0 mm"`` (LPS, each axis named by its side)."""
    parts = []
    for value, (plus, minus) in zip(point, _LETTERS, strict=True):
        parts.append(f"{plus if value >= 0 else minus} {abs(float(value)):.1f}")
    return "  ".join(parts) + " mm"


def grey_value_text(volume: Volume, value: float) -> str:
    """``"1450 HU"`` for calibrated CT, else ``"grey value 1450"`` (CBCT is not HU)."""
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{shown} HU" if volume.metadata.values_are_hu else f"grey value {shown}"


def voxel_value(volume: Volume, point: np.ndarray) -> tuple[tuple[int, int, int], float] | None:
    """The nearest voxel ``(i, j, k)`` to a patient point and its value, or ``None`` outside."""
    index = np.rint(volume.patient_to_index(vec3(point))).astype(int)
    if np.any(index < 0) or np.any(index >= np.asarray(volume.size)):
        return None
    i, j, k = (int(v) for v in index)
    return (i, j, k), float(volume.array[k, j, i])


def cursor_readout(state: ViewerState, kind: ViewKind, row: float, col: float) -> str:
    """Status-bar text for the pixel ``(row, col)`` of a 2D view: position, voxel, value."""
    volume = state.volume
    if volume is None:
        return ""
    point = state.slice_geometry(kind).pixel_to_patient((row, col))
    text = f"{ViewKind(kind).value.title()}: {patient_position_text(point)}"
    found = voxel_value(volume, point)
    if found is None:
        return text + "  ·  outside the scan"
    (i, j, k), value = found
    return f"{text}  ·  voxel {i}, {j}, {k}  ·  {grey_value_text(volume, value)}"
