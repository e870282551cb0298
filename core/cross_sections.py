"""Cross-sections: planes perpendicular to the arch at chosen arc positions.

Orientation (the same for every section, whichever way the arch was clicked): screen-up is
``up`` (superior) and **screen-right is buccal** (lingual on the left), so the plane's
``x_axis`` is the arch's buccal normal, ``y_axis`` is ``up`` and its normal (towards the
viewer) is ``x_axis × up``: a right-handed, never mirrored view. Tools that measure "down
the view" (``−y_axis``) and "across" (``x_axis``), such as
:func:`cbctviewer.core.implant_site.measure_site`, work on these planes unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.geometry import Plane, SliceGeometry
from cbctviewer.core.panoramic_sampler import FloatArray, SlabReduce, sample_sheet, slab_offsets
from cbctviewer.core.tasks import CancelCheck
from cbctviewer.core.volume import Volume

#: Default spacing of consecutive cross-sections (mm).
DEFAULT_INTERVAL_MM = 1.0


def cross_section_plane(curve: ArchCurve, s_mm: float, *, offset_mm: float = 0.0) -> Plane:
    """The cross-section plane at arc position ``s_mm`` (clamped to the curve).

    The origin is the curve point at ``s_mm`` moved ``offset_mm`` along the buccal normal
    (in the curve plane); ``x_axis`` = buccal normal (screen-right), ``y_axis`` = ``up``.
    """
    point, _, normal = curve.frame_at(s_mm)
    return Plane.from_axes(point + offset_mm * normal, normal, curve.up)


def cross_section_positions(
    centre_s_mm: float,
    *,
    count: int = 5,
    interval_mm: float = DEFAULT_INTERVAL_MM,
    length_mm: float | None = None,
) -> list[float]:
    """``count`` consecutive arc positions ``interval_mm`` apart, centred on ``centre_s_mm``.

    With ``length_mm`` the run is shifted (not squeezed) to stay within ``[0, length_mm]``;
    only when it is longer than the curve are the positions clamped.
    """
    if count < 1:
        raise ValueError("at least one cross-section is needed")
    if not (interval_mm > 0 and math.isfinite(interval_mm) and math.isfinite(centre_s_mm)):
        raise ValueError("the interval must be a positive number of mm and the centre finite")
    span = (count - 1) * interval_mm
    first = centre_s_mm - span / 2
    if length_mm is not None:
        first = min(max(first, 0.0), max(length_mm - span, 0.0))
    positions = first + interval_mm * np.arange(count)
    if length_mm is not None:
        positions = np.clip(positions, 0.0, length_mm)
    return [float(p) for p in positions]


def cross_section_geometry(
    curve: ArchCurve,
    s_mm: float,
    *,
    width_mm: float = 40.0,
    height_mm: float = 30.0,
    pixel_mm: float = 0.2,
    centre_height_mm: float = 0.0,
    offset_mm: float = 0.0,
) -> SliceGeometry:
    """A pixel grid on the cross-section at ``s_mm`` centred ``centre_height_mm`` above the curve plane."""
    plane = cross_section_plane(curve, s_mm, offset_mm=offset_mm)
    centre = np.asarray(plane.origin) + centre_height_mm * curve.up
    width = max(1, round(width_mm / pixel_mm) + 1)
    height = max(1, round(height_mm / pixel_mm) + 1)
    return SliceGeometry(plane.moved_to(centre), pixel_mm, width, height)


def _sheet(geometry: SliceGeometry) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """A cross-section grid as a sheet: column bases at plane v = 0, their slab normals, up, row heights."""
    plane = geometry.plane
    y_axis, normal = np.asarray(plane.y_axis, dtype=float), np.asarray(plane.normal, dtype=float)
    cols = geometry.pixel_to_patient(np.column_stack([np.zeros(geometry.width), np.arange(geometry.width)]))
    top = float(geometry.pixel_to_plane((0.0, 0.0))[1])
    heights = np.asarray(top - geometry.pixel_size * np.arange(geometry.height), dtype=float)
    # Rows go up along y_axis from the bases.
    bases = np.asarray(cols - top * y_axis, dtype=float)
    return bases, np.asarray(np.broadcast_to(normal, bases.shape)), y_axis, heights


def cross_section_image(
    volume: Volume,
    geometry: SliceGeometry,
    *,
    slab_mm: float = 0.0,
    slab_mode: SlabReduce = "mean",
    cancel: CancelCheck | None = None,
) -> NDArray[np.float32]:
    """Sample one cross-section grid: ``(height, width)`` float32, nan outside the scan.

    A slab is taken along the plane normal (along the arch), ``slab_mm`` thick.
    """
    bases, normals, up, heights = _sheet(geometry)
    offsets = slab_offsets(slab_mm, min(volume.spacing))
    return sample_sheet(volume, bases, normals, up, heights, offsets, mode=slab_mode, cancel=cancel)


def cross_section_strip(
    volume: Volume,
    curve: ArchCurve,
    positions: Sequence[float],
    *,
    width_mm: float = 40.0,
    height_mm: float = 30.0,
    pixel_mm: float = 0.2,
    centre_height_mm: float = 0.0,
    offset_mm: float = 0.0,
    slab_mm: float = 0.0,
    slab_mode: SlabReduce = "mean",
    cancel: CancelCheck | None = None,
) -> list[tuple[SliceGeometry, NDArray[np.float32]]]:
    """The geometry and pixels of each cross-section of a strip (see :func:`cross_section_positions`).

    The sections share their rows (same size, centre height and ``up``), so they are sampled
    as one sheet: one pass of the sampler's threads over all their columns.
    """
    geometries = [
        cross_section_geometry(
            curve,
            s,
            width_mm=width_mm,
            height_mm=height_mm,
            pixel_mm=pixel_mm,
            centre_height_mm=centre_height_mm,
            offset_mm=offset_mm,
        )
        for s in positions
    ]
    if not geometries:
        return []
    sheets = [_sheet(g) for g in geometries]
    _, _, up, heights = sheets[0]  # every section's (same size, centre height and up)
    pixels = sample_sheet(
        volume,
        np.concatenate([b for b, _, _, _ in sheets]),
        np.concatenate([n for _, n, _, _ in sheets]),
        up,
        heights,
        slab_offsets(slab_mm, min(volume.spacing)),
        mode=slab_mode,
        cancel=cancel,
    )
    widths = np.cumsum([g.width for g in geometries])[:-1]
    return list(zip(geometries, np.split(pixels, widths, axis=1), strict=True))
