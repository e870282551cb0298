"""Editing measurements in the window: drag a handle, rename, measure an implant site again.

Drags go through real mouse events on a drawn handle (one undo step), labels are edited in
the table and come back from the case file, and the implant-site tool's bone threshold and
canal limit are checked against the phantom's truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, open_phantom, phantom_window, settle
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from test_app_implant_site import _aim_coronal_across_the_ridge
from test_app_measure import click
from test_app_measure_tools import move

from cbctviewer.app.main_window import MainWindow
from cbctviewer.app.panels.measure_site import site_threshold
from cbctviewer.core.implant_site import Canal
from cbctviewer.core.measurements import MeasurementKind, measurement_values
from cbctviewer.core.view_state import ViewKind

pytestmark = pytest.mark.gui
AXIAL, CORONAL = ViewKind.AXIAL, ViewKind.CORONAL
VOXEL = 0.4


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        yield win
        for m in list(win.measure.measurements or ()):  # leave the shared case file empty
            win.measure.remove(m.id)


@pytest.fixture(autouse=True)
def _empty(window: MainWindow) -> Iterator[None]:
    yield
    window.set_measure_tool("navigate")
    window.measure.canal_provider = None
    for m in list(window.measure.measurements or ()):
        window.measure.remove(m.id)


def press_drag_release(widget, start: tuple[float, float], end: tuple[float, float]) -> None:
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, (row, col), buttons in (
        (QEvent.Type.MouseButtonPress, start, left),
        (QEvent.Type.MouseMove, ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2), left),
        (QEvent.Type.MouseMove, end, left),
        (QEvent.Type.MouseButtonRelease, end, none),
    ):
        pos = QPointF(col, row)
        button = none if kind == QEvent.Type.MouseMove else left
        event = QMouseEvent(
            kind, pos, QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(widget, event)


def yellow(image: np.ndarray, row: float, col: float) -> bool:
    r, c = round(row), round(col)
    p = image[r - 1 : r + 2, c - 1 : c + 2].astype(int)
    return bool((((p[..., 0] - p[..., 2]) > 80) & (p[..., 1] > 150)).any())


def test_drag_a_handle_select_and_undo(window: MainWindow, truth: dict) -> None:
    pair = next(p for p in truth["distance_pairs"] if p["a"] == "mental_foramen_left")
    a, b = np.asarray(pair["point_a"]), np.asarray(pair["point_b"])
    window.state.crosshair = a + np.array([0.0, 8.0, 0.0])
    settle(window)
    view = window.grid.slices[AXIAL]
    geometry = window.state.slice_geometry(AXIAL)
    window.actions_.tools["distance"].trigger()
    click(view, *geometry.patient_to_pixel(a))
    click(view, *geometry.patient_to_pixel(b))
    window.set_measure_tool("navigate")
    (m,) = list(window.measure.measurements or ())
    before = measurement_values(m)["length_mm"]
    assert before == pytest.approx(pair["distance_mm"], abs=0.5)
    settle(window)
    crosshair = window.state.crosshair

    # In navigate mode a press 4 px off the end handle grabs it (instead of moving the crosshair).
    rb, cb = geometry.patient_to_pixel(b)
    direction = (b - a) / np.linalg.norm(b - a)
    shift_mm = 3.0
    target = b + shift_mm * direction
    rt, ct = geometry.patient_to_pixel(target)
    press_drag_release(view, (rb + 3, cb + 3), (rt + 3, ct + 3))
    moved = window.measure.measurements.get(m.id)  # type: ignore[union-attr]
    assert window.state.crosshair == crosshair
    assert measurement_values(moved)["length_mm"] == pytest.approx(before + shift_mm, abs=0.05)
    assert np.allclose(moved.points[0], m.points[0])
    # Grabbed = selected: in the list and drawn in the selection colour.
    assert window.measure.selected_id == m.id and window.side.measure.selected_id() == m.id
    settle(window)
    mid = geometry.patient_to_pixel(0.5 * (a + target))
    assert yellow(grab(view), *mid)

    # The whole drag is one undo step; redo moves it back again.
    window.actions_.undo.trigger()
    assert window.measure.measurements.get(m.id).points == m.points  # type: ignore[union-attr]
    assert len(window.measure.measurements or ()) == 1
    window.actions_.redo.trigger()
    assert window.measure.measurements.get(m.id).points == moved.points  # type: ignore[union-attr]

    # Selecting nothing in the list takes the highlight off the view.
    window.side.measure.table.clearSelection()
    assert window.measure.selected_id is None
    settle(window)
    assert not yellow(grab(view), *mid)


def test_hover_over_handle_and_drag_in_measure_mode(window: MainWindow, truth: dict) -> None:
    a = np.asarray(truth["implant"]["shoulder"], dtype=float) + np.array([0.0, 0.0, -5.0])
    b = a + np.array([6.0, 0.0, 0.0])
    window.state.crosshair = a + np.array([0.0, 8.0, 0.0])
    settle(window)
    view = window.grid.slices[AXIAL]
    geometry = window.state.slice_geometry(AXIAL)
    window.actions_.tools["profile"].trigger()
    click(view, *geometry.patient_to_pixel(a))
    click(view, *geometry.patient_to_pixel(b))
    settle(window)
    ra, ca = geometry.patient_to_pixel(a)
    move(view, ra + 2, ca)
    assert view.cursor().shape() == Qt.CursorShape.SizeAllCursor
    # With the tool still on, a press on a handle drags it rather than starting a new profile.
    shifted = a + np.array([0.0, -2.0, 0.0])
    press_drag_release(view, (ra, ca), geometry.patient_to_pixel(shifted))
    (m,) = list(window.measure.measurements or ())
    assert np.allclose(m.points[0], shifted, atol=1e-6) and window.measure.pending == []


def test_relabel_is_undoable_and_saved(window: MainWindow, phantom_dir: Path) -> None:
    window.state.crosshair = window.state.volume_centre()
    settle(window)
    view = window.grid.slices[AXIAL]
    window.actions_.tools["point"].trigger()
    click(view, 100, 100)
    (m,) = list(window.measure.measurements or ())
    table = window.side.measure.table
    table.item(0, 0).setText("Crest of 46")  # what the editor writes back after a double-click
    assert window.measure.measurements.get(m.id).label == "Crest of 46"  # type: ignore[union-attr]
    assert window.side.measure.rows()[0][0] == "Crest of 46"
    window.actions_.undo.trigger()
    assert window.side.measure.rows()[0][0] == m.label
    window.actions_.redo.trigger()
    assert table.editTriggers() & table.EditTrigger.DoubleClicked
    window.close_case()
    open_phantom(window, phantom_dir)
    assert [r[0] for r in window.side.measure.rows()] == ["Crest of 46"]


def _site(window: MainWindow):
    return [m for m in window.measure.measurements or () if m.kind == MeasurementKind.IMPLANT_SITE]


def _click_crest(window: MainWindow, truth: dict) -> None:
    site = truth["implant_site"]
    crest = np.asarray(site["crest_point"], dtype=float)
    _aim_coronal_across_the_ridge(window, crest, np.asarray(site["buccal_direction"], dtype=float))
    window.actions_.tools["implant_site"].trigger()
    click(window.grid.slices[CORONAL], *window.state.slice_geometry(CORONAL).patient_to_pixel(crest))


def test_implant_threshold_shown_edited_and_measured_again(window: MainWindow, truth: dict) -> None:
    panel = window.side.measure
    _click_crest(window, truth)
    (site,) = _site(window)
    used = site_threshold(site)
    assert used is not None and used[1]  # estimated
    levels = truth["image"]["grey_levels"]
    assert levels["marrow"] < used[0] < levels["cortical"]
    height = measurement_values(site)["height_mm"]
    assert height == pytest.approx(truth["bone"]["height_mm"], abs=VOXEL)
    panel.table.selectRow(0)
    assert panel.threshold.value() == pytest.approx(used[0], abs=0.5)
    assert panel.remeasure.isEnabled() and not panel.threshold.isEnabled()

    # Above the cortical level nothing along the axis counts as bone: the site is refused.
    panel.threshold_auto.setChecked(False)
    panel.threshold.setValue(levels["cortical"] + 300)
    panel.remeasure.click()
    assert measurement_values(window.measure.measurements.get(site.id))["height_mm"] == height  # type: ignore[union-attr]
    # Just below the cortical level: the profile leaves "bone" at the inner edge of the cortex.
    panel.threshold.setValue(levels["cortical"] - 100)
    panel.remeasure.click()
    again = window.measure.measurements.get(site.id)  # type: ignore[union-attr]
    assert site_threshold(again) == (levels["cortical"] - 100, False)
    assert measurement_values(again)["height_mm"] < height - 0.1
    assert again.label == site.label and "set by hand" in panel.rows()[0][3]
    window.actions_.undo.trigger()
    assert window.measure.measurements.get(site.id) == site  # type: ignore[union-attr]
    panel.threshold_auto.setChecked(True)


def test_traced_canal_limits_the_implant_site(window: MainWindow, truth: dict) -> None:
    canals = truth["canals"]
    canal = Canal.from_points(canals["right"]["points"], canals["radius_mm"])
    asked: list[np.ndarray] = []

    def nearest_canal(point: np.ndarray) -> Canal:
        asked.append(point)
        return canal

    window.measure.canal_provider = nearest_canal
    _click_crest(window, truth)
    (site,) = _site(window)
    site_truth = truth["implant_site"]
    assert np.allclose(asked[0], site_truth["crest_point"], atol=0.05)
    height = measurement_values(site)["height_mm"]
    assert height == pytest.approx(site_truth["bone_height_to_canal_mm"], abs=VOXEL)
    margin = window.measure.safety_margin_mm
    assert "limit: the nerve canal" in site.note
    assert f"safe length {height - margin:.1f} mm (keeping {margin:g} mm from the canal)" in site.note
    notes = window.side.measure.rows()[0][3]
    assert f"canal surface {height:.1f} mm below the crest" in notes
