"""Mouse-gesture arithmetic of the views, without Qt: crosshair handles, angles, window drags.

Screen positions are ``(x, y)`` in view pixels with ``y`` growing downwards (Qt's widget
coordinates; with a device-pixel ratio of 1 they equal the view's ``(col, row)``).
"""

from __future__ import annotations

import math

import numpy as np

from cbctviewer.core.view_state import Camera, ViewerState, ViewKind
from cbctviewer.core.window_level import WindowLevel

#: A press this close (px) to a crosshair line, far enough from the centre, grabs its end.
HANDLE_TOLERANCE_PX = 8.0
#: The rotate handles are the outer part of each line: beyond this fraction of the
#: distance from the crosshair to the nearest viewport edge (and at least ``_MIN_PX``).
HANDLE_START_FRACTION = 0.55
_MIN_PX = 40.0
#: Right-drag window/level: pixels of horizontal drag that double (or halve) the width,
#: and the level change per pixel of vertical drag as a fraction of the width.
WIDTH_DOUBLING_PX = 150.0
LEVEL_PER_PX = 1.0 / 300.0


def crosshair_screen(state: ViewerState, kind: ViewKind) -> tuple[tuple[float, float], list[np.ndarray]]:
    """The crosshair point of a view and the screen directions of its two lines.

    Returns
    -------
    centre : (x, y)
        Screen position of the crosshair.
    directions : list of ndarray
        Unit ``(dx, dy)`` screen vectors (``y`` down) along the other two views' lines.
    """
    geometry = state.slice_geometry(kind)
    row, col = geometry.patient_to_pixel(state.crosshair)
    x_axis, y_axis = np.asarray(geometry.plane.x_axis), np.asarray(geometry.plane.y_axis)
    normal = np.cross(x_axis, y_axis)
    directions = []
    for other in ViewKind:
        if other == kind:
            continue
        along = np.cross(normal, state.normal(other))
        d = np.array([along @ x_axis, -(along @ y_axis)])
        norm = float(np.linalg.norm(d))
        if norm > 1e-9:
            directions.append(d / norm)
    return (float(col), float(row)), directions


def on_rotate_handle(state: ViewerState, kind: ViewKind, x: float, y: float) -> bool:
    """Whether a press at ``(x, y)`` grabs the outer end of one of the view's crosshair lines."""
    if state.volume is None:
        return False
    (cx, cy), directions = crosshair_screen(state, kind)
    width, height = state.views[ViewKind(kind)].viewport
    offset = np.array([x - cx, y - cy])
    reach = max(_MIN_PX, HANDLE_START_FRACTION * max(1.0, min(cx, cy, width - cx, height - cy)))
    for d in directions:
        along = float(offset @ d)
        across = abs(float(offset[0] * d[1] - offset[1] * d[0]))
        if abs(along) >= reach and across <= HANDLE_TOLERANCE_PX:
            return True
    return False


def screen_angle(centre: tuple[float, float], x: float, y: float) -> float:
    """Angle (degrees, counter-clockwise on screen) of ``(x, y)`` seen from ``centre``."""
    return math.degrees(math.atan2(-(y - centre[1]), x - centre[0]))


def angle_step(previous: float, current: float) -> float:
    """The signed change between two angles in degrees, wrapped to (-180, 180]."""
    step = (current - previous) % 360.0
    return step - 360.0 if step > 180.0 else step


def dragged_window(start: WindowLevel, dx: float, dy: float) -> WindowLevel:
    """The window after a right-drag of ``(dx, dy)`` pixels from where it was ``start``.

    Dragging right widens the window (less contrast), left narrows it; dragging down
    raises the level (darker image), up lowers it — as in RadiAnt and 3D Slicer.
    """
    width = max(1.0, start.width * 2.0 ** (dx / WIDTH_DOUBLING_PX))
    centre = start.center + dy * LEVEL_PER_PX * start.width
    return WindowLevel(centre, width)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / float(np.linalg.norm(v))


def orbit(camera: Camera, dx: float, dy: float, *, degrees_per_px: float = 0.4) -> Camera:
    """Turn a camera about its focal point: right-drag spins about view-up, down-drag tilts."""
    from cbctviewer.core.geometry import rotation_about

    focal = np.asarray(camera.focal_point)
    offset = np.asarray(camera.position) - focal
    up = _unit(np.asarray(camera.view_up))
    right = _unit(np.cross(-offset, up))
    turn = rotation_about(right, -dy * degrees_per_px) @ rotation_about(up, -dx * degrees_per_px)
    offset, up = turn @ offset, turn @ up
    return Camera(_vec(focal + offset), _vec(focal), _vec(_unit(up)))


def dolly(camera: Camera, factor: float) -> Camera:
    """Move the camera towards its focal point (``factor`` > 1 zooms in)."""
    focal = np.asarray(camera.focal_point)
    offset = (np.asarray(camera.position) - focal) / max(factor, 1e-3)
    return Camera(_vec(focal + offset), camera.focal_point, camera.view_up)


def pan_camera(camera: Camera, dx: float, dy: float, *, mm_per_px: float) -> Camera:
    """Slide camera and focal point so the scene follows a drag of ``(dx, dy)`` pixels."""
    focal = np.asarray(camera.focal_point)
    position = np.asarray(camera.position)
    up = _unit(np.asarray(camera.view_up))
    right = _unit(np.cross(focal - position, up))
    shift = (-dx * right + dy * up) * mm_per_px
    return Camera(_vec(position + shift), _vec(focal + shift), camera.view_up)


def _vec(v: np.ndarray) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))
