"""The dental tools and where clicks in the dental views go.

:class:`DentalTools` is mixed into :class:`~.workspace.DentalWorkspace`. Its
:attr:`~DentalTools.dental_tool` is ``"arch"``, ``"canal_left"``, ``"canal_right"``,
``"implant"`` or None (navigate). The window's measuring tool and the dental tool exclude
each other: choosing one puts the other away. The canal panel's Trace and the implant
panel's Place buttons are two more faces of the canal and implant tools and follow them.
Clicks are routed by :meth:`~DentalTools.route_click`: an active measuring tool first, then
the canal trace or the implant placement, else the view's own navigation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import QObject, QSignalBlocker, SignalInstance
from PySide6.QtGui import QAction, QActionGroup

from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.geometry import Plane
from cbctviewer.core.virtual_implant import VirtualImplant

from .handles import canal_insert_index

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

    from .arch_view import ArchAxialView
    from .canal_panel import CanalPanel
    from .implant_panel import ImplantPanel
    from .panoramic_view import PanoramicView

#: Dental tools: name → (menu text, status hint).
TOOLS: dict[str, tuple[str, str]] = {
    "navigate": ("Navigate", "Click the panoramic, a section or the arch to move the linked position"),
    "arch": (
        "Arch points",
        "Click along the arch on the axial view; drag a point to move it, right-click removes",
    ),
    "canal_left": ("Trace canal left", "Click along the left canal on the panoramic or the cross-sections"),
    "canal_right": (
        "Trace canal right",
        "Click along the right canal on the panoramic or the cross-sections",
    ),
    "implant": (
        "Place implant",
        "Click the implant's shoulder on a cross-section (it goes down the section)",
    ),
}
_CANAL_TOOLS = ("canal_left", "canal_right")

__all__ = ["TOOLS", "DentalTools", "tool_actions"]


def tool_actions(parent: QObject, choose: Callable[[str], None]) -> tuple[QActionGroup, dict[str, QAction]]:
    """One checkable action per dental tool, exclusive, ``"navigate"`` checked; triggering
    one calls ``choose(name)``."""
    group = QActionGroup(parent)
    actions: dict[str, QAction] = {}
    for name, (text, tip) in TOOLS.items():
        action = QAction(text, parent, checkable=True)
        action.setObjectName(f"dental_tool_{name}")
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False, name=name: choose(name))
        group.addAction(action)
        actions[name] = action
    actions["navigate"].setChecked(True)
    return group, actions


class DentalTools:
    """The dental tool, its actions and panels, and the click routing (see the module docstring)."""

    window_: MainWindow
    dental: DentalState
    hint_message: SignalInstance
    axial: ArchAxialView
    panoramic_view: PanoramicView
    canal_panel: CanalPanel
    implant_panel: ImplantPanel
    #: The actions of :data:`TOOLS`, by name (the Dental menu, toolbar and control column show them).
    tool_actions: dict[str, QAction]
    #: The active dental tool (None: navigate).
    dental_tool: str | None

    def bind_tool_panels(self) -> None:
        """Let the canal panel's Trace and the implant panel's Place buttons choose the tools."""
        self.canal_panel.trace_toggled.connect(
            lambda on: self.set_dental_tool(f"canal_{self.dental.active_side}" if on else "navigate")
        )
        self.implant_panel.place_toggled.connect(
            lambda on: self.set_dental_tool("implant" if on else "navigate")
        )
        self.dental.events.selection.connect(self._selection_changed)

    def _selection_changed(self) -> None:
        """The panel switched the canal side while tracing: trace that side."""
        if self.dental_tool in _CANAL_TOOLS:
            side = f"canal_{self.dental.active_side}"
            if side != self.dental_tool:
                self.set_dental_tool(side)

    def _sync_panels(self) -> None:
        for button, on in (
            (self.canal_panel.trace, self.dental_tool in _CANAL_TOOLS),
            (self.implant_panel.place, self.dental_tool == "implant"),
        ):
            if button.isChecked() != on:
                with QSignalBlocker(button):
                    button.setChecked(on)

    def implant_size_mm(self) -> tuple[float, float]:
        """(diameter, length) of the next implant placed."""
        d, length = self.implant_panel.chosen_size()
        return float(d), float(length)

    def set_dental_tool(self, name: str | None) -> None:
        """Choose a dental tool (``None``/``"navigate"``: none); a measuring tool is put away."""
        tool = None if name in (None, "navigate") else name
        self.dental_tool = tool
        self.tool_actions[tool or "navigate"].setChecked(True)
        if tool is not None and self.window_.measure.tool is not None:
            self.window_.set_measure_tool("navigate")
        if tool in _CANAL_TOOLS:
            self.dental.active_side = tool.removeprefix("canal_")
        self.axial.unsetCursor()
        self._sync_panels()
        self.hint_message.emit(TOOLS[tool or "navigate"][1])

    def measure_tool_changed(self, tool: object) -> None:
        """A measuring tool was chosen: the dental tool steps back."""
        self.panoramic_view.drop_clicks()
        if tool is not None and self.dental_tool is not None:
            self.dental_tool = None
            self.tool_actions["navigate"].setChecked(True)
            self._sync_panels()

    def route_click(self, point: ArrayLike, plane: Plane | None, view: str, *, source: object = None) -> bool:
        """Send a click to the active tool; False when no tool took it (the view navigates).

        ``view`` is ``"axial"``, ``"panoramic"`` or ``"section"``; ``source`` is the clicked
        widget: a measurement started there shows its rubber band there. A canal click goes
        where it lengthens the trace least (see :func:`~.handles.canal_insert_index`): beyond
        an end, or between two points.
        """
        p = np.asarray(point, dtype=float).reshape(3)
        measure = self.window_.measure
        if measure.tool is not None:
            if plane is not None:
                measure.click(p, plane, view=source)
            return True
        tool = self.dental_tool
        if tool in _CANAL_TOOLS:
            side = tool.removeprefix("canal_")
            canal = self.dental.canals.get(side)
            index = canal_insert_index(canal.points, p) if canal is not None else None
            self.dental.add_canal_point(side, p, index=index)
            return True
        if tool == "implant":
            if view != "section" or plane is None:
                self.hint_message.emit("Place implants on a cross-section")
                return True
            diameter, length = self.implant_size_mm()
            self.dental.add_implant(VirtualImplant.placed_on(plane, p, diameter, length))
            return True
        return False
