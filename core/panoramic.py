"""The panoramic view: the volume straightened along the arch (curved planar reformation).

Column ``c`` of a :class:`PanoramicImage` is the arch position ``s = c · step_mm`` (mm from
the first control point); row ``r`` is the height ``heights_mm[r]`` along ``up`` relative to
the curve plane, top row highest, rows ``step_mm`` apart. Each pixel samples the volume on
the *surface*: the arch curve shifted by ``offset_mm`` along its buccal normal (lingual is
negative) and extruded along ``up``; a slab averages (``"mean"``) or takes the maximum
(``"mip"``) across ``slab_mm`` centred on that surface, along the normal.

Calibration: at offset 0 one column is exactly ``step_mm`` of arc and one row ``step_mm``
of height, so horizontal distances are arc lengths. Measurements stay true at any offset by
mapping them back to the surface (:meth:`PanoramicImage.surface_path`) and measuring there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.panoramic_sampler import sample_sheet, slab_offsets
from cbctviewer.core.tasks import CancelCheck, Cancelled
from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]

__all__ = ["Cancelled", "PanoramicImage", "PanoramicSpec", "panoramic", "preview_spec"]

#: Largest slab the UI offers (mm).
MAX_SLAB_MM = 30.0
#: Preview mode (while a control point is dragged): at least this pixel size (mm) …
PREVIEW_STEP_MM = 0.5
#: … and at most one slab sample per this many mm.
PREVIEW_SLAB_SPACING_MM = 1.0


@dataclass(frozen=True, slots=True)
class PanoramicSpec:
    """What to reformat: pixel size, height range, slab and buccal/lingual offset (all mm)."""

    step_mm: float = 0.2
    height_mm: float = 40.0
    #: Height of the image centre along ``up``, relative to the curve plane.
    centre_height_mm: float = 0.0
    slab_mm: float = 0.0
    slab_mode: Literal["mean", "mip"] = "mean"
    #: Buccal (+) / lingual (−) shift of the surface along the arch normal.
    offset_mm: float = 0.0

    def __post_init__(self) -> None:
        for name in ("step_mm", "height_mm", "centre_height_mm", "slab_mm", "offset_mm"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number")
        if self.step_mm <= 0 or self.height_mm <= 0:
            raise ValueError("the panoramic's pixel size and height must be positive")
        if not 0.0 <= self.slab_mm <= MAX_SLAB_MM:
            raise ValueError(f"the slab must be between 0 and {MAX_SLAB_MM:g} mm thick")
        if self.slab_mode not in ("mean", "mip"):
            raise ValueError(f"slab mode must be 'mean' or 'mip', got {self.slab_mode!r}")

    @property
    def rows(self) -> int:
        """Number of rows covering ``height_mm`` at ``step_mm``."""
        return max(1, round(self.height_mm / self.step_mm) + 1)

    def heights(self) -> FloatArray:
        """Row heights (mm along ``up`` from the curve plane), top row first."""
        top = self.centre_height_mm + 0.5 * (self.rows - 1) * self.step_mm
        return np.asarray(top - self.step_mm * np.arange(self.rows), dtype=float)


def preview_spec(spec: PanoramicSpec) -> PanoramicSpec:
    """The coarser spec used while dragging: pixels of at least ``PREVIEW_STEP_MM``."""
    return replace(spec, step_mm=max(spec.step_mm, PREVIEW_STEP_MM))


@dataclass(frozen=True, eq=False)
class PanoramicImage:
    """A reformatted panoramic: pixels plus the exact pixel ↔ patient mapping.

    ``pixels`` is ``(rows, cols)`` float32 in the volume's grey units (nan outside the
    scan), row 0 the top (superior), column 0 the first control point. ``s_mm`` and
    ``heights_mm`` give each column's arc position and each row's height.
    """

    pixels: NDArray[np.float32]
    spec: PanoramicSpec
    curve: ArchCurve
    s_mm: FloatArray
    heights_mm: FloatArray
    preview: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    def column_to_s(self, col: ArrayLike) -> FloatArray:
        """Arc position (mm) of fractional column(s)."""
        return np.asarray(np.asarray(col, dtype=float) * self.spec.step_mm, dtype=float)

    def row_to_height(self, row: ArrayLike) -> FloatArray:
        """Height (mm along ``up`` from the curve plane) of fractional row(s)."""
        return np.asarray(self.heights_mm[0] - np.asarray(row, dtype=float) * self.spec.step_mm, dtype=float)

    def pixel_to_patient(self, row: float, col: float) -> FloatArray:
        """Patient point (LPS mm) of a fractional pixel, on the (offset) surface."""
        s = float(self.column_to_s(col))
        return self.curve.point_at(s, self.spec.offset_mm, float(self.row_to_height(row)))

    def patient_to_pixel(self, point: ArrayLike) -> tuple[float, float]:
        """``(row, col)`` of a patient point projected onto the surface along the normal."""
        s, _, height = self.curve.locate(point)
        return (self.heights_mm[0] - height) / self.spec.step_mm, s / self.spec.step_mm

    def surface_path(
        self, a: tuple[float, float], b: tuple[float, float], *, step_mm: float = 0.2
    ) -> FloatArray:
        """Patient points ``(n, 3)`` along a straight line drawn on the panoramic.

        The line from pixel ``a`` to pixel ``b`` (``(row, col)``, fractional) is sampled
        about every ``step_mm`` and mapped onto the curved surface, so the polyline's
        length is the true length on the surface (a horizontal line at offset 0 measures
        the arc length).
        """
        if not (step_mm > 0 and math.isfinite(step_mm)):
            raise ValueError(f"step must be a positive number of mm, got {step_mm}")
        ra, ca = (float(v) for v in a)
        rb, cb = (float(v) for v in b)
        flat_length = math.hypot(rb - ra, cb - ca) * self.spec.step_mm
        count = max(2, math.ceil(flat_length / step_mm) + 1)
        t = np.linspace(0.0, 1.0, count)
        s = self.column_to_s(ca + t * (cb - ca))
        h = self.row_to_height(ra + t * (rb - ra))
        frames = self.curve.frames_at(s)
        return np.asarray(
            frames.points + self.spec.offset_mm * frames.normals + h[:, np.newaxis] * frames.up, dtype=float
        )


def panoramic(
    volume: Volume,
    curve: ArchCurve,
    spec: PanoramicSpec = PanoramicSpec(),
    *,
    preview: bool = False,
    cancel: CancelCheck | None = None,
) -> PanoramicImage:
    """Reformat ``volume`` along ``curve`` (see the module docstring).

    Parameters
    ----------
    volume
        The scan.
    curve
        The arch.
    spec
        Pixel size, height, slab and offset.
    preview
        Fast, coarser rendering for interactive dragging: pixels of at least
        ``PREVIEW_STEP_MM`` and slab samples at most every ``PREVIEW_SLAB_SPACING_MM``;
        the returned image's ``spec`` holds the step actually used.
    cancel
        Polled while sampling; :class:`Cancelled` is raised when it returns True.

    Returns
    -------
    PanoramicImage
        Pixels with nan where no sample falls inside the scan.
    """
    used = preview_spec(spec) if preview else spec
    frames = curve.frames(used.step_mm)
    heights = used.heights()
    # Slab samples at the finest voxel spacing: every voxel across the slab contributes.
    spacing = min(volume.spacing)
    if preview:
        spacing = max(spacing, PREVIEW_SLAB_SPACING_MM)
    offsets = slab_offsets(used.slab_mm, spacing, centre_mm=used.offset_mm)
    pixels = sample_sheet(
        volume,
        frames.points,
        frames.normals,
        curve.up,
        heights,
        offsets,
        mode=used.slab_mode,
        cancel=cancel,
    )
    return PanoramicImage(
        pixels=pixels, spec=used, curve=curve, s_mm=frames.s, heights_mm=heights, preview=preview
    )
