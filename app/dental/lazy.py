"""The dental feature before and after its workspace is built.

The dental workspace (axial arch view, panoramic, section strip, their re-slicing and
worker threads) costs start-up time and memory, so :class:`LazyDental` builds it the first
time it is needed: the page is shown, or a Dental menu action that needs it is used
(:meth:`LazyDental.ensure_built`). Until then a plain
:class:`~cbctviewer.core.dental_state.DentalState` holds what the case file restores, so
saved canals and implants show in the four standard views and in 3D, the implant-site tool
sees the canal and the section is saved back unchanged. When the workspace is built it takes
that data over (the case file's own round trip) and everything follows its state from then on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QActionGroup

from cbctviewer.core.dental_state import DentalState
from cbctviewer.rendering.dental_3d import dental_scene_objects

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from cbctviewer.app.main_window import MainWindow

    from .workspace import DentalWorkspace

__all__ = ["WORKSPACE", "LazyDental"]
WORKSPACE = "dental"


class LazyDental:
    """The dental data of ``window`` and its workspace, built on first use.

    ``tool_actions`` stand in for the workspace's tool actions in the Dental menu and
    toolbar (``menus``) until it is built; choosing one builds it and chooses the tool.
    """

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        #: The dental data shown and saved: the workspace's own once it is built.
        self.state = DentalState()
        self.workspace: DentalWorkspace | None = None
        self.toggle: QAction | None = None
        self.tool_group: QActionGroup | None = None
        self.tool_actions: dict[str, QAction] = {}
        self.menus: list[QWidget] = []
        window.add_workspace(WORKSPACE, self._build)
        self.follow(self.state)

    @property
    def built(self) -> bool:
        """Whether the workspace exists."""
        return self.workspace is not None

    def ensure_built(self) -> DentalWorkspace:
        """The dental workspace, built now if it was not yet."""
        self.window.workspace_page(WORKSPACE)
        assert self.workspace is not None
        return self.workspace

    def choose_tool(self, name: str) -> None:
        """A dental tool from the menu or toolbar (builds the workspace)."""
        self.ensure_built().set_dental_tool(name)

    # -- the data ---------------------------------------------------------------------------
    def has_data(self) -> bool:
        """Whether there is an arch, a canal or an implant (what makes a case-file section)."""
        state = self.state
        return state.arch is not None or bool(state.canals) or bool(state.implants)

    def restore(self, data: dict[str, Any] | None) -> None:
        """Restore a saved section (the workspace's restore once it exists)."""
        if self.workspace is not None:
            self.workspace.restore(data)
        else:
            self.state.restore(data)

    def follow(self, state: DentalState) -> None:
        """Show ``state``'s canals and implants in the four views and 3D, and save its edits."""
        window = self.window
        for view in window.grid.slice_views.values():
            view.set_dental(state)
        renderer = window.grid.renderer

        def show_in_3d(*_: object) -> None:
            if state is self.state:
                renderer.set_scene_objects(dental_scene_objects(state))

        def request_save(*_: object) -> None:
            if state is self.state:
                window.measure.request_save()  # a no-op while no series is open

        events = state.events
        events.canals.connect(show_in_3d)
        events.implants.connect(show_in_3d)
        for signal in (events.arch, events.canals, events.implants, events.panoramic, events.cross_sections):
            signal.connect(request_save)
        show_in_3d()

    def canal_near(self, point: Any) -> Any:
        """The traced canal nearest to ``point`` as the implant-site tool's limit (or None)."""
        canal = self.state.nearest_canal(np.asarray(point, dtype=float))
        return canal.to_site_canal() if canal is not None and len(canal.points) >= 2 else None

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> DentalWorkspace:
        from .workspace import DentalWorkspace  # the heavy part, imported on first use

        window = self.window
        workspace = DentalWorkspace(window)
        if self.toggle is not None:
            workspace.toggle_action = self.toggle
        saved = self.state.to_dict() if self.has_data() else None
        self.workspace = workspace
        if saved is not None:
            workspace.restore(saved)
        self.state = workspace.dental
        self.follow(workspace.dental)
        self._swap_tool_actions(workspace.tool_actions)
        workspace.hint_message.connect(lambda text: window.status.show_message(text, 5000))
        measure = window.measure
        measure.tool_changed.connect(workspace.measure_tool_changed)
        measure.set_changed.connect(lambda _: self._watch_measurements())
        measure.pending_changed.connect(workspace.repaint_overlays)  # the rubber band
        measure.selection_changed.connect(lambda _: workspace.repaint_overlays())
        self._watch_measurements()
        window.installEventFilter(_CloseWatcher(workspace))
        return workspace

    def _swap_tool_actions(self, actions: dict[str, QAction]) -> None:
        """Put the workspace's tool actions where the stand-ins were."""
        for widget in self.menus:
            for action in list(widget.actions()):
                name = next((n for n, a in self.tool_actions.items() if a is action), None)
                if name is not None:
                    widget.insertAction(action, actions[name])
                    widget.removeAction(action)
        for action in self.tool_actions.values():
            if self.tool_group is not None:
                self.tool_group.removeAction(action)
            action.setObjectName("")
            action.deleteLater()  # later: one of them may be the action being triggered now
        self.tool_actions, self.tool_group = actions, None

    def _watch_measurements(self) -> None:
        """Redraw the dental views when the measurements change."""
        workspace = self.workspace
        if workspace is None:
            return
        mset = self.window.measure.measurements
        if mset is not None:
            events = mset.events
            for signal in (events.added, events.removed, events.changed):
                signal.connect(lambda *_: workspace.repaint_overlays())
        workspace.repaint_overlays()


class _CloseWatcher(QObject):
    """Stops the dental workers when the window closes (before its children go)."""

    def __init__(self, workspace: DentalWorkspace) -> None:
        super().__init__(workspace)
        self.workspace = workspace

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            self.workspace.close_workspace()
        return False
