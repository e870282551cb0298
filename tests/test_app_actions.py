"""Menus, shortcuts, dialogs, recent cases, export and drag-and-drop of the main window."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, settle, wait_until
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMenu, QToolBar

from cbctviewer.app import integrations
from cbctviewer.app.dialogs.series_browser import SeriesBrowserDialog
from cbctviewer.app.dialogs.shortcuts import ShortcutsDialog
from cbctviewer.app.dialogs.tag_browser import TagBrowserDialog
from cbctviewer.app.main_window import MainWindow
from cbctviewer.app.recent import RecentCases
from cbctviewer.app.shortcuts import SHORTCUTS
from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.window_level import WINDOW_PRESETS

pytestmark = pytest.mark.gui
AXIAL = ViewKind.AXIAL
KEY_SEQUENCE = re.compile(r"((Ctrl|Shift|Alt|Meta)\+)*([A-Z0-9]|F\d{1,2}|Del)")


def open_and_wait(window: MainWindow, path: Path) -> None:
    opened: list[bool] = []
    window.case_opened.connect(lambda: opened.append(True))
    window.open_path(path)
    wait_until(lambda: bool(opened), 60.0, "the scan to open")
    settle(window)


@pytest.fixture(scope="module")
def recent_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recent") / "recent.json"


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path, recent_file: Path) -> Iterator[MainWindow]:
    win = MainWindow(ViewerState(), recent=RecentCases(recent_file))
    win.resize(1200, 800)
    win.show()
    win.activateWindow()
    open_and_wait(win, phantom_dir)
    yield win
    win.close()
    win.deleteLater()
    QApplication.processEvents()


def key_sequences() -> list[str]:
    return [keys for keys, _ in SHORTCUTS if KEY_SEQUENCE.fullmatch(keys)]


@pytest.mark.parametrize("keys", key_sequences())
def test_every_listed_key_has_an_action(window: MainWindow, keys: str) -> None:
    wanted = QKeySequence.fromString(keys, QKeySequence.SequenceFormat.PortableText)
    bound = [a for a in window.actions() if a.shortcut() == wanted]
    assert len(bound) == 1, f"{keys}: {[a.text() for a in bound]}"


def test_no_action_has_an_unlisted_key(window: MainWindow) -> None:
    listed = {QKeySequence.fromString(k, QKeySequence.SequenceFormat.PortableText) for k in key_sequences()}
    platform = {QKeySequence(QKeySequence.StandardKey.Quit), QKeySequence(QKeySequence.StandardKey.Close)}
    extra = [
        (a.text(), a.shortcut().toString())
        for a in window.actions()
        if not a.shortcut().isEmpty()
        and a.shortcut() not in listed | platform
        and a.shortcut() != QKeySequence("Esc")
    ]
    assert extra == []


def test_keys_reach_the_model(window: MainWindow, qtbot) -> None:
    state = window.state
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    view = window.grid.slices[AXIAL]
    view.setFocus()
    for key, preset in ((Qt.Key.Key_2, "teeth"), (Qt.Key.Key_3, "soft tissue"), (Qt.Key.Key_1, "bone")):
        qtbot.keyClick(view, key)
        assert state.window_level == WINDOW_PRESETS[preset]
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert state.window_level != WINDOW_PRESETS["bone"]  # automatic, from the histogram
    qtbot.keyClick(view, Qt.Key.Key_H)
    assert state.show_patient_info is False
    qtbot.keyClick(view, Qt.Key.Key_H)
    assert state.show_patient_info is True
    state.rotate(AXIAL, 20.0)
    state.views[AXIAL].zoom = 3.0
    state.views[AXIAL].pan = (5.0, 2.0)
    qtbot.keyClick(view, Qt.Key.Key_R)  # zoom and pan back; the planes stay turned
    assert state.views[AXIAL].zoom == 1.0 and state.views[AXIAL].pan == (0.0, 0.0)
    assert not np.allclose(state.axes, np.eye(3))
    qtbot.keyClick(view, Qt.Key.Key_O)
    assert np.allclose(state.axes, np.eye(3))
    z = state.crosshair[2]
    qtbot.keyClick(view, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ShiftModifier)
    assert state.crosshair[2] == pytest.approx(z + 10 * state.slice_step(AXIAL))
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert state.crosshair[2] == pytest.approx(z + 11 * state.slice_step(AXIAL))


def test_ctrl_wheel_zooms_and_middle_drag_pans(window: MainWindow, qtbot) -> None:
    state = window.state
    window.reset_views()
    view = window.grid.slices[AXIAL]
    centre = QPointF(view.width() / 2, view.height() / 2)
    event = QWheelEvent(
        centre, view.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(view, event)
    assert state.views[AXIAL].zoom == pytest.approx(1.15**2)
    before = state.views[AXIAL].pan
    start = QPoint(100, 100)
    qtbot.mousePress(view, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(view, start + QPoint(40, 0))
    qtbot.mouseRelease(view, Qt.MouseButton.MiddleButton, pos=start + QPoint(40, 0))
    pan = np.subtract(state.views[AXIAL].pan, before)
    assert pan[0] == pytest.approx(-40 * state.pixel_size(AXIAL)) and pan[1] == pytest.approx(0.0)
    window.reset_views()


def test_recent_cases_remember_the_opened_folder(
    window: MainWindow, phantom_dir: Path, recent_file: Path
) -> None:
    assert recent_file.is_file()
    assert RecentCases(recent_file).paths()[0] == phantom_dir.resolve()
    window.fill_recent_menu()
    texts = [a.text() for a in window.actions_.recent_menu.actions()]
    assert str(phantom_dir.resolve()) in texts and "Clear the list" in texts


def test_tags_and_shortcuts_dialogs_open(window: MainWindow) -> None:
    window.actions_.tags.trigger()
    tags = [w for w in window.findChildren(TagBrowserDialog) if w.isVisible()]
    assert len(tags) == 1
    tags[0].close()
    window.actions_.shortcuts.trigger()
    help_dialogs = [w for w in window.findChildren(ShortcutsDialog) if w.isVisible()]
    assert len(help_dialogs) == 1 and help_dialogs[0].table.rowCount() == len(SHORTCUTS)
    help_dialogs[0].close()


def test_export_view_and_window_write_pngs(window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    targets = iter([tmp_path / "view.png", tmp_path / "window.png"])
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(next(targets)), "PNG pictures (*.png)")
    )
    settle(window)
    window.grid.set_active("coronal")
    window.actions_.export_view.trigger()
    window.actions_.export_window.trigger()
    from PySide6.QtGui import QImage

    view = QImage(str(tmp_path / "view.png"))
    whole = QImage(str(tmp_path / "window.png"))
    coronal = window.grid.slices[ViewKind.CORONAL]
    assert (view.width(), view.height()) == (coronal.width(), coronal.height())
    assert (whole.width(), whole.height()) == (window.width(), window.height())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["view.png", "window.png"]


def test_drop_a_folder_opens_it(window: MainWindow, phantom_dir: Path, monkeypatch) -> None:
    opened: list[Path] = []
    monkeypatch.setattr(window, "open_path", lambda path, **_: opened.append(Path(path)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(phantom_dir))])
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    assert opened == [phantom_dir]


def test_several_series_ask_with_the_series_browser(
    qapp: QApplication, phantom_dir: Path, phantom_followup_dir: Path, tmp_path: Path
) -> None:
    media = tmp_path / "disc"
    shutil.copytree(phantom_dir / "DICOM", media / "baseline")
    shutil.copytree(phantom_followup_dir / "DICOM", media / "followup")
    win = MainWindow(ViewerState(), recent=None)
    win.show()
    seen: list[str] = []

    def accept_browser() -> None:
        dialogs = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, SeriesBrowserDialog) and w.isVisible()
        ]
        if not dialogs:
            QTimer.singleShot(50, accept_browser)
            return
        dialog = dialogs[0]
        chosen = dialog.selected_candidate()
        seen.append(chosen.study_date if chosen is not None else "")
        dialog.done(QDialog.DialogCode.Accepted)

    try:
        QTimer.singleShot(50, accept_browser)
        open_and_wait(win, media)
        assert seen and win.candidate is not None and win.candidate.study_date == seen[0]
        assert win.state.volume is not None
    finally:
        win.close()
        win.deleteLater()


def test_closing_stops_the_3d_thread(qapp: QApplication) -> None:
    win = MainWindow(ViewerState(), recent=None)
    win.show()
    QApplication.processEvents()
    thread = win.grid.renderer._thread
    assert thread.is_alive()
    win.close()
    assert not thread.is_alive()
    win.deleteLater()


def test_integrations_without_a_frame_say_so(window: MainWindow, monkeypatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(integrations.QMessageBox, "information", lambda *a: said.append(a[2]))
    integrations.export_view(window, None, "3d")
    assert said == ["There is no picture in this view yet."]


def test_scan_warnings_show_in_a_banner_and_a_missing_series_is_named(
    qapp: QApplication, phantom_dir: Path, tmp_path: Path
) -> None:
    """A slice missing from the series: the scan still opens, and the banner says what is wrong."""
    media = tmp_path / "stick"
    shutil.copytree(phantom_dir / "DICOM", media)
    files = sorted(media.iterdir())
    files[len(files) // 2].unlink()
    win = MainWindow(ViewerState(), recent=None)
    win.show()
    try:
        opened: list[bool] = []
        win.case_opened.connect(lambda: opened.append(True))
        win.open_path(media, series="1.2.3.4.5")
        wait_until(lambda: bool(opened), 60.0, "the scan to open")
        assert win.state.volume is not None
        assert win.banner.isVisible()
        text = win.banner.text.text()
        assert "1.2.3.4.5" in text and "missing" in text.lower(), text
        assert "Traceback" not in text
    finally:
        win.close()
        win.deleteLater()


def test_dental_and_compare_workspaces_are_built_by_their_keys(window: MainWindow, qtbot) -> None:
    """Start-up builds neither feature's workspace; their keys build and show them, with the open scan."""
    dental, compare = window.dental_feature, window.compare_feature
    assert not dental.built and not compare.built
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    window.grid.slices[AXIAL].setFocus()
    qtbot.keyClick(window.grid.slices[AXIAL], Qt.Key.Key_D, ctrl_shift)
    assert dental.built and window.current_workspace == "dental" and not compare.built
    axial = dental.workspace.axial  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: axial.isVisible() and axial.width() > 100, timeout=5000)
    QApplication.processEvents()
    lit = float((grab(axial).max(axis=2) > 30).mean())
    assert lit > 0.2, f"the dental axial view built after opening shows no scan ({lit:.3f} lit)"
    qtbot.keyClick(axial, Qt.Key.Key_D, ctrl_shift)
    assert window.current_workspace == "views"
    qtbot.keyClick(window.grid.slices[AXIAL], Qt.Key.Key_C, ctrl_shift)
    assert compare.built and window.current_workspace == "compare"
    assert window.workspaces.currentWidget() is compare.workspace
    assert window.compare_actions["workspace"].isChecked()
    qtbot.keyClick(compare.workspace, Qt.Key.Key_C, ctrl_shift)
    assert window.current_workspace == "views" and not window.compare_actions["workspace"].isChecked()


def test_a_dental_tool_chosen_before_the_workspace_exists_builds_it(qapp: QApplication) -> None:
    """The Dental menu's tools stand in for the workspace's until it is built, then are replaced."""
    win = MainWindow(ViewerState(), recent=None)
    try:
        feature = win.dental_feature
        menu = win.findChild(QMenu, "dental_menu")
        toolbar = win.findChild(QToolBar, "dental_toolbar")
        stand_in = feature.tool_actions["canal_left"]
        assert stand_in in menu.actions() and stand_in in toolbar.actions() and not feature.built
        stand_in.trigger()
        workspace = feature.workspace
        assert workspace is not None and workspace.dental_tool == "canal_left"
        real = workspace.tool_actions
        assert feature.tool_actions is real and real["canal_left"].isChecked()
        assert stand_in not in menu.actions() and stand_in not in toolbar.actions()
        names = ("navigate", "arch", "canal_left", "canal_right", "implant")
        assert [a for a in menu.actions() if a in real.values()] == [real[n] for n in names]
        assert [a for a in toolbar.actions() if a in real.values()] == [real[n] for n in names[1:]]
        real["navigate"].trigger()
        assert workspace.dental_tool is None
    finally:
        win.close()
        win.deleteLater()
        QApplication.processEvents()
