"""What the user is looking at: crosshair, MPR axes, the three 2D views and the 3D view.

Plain evented objects (psygnal). Rendering adapters and Qt widgets subscribe to their
``events``; nothing here knows about VTK or Qt.

The three 2D views are defined relative to the MPR axes ``R`` (a rotation whose columns
are the rotated patient L, P and S directions; identity means the patient axes) and follow
the radiological conventions of RadiAnt and 3D Slicer:

========  ======================  ===========  ========  =====================
view      seen from               screen right screen up normal (to the viewer)
========  ======================  ===========  ========  =====================
axial     the feet                L (R[:,0])   A         I
coronal   the front               L            S         A
sagittal  the patient's left      P            S         L
========  ======================  ===========  ========  =====================

Rotating the crosshair in one view turns ``R`` about that view's normal, which tilts the
other two planes; the view itself keeps its on-screen orientation (its ``roll`` absorbs
the turn), as in RadiAnt's and Horos' oblique MPR.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from psygnal import Signal, SignalGroup

from .geometry import (
    Plane,
    SliceGeometry,
    Vec3,
    nearest_rotation,
    rotation_about,
    scan_aligned_axes,
    spacing_along,
    vec3,
)
from .view_settings import (
    MAX_SLAB_MM,
    Camera,
    ClipBox,
    SlabMode,
    SliceViewEvents,
    SliceViewState,
    ViewKind,
    VolumePreset,
    VolumeRenderEvents,
    VolumeRenderState,
)
from .volume import Volume

__all__ = [
    "MAX_SLAB_MM",
    "Camera",
    "ClipBox",
    "SlabMode",
    "SliceViewEvents",
    "SliceViewState",
    "ViewKind",
    "ViewerEvents",
    "ViewerState",
    "VolumePreset",
    "VolumeRenderEvents",
    "VolumeRenderState",
]
from .window_level import WINDOW_PRESETS, WindowLevel, WindowPresetName, auto_window, full_range_window


class ViewerEvents(SignalGroup):
    volume = Signal(object)
    crosshair = Signal(tuple)
    #: The MPR axes or a view's roll changed (all three planes may have turned).
    axes = Signal()
    window_level = Signal(WindowLevel)
    interacting = Signal(bool)
    show_patient_info = Signal(bool)


#: Base screen axes of each view as (column of R for screen right, sign), (… for up).
_BASE_AXES: dict[ViewKind, tuple[tuple[int, float], tuple[int, float]]] = {
    ViewKind.AXIAL: ((0, 1.0), (1, -1.0)),  # right = L, up = A
    ViewKind.CORONAL: ((0, 1.0), (2, 1.0)),  # right = L, up = S
    ViewKind.SAGITTAL: ((1, 1.0), (2, 1.0)),  # right = P, up = S
}
#: Field of view (mm) used to size the views when there is no volume.
_DEFAULT_EXTENT_MM = 100.0


class ViewerState:
    """The MPR viewer's model: volume, crosshair, MPR axes, window and the views.

    ``views`` holds one :class:`SliceViewState` per :class:`ViewKind`;
    ``volume_render`` the 3D view's :class:`VolumeRenderState`. ``interacting`` is set by
    the UI while the user drags or scrolls, so renderers may trade quality for speed.
    """

    def __init__(self, volume: Volume | None = None, *, viewport: tuple[int, int] = (512, 512)) -> None:
        self.events = ViewerEvents()
        self.views: dict[ViewKind, SliceViewState] = {
            kind: SliceViewState(kind, viewport=viewport) for kind in ViewKind
        }
        self.volume_render = VolumeRenderState(viewport=viewport)
        self._volume: Volume | None = None
        self._crosshair: Vec3 = (0.0, 0.0, 0.0)
        self._axes = np.eye(3)
        self._rolls = dict.fromkeys(ViewKind, 0.0)
        self._window_level = WINDOW_PRESETS["bone"]
        self._interacting = False
        self._show_patient_info = True
        if volume is not None:
            self.volume = volume

    # -- plain properties -------------------------------------------------------------
    @property
    def volume(self) -> Volume | None:
        return self._volume

    @volume.setter
    def volume(self, volume: Volume | None) -> None:
        """Show a new volume: centre the crosshair, scan axes, its own or an auto window."""
        self._volume = volume
        self.events.volume.emit(volume)
        for view in self.views.values():
            view.zoom, view.pan = 1.0, (0.0, 0.0)
        if volume is None:
            return
        self.reset_axes()
        self.crosshair = self._centre_voxel()
        meta = volume.metadata
        if meta.window_center is not None and meta.window_width and meta.window_width > 0:
            self.window_level = WindowLevel(meta.window_center, meta.window_width)
        else:
            self.window_level = auto_window(volume.array)

    @property
    def crosshair(self) -> Vec3:
        """The point all three planes pass through (patient LPS mm)."""
        return self._crosshair

    @crosshair.setter
    def crosshair(self, point: ArrayLike) -> None:
        value = vec3(point)
        if value != self._crosshair:
            self._crosshair = value
            self.events.crosshair.emit(value)

    @property
    def axes(self) -> NDArray[np.float64]:
        """MPR axes: rotation whose columns are the rotated L, P, S directions (a copy)."""
        return self._axes.copy()

    @axes.setter
    def axes(self, matrix: ArrayLike) -> None:
        m = np.asarray(matrix, dtype=float).reshape(3, 3)
        if not np.allclose(m.T @ m, np.eye(3), atol=1e-4) or np.linalg.det(m) < 0:
            raise ValueError("MPR axes must be a proper rotation matrix")
        self._axes = nearest_rotation(m)
        self.events.axes.emit()

    def roll(self, kind: ViewKind) -> float:
        """In-plane turn (degrees, counter-clockwise on screen) of a view's image."""
        return self._rolls[ViewKind(kind)]

    def set_roll(self, kind: ViewKind, degrees: float) -> None:
        self._rolls[ViewKind(kind)] = float(degrees) % 360.0
        self.events.axes.emit()

    @property
    def window_level(self) -> WindowLevel:
        return self._window_level

    @window_level.setter
    def window_level(self, value: WindowLevel) -> None:
        if value != self._window_level:
            self._window_level = value
            self.events.window_level.emit(value)

    def apply_window_preset(self, name: WindowPresetName) -> WindowLevel:
        """Set a named window: a fixed preset, ``"full range"`` or ``"auto"`` (percentiles)."""
        if name in WINDOW_PRESETS:
            self.window_level = WINDOW_PRESETS[name]
        elif self._volume is None:
            raise ValueError(f"window {name!r} needs a volume")
        elif name == "full range":
            self.window_level = full_range_window(self._volume.array)
        elif name == "auto":
            self.window_level = auto_window(self._volume.array)
        else:
            raise ValueError(f"unknown window preset {name!r}")
        return self._window_level

    @property
    def interacting(self) -> bool:
        return self._interacting

    @interacting.setter
    def interacting(self, value: bool) -> None:
        if bool(value) != self._interacting:
            self._interacting = bool(value)
            self.events.interacting.emit(self._interacting)

    @property
    def show_patient_info(self) -> bool:
        return self._show_patient_info

    @show_patient_info.setter
    def show_patient_info(self, value: bool) -> None:
        if bool(value) != self._show_patient_info:
            self._show_patient_info = bool(value)
            self.events.show_patient_info.emit(self._show_patient_info)

    # -- geometry ---------------------------------------------------------------------
    def volume_centre(self) -> NDArray[np.float64]:
        """Patient position of the volume's geometric centre (the crosshair without one)."""
        if self._volume is None:
            return np.asarray(self._crosshair)
        return self._volume.index_to_patient(vec3([(n - 1) / 2.0 for n in self._volume.size]))

    def _centre_voxel(self) -> NDArray[np.float64]:
        # A voxel centre rather than the geometric centre, so scan-aligned views sample
        # exactly on voxels (sharper and faster than interpolating between slices).
        assert self._volume is not None
        return self._volume.index_to_patient(vec3([n // 2 for n in self._volume.size]))

    def view_axes(self, kind: ViewKind) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Patient directions of a view's screen right and screen up."""
        kind = ViewKind(kind)
        (ix, sx), (iy, sy) = _BASE_AXES[kind]
        x, y = sx * self._axes[:, ix], sy * self._axes[:, iy]
        t = math.radians(self._rolls[kind])
        c, s = math.cos(t), math.sin(t)
        return c * x + s * y, -s * x + c * y

    def plane(self, kind: ViewKind) -> Plane:
        """A view's plane through the crosshair (origin = crosshair)."""
        x, y = self.view_axes(kind)
        return Plane.from_axes(self._crosshair, x, y)

    def normal(self, kind: ViewKind) -> NDArray[np.float64]:
        """A view's unit normal (towards its viewer)."""
        x, y = self.view_axes(kind)
        return np.cross(x, y)

    def pixel_size(self, kind: ViewKind) -> float:
        """Millimetres per screen pixel of a view at its current zoom."""
        view = self.views[ViewKind(kind)]
        if self._volume is None:
            extent = _DEFAULT_EXTENT_MM
        else:
            extent = max(n * s for n, s in zip(self._volume.size, self._volume.spacing, strict=True))
        return extent / min(view.viewport) / view.zoom

    def slice_geometry(self, kind: ViewKind) -> SliceGeometry:
        """The pixel grid of a view: its plane, centred on the panned volume centre."""
        kind = ViewKind(kind)
        view = self.views[kind]
        plane = self.plane(kind)
        n = np.asarray(plane.normal)
        centre = self.volume_centre()
        on_plane = centre - float((centre - np.asarray(self._crosshair)) @ n) * n
        origin = on_plane + view.pan[0] * np.asarray(plane.x_axis) + view.pan[1] * np.asarray(plane.y_axis)
        return SliceGeometry(plane.moved_to(origin), self.pixel_size(kind), *view.viewport)

    def slice_step(self, kind: ViewKind) -> float:
        """Scroll step (mm) of a view: the voxel spacing along its normal."""
        if self._volume is None:
            return 1.0
        direction = np.asarray(self._volume.direction).reshape(3, 3)
        return spacing_along(self.normal(kind), self._volume.spacing, direction)

    # -- user actions -----------------------------------------------------------------
    def scroll(self, kind: ViewKind, slices: float = 1.0) -> None:
        """Move a view's plane by ``slices`` steps along its normal (towards its viewer).

        The crosshair moves, so the other two views keep their planes. Scrolling stops at
        the volume's edge.
        """
        normal = self.normal(kind)
        distance = self._clamp_along(normal, float(slices) * self.slice_step(kind))
        self.crosshair = np.asarray(self._crosshair) + distance * normal

    def _clamp_along(self, direction: NDArray[np.float64], distance: float) -> float:
        """Limit a move along ``direction`` so the crosshair stays inside the volume."""
        if self._volume is None:
            return distance
        start = self._volume.patient_to_index(self._crosshair)
        step = self._volume.patient_to_index(vec3(np.asarray(self._crosshair) + direction)) - start
        lo, hi = -np.inf, np.inf
        for p, d, n in zip(start, step, self._volume.size, strict=True):
            if abs(d) < 1e-12:
                if not -0.5 <= p <= n - 0.5:
                    return distance  # already outside: do not trap the user
                continue
            a, b = sorted(((-0.5 - p) / d, (n - 0.5 - p) / d))
            lo, hi = max(lo, a), min(hi, b)
        if lo > 0 or hi < 0:
            return distance
        return float(np.clip(distance, lo, hi))

    def rotate(self, kind: ViewKind, degrees: float) -> None:
        """Turn the crosshair in a view by ``degrees`` (counter-clockwise on screen).

        The MPR axes turn about that view's normal through the crosshair: the other two
        planes tilt, the view itself keeps its orientation and its crosshair lines turn.
        """
        kind = ViewKind(kind)
        turn = rotation_about(self.normal(kind), degrees)
        self._axes = nearest_rotation(turn @ self._axes)
        self._rolls[kind] = (self._rolls[kind] - float(degrees)) % 360.0
        self.events.axes.emit()

    def reset_axes(self, *, to: str = "scan") -> None:
        """Reset the MPR axes to the scan's grid axes (``"scan"``) or patient LPS (``"patient"``)."""
        if to == "scan" and self._volume is not None:
            self._axes = scan_aligned_axes(np.asarray(self._volume.direction).reshape(3, 3))
        elif to in ("scan", "patient"):
            self._axes = np.eye(3)
        else:
            raise ValueError(f"reset_axes(to=...) must be 'scan' or 'patient', not {to!r}")
        self._rolls = dict.fromkeys(ViewKind, 0.0)
        self.events.axes.emit()

    def set_crosshair_at(self, kind: ViewKind, *, row: float, col: float) -> None:
        """Move the crosshair to a pixel of a view (stays on that view's plane)."""
        self.crosshair = self.slice_geometry(kind).pixel_to_patient((row, col))

    def pan_by(self, kind: ViewKind, *, rows: float, cols: float) -> None:
        """Drag a view's content by a number of pixels (down and right positive)."""
        view = self.views[ViewKind(kind)]
        px = self.pixel_size(kind)
        view.pan = (view.pan[0] - cols * px, view.pan[1] + rows * px)

    def zoom_about(self, kind: ViewKind, factor: float, *, row: float, col: float) -> None:
        """Zoom a view by ``factor`` keeping the point under pixel ``(row, col)`` still."""
        kind = ViewKind(kind)
        view = self.views[kind]
        before = self.pixel_size(kind)
        view.zoom = view.zoom * factor
        change = before - self.pixel_size(kind)
        width, height = view.viewport
        view.pan = (
            view.pan[0] + (col - (width - 1) / 2.0) * change,
            view.pan[1] + ((height - 1) / 2.0 - row) * change,
        )

    def reset_views(self) -> None:
        """Centre the crosshair, scan axes, zoom to fit, no pan (window unchanged)."""
        for view in self.views.values():
            view.zoom, view.pan = 1.0, (0.0, 0.0)
        self.reset_axes()
        if self._volume is not None:
            self.crosshair = self._centre_voxel()
