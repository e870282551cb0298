"""Where canals and implants cut a view's plane: 2D outlines for any view to paint.

A canal is the tube of its diameter about its smooth centreline, an implant a capped
cylinder. Their cut by a plane (an ellipse or circle when the plane crosses them, a band
or rectangle when it runs along them) is found as the zero line of their signed distance
sampled on a small grid of the plane around them (marching squares), so every obliquity
is handled alike. Centrelines and implant axes lying within ``tolerance_mm`` of the plane
are added as open polylines. Everything is in plane millimetres ``(u, v)`` along the
plane's ``x_axis`` and ``y_axis``; :class:`~cbctviewer.core.geometry.SliceGeometry`
turns them into pixels. Pure numpy; VTK views and QPainter-painted views share it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.canal import CanalPath
from cbctviewer.core.geometry import Plane
from cbctviewer.core.virtual_implant import SAFETY_MARGIN_MM, VirtualImplant

if TYPE_CHECKING:
    from cbctviewer.core.dental_state import DentalState

FloatArray = NDArray[np.float64]

#: Colours (``#rrggbb``) by outline kind; ``implant_warning`` marks an apex closer to a
#: canal than the safety margin.
COLOURS = {
    "canal": "#ffd21f",
    "canal_centreline": "#ffd21f",
    "implant": "#3fd0ff",
    "implant_axis": "#3fd0ff",
    "implant_warning": "#ff4040",
}
#: Grid step (mm) of the signed-distance sampling: the outlines' accuracy is about a tenth.
GRID_MM = 0.1


@dataclass(frozen=True, slots=True)
class Outline:
    """A polyline in plane mm. ``kind`` is ``"canal"``, ``"canal_centreline"``,
    ``"implant"`` or ``"implant_axis"``; ``key`` the canal side or implant id."""

    kind: str
    key: str
    colour: str
    points: FloatArray  # (n, 2) plane (u, v) mm
    closed: bool


def dental_outlines_on_plane(state: DentalState, plane: Plane, *, tolerance_mm: float = 0.5) -> list[Outline]:
    """Outlines of the state's canals and implants on ``plane``.

    Parameters
    ----------
    state
        The dental model.
    plane
        The view's plane (patient LPS mm).
    tolerance_mm
        Centrelines and implant axes closer than this to the plane are drawn too (use half
        the slab thickness, or half a voxel for a thin slice).
    """
    outlines: list[Outline] = []
    for side, canal in sorted(state.canals.items()):
        outlines += canal_outlines(canal, plane, tolerance_mm=tolerance_mm, key=side)
    canals = list(state.canals.values())
    for implant in state.implants.values():
        warn = any(implant.apex_to_canal_mm(c) < SAFETY_MARGIN_MM for c in canals)
        outlines += implant_outlines(implant, plane, tolerance_mm=tolerance_mm, warning=warn)
    return outlines


def canal_outlines(canal: CanalPath, plane: Plane, *, tolerance_mm: float, key: str = "") -> list[Outline]:
    """The tube's cut by ``plane`` and the part of its centreline near the plane."""
    line = canal.centreline()
    uvw = plane.to_plane(line)
    r = canal.radius_mm
    out: list[Outline] = []
    near = np.abs(uvw[:, 2]) <= r
    if np.any(near):
        for poly in _contour_tube(uvw[near], r):
            out.append(Outline("canal", key, COLOURS["canal"], poly, True))
    for run in _runs(np.abs(uvw[:, 2]) <= tolerance_mm):
        if run.stop - run.start >= 2:
            pts = uvw[run, :2]
            out.append(Outline("canal_centreline", key, COLOURS["canal_centreline"], pts, False))
    return out


def implant_outlines(
    implant: VirtualImplant, plane: Plane, *, tolerance_mm: float, warning: bool = False
) -> list[Outline]:
    """The cylinder's cut by ``plane`` and its axis when it lies near the plane."""
    colour = COLOURS["implant_warning" if warning else "implant"]
    ends = plane.to_plane(implant.axis_points())
    d = np.asarray(implant.direction)
    n = np.asarray(plane.normal)
    r = implant.radius_mm
    reach = r * float(np.sqrt(max(0.0, 1.0 - float(d @ n) ** 2)))
    out: list[Outline] = []
    if ends[:, 2].min() - reach <= 0.0 <= ends[:, 2].max() + reach:
        lo = ends[:, :2].min(axis=0) - r - 3 * GRID_MM
        hi = ends[:, :2].max(axis=0) + r + 3 * GRID_MM
        shoulder = np.asarray(implant.shoulder)

        def sdf(points: FloatArray) -> FloatArray:
            rel = points - shoulder
            t = rel @ d
            radial = np.linalg.norm(rel - t[:, np.newaxis] * d, axis=1)
            return np.asarray(np.maximum(radial - r, np.maximum(-t, t - implant.length_mm)))

        for poly in _zero_lines(sdf, plane, lo, hi):
            out.append(Outline("implant", implant.id, colour, poly, True))
    if np.all(np.abs(ends[:, 2]) <= tolerance_mm):
        out.append(Outline("implant_axis", implant.id, colour, ends[:, :2], False))
    return out


def _contour_tube(centres: FloatArray, radius: float) -> list[FloatArray]:
    """Cut of the union of spheres of ``radius`` about ``centres`` (plane ``u, v, w``).

    The centreline samples are 0.25 mm apart, so the union of spheres differs from the
    tube by under 0.01 mm for canal radii. Each sphere is splatted into the grid.
    """
    pad = radius + 3 * GRID_MM
    lo, hi = centres[:, :2].min(axis=0) - pad, centres[:, :2].max(axis=0) + pad
    u = lo[0] + GRID_MM * np.arange(int(np.ceil((hi[0] - lo[0]) / GRID_MM)) + 1)
    v = lo[1] + GRID_MM * np.arange(int(np.ceil((hi[1] - lo[1]) / GRID_MM)) + 1)
    field = np.full((len(v), len(u)), pad)
    half = int(np.ceil(pad / GRID_MM))
    for cu, cv, cw in centres:
        i0, j0 = round((cu - lo[0]) / GRID_MM), round((cv - lo[1]) / GRID_MM)
        iu = slice(max(i0 - half, 0), i0 + half + 1)
        jv = slice(max(j0 - half, 0), j0 + half + 1)
        du, dv = u[iu] - cu, v[jv] - cv
        dist = np.sqrt(dv[:, np.newaxis] ** 2 + du[np.newaxis, :] ** 2 + cw * cw) - radius
        np.minimum(field[jv, iu], dist, out=field[jv, iu])
    return _contour(field, u, v)


def _runs(mask: NDArray[np.bool_]) -> list[slice]:
    """Slices of consecutive True values."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [
        slice(int(a), int(b))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    ]


# ---------------------------------------------------------------------- marching squares
# Corner bits: 1 = (j, i), 2 = (j, i+1), 4 = (j+1, i+1), 8 = (j+1, i); a set bit is inside.
# Cell edges: 0 = bottom (j, i)-(j, i+1), 1 = right, 2 = top, 3 = left.
_CASES: dict[int, tuple[tuple[int, int], ...]] = {
    1: ((3, 0),),
    2: ((0, 1),),
    3: ((3, 1),),
    4: ((1, 2),),
    5: ((3, 0), (1, 2)),
    6: ((0, 2),),
    7: ((3, 2),),
    8: ((2, 3),),
    9: ((0, 2),),
    10: ((0, 1), (2, 3)),
    11: ((1, 2),),
    12: ((1, 3),),
    13: ((0, 1),),
    14: ((3, 0),),
}


def _zero_lines(
    sdf: Callable[[FloatArray], FloatArray], plane: Plane, lo: FloatArray, hi: FloatArray
) -> list[FloatArray]:
    """Zero lines of ``sdf`` (patient points → values) over the plane box ``[lo, hi]``."""
    nu = max(int(np.ceil((hi[0] - lo[0]) / GRID_MM)) + 1, 2)
    nv = max(int(np.ceil((hi[1] - lo[1]) / GRID_MM)) + 1, 2)
    u = lo[0] + GRID_MM * np.arange(nu)
    v = lo[1] + GRID_MM * np.arange(nv)
    uu, vv = np.meshgrid(u, v)  # (nv, nu): row j = v, column i = u
    patient = plane.to_patient(np.stack([uu.ravel(), vv.ravel()], axis=1))
    field: FloatArray = np.asarray(sdf(patient), dtype=np.float64).reshape(nv, nu)
    return _contour(field, u, v)


def _contour(field: FloatArray, u: FloatArray, v: FloatArray) -> list[FloatArray]:
    nv, nu = field.shape
    inside = field < 0.0
    code = (inside[:-1, :-1] * 1 + inside[:-1, 1:] * 2 + inside[1:, 1:] * 4 + inside[1:, :-1] * 8).astype(
        np.int8
    )
    n_h = nv * (nu - 1)

    def edge_id(j: int, i: int, e: int) -> int:
        if e == 0:
            return j * (nu - 1) + i
        if e == 2:
            return (j + 1) * (nu - 1) + i
        return n_h + j * nu + i + (1 if e == 1 else 0)

    def edge_point(eid: int) -> tuple[float, float]:
        if eid < n_h:
            j, i = divmod(eid, nu - 1)
            a, b = field[j, i], field[j, i + 1]
            f = a / (a - b) if a != b else 0.5
            return float(u[i] + f * (u[i + 1] - u[i])), float(v[j])
        j, i = divmod(eid - n_h, nu)
        a, b = field[j, i], field[j + 1, i]
        f = a / (a - b) if a != b else 0.5
        return float(u[i]), float(v[j] + f * (v[j + 1] - v[j]))

    links: dict[int, list[int]] = {}
    for j, i in zip(*np.nonzero((code > 0) & (code < 15)), strict=True):
        for e0, e1 in _CASES[int(code[j, i])]:
            a, b = edge_id(int(j), int(i), e0), edge_id(int(j), int(i), e1)
            links.setdefault(a, []).append(b)
            links.setdefault(b, []).append(a)
    lines: list[FloatArray] = []
    # Open chains (ending at the box edge) start at their ends; then the closed loops.
    order = sorted(links, key=lambda k: len(links[k]))
    for start in order:
        if not links.get(start):
            continue
        chain = [start]
        current = start
        while links.get(current):
            nxt = links[current].pop()
            links[nxt].remove(current)
            chain.append(nxt)
            current = nxt
        lines.append(np.array([edge_point(e) for e in chain]))
    return lines
