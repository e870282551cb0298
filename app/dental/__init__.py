"""The dental workspace: arch curve on an axial view, panoramic, cross-sections, canal, implants.

:func:`install` adds a *Dental* menu (switch workspace, propose/clear the arch, the dental
tools) and a small toolbar to the main window, the case file section ``"dental"``, the
traced canal as the implant-site tool's limit and the canal/implant outlines in the four
standard views. The workspace page ``"dental"`` itself is built on first use (see
:mod:`.lazy`): start-up pays only for the menu and a plain dental state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QKeySequence

from .dental_tools import tool_actions
from .lazy import WORKSPACE, LazyDental

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

    from .workspace import DentalWorkspace


def install(window: MainWindow) -> LazyDental:
    """Add the dental feature to ``window`` (menu entries, case file section, a lazy workspace page)."""
    feature = LazyDental(window)
    window.dental_feature = feature
    window.measure.canal_provider = feature.canal_near
    _build_menu(window, feature)
    _connect_case_file(window, feature)
    return feature


def _build_menu(window: MainWindow, feature: LazyDental) -> None:
    menu = window.menuBar().addMenu("&Dental")
    menu.setObjectName("dental_menu")
    toggle = QAction("Dental workspace", window, checkable=True)
    toggle.setObjectName("dental_workspace_toggle")
    toggle.setShortcut(QKeySequence("Ctrl+Shift+D"))
    toggle.setStatusTip("Switch between the four views and the dental workspace (arch, panoramic, sections)")
    toggle.toggled.connect(lambda on: window.show_workspace(WORKSPACE if on else "views"))
    window.workspace_changed.connect(lambda name: toggle.setChecked(name == WORKSPACE))
    menu.addAction(toggle)
    menu.addSeparator()
    propose = menu.addAction("Propose arch")
    propose.setObjectName("dental_propose_arch")
    propose.triggered.connect(lambda: feature.ensure_built().propose_arch())
    clear = menu.addAction("Clear arch")
    clear.triggered.connect(lambda: feature.ensure_built().clear_arch())
    menu.addSeparator()
    # Stand-ins for the workspace's tool actions until it is built (same names and texts).
    feature.tool_group, feature.tool_actions = tool_actions(window, feature.choose_tool)
    menu.addActions(list(feature.tool_actions.values()))
    menu.addSeparator()
    undo = menu.addAction("Undo dental edit")
    undo.setShortcut(QKeySequence("Ctrl+Alt+Z"))
    undo.triggered.connect(lambda: feature.state.undo())
    redo = menu.addAction("Redo dental edit")
    redo.setShortcut(QKeySequence("Ctrl+Alt+Y"))
    redo.triggered.connect(lambda: feature.state.redo())
    window.addActions([toggle, undo, redo])  # their keys work whichever page has the focus
    feature.toggle = toggle
    toolbar = window.addToolBar("Dental")
    toolbar.setObjectName("dental_toolbar")
    toolbar.addAction(toggle)
    toolbar.addActions(
        [feature.tool_actions[name] for name in ("arch", "canal_left", "canal_right", "implant")]
    )
    feature.menus = [menu, toolbar]


def _connect_case_file(window: MainWindow, feature: LazyDental) -> None:
    """Keep the dental data in the case file's ``"dental"`` section, saved soon after each edit."""
    measure = window.measure

    def dump() -> dict[str, Any] | None:
        return feature.state.to_dict() if feature.has_data() else None

    def restore(data: dict[str, Any] | None) -> None:
        try:
            feature.restore(data)
        except ValueError as exc:
            feature.restore(None)
            window.status.show_message(f"The saved dental data could not be used: {exc}", 10_000)

    measure.register_section("dental", dump, restore)
    # A closed series: forget its dental data (after the controller saved it).
    measure.set_changed.connect(lambda mset: feature.restore(None) if mset is None else None)


def __getattr__(name: str) -> Any:
    # ``DentalWorkspace`` is still importable from here, without importing it at start-up.
    if name == "DentalWorkspace":
        from .workspace import DentalWorkspace

        return DentalWorkspace
    raise AttributeError(name)


__all__ = ["DentalWorkspace", "LazyDental", "install"]
