"""Implant-site planning: available bone height and width below a clicked crest point.

The user clicks the alveolar crest on a 2D view and chooses the direction into the bone
(the implant axis, in the view's plane) and the perpendicular in-plane direction across
the ridge (buccal ↔ lingual). :func:`measure_site` then measures, from grey profiles of
the volume (trilinear sampling every 0.1 mm, sub-sample threshold crossings):

- the *bone height* from the crest along the axis to the first limiting structure: the
  surface of a traced nerve canal when one is given (see :class:`Canal`), otherwise — or
  when the axis leaves the bone before the canal — the outer edge of the inferior cortex
  or sinus floor, i.e. where the profile leaves bone for good;
- the *bone width* across the ridge at 1, 3 and 5 mm below the crest, between the outer
  cortical surfaces on either side;
- the segments it measured (patient mm) for a view to draw, and warnings (a planned
  implant length reaching into the safety margin, an axis that misses the canal, …).

"Bone" is grey value ≥ a threshold: given, or half-way between the trabecular level
(median of the axial profile well inside the bone) and the cortical level (highest 1 mm
average of the axial profile), estimated from the data and reported so that the user can
edit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.geometry import Vec3, vec3
from cbctviewer.core.sampling import contains, last_exit, sample_ray
from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]

#: Depths below the crest (mm) at which the ridge width is measured.
WIDTH_DEPTHS_MM = (1.0, 3.0, 5.0)
#: Profile sampling step (mm).
STEP_MM = 0.1
#: How far the axial profile is followed below the crest (mm).
MAX_DEPTH_MM = 40.0
#: How far each width profile is followed from the axis (mm).
MAX_HALF_WIDTH_MM = 15.0


@dataclass(frozen=True, slots=True)
class Canal:
    """A traced nerve canal: centreline polyline (patient mm, LPS) and lumen radius (mm)."""

    points: tuple[Vec3, ...]
    radius_mm: float

    @classmethod
    def from_points(cls, points: ArrayLike, radius_mm: float) -> Canal:
        """Build from an ``(n, 3)`` array-like; raises ``ValueError`` on bad input."""
        p = np.asarray(points, dtype=float)
        if p.ndim != 2 or p.shape[1] != 3 or len(p) < 1 or not np.all(np.isfinite(p)):
            raise ValueError("canal points must be a non-empty (n, 3) array of finite numbers")
        if not (radius_mm >= 0.0 and np.isfinite(radius_mm)):
            raise ValueError(f"canal radius must be a finite number >= 0, got {radius_mm}")
        return cls(tuple(vec3(q) for q in p), float(radius_mm))


@dataclass(frozen=True, slots=True)
class Segment:
    """A measured line for display: ``label`` (``"height"``, ``"width_1"``…), end points in mm."""

    label: str
    start: Vec3
    end: Vec3

    @property
    def length_mm(self) -> float:
        """Euclidean length (mm)."""
        return float(np.linalg.norm(np.subtract(self.end, self.start)))


@dataclass(frozen=True, slots=True)
class SiteMeasurement:
    """Result of :func:`measure_site` (all distances in mm, points in patient LPS).

    ``widths`` maps each depth below the crest (1.0, 3.0, 5.0 — ``widths[1]`` works) to the
    ridge width there, NaN where no bone was found. ``canal_clearance_mm`` is the closest
    distance from the axis to the canal surface (0 when the axis hits the canal; ``None``
    without a canal). ``safe_length_mm`` is the longest implant that stays out of the
    safety margin (canal limit) or inside the bone (cortex limit).
    """

    height_mm: float
    limit: Literal["canal", "cortex"]
    widths: dict[float, float]
    segments: tuple[Segment, ...]
    threshold: float
    threshold_estimated: bool
    safety_margin_mm: float
    safe_length_mm: float
    cortex_height_mm: float
    canal_height_mm: float | None = None
    canal_clearance_mm: float | None = None
    crest: Vec3 = (0.0, 0.0, 0.0)
    axis: Vec3 = (0.0, 0.0, -1.0)
    width_direction: Vec3 = (1.0, 0.0, 0.0)
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _unit(v: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(v, dtype=float).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be three finite numbers, got {v!r}")
    n = float(np.linalg.norm(a))
    if n < 1e-9:
        raise ValueError(f"{name} must be a non-zero vector")
    return a / n


def estimate_threshold(depths: FloatArray, values: FloatArray, *, bone_end_mm: float | None = None) -> float:
    """Half-way between the trabecular and the cortical level of an axial profile.

    The cortical level is the highest 1 mm running mean of the profile (down to
    ``bone_end_mm`` + 1 mm when given); the trabecular level is the median of the samples
    more than 2 mm below the crest and above ``bone_end_mm`` − 2 mm (or, without
    ``bone_end_mm``, between 2 and 10 mm below the crest).
    """
    if values.size < 2:
        raise ValueError("the profile along the axis is too short to estimate a threshold")
    end = MAX_DEPTH_MM if bone_end_mm is None else bone_end_mm + 1.0
    sel = values[depths <= end]
    k = max(1, min(round(1.0 / STEP_MM), sel.size))
    cortical = float(np.max(np.convolve(sel, np.ones(k) / k, mode="valid")))
    lo, hi = (2.0, 10.0) if bone_end_mm is None else (min(2.0, bone_end_mm / 4), bone_end_mm - 2.0)
    inner = values[(depths >= lo) & (depths <= max(hi, lo))]
    trabecular = float(np.median(inner if inner.size else values))
    return 0.5 * (trabecular + cortical)


def canal_along_axis(
    crest: FloatArray, axis: FloatArray, canal: Canal, *, max_depth_mm: float
) -> tuple[float, float]:
    """Depth along the axis of the canal surface, and the axis-to-surface clearance.

    When the ray ``crest + t * axis`` (``0 <= t <= max_depth_mm``) enters the tube of
    radius ``canal.radius_mm`` about the centreline, returns the first such ``t`` and a
    clearance of 0. Otherwise returns the ``t`` of the closest approach and the distance
    from there to the canal surface (> 0).
    """
    pts = np.asarray(canal.points, dtype=float)
    step = 0.01
    t = np.arange(int(max_depth_mm / step) + 1) * step
    ray = crest + t[:, np.newaxis] * axis
    if len(pts) == 1:
        dist = np.linalg.norm(ray - pts[0], axis=1)
    else:
        a, b = pts[:-1], pts[1:]
        ab = b - a
        denom = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12)
        rel = ray[:, np.newaxis, :] - a[np.newaxis]
        u = np.clip(np.einsum("mnj,nj->mn", rel, ab) / denom, 0.0, 1.0)
        closest = a[np.newaxis] + u[..., np.newaxis] * ab[np.newaxis]
        dist = np.min(np.linalg.norm(ray[:, np.newaxis, :] - closest, axis=2), axis=1)
    gap = dist - canal.radius_mm
    inside = np.flatnonzero(gap <= 0.0)
    if inside.size:
        i = int(inside[0])
        if i == 0:
            return 0.0, 0.0
        g0, g1 = float(gap[i - 1]), float(gap[i])
        return float(t[i - 1] + step * g0 / (g0 - g1)), 0.0
    i = int(np.argmin(gap))
    return float(t[i]), float(gap[i])


def outer_edge(t: FloatArray, v: FloatArray, threshold: float, *, refine: bool = True) -> tuple[float, bool]:
    """Where the bone ends along a ray: the last fall below ``threshold``, refined to half height.

    The estimated threshold lies between trabecular and cortical bone, but the outer
    surface of the cortex is where the grey value is half-way between the cortex and the
    soft tissue outside it (lower): with ``refine`` the edge moves to that local level, which
    removes a bias of about a quarter voxel per edge.
    """
    edge, closed = last_exit(t, v, threshold)
    if not (refine and closed):
        return edge, closed
    inside = v[(t >= edge - 1.5) & (t <= edge)]
    outside = v[(t >= edge + 0.5) & (t <= edge + 1.5)]
    if not (inside.size and outside.size):
        return edge, closed
    level = 0.5 * (float(inside.max()) + float(np.median(outside)))
    return last_exit(t, v, level) if level < threshold else (edge, closed)


def _width(
    volume: Volume, centre: FloatArray, direction: FloatArray, threshold: float, *, refine: bool
) -> tuple[float, FloatArray, FloatArray] | None:
    ends = []
    for sign in (1.0, -1.0):
        t, v = sample_ray(volume, centre, sign * direction, length_mm=MAX_HALF_WIDTH_MM, step_mm=STEP_MM)
        if v.size < 2 or not np.any(v >= threshold):
            return None
        reach, _ = outer_edge(t, v, threshold, refine=refine)
        ends.append(centre + sign * reach * direction)
    return float(np.linalg.norm(ends[0] - ends[1])), ends[0], ends[1]


def measure_site(
    volume: Volume,
    crest: ArrayLike,
    axis: ArrayLike,
    width_direction: ArrayLike,
    *,
    canal: Canal | None = None,
    threshold: float | None = None,
    safety_margin_mm: float = 2.0,
    planned_length_mm: float | None = None,
    width_depths_mm: tuple[float, ...] = WIDTH_DEPTHS_MM,
) -> SiteMeasurement:
    """Measure the available bone at an implant site.

    Parameters
    ----------
    volume
        The scan.
    crest
        The clicked crest point (patient mm); heights and depths are measured from it.
    axis
        Direction into the bone (the implant axis); normalised.
    width_direction
        Direction across the ridge; its component along ``axis`` is removed and it is
        normalised. Width segments run from its positive side (``start``) to the negative.
    canal
        The traced nerve canal. The height is then the depth at which the axis enters the
        canal's tube, or — when the axis misses it — the depth of the axis point closest
        to the canal (with a warning giving the clearance). If the axis leaves the bone
        earlier, the cortex limit wins.
    threshold
        Grey value separating bone from soft tissue. When ``None`` it is estimated and each
        outer bone edge is refined to the local half level (:func:`outer_edge`); a given
        threshold is used as it is.
    safety_margin_mm
        Distance to keep from the canal.
    planned_length_mm
        Planned implant length: a warning is issued when it exceeds the safe length
        (height − margin to a canal; height to the cortex).
    width_depths_mm
        Depths below the crest at which the width is measured.

    Raises
    ------
    ValueError
        For a zero or non-finite axis or width direction, a width direction parallel to the
        axis, a crest outside the volume, or a negative margin or length.
    """
    c = np.asarray(vec3(crest))
    ax = _unit(axis, "axis")
    wd = _unit(width_direction, "width direction")
    wd = wd - float(wd @ ax) * ax
    if float(np.linalg.norm(wd)) < 1e-6:
        raise ValueError("the width direction must not be parallel to the axis")
    wd /= np.linalg.norm(wd)
    if not bool(contains(volume, c)):
        raise ValueError(f"the crest point {tuple(c.round(2))} is outside the volume")
    if not (safety_margin_mm >= 0.0 and np.isfinite(safety_margin_mm)):
        raise ValueError(f"safety margin must be finite and >= 0, got {safety_margin_mm}")
    if planned_length_mm is not None and not (planned_length_mm > 0 and np.isfinite(planned_length_mm)):
        raise ValueError(f"planned length must be positive, got {planned_length_mm}")

    depths, values = sample_ray(volume, c, ax, length_mm=MAX_DEPTH_MM, step_mm=STEP_MM)
    if depths.size < 2:
        raise ValueError("the axis leaves the volume right at the crest")
    warnings: list[str] = []
    estimated = threshold is None
    if threshold is None:
        first = estimate_threshold(depths, values)
        end, _ = last_exit(depths, values, first)
        thr = estimate_threshold(depths, values, bone_end_mm=end)
    else:
        thr = float(threshold)
    try:
        cortex, closed = outer_edge(depths, values, thr, refine=estimated)
    except ValueError:
        raise ValueError(f"no bone (grey value >= {thr:.0f}) along the axis below the crest") from None
    if not closed:
        warnings.append(
            f"bone continues to the edge of the volume; {cortex:.1f} mm is a lower bound of the height"
        )

    height = cortex
    limit: Literal["canal", "cortex"] = "cortex"
    canal_height = clearance = None
    if canal is not None:
        canal_height, clearance = canal_along_axis(c, ax, canal, max_depth_mm=MAX_DEPTH_MM)
        if clearance > 0:
            warnings.append(
                f"the axis misses the canal by {clearance:.1f} mm; height taken at the closest "
                f"approach, {canal_height:.1f} mm below the crest"
            )
        if canal_height <= cortex:
            height, limit = canal_height, "canal"
        else:
            warnings.append("the axis leaves the bone before it reaches the canal")
    safe = height - safety_margin_mm if limit == "canal" else height
    if planned_length_mm is not None and planned_length_mm > safe:
        where = "into the safety margin of the canal" if limit == "canal" else "through the cortex"
        warnings.append(
            f"a {planned_length_mm:.1f} mm implant reaches {where}: safe length {max(safe, 0.0):.1f} mm"
        )

    segments = [Segment("height", vec3(c), vec3(c + height * ax))]
    if planned_length_mm is not None:
        segments.append(Segment("planned", vec3(c), vec3(c + planned_length_mm * ax)))
    widths: dict[float, float] = {}
    for h in width_depths_mm:
        found = _width(volume, c + h * ax, wd, thr, refine=estimated)
        if found is None:
            widths[float(h)] = float("nan")
            warnings.append(f"no bone on the axis {h:g} mm below the crest")
            continue
        widths[float(h)] = found[0]
        segments.append(Segment(f"width_{h:g}", vec3(found[1]), vec3(found[2])))
    return SiteMeasurement(
        height_mm=float(height),
        limit=limit,
        widths=widths,
        segments=tuple(segments),
        threshold=thr,
        threshold_estimated=estimated,
        safety_margin_mm=float(safety_margin_mm),
        safe_length_mm=float(safe),
        cortex_height_mm=float(cortex),
        canal_height_mm=canal_height,
        canal_clearance_mm=clearance,
        crest=vec3(c),
        axis=vec3(ax),
        width_direction=vec3(wd),
        warnings=tuple(warnings),
    )
