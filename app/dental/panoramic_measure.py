"""Measurements drawn on the panoramic, made honest about its curved surface.

The panoramic is the arch's surface unrolled: a straight line drawn on it is a curve in
the patient. What each tool stores:

- **distance** and **polyline**: the surface path under the drawn segments
  (:meth:`PanoramicImage.surface_path`, one per segment), stored as a polyline whose length
  is the true length along the surface (a horizontal line measures the arc length);
- **angle**: the angle as drawn on the panoramic, laid out in the plane touching the
  surface at the vertex (the arms' lengths and directions as on the picture), so the
  stored angle is the one the user sees;
- **point** and **profile** ends lie on the surface (a profile samples the straight line
  between its ends: exact for vertical lines, a chord for others); regions lie in the
  plane touching the surface at their first point.

Pixels are ``(row, col)`` of the :class:`~cbctviewer.core.panoramic.PanoramicImage`;
vertices are remembered as ``(s, h)`` (arc position, height, mm) so that they survive a
new panoramic of the same arch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.measurements import MeasurementKind

if TYPE_CHECKING:
    from cbctviewer.core.panoramic import PanoramicImage

FloatArray = NDArray[np.float64]
Pixel = tuple[float, float]

#: The note of measurements drawn on the panoramic.
PANORAMIC_NOTE = "panoramic"
#: Tools the panoramic collects itself (clicks as pixels, the points made at the end).
SURFACE_TOOLS = (MeasurementKind.DISTANCE, MeasurementKind.POLYLINE, MeasurementKind.ANGLE)
ANGLE_HINT = "Angles on the panoramic are measured as drawn on it (in the plane touching the arch)"


def pixel_size(image: PanoramicImage) -> tuple[float, float]:
    """``(column, row)`` spacing of a panoramic in mm."""
    s, h = np.asarray(image.s_mm), np.asarray(image.heights_mm)
    dx = float((s[-1] - s[0]) / (len(s) - 1)) if len(s) > 1 else image.spec.step_mm
    dy = float(abs(h[-1] - h[0]) / (len(h) - 1)) if len(h) > 1 else image.spec.step_mm
    return dx, dy


def to_arc(image: PanoramicImage, pixel: Pixel) -> Pixel:
    """``(s, h)`` mm of a fractional pixel."""
    return float(image.column_to_s(pixel[1])), float(image.row_to_height(pixel[0]))


def to_pixel(image: PanoramicImage, arc: Pixel) -> Pixel:
    """Fractional ``(row, col)`` of ``(s, h)`` mm."""
    s, h = arc
    return (float(image.heights_mm[0]) - h) / image.spec.step_mm, s / image.spec.step_mm


def surface_polyline(image: PanoramicImage, pixels: Sequence[Pixel]) -> FloatArray:
    """The surface path through clicked pixels (segments joined, no repeated corners)."""
    if len(pixels) < 2:
        raise ValueError("a line needs two points")
    parts = [image.surface_path(a, b) for a, b in itertools.pairwise(pixels)]
    return np.vstack([parts[0], *(p[1:] for p in parts[1:])])


def _frame(image: PanoramicImage, vertex: Pixel) -> tuple[FloatArray, FloatArray, FloatArray]:
    origin = np.asarray(image.pixel_to_patient(*vertex), dtype=float)
    _, tangent, _ = image.curve.frame_at(float(image.column_to_s(vertex[1])))
    return origin, np.asarray(tangent, dtype=float), np.asarray(image.curve.up, dtype=float)


def angle_points(image: PanoramicImage, pixels: Sequence[Pixel]) -> FloatArray:
    """Arm end, vertex, arm end ``(3, 3)`` of an angle drawn on the panoramic.

    The vertex lies on the surface; the arm ends lie in the plane touching the surface
    there, at the drawn (calibrated) offsets, so the 3D angle equals the drawn one.
    """
    dx, dy = pixel_size(image)
    vertex = pixels[1]
    origin, tangent, up = _frame(image, vertex)
    out = []
    for row, col in pixels:
        along, height = (col - vertex[1]) * dx, (vertex[0] - row) * dy
        out.append(origin + along * tangent + height * up)
    return np.asarray(out, dtype=float)


def angle_pixels(image: PanoramicImage, points: FloatArray, vertex: Pixel) -> list[Pixel]:
    """The drawn pixels of an angle made by :func:`angle_points` (``vertex``: its pixel)."""
    dx, dy = pixel_size(image)
    origin, tangent, up = _frame(image, vertex)
    rel = np.asarray(points, dtype=float) - origin
    return [(vertex[0] - float(r @ up) / dy, vertex[1] + float(r @ tangent) / dx) for r in rel]


def path_length(points: FloatArray) -> float:
    """Length (mm) of a polyline."""
    return float(np.sum(np.linalg.norm(np.diff(np.asarray(points, dtype=float), axis=0), axis=1)))


def is_single_segment(image: PanoramicImage, points: FloatArray, ends: Sequence[Pixel]) -> bool:
    """Whether a stored surface path is the one drawn straight between two pixels."""
    straight = image.surface_path(ends[0], ends[1])
    if abs(path_length(straight) - path_length(points)) > 0.2:
        return False
    picks = np.linspace(0, len(points) - 1, 5).round().astype(int)
    nearest = np.min(np.linalg.norm(straight[None, :, :] - points[picks][:, None, :], axis=2), axis=1)
    return bool(np.max(nearest) < 0.3)


def project_onto(image: PanoramicImage, points: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fractional ``(rows, cols)`` and buccal offsets (mm) of patient points on a panoramic.

    The vectorised counterpart of ``PanoramicImage.patient_to_pixel`` (which locates one
    point at a time): each point goes to the nearest sample of the curve's dense polyline
    (≈ 0.05 mm apart), fast enough to redraw canals and measurements at every preview.
    Points above, below or beyond the ends of the panoramic get pixels outside it (never
    clamped onto its edge).
    """
    curve = image.curve
    p = np.atleast_2d(np.asarray(points, dtype=float))
    up = np.asarray(curve.up)
    height = p @ up - curve.plane_height
    flat = p - np.outer(height, up)
    dense = np.asarray(curve.polyline)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
    nearest = np.empty(len(p), dtype=np.intp)
    dense_sq = np.einsum("ij,ij->i", dense, dense)
    for start in range(0, len(p), 256):  # chunks bound the distance matrix's memory
        chunk = flat[start : start + 256]
        # |a - b|² = |b|² - 2 a·b (+ |a|², the same for every b): one matrix product.
        nearest[start : start + 256] = np.argmin(dense_sq[None, :] - 2.0 * chunk @ dense.T, axis=1)
    s = arc[nearest]
    frames = curve.frames_at(s) if len(p) else None
    normals = frames.normals if frames is not None else np.zeros((0, 3))
    rel = flat - dense[nearest]
    offsets = np.einsum("ij,ij->i", rel, normals)
    columns = np.interp(s, image.s_mm, np.arange(len(image.s_mm), dtype=float))
    if frames is not None:  # beyond an end of the arch: off the image, not squeezed onto its edge
        along = np.einsum("ij,ij->i", rel, frames.tangents)
        at_end = (nearest == 0) & (along < 0) | (nearest == len(dense) - 1) & (along > 0)
        columns = columns + np.where(at_end, along / image.spec.step_mm, 0.0)
    rows = (float(image.heights_mm[0]) - height) / image.spec.step_mm
    return rows, columns, offsets
