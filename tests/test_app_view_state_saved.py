"""The view state is saved with the case (debounced) and comes back when the series reopens;
other features keep their own sections in the same case file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import open_phantom, phantom_window, settle, wait_until
from PySide6.QtWidgets import QApplication

import cbctviewer.app.measuring as measuring
from cbctviewer.app.main_window import MainWindow
from cbctviewer.app.views.grid import Layout
from cbctviewer.core.view_state import SlabMode, ViewKind
from cbctviewer.core.window_level import WindowLevel
from cbctviewer.io.case_file import case_path

pytestmark = pytest.mark.gui
AXIAL, CORONAL, SAGITTAL = ViewKind.AXIAL, ViewKind.CORONAL, ViewKind.SAGITTAL


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        yield win
        win.state.reset_views()  # the other GUI tests expect the default view of the phantom
        win.grid.set_layout(Layout.GRID)
        win.measure.save()


def test_view_state_saved_after_a_pause_and_restored(
    window: MainWindow, phantom_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[float] = []
    real_save = measuring.save_case

    def counting_save(*args, **kwargs):
        saves.append(time.monotonic())
        return real_save(*args, **kwargs)

    monkeypatch.setattr(measuring, "save_case", counting_save)
    state = window.state
    crosshair = np.asarray(state.crosshair) + np.array([4.0, -3.0, 6.0])
    started = time.monotonic()
    for step in np.linspace(0.0, 1.0, 20):  # a drag: many small changes, one save afterwards
        state.crosshair = np.asarray(state.crosshair) * (1 - step) + crosshair * step
    state.rotate(AXIAL, 20.0)
    state.views[CORONAL].zoom = 2.5
    state.views[CORONAL].pan = (3.0, -2.0)
    state.views[SAGITTAL].slab_thickness = 6.0
    state.views[SAGITTAL].slab_mode = SlabMode.MEAN
    state.window_level = WindowLevel(900.0, 2500.0)
    window.grid.set_layout(Layout.ONE_PLUS_THREE)
    assert saves == []
    wait_until(lambda: bool(saves), 10.0, "the view state to be saved")
    # Qt coarse timers may fire up to 5 % early.
    assert len(saves) == 1 and saves[0] - started >= 0.9 * measuring.SAVE_DELAY_MS / 1000
    mset = window.measure.measurements
    assert mset is not None
    saved = json.loads(case_path(mset.identity).read_text())["view_state"]
    assert saved["crosshair"] == pytest.approx(list(state.crosshair))

    expected = {
        "crosshair": np.asarray(state.crosshair),
        "axes": state.axes,
        "roll": state.roll(AXIAL),
        "window": state.window_level,
    }
    window.close_case()
    open_phantom(window, phantom_dir)
    assert np.allclose(state.crosshair, expected["crosshair"], atol=1e-6)
    assert np.allclose(state.axes, expected["axes"], atol=1e-6)
    assert state.roll(AXIAL) == pytest.approx(expected["roll"])
    assert state.window_level == expected["window"]
    assert state.views[CORONAL].zoom == pytest.approx(2.5)
    assert state.views[CORONAL].pan == pytest.approx((3.0, -2.0))
    assert state.views[SAGITTAL].slab_thickness == pytest.approx(6.0)
    assert state.views[SAGITTAL].slab_mode == SlabMode.MEAN
    assert window.grid.layout_mode == Layout.ONE_PLUS_THREE
    settle(window)


def test_close_writes_a_pending_save_at_once(window: MainWindow, phantom_dir: Path) -> None:
    mset = window.measure.measurements
    assert mset is not None
    path = case_path(mset.identity)
    window.state.views[AXIAL].zoom = 3.25
    window.close_case()  # before the delay: written now, not lost
    assert json.loads(path.read_text())["view_state"]["views"]["axial"]["zoom"] == pytest.approx(3.25)
    open_phantom(window, phantom_dir)
    assert window.state.views[AXIAL].zoom == pytest.approx(3.25)


def test_sections_of_other_features(window: MainWindow, phantom_dir: Path) -> None:
    kept = {"arch": [[1.0, 2.0, 3.0]], "version": 1}
    restored: list[object] = []
    window.measure.register_section("test_feature", lambda: dict(kept), restored.append)
    window.measure.register_section("broken_feature", lambda: 1 / 0, restored.append)  # type: ignore[arg-type,return-value]
    window.measure.request_save()
    window.measure.flush()
    window.close_case()
    open_phantom(window, phantom_dir)
    assert restored[0] == kept
    assert restored[1] is None  # nothing was saved for the broken one: restored with None
    # A feature not installed in a run keeps its saved section through that run's saves.
    window.measure.unregister_section("test_feature")
    window.measure.request_save()
    window.measure.flush()
    window.close_case()
    window.measure.register_section("test_feature", lambda: None, restored.append)
    open_phantom(window, phantom_dir)
    assert restored[-1] == kept
    window.measure.unregister_section("test_feature")
    window.measure.unregister_section("broken_feature")
