"""Measuring in the main window: draw a distance on the phantom, see it, undo/redo, reopen."""

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

from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.view_state import ViewKind
from cbctviewer.io.case_file import case_path

pytestmark = pytest.mark.gui
AXIAL = ViewKind.AXIAL


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        yield win


def click(widget, row: float, col: float) -> None:
    """A left click at a fractional widget position (device-pixel ratio 1 under Xvfb)."""
    pos = QPointF(col, row)
    glob = QPointF(widget.mapToGlobal(pos))
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
        buttons = (
            Qt.MouseButton.LeftButton if kind == QEvent.Type.MouseButtonPress else Qt.MouseButton.NoButton
        )
        event = QMouseEvent(
            kind, pos, glob, Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(widget, event)


def cyan(image: np.ndarray, row: float, col: float) -> bool:
    """Whether the measurement colour (blue ≫ red, unlike grey) is near ``(row, col)``."""
    r, c = round(row), round(col)
    p = image[r - 1 : r + 2, c - 1 : c + 2].astype(int)
    return bool(((p[..., 2] - p[..., 0]) > 80).any())


def test_distance_drawn_listed_undone_and_restored(
    window: MainWindow, truth: dict, phantom_dir: Path
) -> None:
    pair = next(p for p in truth["distance_pairs"] if p["a"] == "mental_foramen_left")
    a, b = np.asarray(pair["point_a"]), np.asarray(pair["point_b"])
    assert abs(a[2] - b[2]) < 1e-6  # both on one axial slice
    # Put the axial plane through both points, crosshair lines away from the segment.
    window.state.crosshair = a + np.array([0.0, 8.0, 0.0])
    settle(window)
    view = window.grid.slices[AXIAL]
    geometry = window.state.slice_geometry(AXIAL)
    (ra, ca), (rb, cb) = (geometry.patient_to_pixel(p) for p in (a, b))
    mid = ((ra + rb) / 2, (ca + cb) / 2)
    assert not cyan(grab(view), *mid)

    window.actions_.tools["distance"].trigger()
    assert view.measure_mode
    click(view, ra, ca)
    click(view, rb, cb)
    mset = window.measure.measurements
    assert mset is not None and len(mset) == 1
    rows = window.side.measure.rows()
    assert len(rows) == 1 and rows[0][1] == "distance"
    assert float(rows[0][2].split()[0]) == pytest.approx(pair["distance_mm"], abs=0.5)
    settle(window)
    assert cyan(grab(view), *mid)
    saved = case_path(mset.identity)
    assert saved.is_file() and pair["a"] not in saved.read_text()

    window.actions_.undo.trigger()
    settle(window)
    assert window.side.measure.rows() == [] and not cyan(grab(view), *mid)
    window.actions_.redo.trigger()
    settle(window)
    assert len(window.side.measure.rows()) == 1 and cyan(grab(view), *mid)

    # Select + Delete removes it; undo brings it back.
    window.side.measure.table.selectRow(0)
    window.actions_.delete_measurement.trigger()
    assert window.side.measure.rows() == []
    window.actions_.undo.trigger()
    assert len(window.side.measure.rows()) == 1

    # Esc returns to the crosshair.
    view.setFocus()
    QApplication.processEvents()
    from PySide6.QtTest import QTest

    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not view.measure_mode and window.actions_.tools["navigate"].isChecked()

    # Close and reopen: the distance comes back from the case file.
    window.close_case()
    assert window.side.measure.rows() == []
    open_phantom(window, phantom_dir)
    assert window.side.measure.rows() == rows


def test_damaged_case_file_is_reported_and_kept_aside(window: MainWindow, phantom_dir: Path) -> None:
    mset = window.measure.measurements
    assert mset is not None
    path = case_path(mset.identity)
    window.close_case()
    path.write_text("{not json")
    open_phantom(window, phantom_dir)
    assert any("damaged" in note for note in window.banner.notes)
    assert window.side.measure.rows() == []
    assert list(path.parent.glob(path.name + ".damaged-*"))
