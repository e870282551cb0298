"""Marginal bone level at an implant: how far below the shoulder the bone contact starts.

The grey values just outside the implant surface are averaged on rings about the implant
axis (several radii between 0.5 and 0.9 mm outside the surface, which keeps clear of the
metal's blur), giving one profile along the axis from 1 mm above the shoulder to the apex.
The bone level is the first strong rise of that profile (soft tissue or air → bone), placed
at the half-way grey value of that rise (sub-sample, linear), or where the profile first
reaches a given ``threshold``. Clinically the value is compared between a baseline and a
registered follow-up: the difference is the bone lost.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.sampling import crossing, sample_trilinear
from cbctviewer.core.volume import Volume

__all__ = ["estimate_implant_radius", "marginal_bone_level", "ring_profile"]

FloatArray = NDArray[np.float64]
#: Ring radii outside the implant surface (mm).
RING_OFFSETS_MM = (0.5, 0.7, 0.9)
RING_ANGLES = 36
#: Profiles start this far above the shoulder (bone may sit above a sub-crestal implant).
ABOVE_SHOULDER_MM = 1.0
STEP_MM = 0.05


def _axis_frame(shoulder: ArrayLike, apex: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    s = np.asarray(shoulder, dtype=float)
    a = np.asarray(apex, dtype=float)
    length = float(np.linalg.norm(a - s))
    if not math.isfinite(length) or length < 1.0:
        raise ValueError("the implant's shoulder and apex must be at least 1 mm apart")
    u = (a - s) / length
    helper = np.eye(3)[int(np.argmin(np.abs(u)))]
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1)
    return u, e1, np.cross(u, e1), length


def estimate_implant_radius(volume: Volume, shoulder: ArrayLike, apex: ArrayLike) -> float:
    """Implant radius (mm) from radial grey profiles at mid-length (half-way grey edge).

    Raises
    ------
    ValueError
        No bright implant is found on the axis.
    """
    u, e1, e2, length = _axis_frame(shoulder, apex)
    centre = np.asarray(shoulder, dtype=float) + 0.5 * length * u
    r = np.arange(0.0, 6.0 + 1e-9, STEP_MM)
    angles = np.linspace(0.0, 2.0 * math.pi, RING_ANGLES, endpoint=False)
    dirs = np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2
    values = sample_trilinear(volume, centre + r[:, None, None] * dirs[None])
    profile = values.mean(axis=1)
    if np.any(np.isnan(profile)):
        raise ValueError("the implant lies too close to the edge of the scan")
    inside, outside = float(profile[0]), float(np.median(profile[r >= 4.0]))
    if inside <= outside:
        raise ValueError("no implant (bright metal) found between the shoulder and the apex")
    threshold = 0.5 * (inside + outside)
    below = np.flatnonzero(profile < threshold)
    return crossing(r, profile, int(below[0]) - 1, threshold)


def ring_profile(
    volume: Volume, shoulder: ArrayLike, apex: ArrayLike, *, implant_radius: float
) -> tuple[FloatArray, FloatArray]:
    """Mean grey value on rings just outside the implant, along the axis.

    Returns
    -------
    (t, values)
        ``t`` in mm below the shoulder (negative above it) up to the apex; NaN where a ring
        leaves the scan.
    """
    u, e1, e2, length = _axis_frame(shoulder, apex)
    t = np.arange(-ABOVE_SHOULDER_MM, length + 1e-9, STEP_MM)
    angles = np.linspace(0.0, 2.0 * math.pi, RING_ANGLES, endpoint=False)
    dirs = np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2
    radii = implant_radius + np.asarray(RING_OFFSETS_MM)
    ring = (radii[:, None, None] * dirs[None]).reshape(-1, 3)
    pts = np.asarray(shoulder, dtype=float) + t[:, None, None] * u + ring[None]
    values = sample_trilinear(volume, pts)
    return t, np.asarray(values.mean(axis=1), dtype=float)


def marginal_bone_level(
    volume: Volume,
    shoulder: ArrayLike,
    apex: ArrayLike,
    *,
    threshold: float | None = None,
    implant_radius: float | None = None,
) -> float:
    """Distance (mm) from the implant shoulder along its axis to the first bone contact.

    Parameters
    ----------
    volume : Volume
        The scan.
    shoulder, apex : array_like
        Implant shoulder (top centre) and apex in the scan's patient mm.
    threshold : float, optional
        Grey value where bone starts. Default: the half-way value of the first strong
        rise of the ring profile (independent of the scanner's grey scale).
    implant_radius : float, optional
        Implant radius (mm); estimated from the image when omitted.

    Returns
    -------
    float
        Positive below the shoulder, negative when bone covers the shoulder.

    Raises
    ------
    ValueError
        The implant leaves the scan, or no bone is found along the implant.
    """
    radius = estimate_implant_radius(volume, shoulder, apex) if implant_radius is None else implant_radius
    t, profile = ring_profile(volume, shoulder, apex, implant_radius=radius)
    if np.any(np.isnan(profile)):
        raise ValueError("the implant's surroundings leave the scan; the bone level cannot be measured")
    if threshold is not None:
        above = np.flatnonzero(profile >= threshold)
        if not above.size:
            raise ValueError("no bone found along the implant at this threshold")
        i = int(above[0])
        return float(t[0]) if i == 0 else crossing(t, profile, i - 1, threshold)
    return _first_rise(t, profile)


def _first_rise(t: FloatArray, profile: FloatArray) -> float:
    """Half-way position of the first rise that is at least half as steep as the steepest one."""
    slope = np.gradient(profile, t)
    steepest = float(slope.max())
    if steepest <= 0.0:
        raise ValueError("no bone found along the implant")
    window = round(1.0 / STEP_MM)
    strong = np.flatnonzero(slope >= 0.5 * steepest)
    i = int(strong[0])
    # Climb to the local peak of the slope: the middle of this edge.
    while i + 1 < slope.size and slope[i + 1] >= slope[i]:
        i += 1
    low = float(profile[max(0, i - window) : i + 1].min())
    high = float(profile[i : i + window + 1].max())
    level = 0.5 * (low + high)
    start = max(0, i - window)
    k = start + int(np.flatnonzero(profile[start:] >= level)[0])
    return float(t[0]) if k == 0 else crossing(t, profile, k - 1, level)
