"""What the viewer shows, as JSON for the case file: crosshair, axes, views, window, layout.

:func:`dump_view_state` and :func:`restore_view_state` are the two halves; restoring skips
anything missing or malformed (an old or hand-edited case file must still open).
:func:`view_state_signals` lists the model events after which the state is worth saving.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from cbctviewer.app.views.grid import Layout, ViewGrid
from cbctviewer.core.view_state import SlabMode, ViewerState, ViewKind
from cbctviewer.core.window_level import WindowLevel

__all__ = ["VIEW_STATE_VERSION", "dump_view_state", "restore_view_state", "view_state_signals"]

log = logging.getLogger(__name__)
VIEW_STATE_VERSION = 1


def dump_view_state(state: ViewerState, grid: ViewGrid | None = None) -> dict[str, Any]:
    """The viewer's state as a JSON-ready dict (patient LPS mm, degrees)."""
    data: dict[str, Any] = {
        "version": VIEW_STATE_VERSION,
        "crosshair": [float(v) for v in state.crosshair],
        "axes": [float(v) for v in state.axes.reshape(-1)],
        "rolls": {kind.value: state.roll(kind) for kind in ViewKind},
        "window_level": {"center": state.window_level.center, "width": state.window_level.width},
        "views": {
            kind.value: {
                "zoom": view.zoom,
                "pan": [float(v) for v in view.pan],
                "slab_thickness": view.slab_thickness,
                "slab_mode": str(view.slab_mode),
            }
            for kind, view in state.views.items()
        },
    }
    if grid is not None:
        data["layout"] = {"mode": str(grid.layout_mode), "maximised": grid.maximised}
    return data


def restore_view_state(state: ViewerState, grid: ViewGrid | None, data: Mapping[str, Any]) -> None:
    """Bring back what :func:`dump_view_state` saved; parts that do not fit are left as they are."""
    if data.get("version") != VIEW_STATE_VERSION:
        return
    for part in (_axes, _crosshair, _views, _window):
        try:
            part(state, data)
        except (KeyError, TypeError, ValueError) as exc:
            log.info("view state part %s not restored: %s", part.__name__, type(exc).__name__)
    layout = data.get("layout")
    if grid is not None and isinstance(layout, Mapping):
        try:
            grid.set_layout(Layout(layout["mode"]))
            maximised = layout.get("maximised")
            if maximised in grid.widgets:
                grid.maximise(maximised)
        except (KeyError, TypeError, ValueError):
            log.info("layout not restored")


def _axes(state: ViewerState, data: Mapping[str, Any]) -> None:
    state.axes = np.asarray(data["axes"], dtype=float).reshape(3, 3)
    for name, degrees in data["rolls"].items():
        state.set_roll(ViewKind(name), float(degrees))


def _crosshair(state: ViewerState, data: Mapping[str, Any]) -> None:
    point = np.asarray(data["crosshair"], dtype=float).reshape(3)
    if not np.all(np.isfinite(point)):
        raise ValueError("crosshair")
    state.crosshair = point


def _views(state: ViewerState, data: Mapping[str, Any]) -> None:
    for name, saved in data["views"].items():
        view = state.views[ViewKind(name)]
        view.slab_mode = SlabMode(saved["slab_mode"])
        view.slab_thickness = float(saved["slab_thickness"])
        view.zoom = float(saved["zoom"])
        pan = [float(v) for v in saved["pan"]]
        view.pan = (pan[0], pan[1])


def _window(state: ViewerState, data: Mapping[str, Any]) -> None:
    saved = data["window_level"]
    state.window_level = WindowLevel(float(saved["center"]), float(saved["width"]))


def view_state_signals(state: ViewerState, grid: ViewGrid | None = None) -> list[Any]:
    """The events after which the view state changed (viewport sizes excluded)."""
    events = state.events
    signals: list[Any] = [events.crosshair, events.axes, events.window_level]
    for view in state.views.values():
        e = view.events
        signals += [e.zoom, e.pan, e.slab_thickness, e.slab_mode]
    if grid is not None:
        signals.append(grid.layout_changed)
    return signals
