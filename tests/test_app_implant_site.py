"""The implant-site tool on the phantom: click the crest in a cross-section, read the bone."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, phantom_window, settle
from PySide6.QtWidgets import QApplication, QFileDialog
from test_app_measure import click, cyan

from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.measurements import MeasurementKind, measurement_values
from cbctviewer.core.view_state import ViewKind

pytestmark = pytest.mark.gui
CORONAL, AXIAL = ViewKind.CORONAL, ViewKind.AXIAL
VOXEL = 0.4


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        yield win
        # Leave the shared case file as it was for the other GUI tests (same phantom series).
        for m in _site(win):
            win.measure.remove(m.id)


def _aim_coronal_across_the_ridge(window: MainWindow, crest: np.ndarray, buccal: np.ndarray) -> None:
    """Crosshair on the crest, coronal plane turned (about the axial normal) to the buccal direction."""
    state = window.state
    state.crosshair = crest
    x0, _ = state.view_axes(CORONAL)
    b = buccal if float(x0 @ buccal) >= 0 else -buccal
    n = state.normal(AXIAL)
    state.rotate(AXIAL, math.degrees(math.atan2(float(n @ np.cross(x0, b)), float(x0 @ b))))
    x, y = state.view_axes(CORONAL)
    # Move the crosshair lines off the segments (the plane stays the same).
    state.crosshair = crest + 12.0 * x + 3.0 * y
    settle(window)


def _site(window: MainWindow):
    mset = window.measure.measurements
    assert mset is not None
    return [m for m in mset if m.kind == MeasurementKind.IMPLANT_SITE]


def test_implant_site_on_the_phantom(
    window: MainWindow, truth: dict, phantom_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = truth["implant_site"]
    crest = np.asarray(site["crest_point"], dtype=float)
    axis = np.asarray(site["axis_direction"], dtype=float)
    _aim_coronal_across_the_ridge(window, crest, np.asarray(site["buccal_direction"], dtype=float))
    plane = window.state.plane(CORONAL)
    assert abs(float(np.asarray(plane.to_plane(crest[np.newaxis]))[0, 2])) < 1e-6  # site in the plane
    assert float(-np.asarray(plane.y_axis) @ axis) > math.cos(math.radians(2.0))  # down ≈ truth axis
    view = window.grid.slices[CORONAL]
    geometry = window.state.slice_geometry(CORONAL)
    widths = {w["depth_mm"]: w for w in site["widths"]}

    def quarter(depth: float) -> tuple[float, float]:  # between the axis and the buccal end
        w = widths[depth]
        p = 0.5 * (crest + depth * axis) + 0.5 * np.asarray(w["buccal_point"])
        return geometry.patient_to_pixel(p)

    height_probe = geometry.patient_to_pixel(crest + 10.0 * axis)
    before = grab(view)
    assert not cyan(before, *height_probe) and not any(cyan(before, *quarter(d)) for d in widths)

    window.side.measure.planned_length.setValue(26.0)
    window.actions_.tools["implant_site"].trigger()
    assert view.measure_mode
    row, col = geometry.patient_to_pixel(crest)
    click(view, row, col)
    sites = _site(window)
    assert len(sites) == 1
    values = measurement_values(sites[0])
    assert values["height_mm"] == pytest.approx(truth["bone"]["height_mm"], abs=VOXEL)
    for depth, w in widths.items():
        assert values[f"width_{depth:g}_mm"] == pytest.approx(w["width_mm"], abs=VOXEL)
    assert "inferior cortex" in sites[0].note
    assert "the planned 26 mm implant would reach within 2 mm of the inferior cortex" in sites[0].note

    row_text = next(r for r in window.side.measure.rows() if r[1] == "implant site")
    assert "height" in row_text[2] and "inferior cortex" in row_text[3]

    settle(window)
    after = grab(view)
    assert cyan(after, *height_probe)
    assert all(cyan(after, *quarter(d)) for d in widths)

    # Undo removes it from the view and the list; redo brings it back.
    window.actions_.undo.trigger()
    settle(window)
    assert _site(window) == [] and not cyan(grab(view), *height_probe)
    window.actions_.redo.trigger()
    settle(window)
    assert len(_site(window)) == 1 and cyan(grab(view), *height_probe)

    # File › Export measurements (CSV)…: suggested outside the scan's folder.
    out = tmp_path / "table.csv"
    asked: list[str] = []

    def save_name(parent, title, suggested, filters):
        asked.append(suggested)
        return str(out), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    window.actions_.export_csv.trigger()
    assert asked and not Path(asked[0]).resolve().is_relative_to(phantom_dir.resolve())
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    exported = next(r for r in rows if r["kind"] == "implant_site")
    assert float(exported["height_mm"]) == pytest.approx(values["height_mm"], abs=1e-3)
    for depth in widths:
        assert float(exported[f"width_{depth:g}_mm"]) == pytest.approx(
            values[f"width_{depth:g}_mm"], abs=1e-3
        )
    assert "inferior cortex" in exported["note"]
    window.set_measure_tool("navigate")
