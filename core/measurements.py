"""Measurements in patient coordinates and the evented, undoable set that holds them.

A :class:`Measurement` is an immutable value: its kind, an id, a label, its handle points
in patient LPS millimetres (never pixels) and, for regions of interest, the plane it was
drawn on. :class:`MeasurementSet` belongs to one series (SeriesInstanceUID and
FrameOfReferenceUID); every change goes through a command stack (undo/redo) and emits a
psygnal event. Values are computed by :func:`measurement_values` from the pure functions
in :mod:`cbctviewer.core.measure_values`.

Handles per kind: ``distance`` (a, b), ``angle`` (a, vertex, b), ``polyline`` (≥ 2),
``point`` (1), ``profile`` (start, end), ``polygon`` (≥ 3, on its plane) and ``ellipse``
(centre, end of the first semi-axis, a point setting the second semi-axis length; all on
its plane) and ``implant_site`` (pairs of segment ends: crest → height limit, then the
ridge width at each depth of :data:`SITE_WIDTH_DEPTHS_MM`, a zero-length pair where no bone
was found; its limit and warnings are in :attr:`Measurement.note`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .geometry import Plane, Vec3, vec3
from .measure_values import (
    angle_deg,
    distance,
    ellipse_outline,
    line_profile,
    polyline_length,
    roi_stats,
    sample_nearest,
)
from .volume import SeriesIdentity, Volume

__all__ = [
    "ROI_KINDS",
    "SITE_WIDTH_DEPTHS_MM",
    "Measurement",
    "MeasurementKind",
    "identity_matches",
    "measurement_from_dict",
    "measurement_to_dict",
    "measurement_values",
    "roi_outline",
]


class MeasurementKind(StrEnum):
    DISTANCE = "distance"
    ANGLE = "angle"
    POLYLINE = "polyline"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    POINT = "point"
    PROFILE = "profile"
    IMPLANT_SITE = "implant_site"


ROI_KINDS = frozenset({MeasurementKind.ELLIPSE, MeasurementKind.POLYGON})
_COUNTS: dict[MeasurementKind, tuple[int, int | None]] = {
    MeasurementKind.DISTANCE: (2, 2),
    MeasurementKind.ANGLE: (3, 3),
    MeasurementKind.POLYLINE: (2, None),
    MeasurementKind.ELLIPSE: (3, 3),
    MeasurementKind.POLYGON: (3, None),
    MeasurementKind.POINT: (1, 1),
    MeasurementKind.PROFILE: (2, 2),
    MeasurementKind.IMPLANT_SITE: (2, None),
}
#: Depths below the crest (mm) of an implant site's width pairs, in point order.
SITE_WIDTH_DEPTHS_MM = (1.0, 3.0, 5.0)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement: handles in patient LPS mm, plus the drawing plane for ROIs.

    Build with :meth:`create` (validates, projects ROI handles onto their plane, assigns
    an id); ``replace``-style edits go through :class:`MeasurementSet`.
    """

    kind: MeasurementKind
    points: tuple[Vec3, ...]
    id: str = ""
    label: str = ""
    plane: Plane | None = None
    #: Free text shown with the value (an implant site's limit and warnings).
    note: str = ""

    def __post_init__(self) -> None:
        low, high = _COUNTS[MeasurementKind(self.kind)]
        n = len(self.points)
        if n < low or (high is not None and n > high):
            raise ValueError(f"a {self.kind} needs {low}{'' if high == low else '+'} points, got {n}")
        if self.kind == MeasurementKind.IMPLANT_SITE and n % 2:
            raise ValueError(f"an implant site needs pairs of points, got {n}")
        if self.kind in ROI_KINDS and self.plane is None:
            raise ValueError(f"a {self.kind} ROI needs the plane it was drawn on")

    @classmethod
    def create(
        cls,
        kind: MeasurementKind | str,
        points: ArrayLike,
        *,
        label: str = "",
        plane: Plane | None = None,
        id: str | None = None,
        note: str = "",
    ) -> Measurement:
        """A new measurement; ROI handles are projected onto ``plane``."""
        kind = MeasurementKind(kind)
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        if kind in ROI_KINDS and plane is not None:
            pts = _onto(plane, pts)
        return cls(
            kind=kind,
            points=tuple(vec3(p) for p in pts),
            id=id if id else uuid.uuid4().hex[:12],
            label=label,
            plane=plane if kind in ROI_KINDS else None,
            note=note,
        )

    @property
    def array(self) -> np.ndarray:
        """Handles as an (n, 3) float array (a copy)."""
        return np.asarray(self.points, dtype=float)

    def with_point(self, index: int, point: ArrayLike) -> Measurement:
        """This measurement with handle ``index`` moved (ROI handles stay on the plane)."""
        pts = list(self.points)
        if not -len(pts) <= index < len(pts):
            raise IndexError(f"{self.kind} has no handle {index}")
        p = np.asarray(point, dtype=float).reshape(1, 3)
        if self.plane is not None:
            p = _onto(self.plane, p)
        pts[index] = vec3(p[0])
        return replace(self, points=tuple(pts))

    def translated(self, offset: ArrayLike) -> Measurement:
        """This measurement moved as a whole (ROIs move with their plane)."""
        d = np.asarray(offset, dtype=float).reshape(3)
        plane = self.plane.moved_to(np.asarray(self.plane.origin) + d) if self.plane else None
        return replace(self, points=tuple(vec3(p + d) for p in self.array), plane=plane)


def _onto(plane: Plane, points: np.ndarray) -> np.ndarray:
    uvw = plane.to_plane(points)
    uvw[..., 2] = 0.0
    return plane.to_patient(uvw)


def roi_outline(m: Measurement, *, n: int = 128) -> np.ndarray:
    """In-plane outline ``(u, v)`` (mm) of an ROI on its plane."""
    if m.plane is None or m.kind not in ROI_KINDS:
        raise ValueError("only ROIs have an outline")
    uv = m.plane.to_plane(m.array)[:, :2]
    if m.kind == MeasurementKind.POLYGON:
        return np.asarray(uv)
    centre, end_a, end_b = uv
    axis = end_a - centre
    norm = float(np.linalg.norm(axis))
    if norm == 0.0:
        return np.repeat(centre[np.newaxis], n, axis=0)
    rel = end_b - centre
    semi_b = abs(_cross2(axis, rel)) / norm
    return ellipse_outline(centre, axis, semi_b, n=n)


def site_values(m: Measurement) -> dict[str, float]:
    """An implant site's bone height and its widths (``width_1_mm``…; NaN where none)."""
    pts = m.array
    height = distance(pts[0], pts[1])
    out = {"length_mm": height, "height_mm": height}
    for i, depth in enumerate(SITE_WIDTH_DEPTHS_MM):
        j = 2 + 2 * i
        width = distance(pts[j], pts[j + 1]) if j + 1 < len(pts) else 0.0
        out[f"width_{depth:g}_mm"] = width if width > 0 else float("nan")
    return out


def _cross2(a: np.ndarray, b: np.ndarray) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def measurement_values(m: Measurement, volume: Volume | None = None) -> dict[str, float]:
    """The table values of a measurement (mm, mm², degrees, grey values).

    Grey values need ``volume`` and are NaN without it or outside it.
    """
    pts = m.array
    nan = float("nan")
    if m.kind == MeasurementKind.DISTANCE:
        return {"length_mm": distance(pts[0], pts[1])}
    if m.kind == MeasurementKind.ANGLE:
        return {"angle_deg": angle_deg(pts[0], pts[1], pts[2])}
    if m.kind == MeasurementKind.POLYLINE:
        return {"length_mm": polyline_length(pts)}
    if m.kind == MeasurementKind.POINT:
        value = float(sample_nearest(volume, pts)[0]) if volume is not None else nan
        return {"value": value, "x_mm": pts[0, 0], "y_mm": pts[0, 1], "z_mm": pts[0, 2]}
    if m.kind == MeasurementKind.IMPLANT_SITE:
        return site_values(m)
    if m.kind == MeasurementKind.PROFILE:
        out = {"length_mm": distance(pts[0], pts[1])}
        if volume is not None:
            prof = line_profile(volume, pts[0], pts[1])
            finite = prof.values[np.isfinite(prof.values)]
            out["min"] = float(finite.min()) if len(finite) else nan
            out["max"] = float(finite.max()) if len(finite) else nan
        return out
    assert m.plane is not None
    outline = roi_outline(m, n=256)
    stats = roi_stats(volume, m.plane, outline)
    if m.kind == MeasurementKind.ELLIPSE:  # the exact area, not the 256-gon's
        uv = m.plane.to_plane(pts)[:, :2]
        a = float(np.linalg.norm(uv[1] - uv[0]))
        b_len = abs(float(_cross2(uv[1] - uv[0], uv[2] - uv[0]))) / a if a > 0 else 0.0
        area = float(np.pi * a * b_len)
    else:
        area = stats.area_mm2
    return {
        "area_mm2": area,
        "mean": stats.mean,
        "sd": stats.sd,
        "min": stats.minimum,
        "max": stats.maximum,
    }


# ----------------------------------------------------------------------------- (de)serialising


def _plane_to_dict(plane: Plane) -> dict[str, list[float]]:
    return {"origin": list(plane.origin), "x_axis": list(plane.x_axis), "y_axis": list(plane.y_axis)}


def measurement_to_dict(m: Measurement) -> dict[str, Any]:
    """A JSON-ready dict (patient LPS mm)."""
    data: dict[str, Any] = {
        "id": m.id,
        "kind": str(m.kind),
        "label": m.label,
        "points": [list(p) for p in m.points],
    }
    if m.plane is not None:
        data["plane"] = _plane_to_dict(m.plane)
    if m.note:
        data["note"] = m.note
    return data


def measurement_from_dict(data: Mapping[str, Any]) -> Measurement:
    """Inverse of :func:`measurement_to_dict`; raises ``ValueError``/``KeyError``/``TypeError``."""
    plane = None
    if data.get("plane") is not None:
        p = data["plane"]
        plane = Plane(vec3(p["origin"]), vec3(p["x_axis"]), vec3(p["y_axis"]))
    label = data.get("label", "")
    note = data.get("note", "")
    if not isinstance(note, str):
        raise TypeError("measurement note must be a string")
    if not isinstance(label, str) or not isinstance(data["id"], str) or not data["id"]:
        raise TypeError("measurement id and label must be strings")
    return Measurement(
        kind=MeasurementKind(data["kind"]),
        points=tuple(vec3(p) for p in data["points"]),
        id=data["id"],
        label=label,
        plane=plane,
        note=note,
    )


def identity_matches(a: SeriesIdentity, b: SeriesIdentity) -> bool:
    """Same series and frame of reference (what measurements are tied to)."""
    return (
        a.series_instance_uid == b.series_instance_uid
        and a.frame_of_reference_uid == b.frame_of_reference_uid
    )
