"""Where a measurement meets a view's plane, so that every view crossing it can draw it.

A view shows a slab of thickness ``t`` about its plane (a thin slice when ``t`` is 0).
A measurement is drawn in full, projected onto the plane, when all its handles lie within
the tolerance (half the slab or half the slice spacing, whichever is larger); otherwise
each of its segments that passes through the plane is marked where it crosses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .geometry import Plane
from .measurements import ROI_KINDS, Measurement, MeasurementKind, roi_outline

__all__ = ["PlaneCrossing", "crossing_tolerance", "measurement_crossing", "points_crossing"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PlaneCrossing:
    """How a chain of points meets a plane.

    Attributes
    ----------
    in_plane : bool
        Every point lies within the tolerance: draw the whole thing from ``uv``.
    uv : ndarray (n, 2)
        The points projected onto the plane (mm).
    near : ndarray of bool (n,)
        Which points lie within the tolerance (draw their handles).
    crossings : ndarray (k, 2)
        In-plane points where the chain meets the plane: the near points, then the
        points where segments pass from one side to the other (empty when none).
    """

    in_plane: bool
    uv: FloatArray
    near: NDArray[np.bool_]
    crossings: FloatArray

    @property
    def visible(self) -> bool:
        """Anything to draw in this view."""
        return self.in_plane or bool(self.near.any()) or len(self.crossings) > 0


def crossing_tolerance(*, slab_mm: float = 0.0, slice_step_mm: float = 0.0) -> float:
    """Half the slab thickness or half the slice spacing, whichever is larger (mm)."""
    return 0.5 * max(float(slab_mm), float(slice_step_mm))


def points_crossing(
    points: ArrayLike, plane: Plane, *, tolerance: float, closed: bool = False
) -> PlaneCrossing:
    """Where the polyline through patient ``points`` meets ``plane``.

    A segment with one end on each side of the plane (beyond ``tolerance``) crosses it
    at the point interpolated to depth 0; segments ending on the plane contribute that end.
    """
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    uvw = plane.to_plane(p)
    w = uvw[:, 2]
    near = np.abs(w) <= tolerance
    uv = np.asarray(uvw[:, :2], dtype=float)
    if near.all():
        return PlaneCrossing(True, uv, near, np.empty((0, 2)))
    idx = list(range(len(p) - 1))
    if closed and len(p) > 2:
        idx.append(len(p) - 1)
    hits = []
    for i in idx:
        j = (i + 1) % len(p)
        if (w[i] > tolerance and w[j] < -tolerance) or (w[i] < -tolerance and w[j] > tolerance):
            t = w[i] / (w[i] - w[j])
            hits.append(uv[i] + t * (uv[j] - uv[i]))
    crossings = np.vstack([uv[near], np.asarray(hits, dtype=float).reshape(-1, 2)])
    return PlaneCrossing(False, uv, near, crossings)


def measurement_crossing(m: Measurement, plane: Plane, *, tolerance: float) -> PlaneCrossing:
    """:func:`points_crossing` for a measurement.

    ROIs are tested with their outline (an ellipse's curve, not its three handles);
    angles, polylines and profiles as open chains; a point on its own; an implant site
    as separate segments (point pairs).
    """
    if m.kind == MeasurementKind.IMPLANT_SITE:
        pts = m.array
        parts = [points_crossing(pts[i : i + 2], plane, tolerance=tolerance) for i in range(0, len(pts), 2)]
        return PlaneCrossing(
            all(p.in_plane for p in parts),
            np.vstack([p.uv for p in parts]),
            np.concatenate([p.near for p in parts]),
            np.vstack([p.crossings for p in parts]),
        )
    if m.kind in ROI_KINDS:
        assert m.plane is not None
        outline = m.plane.to_patient(roi_outline(m, n=64))
        return points_crossing(outline, plane, tolerance=tolerance, closed=True)
    return points_crossing(m.array, plane, tolerance=tolerance)
