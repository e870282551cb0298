"""Connects the measuring controller to the window's views, side panel and view state.

Kept out of :mod:`cbctviewer.app.main_window` so the window only calls
:func:`connect_measuring`: the rubber band and the selection reach the views' overlays,
handle drags reach the controller, the panel's edits reach the model, and the viewer's
state is saved with the case (restored when the series opens again).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from cbctviewer.core.view_state import ViewKind

from .measure_view_state import dump_view_state, restore_view_state, view_state_signals

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

__all__ = ["connect_measuring"]


def connect_measuring(window: MainWindow) -> None:
    """Wire ``window.measure`` to the slice views, ``window.side.measure`` and the view state."""
    measure, panel = window.measure, window.side.measure
    for widget in window.grid.slices.values():
        widget.measure_point.connect(partial(window._measure_click, widget.kind))
        widget.measure_hover.connect(partial(_hover, window, widget.kind))
        widget.measure_finished.connect(measure.finish)
        widget.measure_cancelled.connect(partial(_cancel, window))
        widget.handle_grabbed.connect(measure.grab)
        widget.handle_dragged.connect(measure.drag)
        widget.handle_released.connect(measure.release)
    measure.pending_changed.connect(partial(_show_pending, window))
    measure.selection_changed.connect(partial(_show_selection, window))
    panel.selected.connect(measure.select)
    panel.relabelled.connect(measure.relabel)
    panel.remeasure_requested.connect(measure.remeasure_site)
    panel.safety_margin.valueChanged.connect(lambda v: setattr(measure, "safety_margin_mm", v))
    panel.planned_length.valueChanged.connect(
        lambda _: setattr(measure, "planned_length_mm", panel.planned_length_mm())
    )
    for control in (panel.threshold_auto.toggled, panel.threshold.valueChanged):
        control.connect(lambda *_: setattr(measure, "threshold", panel.threshold_value()))
    measure.set_view_state_hooks(partial(_dump, window), partial(_restore, window))
    for signal in view_state_signals(window.state, window.grid):
        signal.connect(measure.note_view_change)


def _hover(window: MainWindow, kind: ViewKind, point: object) -> None:
    if window.measure.drawing_view == kind:
        window.measure.hover_at(point)  # type: ignore[arg-type]


def _cancel(window: MainWindow) -> None:
    if not window.measure.cancel():
        window.set_measure_tool("navigate")


def _show_pending(window: MainWindow) -> None:
    measure = window.measure
    band = measure.rubber_band()
    for kind, view in window.grid.slice_views.items():
        view.measures.set_pending(band if kind == measure.drawing_view else np.empty((0, 3)), measure.tool)
    for widget in window.grid.slices.values():
        widget.grab_handles = not measure.pending


def _show_selection(window: MainWindow, measurement_id: object) -> None:
    selected = measurement_id if isinstance(measurement_id, str) else None
    for view in window.grid.slice_views.values():
        view.measures.set_selected(selected)
    window.side.measure.select(selected)


def _dump(window: MainWindow) -> dict[str, Any] | None:
    volume = window.state.volume
    if volume is None or volume is not window.measure.volume:
        return None  # another series is being shown: not this case's view
    return dump_view_state(window.state, window.grid)


def _restore(window: MainWindow, data: dict[str, Any] | None) -> None:
    if data:
        restore_view_state(window.state, window.grid, data)
