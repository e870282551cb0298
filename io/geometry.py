"""Geometry of a stack of 2D frames: order, spacing, gaps and gantry tilt.

Frames are ordered by ImagePositionPatient projected on the slice normal, never by file
name, InstanceNumber or SliceLocation (those are often wrong on exported media). The
result describes the regular grid the loader produces; when the acquisition is irregular
(missing slices, uneven spacing, gantry tilt) the grid is the one the loader resamples onto
so that every voxel sits at its true patient position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import MediaError
from .report import FrameRef

#: Directions closer than this (as 1 - |cos|) count as the same orientation.
ORIENTATION_TOLERANCE = 1e-4
#: Positions closer than this along the normal (mm) are the same slice position.
DUPLICATE_TOLERANCE_MM = 1e-3
#: Spacing deviations below max(abs, rel * usual spacing) are rounding, not irregularity.
SPACING_ABS_TOLERANCE_MM = 0.01
SPACING_REL_TOLERANCE = 0.01
#: A stack with more missing slices than this (and than slices present) is not one volume.
MAX_MISSING_SLICES = 8
#: In-plane drift (mm per mm along the normal) below this is not gantry tilt (~0.06 deg).
TILT_SLOPE_TOLERANCE = 1e-3


@dataclass(slots=True)
class StackGeometry:
    """The regular grid a stack of frames becomes (see module docstring)."""

    ordered: list[FrameRef]
    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    #: Distance of each ordered frame along the normal (mm), ascending.
    normal_positions: np.ndarray
    #: Each ordered frame's origin offset (mm) along the row and column directions,
    #: relative to the first frame; non-zero for gantry tilt. Shape (n_frames, 2).
    in_plane_offsets: np.ndarray
    needs_resampling: bool = False
    tilt_degrees: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def row_direction(self) -> np.ndarray:
        """Unit vector along a row (increasing column index)."""
        return np.asarray(self.direction, float).reshape(3, 3)[:, 0]

    @property
    def column_direction(self) -> np.ndarray:
        """Unit vector down a column (increasing row index)."""
        return np.asarray(self.direction, float).reshape(3, 3)[:, 1]

    @property
    def normal(self) -> np.ndarray:
        """Unit slice normal (row x column), the direction of increasing slice index."""
        return np.asarray(self.direction, float).reshape(3, 3)[:, 2]


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not math.isfinite(n) or n < 1e-6:
        raise MediaError("the slice orientation in the files is invalid (zero-length direction)")
    return v / n


def _axes(orientation: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal row, column and normal directions from an ImageOrientationPatient."""
    iop = np.asarray(orientation, float)
    if iop.shape != (6,) or not np.all(np.isfinite(iop)):
        raise MediaError("the slice orientation in the files is invalid")
    row = _unit(iop[:3])
    col = iop[3:] - np.dot(iop[3:], row) * row  # Gram-Schmidt: headers round to ~6 digits
    col = _unit(col)
    return row, col, np.cross(row, col)


def _same_direction(a: np.ndarray, b: np.ndarray) -> bool:
    return 1.0 - float(np.dot(a, b)) < ORIENTATION_TOLERANCE


def _pixel_spacing(frames: Sequence[FrameRef], warnings: list[str]) -> tuple[float, float]:
    """(column spacing sx, row spacing sy) in mm from PixelSpacing = (row, column) spacing."""
    spacings = {f.pixel_spacing for f in frames if f.pixel_spacing is not None}
    if not spacings:
        warnings.append("The files give no pixel size; 1 mm is assumed, so measurements are not calibrated.")
        return 1.0, 1.0
    first = next(f.pixel_spacing for f in frames if f.pixel_spacing is not None)
    assert first is not None
    if len(spacings) > 1 and any(
        abs(s[0] - first[0]) > 1e-4 or abs(s[1] - first[1]) > 1e-4 for s in spacings
    ):
        raise MediaError("the slices have different pixel sizes and cannot form one volume")
    row_spacing, col_spacing = float(first[0]), float(first[1])
    if not (row_spacing > 0 and col_spacing > 0 and math.isfinite(row_spacing * col_spacing)):
        warnings.append(
            "The files give an invalid pixel size; 1 mm is assumed, so measurements are not calibrated."
        )
        return 1.0, 1.0
    return col_spacing, row_spacing


def _without_positions(
    frames: Sequence[FrameRef], rows: int, columns: int, warnings: list[str]
) -> StackGeometry:
    """Fallback when frames lack position/orientation: keep file/frame order, 1 mm apart."""
    sx, sy = _pixel_spacing(frames, warnings)
    ordered = sorted(
        frames,
        key=lambda f: (f.instance_number if f.instance_number is not None else 0, f.frame_index),
    )
    if len(ordered) > 1:
        warnings.append(
            "The files do not say where each slice lies; slices are shown in file order, 1 mm "
            "apart, so distances across slices are not calibrated."
        )
    n = len(ordered)
    return StackGeometry(
        ordered=ordered,
        size=(columns, rows, n),
        spacing=(sx, sy, 1.0),
        origin=(0.0, 0.0, 0.0),
        direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
        normal_positions=np.arange(n, dtype=float),
        in_plane_offsets=np.zeros((n, 2)),
        warnings=warnings,
    )


def analyse_stack(frames: Sequence[FrameRef], *, rows: int, columns: int) -> StackGeometry:
    """Order frames and describe the regular grid they form.

    Parameters
    ----------
    frames : sequence of FrameRef
        The frames of one series candidate, in any order.
    rows, columns : int
        Frame size in pixels (all frames share it; the scan splits otherwise).

    Returns
    -------
    StackGeometry
        Ordered frames, the output grid (size, spacing, origin, direction) and
        plain-language warnings. ``needs_resampling`` is set for missing slices,
        uneven spacing and gantry tilt; the grid then is the resampled one.

    Raises
    ------
    MediaError
        When the frames cannot form one volume (mixed orientations or pixel sizes).
    """
    if not frames:
        raise MediaError("the series holds no images")
    if rows <= 0 or columns <= 0:
        raise MediaError("the image size in the files is invalid")
    warnings: list[str] = []
    if any(f.position is None or f.orientation is None for f in frames):
        if len(frames) == 1 and frames[0].orientation is None:
            return _without_positions(frames, rows, columns, warnings)
        if all(f.position is None for f in frames):
            return _without_positions(frames, rows, columns, warnings)
        raise MediaError("some slices lack position information, so the series cannot be stacked")

    row, col, normal = _axes(frames[0].orientation)  # type: ignore[arg-type]
    first_orientation = frames[0].orientation
    for f in frames[1:]:
        if f.orientation == first_orientation:  # the usual case; skip the vector maths
            continue
        r2, c2, _ = _axes(f.orientation)  # type: ignore[arg-type]
        if not (_same_direction(row, r2) and _same_direction(col, c2)):
            raise MediaError("the slices are not all parallel (mixed orientations)")

    positions = np.asarray([f.position for f in frames], float)
    if not np.all(np.isfinite(positions)):
        raise MediaError("a slice position in the files is invalid")
    distance = positions @ normal
    order = np.argsort(distance, kind="stable")
    ordered = [frames[i] for i in order]
    positions, distance = positions[order], distance[order]

    keep = np.ones(len(ordered), bool)
    keep[1:] = np.diff(distance) > DUPLICATE_TOLERANCE_MM
    if not keep.all():
        dropped = int((~keep).sum())
        warnings.append(f"{dropped} slice(s) repeat the position of another slice and were left out.")
        ordered = [f for f, k in zip(ordered, keep, strict=True) if k]
        positions, distance = positions[keep], distance[keep]

    sx, sy = _pixel_spacing(ordered, warnings)
    n = len(ordered)
    relative = positions - positions[0]
    offsets = np.stack([relative @ row, relative @ col], axis=1)
    needs_resampling = False
    tilt = 0.0

    if n == 1:
        sz = 1.0
    else:
        steps = np.diff(distance)
        usual = float(np.median(steps))
        tolerance = max(SPACING_ABS_TOLERANCE_MM, SPACING_REL_TOLERANCE * usual)
        gaps = steps > 1.5 * usual
        if gaps.any():
            missing = int(np.round(steps[gaps] / usual - 1).sum())
            if missing > max(n, MAX_MISSING_SLICES):
                raise MediaError(
                    f"the {n} slices are spread over {distance[-1] - distance[0]:.0f} mm with large "
                    "gaps; they do not form one 3D volume"
                )
            where = ", ".join(
                f"between {distance[i]:.1f} and {distance[i + 1]:.1f} mm" for i in np.flatnonzero(gaps)[:3]
            )
            warnings.append(
                f"About {missing} slice(s) are missing ({where}, where slices are usually "
                f"{usual:.2f} mm apart). The gap was filled by interpolation; do not measure there."
            )
            needs_resampling = True
        elif np.abs(steps - usual).max() > tolerance:
            warnings.append(
                f"Slice spacing is uneven ({steps.min():.3f} to {steps.max():.3f} mm). The volume "
                f"was resampled to a regular {usual:.3f} mm grid so that distances stay true."
            )
            needs_resampling = True
        # In-plane drift along the normal = gantry tilt (slices sheared, not stacked square).
        extent = distance[-1] - distance[0]
        slope = np.abs(offsets[-1]) / extent if extent > 0 else np.zeros(2)
        if float(np.hypot(*slope)) > TILT_SLOPE_TOLERANCE or np.abs(offsets).max() > max(sx, sy) * 0.1:
            tilt = math.degrees(math.atan(float(np.hypot(*slope))))
            warnings.append(
                f"The scan was taken with a gantry tilt of {tilt:.1f}°. The volume was resampled "
                "so that every voxel sits at its true position and distances are correct."
            )
            needs_resampling = True
        sz = usual if needs_resampling else float(extent / (n - 1))
        if sz <= 0 or not math.isfinite(sz):
            raise MediaError("the slice positions in the files are invalid")

    direction = tuple(float(v) for v in np.stack([row, col, normal], axis=1).ravel())
    if needs_resampling:
        lo = offsets.min(axis=0)
        hi = offsets.max(axis=0)
        nx = columns + math.ceil((hi[0] - lo[0]) / sx - 1e-6)
        ny = rows + math.ceil((hi[1] - lo[1]) / sy - 1e-6)
        nz = round((distance[-1] - distance[0]) / sz) + 1
        origin_vec = positions[0] + lo[0] * row + lo[1] * col
    else:
        nx, ny, nz = columns, rows, n
        origin_vec = positions[0]
    return StackGeometry(
        ordered=ordered,
        size=(nx, ny, nz),
        spacing=(sx, sy, sz),
        origin=(float(origin_vec[0]), float(origin_vec[1]), float(origin_vec[2])),
        direction=direction,
        normal_positions=distance,
        in_plane_offsets=offsets,
        needs_resampling=needs_resampling,
        tilt_degrees=tilt,
        warnings=warnings,
    )
