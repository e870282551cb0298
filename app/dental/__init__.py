"""The dental workspace: arch curve on an axial view, panoramic, cross-sections, canal, implants.

:func:`install` adds the workspace page ``"dental"`` to the main window, a *Dental* menu
(switch workspace, propose/clear the arch, the dental tools) and a small toolbar, and
connects the dental model to the rest of the window: the case file section ``"dental"``,
the traced canal as the implant-site tool's limit, and the canal/implant outlines in the
four standard views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence

from cbctviewer.rendering.dental_3d import dental_scene_objects

from .workspace import DentalWorkspace

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow


def install(window: MainWindow) -> DentalWorkspace:
    """Add the dental workspace to ``window`` (menu entries and a workspace page)."""
    workspace = DentalWorkspace(window)
    window.dental = workspace
    window.add_workspace("dental", workspace)
    workspace.hint_message.connect(lambda text: window.status.show_message(text, 5000))
    window.measure.tool_changed.connect(workspace.measure_tool_changed)
    window.measure.set_changed.connect(lambda _: _watch_measurements(window, workspace))
    window.measure.pending_changed.connect(workspace.repaint_overlays)  # the rubber band
    window.measure.selection_changed.connect(lambda _: workspace.repaint_overlays())
    _build_menu(window, workspace)
    _connect_case_file(window, workspace)
    _connect_views(window, workspace)
    window.installEventFilter(_CloseWatcher(workspace))
    return workspace


class _CloseWatcher(QObject):
    """Stops the dental workers when the window closes (before its children go)."""

    def __init__(self, workspace: DentalWorkspace) -> None:
        super().__init__(workspace)
        self.workspace = workspace

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            self.workspace.close_workspace()
        return False


def _build_menu(window: MainWindow, workspace: DentalWorkspace) -> None:
    menu = window.menuBar().addMenu("&Dental")
    menu.setObjectName("dental_menu")
    toggle = QAction("Dental workspace", window, checkable=True)
    toggle.setObjectName("dental_workspace_toggle")
    toggle.setShortcut(QKeySequence("Ctrl+Shift+D"))
    toggle.setStatusTip("Switch between the four views and the dental workspace (arch, panoramic, sections)")
    toggle.toggled.connect(lambda on: window.show_workspace("dental" if on else "views"))
    window.workspace_changed.connect(lambda name: toggle.setChecked(name == "dental"))
    menu.addAction(toggle)
    menu.addSeparator()
    propose = menu.addAction("Propose arch")
    propose.setObjectName("dental_propose_arch")
    propose.triggered.connect(workspace.propose_arch)
    clear = menu.addAction("Clear arch")
    clear.triggered.connect(workspace.clear_arch)
    menu.addSeparator()
    menu.addActions(list(workspace.tool_actions.values()))
    menu.addSeparator()
    undo = menu.addAction("Undo dental edit")
    undo.setShortcut(QKeySequence("Ctrl+Alt+Z"))
    undo.triggered.connect(workspace.dental.undo)
    redo = menu.addAction("Redo dental edit")
    redo.setShortcut(QKeySequence("Ctrl+Alt+Y"))
    redo.triggered.connect(workspace.dental.redo)
    window.addActions([toggle, undo, redo])  # their keys work whichever page has the focus
    workspace.toggle_action = toggle
    toolbar = window.addToolBar("Dental")
    toolbar.setObjectName("dental_toolbar")
    toolbar.addAction(toggle)
    toolbar.addActions(
        [workspace.tool_actions[name] for name in ("arch", "canal_left", "canal_right", "implant")]
    )


def _connect_case_file(window: MainWindow, workspace: DentalWorkspace) -> None:
    """Keep the dental data in the case file's ``"dental"`` section, saved soon after each edit."""
    measure = window.measure

    def dump() -> dict[str, Any] | None:
        state = workspace.dental
        if state.arch is None and not state.canals and not state.implants:
            return None
        return state.to_dict()

    def restore(data: dict[str, Any] | None) -> None:
        try:
            workspace.restore(data)
        except ValueError as exc:
            workspace.restore(None)
            window.status.show_message(f"The saved dental data could not be used: {exc}", 10_000)

    measure.register_section("dental", dump, restore)
    # A closed series: forget its dental data (after the controller saved it).
    measure.set_changed.connect(lambda mset: workspace.restore(None) if mset is None else None)
    events = workspace.dental.events
    for signal in (events.arch, events.canals, events.implants, events.panoramic, events.cross_sections):
        signal.connect(lambda *_: measure.request_save())  # a no-op while no series is open


def _connect_views(window: MainWindow, workspace: DentalWorkspace) -> None:
    """The traced canal limits the implant-site tool; canals and implants show in the four views."""
    dental = workspace.dental

    def canal_near(point: Any) -> Any:
        canal = dental.nearest_canal(np.asarray(point, dtype=float))
        return canal.to_site_canal() if canal is not None and len(canal.points) >= 2 else None

    window.measure.canal_provider = canal_near
    for view in window.grid.slice_views.values():
        view.set_dental(dental)
    renderer = window.grid.renderer

    def show_in_3d(*_: object) -> None:
        renderer.set_scene_objects(dental_scene_objects(dental))

    dental.events.canals.connect(show_in_3d)
    dental.events.implants.connect(show_in_3d)


def _watch_measurements(window: MainWindow, workspace: DentalWorkspace) -> None:
    """Redraw the dental views when the measurements change."""
    mset = window.measure.measurements
    if mset is not None:
        events = mset.events
        for signal in (events.added, events.removed, events.changed):
            signal.connect(lambda *_: workspace.repaint_overlays())
    workspace.repaint_overlays()


__all__ = ["DentalWorkspace", "install"]
