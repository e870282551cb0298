"""The compare workspace: a follow-up scan registered to the open one, side by side.

:func:`install` adds the Compare menu to the main window and hooks the follow-up's record
into the case file (section ``"compare"``) through the measure controller's
``register_section`` / ``request_save`` when they exist. The ``"compare"`` workspace page
and its controller are built on first use (see :mod:`.lazy`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence

from .. import integrations
from .lazy import SECTION, WORKSPACE, LazyCompare

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

    from .controller import CompareController
    from .workspace import CompareWorkspace

__all__ = ["CompareController", "CompareWorkspace", "LazyCompare", "install"]
log = logging.getLogger(__name__)


def install(window: MainWindow) -> LazyCompare:
    """Add the compare feature to ``window`` (menu entries, case file section, a lazy workspace page)."""
    feature = LazyCompare(window)
    window.compare_feature = feature
    menu = window.menuBar().addMenu("&Compare")
    menu.setObjectName("compare_menu")

    def add(text: str, name: str, slot: Any, shortcut: str | None = None) -> QAction:
        action = menu.addAction(text)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        return action

    def with_followup(action: Any) -> Any:
        def run() -> None:
            window.show_workspace(WORKSPACE)
            action(feature.ensure_controller())

        return run

    actions = {
        "folder": add(
            "Open follow-up folder…",
            "compare_open_folder",
            lambda: feature.open_followup(integrations.ask_folder),
        ),
        "file": add(
            "Open follow-up file…", "compare_open_file", lambda: feature.open_followup(integrations.ask_file)
        ),
        "reopen": add("Reopen follow-up", "compare_reopen", with_followup(lambda c: c.reopen_saved())),
    }
    menu.addSeparator()
    actions["register"] = add(
        "Register automatically", "compare_register_auto", with_followup(lambda c: c.register())
    )
    actions["landmarks"] = add(
        "Register by landmarks",
        "compare_register_landmarks",
        with_followup(lambda _: feature.ensure_built().set_click_mode("landmark")),
    )
    menu.addSeparator()
    actions["workspace"] = add(
        "Compare workspace", "compare_workspace_toggle", feature.toggle_workspace, "Ctrl+Shift+C"
    )
    actions["workspace"].setCheckable(True)
    window.addAction(actions["workspace"])  # its key works whichever page has the focus
    actions["close"] = add(
        "Close follow-up",
        "compare_close",
        lambda: feature.controller.close_followup(keep_saved=False) if feature.controller else None,
    )
    feature.actions = actions
    update_actions = feature.update_actions
    window.workspace_changed.connect(update_actions)
    window.case_opened.connect(update_actions)
    window.state.events.volume.connect(update_actions)
    update_actions()
    _hook_case_file(window, feature)
    return feature


def _hook_case_file(window: MainWindow, feature: LazyCompare) -> None:
    """Save the follow-up record with the baseline's case and offer to reopen it."""
    measure = window.measure
    register = getattr(measure, "register_section", None)
    if not callable(register):
        log.info("case-file sections not available: the follow-up is not remembered")
        return

    def dump() -> dict[str, Any] | None:
        record = feature.record()
        return record.to_dict() if record is not None else None

    def restore(data: Any) -> None:
        from .saving import CompareRecord  # only a case with a follow-up record needs it

        try:
            feature.saved = CompareRecord.from_dict(data) if data else None
        except ValueError as exc:
            feature.saved = None
            window.status.show_message(str(exc), 10_000)
        # Called while the window is still opening the case: offer once that is done.
        QTimer.singleShot(0, window, offer_reopen)

    register(SECTION, dump, restore)

    def offer_reopen() -> None:
        feature.update_actions()
        saved = feature.saved
        note_start = "This scan was compared with a follow-up scan"
        if any(note.startswith(note_start) for note in window.banner.notes):
            return
        if saved is not None and saved.source and not feature.has_followup:
            state = "registered" if saved.registered else "not registered yet"
            window.banner.show_notes(
                [
                    *window.banner.notes,
                    f"{note_start} ({state}): "
                    "Compare › Reopen follow-up opens it again with its registration.",
                ]
            )


def __getattr__(name: str) -> Any:
    # The heavy classes stay importable from here without importing them at start-up.
    if name == "CompareController":
        from .controller import CompareController

        return CompareController
    if name == "CompareWorkspace":
        from .workspace import CompareWorkspace

        return CompareWorkspace
    raise AttributeError(name)
