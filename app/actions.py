"""The window's actions, menus and toolbar.

Each action only calls a method of the window or changes the model; nothing here holds
state of its own. Keyboard shortcuts come from :data:`cbctviewer.app.shortcuts.SHORTCUTS`
(the list the F1 help shows) through :func:`listed`, so an action cannot get a key the
help does not mention; the slice views handle the scroll keys and mouse gestures.
Besides that list only the platform's own Quit/Close keys exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QStyle, QToolBar

from cbctviewer.app.panels.window_panel import PRESET_LABELS
from cbctviewer.app.shortcuts import SHORTCUTS
from cbctviewer.app.views.grid import Layout

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

#: Window presets by key, in :data:`PRESET_LABELS` order.
PRESET_KEYS = ("1", "2", "3", "4", "A")


def listed(keys: str) -> str:
    """``keys`` after checking that the shortcuts list (and so the F1 help) names them."""
    if keys not in {entry for entry, _ in SHORTCUTS}:
        raise KeyError(f"{keys!r} is not in cbctviewer.app.shortcuts.SHORTCUTS")
    return keys


class Actions:
    """All ``QAction`` objects of one :class:`MainWindow`, plus its menus and toolbar."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        state = window.state
        style = window.style()
        icon = style.standardIcon
        # File
        self.open_folder = self._action(
            "Open folder…", window.open_folder_dialog, listed("Ctrl+O"),
            tip="Open a folder, a disc or a USB stick", icon=icon(QStyle.StandardPixmap.SP_DirOpenIcon),
        )  # fmt: skip
        self.open_file = self._action(
            "Open file…", window.open_file_dialog, listed("Ctrl+Shift+O"),
            tip="Open a DICOMDIR, a zip archive or a single DICOM file",
            icon=icon(QStyle.StandardPixmap.SP_FileIcon),
        )  # fmt: skip
        self.export_view = self._action(
            "Export view…", window.export_view_dialog, listed("Ctrl+E"), tip="Save the active view as PNG"
        )
        self.export_window = self._action(
            "Export window…", window.export_window_dialog, tip="Save the whole window as a PNG picture"
        )
        self.export_csv = self._action(
            "Export measurements (CSV)…", window.export_measurements_dialog,
            tip="Save the measurement table as a CSV file (spreadsheets)",
        )  # fmt: skip
        self.close_case = self._action("Close scan", window.close_case, QKeySequence.StandardKey.Close)
        self.quit = self._action("Quit", window.close, QKeySequence.StandardKey.Quit)
        self.cancel = self._action("Cancel loading", window.opener.cancel, "Esc")
        # View
        self.layout_group = QActionGroup(window)
        self.layouts = {
            Layout.GRID: self._action("Layout 2 × 2", lambda: window.grid.set_layout(Layout.GRID)),
            Layout.ONE_PLUS_THREE: self._action(
                "Layout 1 + 3", lambda: window.grid.set_layout(Layout.ONE_PLUS_THREE)
            ),
        }
        for action in self.layouts.values():
            action.setCheckable(True)
            self.layout_group.addAction(action)
        self.maximise = self._action(
            "Maximise active view", lambda: window.grid.toggle_maximised(),
            tip="Show the active view alone (double-click a view does the same)",
        )  # fmt: skip
        self.overlays = self._action("Show labels, scale and crosshair", None, checkable=True)
        self.overlays.setChecked(True)
        self.overlays.toggled.connect(window.set_overlays_visible)
        self.hide_patient = self._action(
            "Hide patient info", None, listed("H"), checkable=True,
            tip="Hide name, ID and dates on the views (for screen sharing)",
        )  # fmt: skip
        self.hide_patient.setChecked(not state.show_patient_info)
        self.hide_patient.toggled.connect(lambda hide: setattr(state, "show_patient_info", not hide))
        state.events.show_patient_info.connect(lambda shown: self.hide_patient.setChecked(not shown))
        self.reset_views = self._action(
            "Reset zoom and pan", window.reset_views, listed("R"),
            tip="Fit the scan in every view and turn the 3D view back to the front",
        )  # fmt: skip
        self.straighten = self._action(
            "Straighten planes", window.straighten, listed("O"),
            tip="Turn oblique slices back to the scan's own axes",
        )  # fmt: skip
        self.centre = self._action(
            "Centre crosshair", window.centre_crosshair, tip="Put the crosshair in the scan's middle"
        )
        self.reset_camera = self._action("Reset 3D camera", state.volume_render.reset_camera)
        self.rotate_mode = self._action(
            "Rotate planes", None, checkable=True,
            tip="Left-drag in a 2D view turns the planes (oblique slices). "
            "Without this mode: drag a crosshair line's outer end, or Ctrl+left-drag.",
        )  # fmt: skip
        self.rotate_mode.toggled.connect(window.set_rotate_mode)
        # Window / level
        self.window_presets: dict[str, QAction] = {}
        for key, (name, (text, tip)) in zip(PRESET_KEYS, PRESET_LABELS.items(), strict=True):
            self.window_presets[name] = self._action(
                text, partial(window.apply_window_preset, name), listed(key), tip=tip
            )
        # Measure
        self.tool_group = QActionGroup(window)
        self.tools: dict[str, QAction] = {}
        for name, text, tip in (
            ("navigate", "Navigate", "Left-click moves the crosshair (Esc from a measuring tool)"),
            ("distance", "Distance", "Click two points in a 2D view to measure their distance (mm)"),
            ("angle", "Angle", "Click an arm's end, the vertex and the other arm's end (degrees)"),
            ("polyline", "Polyline", "Click points along a path; double-click or Enter ends it (length, mm)"),
            (
                "polygon",
                "Polygon ROI",
                "Click the corners of a region; double-click or Enter closes it (area, grey statistics)",
            ),
            (
                "ellipse",
                "Ellipse ROI",
                "Click the centre, the end of one axis, then a point setting the other axis "
                "(area, grey statistics)",
            ),
            ("profile", "Line profile", "Click two points: grey values along the line, plotted in the panel"),
            ("point", "Point", "Click a point to read its grey value"),
            (
                "implant_site",
                "Implant site",
                "Click the alveolar crest in a 2D view: bone height down the view and ridge widths "
                "at 1, 3 and 5 mm",
            ),
        ):
            action = self._action(text, partial(window.set_measure_tool, name), tip=tip, checkable=True)
            self.tool_group.addAction(action)
            self.tools[name] = action
        self.tools["navigate"].setChecked(True)
        self.undo = self._action(
            "Undo", window.measure.undo, listed("Ctrl+Z"), tip="Undo the last measurement change"
        )
        self.redo = self._action("Redo", window.measure.redo, listed("Ctrl+Shift+Z"), tip="Redo")
        self.delete_measurement = self._action(
            "Delete measurement", window.delete_selected_measurement, listed("Del"),
            tip="Delete the measurement selected in the list",
        )  # fmt: skip
        # Tools, Help
        self.tags = self._action("DICOM tags…", window.show_tags, tip="Every header field of the scan")
        self.shortcuts = self._action("Shortcuts…", window.show_shortcuts, listed("F1"))
        self.about = self._action("About cbct-viewer", window.show_about)
        self.recent_menu = QMenu("Open recent", window)
        self.recent_menu.aboutToShow.connect(window.fill_recent_menu)
        self.case_actions = [
            self.export_view, self.export_csv, self.close_case, self.tags, self.reset_views,
            self.straighten, self.centre, self.reset_camera, self.undo, self.redo, self.delete_measurement,
            *self.tools.values(),
            *self.window_presets.values(),
        ]  # fmt: skip
        self.set_case_open(False)

    def _action(
        self,
        text: str,
        slot: Callable[[], object] | None,
        shortcut: str | QKeySequence.StandardKey | None = None,
        *,
        tip: str = "",
        checkable: bool = False,
        icon: object = None,
    ) -> QAction:
        action = QAction(text, self.window)
        if icon is not None:
            action.setIcon(icon)  # type: ignore[arg-type]
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda _=False: slot())
        self.window.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def set_case_open(self, is_open: bool) -> None:
        """Enable the actions that need a loaded scan."""
        for action in self.case_actions:
            action.setEnabled(is_open)

    def build_menus(self) -> None:
        bar = self.window.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.open_folder, self.open_file])
        file.addMenu(self.recent_menu)
        file.addSeparator()
        file.addActions([self.export_view, self.export_window, self.export_csv])
        file.addSeparator()
        file.addActions([self.close_case, self.quit])
        view = bar.addMenu("&View")
        view.addActions([*self.layouts.values(), self.maximise])
        view.addSeparator()
        view.addActions([self.overlays, self.hide_patient])
        view.addSeparator()
        view.addActions([self.rotate_mode, self.straighten, self.reset_views, self.centre, self.reset_camera])
        window_menu = bar.addMenu("&Window/level")
        window_menu.addActions(list(self.window_presets.values()))
        measure = bar.addMenu("&Measure")
        measure.addActions(list(self.tools.values()))
        measure.addSeparator()
        measure.addActions([self.undo, self.redo, self.delete_measurement])
        tools = bar.addMenu("&Tools")
        tools.addAction(self.tags)
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.shortcuts, self.about])

    def build_toolbar(self) -> QToolBar:
        toolbar = QToolBar("Main", self.window)
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.open_folder, self.open_file])
        toolbar.addSeparator()
        toolbar.addActions([self.rotate_mode, self.straighten, self.reset_views])
        toolbar.addSeparator()
        toolbar.addActions(list(self.tools.values()))
        toolbar.addSeparator()
        toolbar.addActions([self.layouts[Layout.GRID], self.layouts[Layout.ONE_PLUS_THREE]])
        toolbar.addSeparator()
        toolbar.addAction(self.export_view)
        self.window.addToolBar(toolbar)
        return toolbar
