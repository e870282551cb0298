"""The main window: four views, the side panel, menus, toolbar and the status bar.

It wires parts together and shows messages; the state lives in
:class:`~cbctviewer.core.view_state.ViewerState`, the views follow it, and scanning and
loading run on worker threads (:class:`~.opening.CaseOpener`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import Volume
from cbctviewer.io.report import ScanReport, SeriesCandidate
from cbctviewer.io.summary import describe_candidate
from cbctviewer.rendering.volume_render import MapperChoice

from . import compare, dental, integrations
from .actions import Actions
from .measuring import MeasureController
from .opening import CaseOpener, Loader, Scanner, choose_series, open_notes
from .panels.banner import NoticeBanner
from .panels.measure_wiring import connect_measuring
from .panels.side_panel import SidePanel
from .panels.status import StatusPanel
from .recent import RecentCases
from .views.grid import VIEW_3D, ViewGrid

if TYPE_CHECKING:
    from .compare.controller import CompareController
    from .compare.lazy import LazyCompare
    from .compare.workspace import CompareWorkspace
    from .dental.lazy import LazyDental
    from .dental.workspace import DentalWorkspace

log = logging.getLogger(__name__)
APP_TITLE = "cbct-viewer"


class MainWindow(QMainWindow):
    """The viewer window. ``recent`` stores the recently opened cases (None: not kept)."""

    #: A case finished opening (the volume is in the model; frames follow).
    case_opened = Signal()
    #: Opening failed or was cancelled (the message shown, "" for a cancel).
    open_failed = Signal(str)
    #: The central workspace changed (its name: ``"views"``, ``"dental"``, ``"compare"``).
    workspace_changed = Signal(str)
    # Set by the features' ``install`` functions (app/dental, app/compare): their menus, case
    # file sections and light state; the workspaces themselves are built on first use.
    dental_feature: LazyDental
    compare_feature: LazyCompare

    def __init__(
        self,
        state: ViewerState | None = None,
        *,
        recent: RecentCases | None = None,
        scanner: Scanner | None = None,
        loader: Loader | None = None,
        mapper: MapperChoice = "auto",
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.state = state or ViewerState()
        self.recent = recent
        self.report: ScanReport | None = None
        self.candidate: SeriesCandidate | None = None
        self.source_path: Path | None = None
        self._wanted_series: str | None = None
        self._notes: list[str] = []
        self.message_box: QMessageBox | None = None
        self._closed = False
        self.opener = CaseOpener(self, scanner=scanner, loader=loader)
        self.measure = MeasureController(self)
        self.grid = ViewGrid(self.state, self, mapper=mapper)
        self.banner = NoticeBanner(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        self.workspaces = QStackedWidget(central)
        self._workspace_names: list[str] = []
        # Pages built on first use: name → (the empty page holding their place, the builder).
        self._workspace_builders: dict[str, tuple[QWidget, Callable[[], QWidget]]] = {}
        column.addWidget(self.workspaces, 1)
        self.add_workspace("views", self.grid)
        self.setCentralWidget(central)
        self.status = StatusPanel(self.statusBar())
        self.actions_ = Actions(self)
        self.side = SidePanel(
            self.state, self.grid, overlays=self.actions_.overlays, hide_patient=self.actions_.hide_patient
        )
        dock = QDockWidget("Controls", self)
        dock.setObjectName("controls_dock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setWidget(self.side)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.actions_.build_menus()
        self.toolbar = self.actions_.build_toolbar()
        self.actions_.layouts[self.grid.layout_mode].setChecked(True)
        self.grid.layout_changed.connect(self._layout_changed)
        for widget in self.grid.slices.values():
            widget.cursor_info.connect(self.status.show_cursor)
            widget.hint_message.connect(lambda text: self.status.show_message(text, 2500))
        self.measure.message.connect(lambda text: self.status.show_message(text, 5000))
        self.measure.problem.connect(self._measure_problem)
        self.measure.set_changed.connect(self._measurements_changed)
        connect_measuring(self)
        self.grid.volume.problem.connect(self.status.show_message)
        self.status.progress.cancel_requested.connect(self.opener.cancel)
        self.opener.progress.connect(self.status.progress.set_progress)
        self.opener.busy_changed.connect(self._busy_changed)
        self.opener.scanned.connect(self._scanned)
        self.opener.loaded.connect(self._loaded)
        self.opener.failed.connect(self._failed)
        self.opener.cancelled.connect(self._cancelled)
        self._busy_changed(False)
        dental.install(self)
        compare.install(self)

    # -- opening --------------------------------------------------------------------------
    def open_path(self, path: Path | str, *, series: str | None = None) -> None:
        """Scan ``path`` and open its volume (asks when there are several); returns at once."""
        path = Path(path).expanduser()
        if not path.exists():
            self.show_problem("Nothing to open", f"{path} does not exist (was the disc or stick removed?).")
            return
        self._wanted_series = series
        self.source_path = path
        self.status.progress.start(f"Reading {path.name or path}…")
        self.opener.scan(path)

    def _scanned(self, report: ScanReport, path: Path) -> None:
        wanted = self._wanted_series
        self._notes = []
        if wanted and report.find(wanted) is None:
            self._notes.append(f"There is no series “{wanted}” on the media; choose one of those found.")
        choice = choose_series(report, wanted)
        if isinstance(choice, str):
            report.close()
            self._failed("No scan to show", choice)
            return
        if isinstance(choice, list):
            picked = integrations.choose_series_dialog(report, choice, self)
            if picked is None:
                report.close()
                self._cancelled()
                return
            choice = picked
        self.status.progress.start("Loading the images…")
        self.opener.load(report, choice)

    def _loaded(self, volume: Volume, candidate: SeriesCandidate, report: ScanReport) -> None:
        if self.report is not None and self.report is not report:
            self.report.close()
        self.report, self.candidate = report, candidate
        self.state.volume = volume
        # A single 2D picture (radiograph, screenshot) only makes sense in the axial view.
        if min(volume.size) == 1:
            self.grid.maximise(ViewKind.AXIAL.value)
        elif self.grid.maximised is not None:
            self.grid.maximise(None)
        self.setWindowTitle(f"{describe_candidate(candidate)} — {APP_TITLE}")  # no patient data
        self.set_measure_tool("navigate")
        self.banner.show_notes([*self._notes, *open_notes(report, candidate, volume)])
        self.measure.open(volume, self.source_path)  # after the notes: a damaged case adds one
        self.actions_.set_case_open(True)
        self.grid.slices[ViewKind.AXIAL].setFocus()
        if self.recent is not None and self.source_path is not None:
            try:
                self.recent.add(self.source_path)
            except OSError as exc:  # a read-only home folder must not stop the viewer
                log.warning("could not remember the recent case: %s", exc.strerror or type(exc).__name__)
        self.status.show_message("Scan opened.", 3000)
        self.case_opened.emit()

    def _failed(self, title: str, message: str) -> None:
        self.status.progress.stop()
        self.status.show_message(message, 10_000)
        self.show_problem(title, message)
        self.open_failed.emit(message)

    def _cancelled(self) -> None:
        self.status.progress.stop()
        self.status.show_message("Cancelled: nothing new was opened.", 5000)
        self.open_failed.emit("")

    def _busy_changed(self, busy: bool) -> None:
        self.actions_.cancel.setEnabled(busy)
        if not busy and self.opener.task is None:
            self.status.progress.stop()

    def close_case(self) -> None:
        """Show no scan (the window stays open)."""
        self.opener.cancel()
        self.set_measure_tool("navigate")
        self.measure.close()
        self.state.volume = None
        if self.report is not None:
            self.report.close()
        self.report = self.candidate = None
        self.banner.show_notes([])
        self.actions_.set_case_open(False)
        self.setWindowTitle(APP_TITLE)

    # -- workspaces -----------------------------------------------------------------------
    def add_workspace(self, name: str, widget: QWidget | Callable[[], QWidget]) -> None:
        """Add a page to the central area (``"views"`` is the four-view grid).

        ``widget`` may be a function that builds the page: it is called the first time the
        page is shown or asked for (:meth:`workspace_page`), so a feature costs nothing at
        start-up until it is used.
        """
        if name in self._workspace_names:
            raise ValueError(f"workspace {name!r} exists")
        self._workspace_names.append(name)
        if isinstance(widget, QWidget):
            self.workspaces.addWidget(widget)
        else:
            placeholder = QWidget(self.workspaces)
            self._workspace_builders[name] = (placeholder, widget)
            self.workspaces.addWidget(placeholder)

    def workspace_page(self, name: str) -> QWidget:
        """The named workspace page, built now if it was added as a builder."""
        index = self._workspace_names.index(name)
        lazy = self._workspace_builders.pop(name, None)
        if lazy is None:
            page = self.workspaces.widget(index)
            assert page is not None
            return page
        placeholder, build = lazy
        try:
            page = build()
        except BaseException:
            self._workspace_builders[name] = lazy  # try again next time
            raise
        self.workspaces.insertWidget(index, page)
        self.workspaces.removeWidget(placeholder)
        placeholder.deleteLater()
        return page

    def show_workspace(self, name: str) -> None:
        """Show the named workspace page (``"views"``: back to the four views)."""
        index = self._workspace_names.index(name)
        self.workspace_page(name)
        if index != self.workspaces.currentIndex():
            self.workspaces.setCurrentIndex(index)
            self.workspace_changed.emit(name)

    @property
    def current_workspace(self) -> str:
        """The name of the workspace shown."""
        return self._workspace_names[self.workspaces.currentIndex()]

    # -- dialogs --------------------------------------------------------------------------
    def show_problem(self, title: str, message: str) -> None:
        """A plain-language message box that does not block the event loop."""
        if self.message_box is not None:
            self.message_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("problem_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _: setattr(self, "message_box", None))
        self.message_box = box
        box.open()

    def open_folder_dialog(self) -> None:
        path = integrations.ask_folder(self)
        if path is not None:
            self.open_path(path)

    def open_file_dialog(self) -> None:
        path = integrations.ask_file(self)
        if path is not None:
            self.open_path(path)

    def fill_recent_menu(self) -> None:
        integrations.fill_recent_menu(self.actions_.recent_menu, self.recent, self.open_path)

    def active_frame(self) -> Any:
        """The active view's last frame (numpy RGB) or None."""
        return self.grid.widgets[self.grid.active].frame

    def export_view_dialog(self) -> None:
        integrations.export_view(self, self.active_frame(), self.grid.active)

    def export_window_dialog(self) -> None:
        integrations.export_window(self)

    def show_tags(self) -> None:
        if self.candidate is not None:
            integrations.show_tags(self.candidate, self)

    def show_shortcuts(self) -> None:
        integrations.show_shortcuts(self)

    def show_about(self) -> None:
        integrations.show_about(self)

    # -- view commands --------------------------------------------------------------------
    def reset_views(self) -> None:
        """Zoom to fit, no pan, 3D camera to the front (planes and crosshair stay)."""
        for view in self.state.views.values():
            view.zoom, view.pan = 1.0, (0.0, 0.0)
        self.state.volume_render.reset_camera()

    def straighten(self) -> None:
        """Oblique planes back to the scan's axes (the crosshair stays)."""
        self.state.reset_axes()

    def apply_window_preset(self, name: str) -> None:
        """A window/level preset by name (``"bone"``, ``"teeth"``, … ``"auto"``)."""
        self.side.window_level.apply(name)

    def centre_crosshair(self) -> None:
        self.state.reset_views()

    def set_overlays_visible(self, visible: bool) -> None:
        for view in self.grid.slice_views.values():
            view.show_overlays = visible

    def set_rotate_mode(self, on: bool) -> None:
        for widget in self.grid.slices.values():
            widget.rotate_mode = on

    # -- measurements ---------------------------------------------------------------------
    def set_measure_tool(self, name: str) -> None:
        """``"navigate"`` or a tool (``"distance"``, ``"angle"``, ``"polyline"``, ``"ellipse"``,
        ``"polygon"``, ``"profile"``, ``"point"``, ``"implant_site"``)."""
        tool = None if name == "navigate" else name
        if tool is not None and self.measure.measurements is None:
            tool = None
        self.measure.set_tool(tool)
        for widget in self.grid.slices.values():
            widget.measure_mode = tool is not None
        self.actions_.tools["navigate" if tool is None else name].setChecked(True)

    def _measure_click(self, kind: ViewKind, point: object) -> None:
        self.measure.click(point, self.state.plane(kind), view=kind)  # type: ignore[arg-type]

    def export_measurements_dialog(self) -> None:
        mset = self.measure.measurements
        integrations.export_measurements(self, list(mset) if mset is not None else [], self.measure.volume)

    def delete_selected_measurement(self) -> None:
        self.measure.remove(self.side.measure.selected_id())

    def _measurements_changed(self, measurements: object) -> None:
        mset = self.measure.measurements
        for view in self.grid.slice_views.values():
            view.set_measurements(mset)
        self.side.measure.bind(mset, self.measure.volume)

    def _measure_problem(self, text: str) -> None:
        self.status.show_message(text, 15_000)
        self.banner.show_notes([*self.banner.notes, text])

    def _layout_changed(self) -> None:
        self.actions_.layouts[self.grid.layout_mode].setChecked(True)

    # -- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # -- closing --------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._closed:
            super().closeEvent(event)
            return
        self._closed = True
        self.opener.shutdown()
        self.measure.close()
        self.side.unbind()
        self.grid.close_views()
        if self.report is not None:
            self.report.close()
            self.report = None
        super().closeEvent(event)

    # -- the features (built on first use) -----------------------------------------------
    @property
    def dental(self) -> DentalWorkspace:
        """The dental workspace page (built now if it was not yet)."""
        return self.dental_feature.ensure_built()

    @property
    def compare(self) -> CompareController:
        """The follow-up controller of the compare workspace (built now if it was not yet)."""
        return self.compare_feature.ensure_built().controller

    @property
    def compare_workspace(self) -> CompareWorkspace:
        """The compare workspace page (built now if it was not yet)."""
        return self.compare_feature.ensure_built()

    @property
    def compare_actions(self) -> dict[str, QAction]:
        """The Compare menu's actions by name (``"folder"``, ``"register"``, ``"workspace"``…)."""
        return self.compare_feature.actions

    @property
    def views_in_layout(self) -> list[str]:
        """Names of the views shown (``"axial"``… ``"3d"``)."""
        return self.grid.visible_views()


__all__ = ["VIEW_3D", "MainWindow"]
