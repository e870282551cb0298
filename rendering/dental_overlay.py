"""Canals and virtual implants drawn on a slice view, in display pixels.

:class:`DentalOverlay` follows a :class:`~cbctviewer.core.dental_state.DentalState` (its
canal and implant events call ``on_change`` so the view re-renders) and, on
:meth:`update`, draws the outlines of :func:`~cbctviewer.core.dental_outlines.dental_outlines_on_plane`
for the view's plane: the canal tube's cut (circle, ellipse or band) with its centreline
where it runs in the plane, and each implant's cut (rectangle along its axis, ellipse or
circle across it), red when its apex is within the safety margin of a canal. Canal
control points near the plane get small square handles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from vtkmodules.vtkRenderingCore import vtkRenderer

from cbctviewer.core.dental_outlines import COLOURS, Outline, dental_outlines_on_plane
from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.geometry import SliceGeometry

from .overlays import _Lines

__all__ = ["DentalOverlay", "hex_colour"]

_Segment = tuple[tuple[float, float], tuple[float, float]]
#: Half-size of a canal control point's square (display pixels).
HANDLE_PX = 3.0
#: Canal control points (orange, like measurement handles; distinct from the canal's yellow).
HANDLE_COLOUR = (1.0, 0.55, 0.1)


def hex_colour(colour: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` → RGB floats in [0, 1]."""
    c = colour.lstrip("#")
    return (int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0)


class DentalOverlay:
    """The canal and implant actors of one slice view."""

    def __init__(self, renderer: vtkRenderer, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self.lines = {
            kind: _Lines(renderer, hex_colour(colour), width=1.0 if kind.endswith("centreline") else 2.0)
            for kind, colour in COLOURS.items()
        }
        self.handles = _Lines(renderer, HANDLE_COLOUR, width=1.5)
        self.state: DentalState | None = None
        #: Outlines drawn at the last :meth:`update` (plane mm), for tests and hit testing.
        self.outlines: list[Outline] = []

    def bind(self, state: DentalState | None) -> None:
        """Follow another dental state (``None``: draw nothing)."""
        if self.state is not None:
            for signal in (self.state.events.canals, self.state.events.implants):
                signal.disconnect(self._changed, missing_ok=True)
        self.state = state
        if state is not None:
            for signal in (state.events.canals, state.events.implants):
                signal.connect(self._changed)
        self._on_change()

    def _changed(self, *_: object) -> None:
        self._on_change()

    def update(self, geometry: SliceGeometry, *, tolerance: float, visible: bool = True) -> None:
        """Place the actors for the view's current ``geometry``."""
        segments: dict[str, list[_Segment]] = {kind: [] for kind in self.lines}
        handles: list[_Segment] = []
        self.outlines = []
        if visible and self.state is not None:
            self.outlines = dental_outlines_on_plane(
                self.state, geometry.plane, tolerance_mm=max(tolerance, 0.05)
            )
            for outline in self.outlines:
                kind = "implant_warning" if outline.colour == COLOURS["implant_warning"] else outline.kind
                kind = kind if kind in segments else "implant_warning"
                segments[kind].extend(_chain(_display(geometry, outline.points), closed=outline.closed))
            for canal in self.state.canals.values():
                near = np.abs(geometry.depth(canal.points)) <= max(tolerance, canal.radius_mm)
                for x, y in _display(geometry, geometry.plane.to_plane(canal.points[near])[:, :2]):
                    handles.extend(_square(float(x), float(y)))
        for kind, lines in self.lines.items():
            lines.set(segments[kind])
        self.handles.set(handles)


def _display(geometry: SliceGeometry, uv: np.ndarray) -> np.ndarray:
    """Plane ``(u, v)`` mm → display pixels ``(x, y)`` (y up, pixel centres)."""
    rc = np.asarray(geometry.plane_to_pixel(np.asarray(uv, dtype=float).reshape(-1, 2)))
    return np.stack([rc[:, 1] + 0.5, geometry.height - rc[:, 0] - 0.5], axis=-1)


def _chain(points: np.ndarray, *, closed: bool) -> list[_Segment]:
    n = len(points)
    ends = list(range(n - 1)) + ([n - 1] if closed and n > 2 else [])
    return [
        (
            (float(points[i, 0]), float(points[i, 1])),
            (float(points[(i + 1) % n, 0]), float(points[(i + 1) % n, 1])),
        )
        for i in ends
    ]


def _square(x: float, y: float) -> list[_Segment]:
    d = HANDLE_PX
    corners = [(x - d, y - d), (x + d, y - d), (x + d, y + d), (x - d, y + d)]
    return [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
