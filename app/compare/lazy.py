"""The compare feature before and after its controller and workspace are built.

The compare workspace (two panes of VTK slice views, the overlay, the panel) and its
controller (follow-up opening, registration and resampling workers) are built the first
time they are needed: the page is shown or a Compare menu action is used
(:meth:`LazyCompare.ensure_built`). Until then :class:`LazyCompare` keeps the one thing a
case file can bring, the follow-up record of section ``"compare"``, so the Compare menu
and the banner still offer *Reopen follow-up* and the record is saved back unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject

from .. import integrations

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from cbctviewer.app.main_window import MainWindow
    from cbctviewer.core.volume import Volume

    from .controller import CompareController
    from .saving import CompareRecord
    from .workspace import CompareWorkspace

__all__ = ["SECTION", "WORKSPACE", "LazyCompare"]
WORKSPACE = "compare"
#: The case file section (:data:`.saving.SECTION`, named here so start-up need not import it).
SECTION = "compare"


class LazyCompare:
    """The compare feature of ``window``: its menu actions, saved record and lazy workspace."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.controller: CompareController | None = None
        self.workspace: CompareWorkspace | None = None
        #: The Compare menu's actions by name (set by :func:`cbctviewer.app.compare.install`).
        self.actions: dict[str, QAction] = {}
        self._saved: CompareRecord | None = None
        window.add_workspace(WORKSPACE, self._build)
        window.state.events.volume.connect(self._baseline_changed)

    @property
    def built(self) -> bool:
        """Whether the controller and the workspace exist."""
        return self.workspace is not None

    def ensure_built(self) -> CompareWorkspace:
        """The compare workspace (its ``controller`` too), built now if it was not yet."""
        self.window.workspace_page(WORKSPACE)
        assert self.workspace is not None
        return self.workspace

    def ensure_controller(self) -> CompareController:
        """The follow-up controller (builds the workspace with it)."""
        return self.ensure_built().controller

    @property
    def saved(self) -> CompareRecord | None:
        """What the case file remembered about the follow-up (``None``: nothing)."""
        return self.controller.saved if self.controller is not None else self._saved

    @saved.setter
    def saved(self, record: CompareRecord | None) -> None:
        if self.controller is not None:
            self.controller.saved = record
        self._saved = record

    @property
    def has_followup(self) -> bool:
        """Whether a follow-up is open."""
        return self.controller is not None and self.controller.followup is not None

    def record(self) -> CompareRecord | None:
        """What the case file keeps (the open follow-up's record, else the saved one)."""
        return self.controller.record() if self.controller is not None else self._saved

    def _baseline_changed(self, volume: Volume | None) -> None:
        self.saved = None  # the new case's record (if any) is restored after this

    # -- menu commands ----------------------------------------------------------------------
    def open_followup(self, ask: Any) -> None:
        """Ask for a follow-up with ``ask(window)`` and open it in the compare workspace."""
        path = ask(self.window)
        if path is not None:
            self.ensure_controller().open_followup(path)
            self.window.show_workspace(WORKSPACE)

    def toggle_workspace(self) -> None:
        """Switch between the four views and the compare workspace."""
        window = self.window
        window.show_workspace("views" if window.current_workspace == WORKSPACE else WORKSPACE)

    def update_actions(self, *_: object) -> None:
        """Enable the Compare menu's actions for what is open now."""
        actions, window = self.actions, self.window
        if not actions:
            return
        has_case = window.state.volume is not None
        saved = self.saved
        actions["folder"].setEnabled(has_case)
        actions["file"].setEnabled(has_case)
        actions["reopen"].setEnabled(has_case and saved is not None and bool(saved.source))
        for name in ("register", "landmarks", "close"):
            actions[name].setEnabled(self.has_followup)
        actions["workspace"].setChecked(window.current_workspace == WORKSPACE)

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> CompareWorkspace:
        from .controller import CompareController  # the heavy part, imported on first use
        from .workspace import CompareWorkspace

        window = self.window
        controller = CompareController(window)
        controller.saved = self._saved
        workspace = CompareWorkspace(window, controller)
        self.controller, self.workspace = controller, workspace
        window.installEventFilter(_CloseWatcher(window, controller, workspace))
        panel = workspace.panel
        panel.open_button.clicked.connect(lambda: self.open_followup(integrations.ask_folder))
        panel.close_button.clicked.connect(lambda: controller.close_followup(keep_saved=False))
        controller.followup_changed.connect(self.update_actions)
        controller.failed.connect(window.show_problem)
        controller.message.connect(lambda text: window.status.show_message(text, 5000))
        return workspace


class _CloseWatcher(QObject):
    """Stops the compare workers and releases its views when the main window closes."""

    def __init__(
        self, window: MainWindow, controller: CompareController, workspace: CompareWorkspace
    ) -> None:
        super().__init__(window)
        self.controller, self.workspace, self.done = controller, workspace, False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close and not self.done:
            self.done = True
            self.controller.shutdown()
            self.workspace.close_views()
        return False
