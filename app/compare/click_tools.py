"""Where clicks in the compare views go: landmarks, the region box, re-measuring, measuring.

:class:`CompareClickTools` is mixed into :class:`~.workspace.CompareWorkspace`. Its
:attr:`click_mode` is ``"landmark"``, ``"region"``, ``"remeasure"`` or ``None`` (navigate,
or the window's measuring tool: on the baseline it measures the baseline; on the
follow-up it adds a follow-up measurement, stored in the follow-up's own frame).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.measurements import Measurement
from cbctviewer.core.view_state import ViewKind

from ..measuring_tools import TOOL_POINTS
from .panel import ComparePanel
from .views import CompareSliceWidget

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

    from .controller import CompareController

__all__ = ["CompareClickTools"]


class CompareClickTools:
    """The click modes of the compare workspace (see the module docstring)."""

    window_: MainWindow
    controller: CompareController
    panel: ComparePanel
    base_widgets: dict[ViewKind, CompareSliceWidget]
    follow_widgets: dict[ViewKind, CompareSliceWidget]
    #: "landmark", "region", "remeasure" or None (navigate / the window's measuring tool).
    click_mode: str | None
    _remeasure_id: str | None
    _clicks: list[NDArray[np.float64]]

    def set_click_mode(self, mode: str | None) -> None:
        """``"landmark"``, ``"region"``, ``"remeasure"`` or None; the panel's toggles follow."""
        self.click_mode = mode
        self._clicks = []
        p = self.panel
        for button, name in (
            (p.landmark_button, "landmark"),
            (p.region_button, "region"),
            (p.remeasure_button, "remeasure"),
        ):
            if button.isChecked() != (mode == name):
                button.blockSignals(True)
                button.setChecked(mode == name)
                button.blockSignals(False)
        if mode != "remeasure":
            self._remeasure_id = None
        self._apply_tools()

    def _apply_tools(self) -> None:
        measuring = self.window_.measure.tool is not None
        for widget in (*self.base_widgets.values(), *self.follow_widgets.values()):
            # Handles are dragged only while navigating or measuring, not while placing tool points.
            widget.grab_handles = self.click_mode is None
        for widget in self.base_widgets.values():
            if self.click_mode == "region":
                widget.set_tool("region")
            elif self.click_mode == "landmark" or (measuring and self.click_mode is None):
                widget.set_tool("click")
            else:
                widget.set_tool(None)
        follow_click = self.click_mode in ("landmark", "remeasure") or (measuring and self.click_mode is None)
        for widget in self.follow_widgets.values():
            widget.set_tool("click" if follow_click else None)

    def _base_click(self, kind: ViewKind, point: NDArray[np.float64]) -> None:
        if self.click_mode == "landmark":
            self.controller.add_baseline_landmark(point)
        elif self.window_.measure.tool is not None:
            self.window_.measure.click(point, self.window_.state.plane(kind))

    def _follow_click(self, kind: ViewKind, point: NDArray[np.float64]) -> None:
        c = self.controller
        if c.followup is None or c.paired is None:
            return
        if self.click_mode == "landmark":
            c.add_followup_landmark(point)
            return
        remeasure_id = self._remeasure_id
        if self.click_mode == "remeasure" and remeasure_id is not None and remeasure_id in c.paired.followup:
            target = c.paired.followup.get(remeasure_id)
            self._clicks.append(c.transform.apply(point))
            if len(self._clicks) < len(target.points):
                c.message.emit(f"Point {len(self._clicks) + 1} of {len(target.points)} on the follow-up")
                return
            c.paired.remeasure(target.id, np.array(self._clicks))
            c.message.emit(f"{target.label} re-measured on the follow-up")
            self.set_click_mode(None)
            return
        tool = self.window_.measure.tool
        if tool is not None and tool in TOOL_POINTS and tool.value != "implant_site":
            self._clicks.append(c.transform.apply(point))
            if len(self._clicks) >= TOOL_POINTS[tool]:
                added = c.paired.followup.add(Measurement.create(tool, np.array(self._clicks)))
                self._clicks = []
                c.message.emit(f"{added.label} added on the follow-up")

    def _follow_handle_dragged(self, measurement_id: str, index: int, point: NDArray[np.float64]) -> None:
        """A follow-up measurement's handle dragged in the follow-up view (baseline frame → follow-up)."""
        c = self.controller
        if c.paired is not None and measurement_id in c.paired.followup:
            c.paired.followup.move_handle(measurement_id, index, c.transform.apply(point), merge=True)

    def _follow_handle_released(self) -> None:
        if self.controller.paired is not None:
            self.controller.paired.followup.end_drag()

    def _region_dragged(self, kind: ViewKind, a: NDArray[np.float64], b: NDArray[np.float64]) -> None:
        normal = self.window_.state.normal(kind)
        half = self.panel.region_depth.value() / 2.0
        corners = np.array([a - half * normal, a + half * normal, b - half * normal, b + half * normal])
        self.controller.set_region(corners.min(axis=0), corners.max(axis=0))
        self.panel.use_region.setEnabled(True)
        self.panel.use_region.setChecked(True)
        self.set_click_mode(None)

    def _remeasure_toggled(self, on: bool) -> None:
        followup_id = self.panel.selected_pair()
        if on and followup_id is None:
            self.controller.message.emit("Select a pair in the table first")
            self.set_click_mode(None)
            return
        self.set_click_mode("remeasure" if on else None)
        self._remeasure_id = followup_id if on else None
        if on:
            self.controller.message.emit("Click the measurement's points on the follow-up view")

    def _unpair(self) -> None:
        c = self.controller
        followup_id = self.panel.selected_pair()
        if followup_id is not None and c.paired is not None and followup_id in c.paired.followup:
            c.paired.followup.remove(followup_id)
