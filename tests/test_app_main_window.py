"""The main window end to end: open the phantom through the workers, then probe what is on screen.

Pixels are read back from the X server with ``QScreen.grabWindow`` (run under Xvfb), so
a black or stale view fails. Where things must appear comes from the phantom's ground
truth (``phantom_truth.json``) projected through each view's geometry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, patch, settle, wait_until
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.view_state import SlabMode, ViewerState, ViewKind
from cbctviewer.core.window_level import WINDOW_PRESETS

pytestmark = pytest.mark.gui
AXIAL, CORONAL, SAGITTAL = ViewKind.AXIAL, ViewKind.CORONAL, ViewKind.SAGITTAL
WINDOW_SIZE = (1400, 900)


def pixel_of(window: MainWindow, kind: ViewKind, point: np.ndarray) -> tuple[float, float]:
    """Where a patient point lands in a view's widget (row, col), checked to lie on its plane."""
    geometry = window.state.slice_geometry(kind)
    assert abs(float(geometry.depth(point))) < 0.3, f"{point} is not on the {kind.value} plane"
    row, col = geometry.patient_to_pixel(point)
    return float(row), float(col)


def shown(window: MainWindow, kind: ViewKind, point: np.ndarray, radius: int = 1) -> float:
    """Grey shown at a patient point in a view."""
    row, col = pixel_of(window, kind, point)
    return patch(grab(window.grid.slices[kind]), row, col, radius)


def canal_tangent(truth: dict, point: np.ndarray) -> np.ndarray:
    points = np.asarray(truth["canals"]["left"]["points"])
    i = int(np.argmin(np.linalg.norm(points - point, axis=1)))
    tangent = points[min(i + 1, len(points) - 1)] - points[max(i - 1, 0)]
    return tangent / np.linalg.norm(tangent)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    """One window for the module, opened on the phantom through the real scan/load workers."""
    win = MainWindow(ViewerState(), recent=None)
    win.resize(*WINDOW_SIZE)
    win.show()
    drawn: set[str] = set()
    win.grid.frame_drawn.connect(drawn.add)
    opened: list[bool] = []
    win.case_opened.connect(lambda: opened.append(True))
    win.open_path(phantom_dir)
    wait_until(lambda: bool(opened), 60.0, "the phantom to open")
    wait_until(lambda: drawn >= {"axial", "coronal", "sagittal", "3d"}, 60.0, "all four views")
    yield win
    win.close()
    win.deleteLater()
    QApplication.processEvents()


@pytest.fixture
def fresh(window: MainWindow) -> MainWindow:
    """The module window back to scan axes, bone window, thin slices, 2×2 layout."""
    state = window.state
    state.reset_views()
    state.window_level = WINDOW_PRESETS["bone"]
    for view in state.views.values():
        view.slab_thickness = 0.0
        view.slab_mode = SlabMode.MIP
    state.show_patient_info = True
    window.grid.set_layout("2x2")
    settle(window)
    return window


# -- tests ------------------------------------------------------------------------------------
def test_every_view_is_drawn_on_screen(fresh: MainWindow) -> None:
    settle(fresh, with_3d=True)
    assert fresh.views_in_layout == ["axial", "coronal", "sagittal", "3d"]
    for name, widget in fresh.grid.widgets.items():
        pixels = grab(widget)[3:-3, 3:-3].max(axis=2)  # without the view's frame
        lit = float((pixels > 30).mean())
        assert lit > (0.02 if name == "3d" else 0.3), f"{name} view is (nearly) black: {lit:.3f}"
    assert "no patient" not in fresh.windowTitle().lower()
    assert "PHANTOM" not in fresh.windowTitle()  # no patient name in the title (screen sharing)


@pytest.mark.parametrize("kind", [AXIAL, CORONAL, SAGITTAL])
def test_implant_teeth_and_canal_where_the_truth_says(fresh: MainWindow, truth: dict, kind: ViewKind) -> None:
    state = fresh.state
    implant = np.asarray(truth["landmarks"]["implant_center"])
    state.crosshair = implant
    settle(fresh)
    assert shown(fresh, kind, implant) > 235, "titanium implant not bright"
    probes = {p["tissue"]: np.asarray(p["point"]) for p in truth["tissue_probes"]}
    for tissue in ("enamel", "dentin"):
        state.crosshair = probes[tissue]
        settle(fresh)
        assert shown(fresh, kind, probes[tissue]) > 195, f"{tissue} not bright in {kind.value}"
    state.crosshair = probes["air"]
    settle(fresh)
    assert shown(fresh, kind, probes["air"]) < 25
    # The canal: a dark lumen ringed by its brighter wall, across the canal's direction.
    lumen = probes["canal_lumen_left"]
    state.crosshair = lumen
    settle(fresh)
    normal = state.normal(kind)
    across = np.cross(canal_tangent(truth, lumen), normal)
    across = across / np.linalg.norm(across) if np.linalg.norm(across) > 0.3 else state.view_axes(kind)[1]
    centre = shown(fresh, kind, lumen)
    assert centre < 90, f"canal lumen not dark in {kind.value}: {centre}"
    for sign in (1.0, -1.0):
        wall = shown(fresh, kind, lumen + sign * 1.6 * across)
        assert wall > centre + 45, f"canal wall not brighter than the lumen in {kind.value}"


def test_thirty_degree_oblique_follows_the_canal(fresh: MainWindow, truth: dict, qtbot) -> None:
    """Ctrl+drag in the axial view turns the planes 30°; the oblique sagittal then runs along the canal."""
    state = fresh.state
    below_apex = np.asarray(truth["implant"]["canal_axis_point_below_apex"])
    tangent = canal_tangent(truth, below_apex)
    state.crosshair = below_apex
    settle(fresh)
    # Which turn (±30°) brings the sagittal view's horizontal axis closest to the canal?
    probe_state = ViewerState(state.volume)
    probe_state.rotate(AXIAL, 30.0)
    along = abs(float(probe_state.view_axes(SAGITTAL)[0] @ tangent))
    degrees = 30.0 if along > np.cos(np.radians(15)) else -30.0
    widget = fresh.grid.slices[AXIAL]
    row, col = pixel_of(fresh, AXIAL, below_apex)
    radius = 80.0
    angles = np.radians(np.linspace(0.0, degrees, 4))
    points = [QPoint(round(col + radius * np.cos(a)), round(row - radius * np.sin(a))) for a in angles]
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, ctrl, points[0])
    for p in points[1:]:
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, ctrl, points[-1])
    settle(fresh)
    sagittal_axis = state.view_axes(SAGITTAL)[0]
    turned = np.degrees(np.arccos(np.clip(sagittal_axis @ np.array([0.0, 1.0, 0.0]), -1, 1)))
    assert turned == pytest.approx(30.0, abs=2.0)
    labels = fresh.grid.slice_views[SAGITTAL].label_texts()
    assert len(labels["right"]) == 2, f"oblique label expected, got {labels}"
    # Along the oblique sagittal's horizontal, the lumen stays under the cursor for ±5 mm...
    for offset in (-5.0, 0.0, 5.0):
        assert shown(fresh, SAGITTAL, below_apex + offset * sagittal_axis) < 90
    # ...and the implant above it and tooth 37 next to it show where the truth puts them.
    implant = np.asarray(truth["landmarks"]["implant_center"])
    assert shown(fresh, SAGITTAL, implant + 1.2 * sagittal_axis) > 235  # beside the crosshair line
    tooth = next(t for t in truth["teeth"] if t["fdi"] == 37)
    crown = np.asarray(tooth["cej_center"]) + np.array([0.0, 0.0, 4.75])  # enamel under the cusps
    on_plane = crown - float((crown - below_apex) @ state.normal(SAGITTAL)) * state.normal(SAGITTAL)
    assert shown(fresh, SAGITTAL, on_plane) > 220
    # The straight sagittal misses the canal 5 mm out: the 30° turn is what shows it.
    state.reset_axes()
    settle(fresh)
    assert shown(fresh, SAGITTAL, below_apex + 5.0 * state.view_axes(SAGITTAL)[0]) > 90


def test_wheel_and_keys_scroll_the_slice(fresh: MainWindow, qtbot) -> None:
    state = fresh.state
    widget = fresh.grid.slices[AXIAL]
    before_z = state.crosshair[2]
    before = grab(widget)
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    for _ in range(10):
        event = QWheelEvent(
            centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(widget, event)
    settle(fresh)
    step = state.slice_step(AXIAL)
    assert state.crosshair[2] == pytest.approx(before_z + 10 * step)  # wheel forward: deeper (superior)
    after = grab(widget)
    assert np.abs(after.astype(int) - before.astype(int)).mean() > 2.0, "scrolling did not change the image"
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_PageDown)
    qtbot.keyClick(widget, Qt.Key.Key_Down)
    assert state.crosshair[2] == pytest.approx(before_z + 8 * step)
    wait_until(lambda: not state.interacting, 2.0, "the wheel interaction to end")


def test_a_click_in_one_view_moves_the_others(fresh: MainWindow, truth: dict, qtbot) -> None:
    state = fresh.state
    implant = np.asarray(truth["landmarks"]["implant_center"])
    state.crosshair = (0.0, -20.0, implant[2])  # midline, level with the implant
    settle(fresh)
    assert shown(fresh, CORONAL, np.array([implant[0], -20.0, implant[2]])) < 200
    row, col = pixel_of(fresh, AXIAL, implant)
    qtbot.mouseClick(fresh.grid.slices[AXIAL], Qt.MouseButton.LeftButton, pos=QPoint(round(col), round(row)))
    settle(fresh)
    pixel = state.pixel_size(AXIAL)
    assert np.allclose(state.crosshair[:2], implant[:2], atol=pixel)
    assert shown(fresh, CORONAL, np.asarray(state.crosshair)) > 235
    assert shown(fresh, SAGITTAL, np.asarray(state.crosshair)) > 235


def test_slab_mip_from_the_panel_brightens_the_implant(fresh: MainWindow, truth: dict) -> None:
    state = fresh.state
    implant = np.asarray(truth["landmarks"]["implant_center"])
    beside = implant + np.array([0.0, 4.0, 0.0])  # 4 mm behind: the 4 mm implant is off the plane
    state.crosshair = beside
    settle(fresh)
    thin = shown(fresh, CORONAL, beside)
    assert thin < 200
    row = fresh.side.slab.rows[CORONAL]
    row.thickness.setValue(10.0)
    assert state.views[CORONAL].slab_thickness == 10.0
    assert state.views[CORONAL].slab_mode is SlabMode.MIP
    settle(fresh)
    assert shown(fresh, CORONAL, beside) > 235
    row.mode.setCurrentIndex(row.mode.findData(SlabMode.MINIP.value))
    settle(fresh)
    assert shown(fresh, CORONAL, beside) < thin


def test_window_presets_and_right_drag_change_the_image(fresh: MainWindow, truth: dict, qtbot) -> None:
    state = fresh.state
    soft = next(np.asarray(p["point"]) for p in truth["tissue_probes"] if p["tissue"] == "soft_tissue")
    state.crosshair = soft
    settle(fresh)
    bone = shown(fresh, AXIAL, soft)
    qtbot.mouseClick(fresh.side.window_level.buttons["soft tissue"], Qt.MouseButton.LeftButton)
    assert state.window_level == WINDOW_PRESETS["soft tissue"]
    settle(fresh)
    soft_grey = shown(fresh, AXIAL, soft)
    assert soft_grey > bone + 40, (bone, soft_grey)
    qtbot.mouseClick(fresh.side.window_level.buttons["auto"], Qt.MouseButton.LeftButton)
    assert state.window_level != WINDOW_PRESETS["soft tissue"]
    assert fresh.side.window_level.width_box.value() == pytest.approx(state.window_level.width, abs=1)
    widget = fresh.grid.slices[SAGITTAL]
    start = state.window_level
    middle = QPoint(widget.width() // 2, widget.height() // 2)
    qtbot.mousePress(widget, Qt.MouseButton.RightButton, pos=middle)
    qtbot.mouseMove(widget, middle + QPoint(150, 0))
    qtbot.mouseRelease(widget, Qt.MouseButton.RightButton, pos=middle + QPoint(150, 0))
    assert state.window_level.width == pytest.approx(2 * start.width, rel=0.02)
    assert "grey value" in fresh.side.window_level.unit.text()


def test_layouts_maximise_and_patient_info(fresh: MainWindow, qtbot) -> None:
    grid = fresh.grid
    coronal = grid.slices[CORONAL]
    qtbot.mouseDClick(coronal, Qt.MouseButton.LeftButton, pos=QPoint(30, 30))
    QApplication.processEvents()
    assert grid.visible_views() == ["coronal"]
    qtbot.mouseDClick(coronal, Qt.MouseButton.LeftButton, pos=QPoint(30, 30))
    assert len(grid.visible_views()) == 4
    grid.set_layout("1+3")
    wait_until(lambda: grid.widgets[grid.active].width() > 2 * grid.widgets["3d"].width(), 5.0, "1+3 layout")
    grid.set_layout("2x2")
    settle(fresh)
    axial = grid.slices[AXIAL]
    corner = (slice(2, 70), slice(2, 260))  # where the patient/study lines are drawn
    before = grab(axial)[corner].max(axis=2)
    fresh.actions_.hide_patient.trigger()
    assert fresh.state.show_patient_info is False
    settle(fresh)
    after = grab(axial)[corner].max(axis=2)
    text_gone = int(((before > 150) & (after < 100)).sum())
    text_new = int(((after > 150) & (before < 100)).sum())
    assert text_gone > 40 and text_new == 0, (text_gone, text_new)
    assert fresh.side.display.hide_patient.isChecked()


def test_3d_view_turns_with_the_mouse_and_resets(fresh: MainWindow, qtbot) -> None:
    settle(fresh, with_3d=True)
    view = fresh.grid.volume
    before = grab(view)[3:-3, 3:-3]  # inside the frame (the active view has a bright one)
    centre = QPoint(view.width() // 2, view.height() // 2)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(view, centre + QPoint(120, 0))
    assert fresh.state.interacting
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=centre + QPoint(120, 0))
    assert fresh.state.volume_render.camera is not None
    settle(fresh, with_3d=True)
    QApplication.processEvents()
    turned = grab(view)[3:-3, 3:-3]
    assert np.abs(turned.astype(int) - before.astype(int)).mean() > 1.0, "3D view did not turn"
    fresh.actions_.reset_views.trigger()
    assert fresh.state.volume_render.camera is None
    settle(fresh, with_3d=True)
    QApplication.processEvents()
    assert np.abs(grab(view)[3:-3, 3:-3].astype(int) - before.astype(int)).mean() < 1.0


def test_cancel_stops_a_load(qapp: QApplication, phantom_dir: Path, qtbot) -> None:
    """The loader blocks in its progress callback until Cancel is pressed in the status bar."""
    from cbctviewer.io.load import load

    started = threading.Event()
    finished = threading.Event()

    def slow_load(candidate, *, progress, cancel):
        def blocking_progress(fraction: float, message: str) -> None:
            progress(fraction, message)
            started.set()
            while not cancel():
                time.sleep(0.01)

        try:
            return load(candidate, progress=blocking_progress, cancel=cancel)
        finally:
            finished.set()

    win = MainWindow(ViewerState(), recent=None, loader=slow_load)
    win.resize(900, 600)
    win.show()
    try:
        outcome: list[str] = []
        win.open_failed.connect(outcome.append)
        win.open_path(phantom_dir)
        wait_until(started.is_set, 30.0, "the load to start")
        QApplication.processEvents()
        cancel = win.status.progress.cancel
        assert cancel.isVisible() and cancel.isEnabled()
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
        wait_until(lambda: bool(outcome), 10.0, "the load to stop")
        assert outcome == [""]  # cancelled, not failed
        assert finished.is_set()
        assert win.state.volume is None
        assert not win.status.progress.isVisible()
        assert win.grid.slices[AXIAL].frame is None
    finally:
        win.close()
        win.deleteLater()


def test_media_without_a_scan_says_so_in_plain_words(qapp: QApplication, tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    win = MainWindow(ViewerState(), recent=None)
    win.show()
    try:
        outcome: list[str] = []
        win.open_failed.connect(outcome.append)
        win.open_path(tmp_path)
        wait_until(lambda: bool(outcome), 30.0, "the scan to finish")
        box = win.message_box
        assert box is not None and box.isVisible()
        assert "No 3D scan" in box.text() and "Traceback" not in box.text()
        assert win.state.volume is None
        assert "Open folder" in win.grid.slices[AXIAL].hint
        box.close()
    finally:
        win.close()
        win.deleteLater()
