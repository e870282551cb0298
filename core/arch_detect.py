"""Automatic proposal of the dental arch from the grey values of a scan.

1. A coarse copy of the volume (about 1 mm voxels) keeps it fast.
2. Two Otsu thresholds split air / soft tissue / hard tissue (bone, teeth), and the hard
   tissue once more into bone and the densest part (teeth, metal).
3. The axial level with the most dense voxels is taken as the teeth level; the hard-tissue
   occupancy of a slab around it is averaged into an axial map.
4. Rays from the map's centre of mass find, per angle, the centre of the strongest run of
   hard tissue: the ridge of the jaw. A dental arch is a U, so the rays that find nothing
   form one wide gap (the opening behind the arch); the ridge points are ordered from one
   end of the U to the other, smoothed and reduced to a few control points, the first on
   the patient's right.

The result is a proposal for the user to edit; data without a U of bone (a head CT's closed
skull, a tiny or flat volume) raise ``ValueError`` with a plain explanation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.spline import interpolate_at, polyline_length
from cbctviewer.core.tasks import CancelCheck, check_cancel
from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]

#: Voxel size (mm) of the coarse copy the detection works on.
WORK_VOXEL_MM = 1.0
#: Half-thickness (mm) of the axial slab around the teeth level.
SLAB_HALF_MM = 6.0
#: Angular step (degrees) of the rays.
RAY_STEP_DEG = 3.0
#: A U's opening must span at least this many degrees without bone.
MIN_OPENING_DEG = 40.0
#: Control points of the proposal.
CONTROL_POINTS = 7


def otsu_threshold(values: ArrayLike, *, bins: int = 256) -> float:
    """Otsu's threshold of a sample of grey values (maximises the between-class variance)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2 or float(v.min()) == float(v.max()):
        raise ValueError("the image has no contrast to separate tissues")
    hist, edges = np.histogram(v, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    weight = np.cumsum(hist).astype(float)
    mass = np.cumsum(hist * centres)
    total, total_mass = weight[-1], mass[-1]
    w1 = total - weight
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mass / weight - (total_mass - mass) / w1) ** 2 * weight * w1
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


def _split_above(values: NDArray[np.float32], threshold: float) -> float:
    """Otsu's threshold of the values above ``threshold``; ``threshold`` when they are uniform."""
    upper = values[values > threshold]
    try:
        return otsu_threshold(upper) if upper.size > 100 else threshold
    except ValueError:
        return threshold


def _coarse(volume: Volume) -> tuple[NDArray[np.float32], FloatArray, FloatArray]:
    """Strided copy ``(z, y, x)`` plus the patient position of its voxel 0 and its spacing."""
    arr = volume.array
    if arr.ndim != 3 or min(arr.shape) < 8:
        raise ValueError("the volume is too small to find a dental arch in")
    direction = np.asarray(volume.direction).reshape(3, 3)
    if abs(direction[2, 2]) < 0.9:
        raise ValueError("the arch can only be proposed on scans with axial slices")
    factors = [max(1, round(WORK_VOXEL_MM / s)) for s in volume.spacing]  # x, y, z
    coarse = np.asarray(arr[:: factors[2], :: factors[1], :: factors[0]], dtype=np.float32)
    spacing = np.asarray(volume.spacing) * factors
    if min(coarse.shape[1:]) < 16 or min(spacing[:2] * coarse.shape[:0:-1]) < 30.0:
        raise ValueError("the volume is too small (under 3 cm across) to hold a dental arch")
    return coarse, np.asarray(volume.origin), spacing


def propose_arch(volume: Volume, *, cancel: CancelCheck | None = None) -> ArchCurve:
    """Propose an arch curve from the bone and teeth grey values (see the module docstring).

    Raises
    ------
    ValueError
        When no U-shaped band of bone or teeth is found.
    Cancelled
        When ``cancel`` returns True.
    """
    coarse, origin, spacing = _coarse(volume)
    direction = np.asarray(volume.direction).reshape(3, 3)
    check_cancel(cancel)
    sample = coarse[:: max(1, coarse.shape[0] // 40)]
    body = otsu_threshold(sample)  # air | the rest (raises on an image without contrast)
    hard = _split_above(sample, body)  # soft tissue | bone and teeth
    dense = _split_above(sample, hard)  # bone | teeth and metal
    per_level = np.count_nonzero(coarse > dense, axis=(1, 2))
    if per_level.max() == 0:
        raise ValueError("no bone or teeth were found in the volume")
    level = int(np.argmax(per_level))
    half = max(1, round(SLAB_HALF_MM / spacing[2]))
    slab = coarse[max(0, level - half) : level + half + 1]
    occupancy = np.mean(slab > hard, axis=0)  # (y, x)
    check_cancel(cancel)
    ridge = _ridge_points(occupancy)
    # Map (row, col) of the occupancy map back to patient space at the teeth level.
    idx = np.column_stack([ridge[:, 1], ridge[:, 0], np.full(len(ridge), float(level))])
    points = origin + (idx * spacing) @ direction.T
    points = _control_points(points)
    if points[0, 0] > points[-1, 0]:  # LPS +x is the patient's left: start on the right
        points = points[::-1]
    up = direction[:, 2] if direction[2, 2] > 0 else -direction[:, 2]
    return ArchCurve(points, up=up)


def _ridge_points(occupancy: NDArray[np.float64]) -> FloatArray:
    """Ridge ``(row, col)`` points of a U-shaped band, ordered from one end to the other."""
    rows, cols = occupancy.shape
    weight = occupancy.sum()
    if weight <= 0:
        raise ValueError("no bone or teeth were found at the teeth level")
    yy, xx = np.mgrid[0:rows, 0:cols]
    centre = np.array([(yy * occupancy).sum(), (xx * occupancy).sum()]) / weight
    angles = np.radians(np.arange(0.0, 360.0, RAY_STEP_DEG))
    radii = np.arange(0.0, math.hypot(rows, cols), 0.5)
    directions = np.column_stack([np.sin(angles), np.cos(angles)])
    found: list[tuple[float, FloatArray]] = []
    for angle, d in zip(angles, directions, strict=True):
        pts = centre + radii[:, np.newaxis] * d
        keep = (pts[:, 0] >= 0) & (pts[:, 0] <= rows - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= cols - 1)
        pts, r = pts[keep], radii[keep]
        values = occupancy[np.rint(pts[:, 0]).astype(int), np.rint(pts[:, 1]).astype(int)]
        run = _strongest_run(values)
        if run is None:
            continue
        a, b = run
        w = values[a:b]
        found.append((float(angle), centre + float((r[a:b] * w).sum() / w.sum()) * d))
    if len(found) < 8:
        raise ValueError("no arch-shaped band of bone or teeth was found")
    hit = np.array([a for a, _ in found])
    gaps = np.diff(np.concatenate([hit, [hit[0] + 2 * math.pi]]))
    widest = int(np.argmax(gaps))
    if math.degrees(gaps[widest]) < MIN_OPENING_DEG:
        raise ValueError(
            "the bone forms a closed ring (like a skull), not a dental arch open at the back; "
            "please click the arch points by hand"
        )
    order = np.roll(np.arange(len(found)), -(widest + 1))
    return np.array([found[i][1] for i in order])


def _strongest_run(values: FloatArray, *, level: float = 0.25) -> tuple[int, int] | None:
    """``[start, stop)`` of the run above ``level`` with the largest sum, or None."""
    above = np.concatenate([[False], values > level, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    if edges.size == 0:
        return None
    starts, stops = edges[::2], edges[1::2]
    sums = [float(values[a:b].sum()) for a, b in zip(starts, stops, strict=True)]
    best = int(np.argmax(sums))
    if sums[best] < 2.0:  # at least a couple of voxels' worth of hard tissue
        return None
    return int(starts[best]), int(stops[best])


def _control_points(points: FloatArray) -> FloatArray:
    """Smooth the ridge and keep ``CONTROL_POINTS`` points evenly spread along it."""
    if len(points) >= 5:
        kernel = np.ones(5) / 5.0
        padded = np.vstack([np.repeat(points[:1], 2, axis=0), points, np.repeat(points[-1:], 2, axis=0)])
        points = np.column_stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(3)])
    length = polyline_length(points)
    if length < 20.0:
        raise ValueError("the band of bone found is too short to be a dental arch")
    return interpolate_at(points, np.linspace(0.0, length, CONTROL_POINTS))
