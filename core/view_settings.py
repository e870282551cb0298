"""Per-view settings: each 2D view's zoom, pan, slab; the 3D view's preset, clipping, camera.

Plain evented objects (psygnal), owned by :class:`cbctviewer.core.view_state.ViewerState`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from psygnal import Signal, SignalGroup

from .geometry import Vec3

#: Thickest slab the views offer (mm).
MAX_SLAB_MM = 30.0
#: Zoom limits relative to "fit the volume in the viewport".
MIN_ZOOM, MAX_ZOOM = 0.05, 64.0


class ViewKind(StrEnum):
    """The three orthogonal 2D views of the MPR."""

    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


class SlabMode(StrEnum):
    """How a thick slab is reduced to one image."""

    MIP = "mip"
    MEAN = "mean"
    MINIP = "minip"


class VolumePreset(StrEnum):
    """3D rendering presets (transfer functions live in ``cbctviewer.rendering``)."""

    BONE = "bone"
    TEETH = "teeth"
    SOFT_TISSUE = "soft tissue"


@dataclass(frozen=True, slots=True)
class ClipBox:
    """An axis-aligned box in patient space (LPS mm) the 3D view is cropped to."""

    lower: Vec3
    upper: Vec3

    def __post_init__(self) -> None:
        if any(lo >= hi for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise ValueError(f"empty clip box {self.lower}…{self.upper}")


@dataclass(frozen=True, slots=True)
class Camera:
    """A 3D camera in patient space (perspective)."""

    position: Vec3
    focal_point: Vec3
    view_up: Vec3


class SliceViewEvents(SignalGroup):
    zoom = Signal(float)
    pan = Signal(tuple)
    viewport = Signal(tuple)
    slab_thickness = Signal(float)
    slab_mode = Signal(SlabMode)


class SliceViewState:
    """Per-view settings of one 2D view: zoom, pan, viewport size and slab.

    ``zoom`` 1 fits the volume's largest extent in the viewport; ``pan`` is the offset
    (mm, along the view's screen right and up) of the viewport centre from the volume
    centre's projection. ``slab_thickness`` 0 means a thin slice.
    """

    def __init__(self, kind: ViewKind, *, viewport: tuple[int, int] = (512, 512)) -> None:
        self.kind = ViewKind(kind)
        self.events = SliceViewEvents()
        self._zoom = 1.0
        self._pan: tuple[float, float] = (0.0, 0.0)
        self._viewport = _viewport(viewport)
        self._slab_thickness = 0.0
        self._slab_mode = SlabMode.MIP

    @property
    def zoom(self) -> float:
        return self._zoom

    @zoom.setter
    def zoom(self, value: float) -> None:
        value = float(np.clip(float(value), MIN_ZOOM, MAX_ZOOM))
        if value != self._zoom:
            self._zoom = value
            self.events.zoom.emit(value)

    @property
    def pan(self) -> tuple[float, float]:
        return self._pan

    @pan.setter
    def pan(self, value: tuple[float, float]) -> None:
        u, v = (float(c) for c in value)
        if not (math.isfinite(u) and math.isfinite(v)):
            raise ValueError(f"pan must be finite, got {value!r}")
        if (u, v) != self._pan:
            self._pan = (u, v)
            self.events.pan.emit(self._pan)

    @property
    def viewport(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self._viewport

    @viewport.setter
    def viewport(self, value: tuple[int, int]) -> None:
        value = _viewport(value)
        if value != self._viewport:
            self._viewport = value
            self.events.viewport.emit(value)

    @property
    def slab_thickness(self) -> float:
        return self._slab_thickness

    @slab_thickness.setter
    def slab_thickness(self, value: float) -> None:
        value = float(np.clip(float(value), 0.0, MAX_SLAB_MM))
        if value != self._slab_thickness:
            self._slab_thickness = value
            self.events.slab_thickness.emit(value)

    @property
    def slab_mode(self) -> SlabMode:
        return self._slab_mode

    @slab_mode.setter
    def slab_mode(self, value: SlabMode | str) -> None:
        value = SlabMode(value)
        if value != self._slab_mode:
            self._slab_mode = value
            self.events.slab_mode.emit(value)


def _viewport(value: tuple[int, int]) -> tuple[int, int]:
    width, height = (int(v) for v in value)
    if width < 1 or height < 1:
        raise ValueError(f"viewport must be at least 1×1, got {value!r}")
    return (width, height)


class VolumeRenderEvents(SignalGroup):
    preset = Signal(VolumePreset)
    opacity = Signal(float)
    threshold = Signal(object)
    clip_box = Signal(object)
    clip_planes = Signal(frozenset)
    camera = Signal(object)
    viewport = Signal(tuple)


class VolumeRenderState:
    """Settings of the 3D view.

    ``opacity`` scales the preset's opacity (0–1); ``threshold`` moves the preset's
    opacity ramp so that it starts at that grey value (``None``: the preset's own).
    ``clip_planes`` lists 2D views whose current plane cuts the volume: the half-space
    between the plane and that view's viewer is removed, so the cut face looks like the
    2D view. ``camera`` ``None`` means the default front view framing the volume.
    """

    def __init__(self, *, viewport: tuple[int, int] = (512, 512)) -> None:
        self.events = VolumeRenderEvents()
        self._preset = VolumePreset.BONE
        self._opacity = 1.0
        self._threshold: float | None = None
        self._clip_box: ClipBox | None = None
        self._clip_planes: frozenset[ViewKind] = frozenset()
        self._camera: Camera | None = None
        self._viewport = _viewport(viewport)

    def _set(self, name: str, value: object) -> None:
        if getattr(self, "_" + name) != value:
            setattr(self, "_" + name, value)
            getattr(self.events, name).emit(value)

    @property
    def preset(self) -> VolumePreset:
        return self._preset

    @preset.setter
    def preset(self, value: VolumePreset | str) -> None:
        self._set("preset", VolumePreset(value))

    @property
    def opacity(self) -> float:
        return self._opacity

    @opacity.setter
    def opacity(self, value: float) -> None:
        self._set("opacity", float(np.clip(float(value), 0.0, 1.0)))

    @property
    def threshold(self) -> float | None:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        if value is not None and not math.isfinite(float(value)):
            raise ValueError(f"threshold must be finite, got {value!r}")
        self._set("threshold", None if value is None else float(value))

    @property
    def clip_box(self) -> ClipBox | None:
        return self._clip_box

    @clip_box.setter
    def clip_box(self, value: ClipBox | None) -> None:
        self._set("clip_box", value)

    @property
    def clip_planes(self) -> frozenset[ViewKind]:
        return self._clip_planes

    @clip_planes.setter
    def clip_planes(self, value: frozenset[ViewKind] | set[ViewKind]) -> None:
        self._set("clip_planes", frozenset(ViewKind(v) for v in value))

    @property
    def camera(self) -> Camera | None:
        return self._camera

    @camera.setter
    def camera(self, value: Camera | None) -> None:
        self._set("camera", value)

    def reset_camera(self) -> None:
        """Back to the default front view; emits ``camera`` even when already default."""
        self._camera = None
        self.events.camera.emit(None)

    @property
    def viewport(self) -> tuple[int, int]:
        return self._viewport

    @viewport.setter
    def viewport(self, value: tuple[int, int]) -> None:
        self._set("viewport", _viewport(value))
