"""The compare workspace: a follow-up scan registered to the open one, side by side.

:func:`install` adds the Compare menu and the ``"compare"`` workspace page to the main
window, and hooks the follow-up's record into the case file (section ``"compare"``) through
the measure controller's ``register_section`` / ``request_save`` when they exist.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence

from .. import integrations
from .controller import CompareController
from .saving import SECTION, CompareRecord
from .workspace import CompareWorkspace

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

__all__ = ["CompareController", "CompareWorkspace", "install"]
log = logging.getLogger(__name__)
WORKSPACE = "compare"


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


def install(window: MainWindow) -> None:
    """Add the compare workspace to ``window`` (menu entries and a workspace page)."""
    controller = CompareController(window)
    workspace = CompareWorkspace(window, controller)
    window.add_workspace(WORKSPACE, workspace)
    # Reached by tests and other features as ``window.compare`` (MainWindow does not declare them).
    window.compare = controller
    window.compare_workspace = workspace
    watcher = _CloseWatcher(window, controller, workspace)
    window.installEventFilter(watcher)

    menu = window.menuBar().addMenu("&Compare")
    menu.setObjectName("compare_menu")

    def add(text: str, name: str, slot: Any, shortcut: str | None = None) -> QAction:
        action = menu.addAction(text)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        return action

    def open_followup(ask: Any) -> None:
        path = ask(window)
        if path is not None:
            controller.open_followup(path)
            window.show_workspace(WORKSPACE)

    def toggle_workspace() -> None:
        window.show_workspace("views" if window.current_workspace == WORKSPACE else WORKSPACE)

    def with_followup(action: Any) -> Any:
        def run() -> None:
            window.show_workspace(WORKSPACE)
            action()

        return run

    actions = {
        "folder": add(
            "Open follow-up folder…", "compare_open_folder", lambda: open_followup(integrations.ask_folder)
        ),
        "file": add(
            "Open follow-up file…", "compare_open_file", lambda: open_followup(integrations.ask_file)
        ),
        "reopen": add("Reopen follow-up", "compare_reopen", with_followup(controller.reopen_saved)),
    }
    menu.addSeparator()
    actions["register"] = add(
        "Register automatically", "compare_register_auto", with_followup(lambda: controller.register())
    )
    actions["landmarks"] = add(
        "Register by landmarks",
        "compare_register_landmarks",
        with_followup(lambda: workspace.set_click_mode("landmark")),
    )
    menu.addSeparator()
    actions["workspace"] = add(
        "Compare workspace", "compare_workspace_toggle", toggle_workspace, "Ctrl+Shift+C"
    )
    actions["workspace"].setCheckable(True)
    window.addAction(actions["workspace"])  # its key works whichever page has the focus
    actions["close"] = add(
        "Close follow-up", "compare_close", lambda: controller.close_followup(keep_saved=False)
    )
    window.compare_actions = actions
    workspace.panel.open_button.clicked.connect(lambda: open_followup(integrations.ask_folder))
    workspace.panel.close_button.clicked.connect(lambda: controller.close_followup(keep_saved=False))

    def update_actions(*_: object) -> None:
        has_case = window.state.volume is not None
        has_followup = controller.followup is not None
        actions["folder"].setEnabled(has_case)
        actions["file"].setEnabled(has_case)
        actions["reopen"].setEnabled(
            has_case and controller.saved is not None and bool(controller.saved.source)
        )
        for name in ("register", "landmarks", "close"):
            actions[name].setEnabled(has_followup)
        actions["workspace"].setChecked(window.current_workspace == WORKSPACE)

    window.workspace_changed.connect(update_actions)
    controller.followup_changed.connect(update_actions)
    window.case_opened.connect(update_actions)
    window.state.events.volume.connect(update_actions)
    controller.failed.connect(window.show_problem)
    controller.message.connect(lambda text: window.status.show_message(text, 5000))
    update_actions()
    _hook_case_file(window, controller, update_actions)


def _hook_case_file(window: MainWindow, controller: CompareController, changed: Any) -> None:
    """Save the follow-up record with the baseline's case and offer to reopen it."""
    measure = window.measure
    register = getattr(measure, "register_section", None)
    if not callable(register):
        log.info("case-file sections not available: the follow-up is not remembered")
        return

    def dump() -> dict[str, Any] | None:
        record = controller.record()
        return record.to_dict() if record is not None else None

    def restore(data: Any) -> None:
        try:
            controller.saved = CompareRecord.from_dict(data) if data else None
        except ValueError as exc:
            controller.saved = None
            window.status.show_message(str(exc), 10_000)
        # Called while the window is still opening the case: offer once that is done.
        QTimer.singleShot(0, window, offer_reopen)

    register(SECTION, dump, restore)

    def offer_reopen() -> None:
        changed()
        saved = controller.saved
        note_start = "This scan was compared with a follow-up scan"
        if any(note.startswith(note_start) for note in window.banner.notes):
            return
        if saved is not None and saved.source and controller.followup is None:
            state = "registered" if saved.registered else "not registered yet"
            window.banner.show_notes(
                [
                    *window.banner.notes,
                    f"{note_start} ({state}): "
                    "Compare › Reopen follow-up opens it again with its registration.",
                ]
            )
