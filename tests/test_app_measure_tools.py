"""The polyline, polygon, ellipse and line-profile tools, drawn with the mouse on the phantom.

The axial slice 5 mm below the implant's shoulder cuts the titanium implant (diameter
from the phantom's truth) in a circle: ROIs placed on it must have its area and its grey
values, and a profile across it must show the bright plateau where the truth puts it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, phantom_window, settle
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_app_measure import click, cyan

from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.measure_values import line_profile
from cbctviewer.core.measurements import MeasurementKind, measurement_values
from cbctviewer.core.view_state import ViewKind

pytestmark = pytest.mark.gui
AXIAL = ViewKind.AXIAL
#: Zoom of the axial view: about 0.05 mm per screen pixel, as a user would zoom to measure.
ZOOM = 4.0


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        yield win
        mset = win.measure.measurements  # leave the shared case file as the other tests expect
        for m in list(mset or ()):
            win.measure.remove(m.id)
        win.state.views[AXIAL].zoom, win.state.views[AXIAL].pan = 1.0, (0.0, 0.0)


@pytest.fixture()
def implant(window: MainWindow, truth: dict) -> Iterator[tuple[np.ndarray, float]]:
    """The implant's centre on the axial slice 5 mm below its shoulder, and its radius; view aimed."""
    shoulder = np.asarray(truth["implant"]["shoulder"], dtype=float)
    centre = shoulder + 5.0 * np.asarray(truth["implant"]["direction"], dtype=float)
    state = window.state
    state.crosshair = centre + np.array([6.0, 6.0, 0.0])  # crosshair lines clear of the implant
    view = state.views[AXIAL]
    view.zoom = ZOOM
    view.pan = (0.0, 0.0)
    geometry = state.slice_geometry(AXIAL)
    row, col = geometry.patient_to_pixel(centre)
    state.pan_by(AXIAL, rows=view.viewport[1] / 2 - row, cols=view.viewport[0] / 2 - col)
    settle(window)
    yield centre, truth["implant"]["diameter_mm"] / 2
    window.set_measure_tool("navigate")
    for m in list(window.measure.measurements or ()):
        window.measure.remove(m.id)
    settle(window)


def pixel(window: MainWindow, point: np.ndarray) -> tuple[float, float]:
    row, col = window.state.slice_geometry(AXIAL).patient_to_pixel(point)
    return float(row), float(col)


def move(widget, row: float, col: float, buttons=Qt.MouseButton.NoButton) -> None:
    pos = QPointF(col, row)
    event = QMouseEvent(
        QEvent.Type.MouseMove, pos, QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.NoButton, buttons,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def double_click(widget, row: float, col: float) -> None:
    """What Qt delivers for a double-click: press, release, double-click, release."""
    click(widget, row, col)
    pos = QPointF(col, row)
    glob = QPointF(widget.mapToGlobal(pos))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonDblClick, left), (QEvent.Type.MouseButtonRelease, none)):
        event = QMouseEvent(kind, pos, glob, left, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)


def green(image: np.ndarray, row: float, col: float) -> bool:
    """Whether the rubber-band colour (green ≫ red and blue) is near ``(row, col)``."""
    r, c = round(row), round(col)
    p = image[r - 1 : r + 2, c - 1 : c + 2].astype(int)
    return bool((((p[..., 1] - p[..., 0]) > 60) & ((p[..., 1] - p[..., 2]) > 60)).any())


def on_circle(image: np.ndarray, window: MainWindow, centre: np.ndarray, radius: float) -> float:
    """The share of points around a circle (patient mm) where the measurement colour shows."""
    points = circle(centre, radius, 90)
    return sum(cyan(image, *pixel(window, p)) for p in points) / len(points)


def circle(centre: np.ndarray, radius: float, n: int) -> list[np.ndarray]:
    angles = 2 * np.pi * np.arange(n) / n
    return [centre + radius * np.array([math.cos(a), math.sin(a), 0.0]) for a in angles]


def test_polygon_roi_on_the_implant_with_rubber_band(window: MainWindow, implant, truth: dict) -> None:
    centre, radius = implant
    view = window.grid.slices[AXIAL]
    corners = circle(centre, radius, 32)
    window.actions_.tools["polygon"].trigger()
    for p in corners[:2]:
        click(view, *pixel(window, p))
    # The rubber band follows the cursor from the last click.
    far = centre + np.array([0.0, -1.5 * radius, 0.0])
    before = on_circle(grab(view), window, centre, radius)
    move(view, *pixel(window, far))
    settle(window)
    halfway = pixel(window, 0.5 * (corners[1] + far))
    assert green(grab(view), *halfway)
    for p in corners[2:]:
        click(view, *pixel(window, p))
    assert len(window.measure.measurements or ()) == 0  # still drawing
    QTest.keyClick(view, Qt.Key.Key_Return)
    (roi,) = list(window.measure.measurements or ())
    assert roi.kind == MeasurementKind.POLYGON and len(roi.points) == 32
    values = measurement_values(roi, window.measure.volume)
    true_area = math.pi * radius**2
    assert values["area_mm2"] == pytest.approx(true_area, rel=0.02)
    levels = truth["image"]["grey_levels"]
    clipped_titanium = min(levels["titanium"], truth["image"]["value_range"][1])
    assert values["mean"] > 0.5 * (levels["cortical"] + clipped_titanium)
    assert values["max"] == pytest.approx(clipped_titanium, abs=1.0)
    row = window.side.measure.rows()[0]
    assert row[1] == "polygon" and float(row[2].split()[0]) == pytest.approx(true_area, rel=0.02)
    assert f"mean {values['mean']:.0f}" in row[3] and f"max {values['max']:.0f}" in row[3]
    settle(window)
    image = grab(view)
    # Drawn along the implant's edge (between the orange handles), and no rubber band left.
    assert before < 0.05 and on_circle(image, window, centre, radius) > 0.3
    assert not green(image, *halfway)


def test_ellipse_roi_and_polyline(window: MainWindow, implant) -> None:
    centre, radius = implant
    view = window.grid.slices[AXIAL]
    window.actions_.tools["ellipse"].trigger()
    for p in (centre, centre + np.array([radius, 0, 0]), centre + np.array([0.3 * radius, radius, 0])):
        click(view, *pixel(window, p))
    (ellipse,) = list(window.measure.measurements or ())
    values = measurement_values(ellipse, window.measure.volume)
    assert ellipse.kind == MeasurementKind.ELLIPSE
    assert values["area_mm2"] == pytest.approx(math.pi * radius**2, rel=0.02)
    settle(window)
    assert on_circle(grab(view), window, centre, radius) > 0.8  # the outline, on the implant's edge

    # A polyline over three points, ended by a double-click on the last.
    window.actions_.tools["polyline"].trigger()
    path = [centre + np.array([-4, -4, 0]), centre + np.array([-4, 4, 0]), centre + np.array([4, 4, 0])]
    for p in path[:-1]:
        click(view, *pixel(window, p))
    double_click(view, *pixel(window, path[-1]))
    line = next(m for m in window.measure.measurements or () if m.kind == MeasurementKind.POLYLINE)
    assert len(line.points) == 3
    assert measurement_values(line)["length_mm"] == pytest.approx(16.0, abs=0.05)
    assert window.measure.pending == []
    # Esc while drawing drops the drawing but keeps the tool; a second Esc leaves it.
    click(view, *pixel(window, centre + np.array([-5, 0, 0])))
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert window.measure.pending == [] and view.measure_mode
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not view.measure_mode


def test_line_profile_plotted_across_the_implant(window: MainWindow, implant) -> None:
    centre, radius = implant
    view = window.grid.slices[AXIAL]
    start, end = centre + np.array([-2.5 * radius, 0, 0]), centre + np.array([2.5 * radius, 0, 0])
    window.actions_.tools["profile"].trigger()
    click(view, *pixel(window, start))
    click(view, *pixel(window, end))
    (profile_m,) = list(window.measure.measurements or ())
    assert profile_m.kind == MeasurementKind.PROFILE
    volume = window.measure.volume
    assert volume is not None
    profile = line_profile(volume, profile_m.points[0], profile_m.points[1])
    # The plateau above half-way between the surroundings and the titanium: where the truth puts it.
    level = 0.5 * (np.median(profile.values[:10]) + profile.values.max())
    bright = profile.positions[profile.values > level]
    length = float(np.linalg.norm(end - start))
    assert bright.min() == pytest.approx(length / 2 - radius, abs=0.3)
    assert bright.max() == pytest.approx(length / 2 + radius, abs=0.3)

    panel = window.side.measure
    assert not panel.profile.isVisible()
    panel.table.selectRow(0)
    assert window.measure.selected_id == profile_m.id
    assert panel.profile.isVisible()
    window.side.ensureWidgetVisible(panel.profile)
    settle(window)
    plot = grab(panel.profile)
    mid = int(np.argmin(np.abs(profile.positions - length / 2)))
    on_plateau = panel.profile.to_pixel(profile.positions[mid], profile.values[mid])
    below = panel.profile.to_pixel(profile.positions[mid], float(np.median(profile.values[:10])))
    shoulder = panel.profile.to_pixel(profile.positions[5], profile.values[5])
    assert cyan(plot, on_plateau.y(), on_plateau.x())
    assert cyan(plot, shoulder.y(), shoulder.x())
    assert not cyan(plot, below.y(), below.x())
    # Selected in the list: drawn in the selection colour (yellow, not cyan) in the view.
    settle(window)
    on_line = pixel(window, centre + np.array([-1.8 * radius, 0, 0]))
    image = grab(view)
    r, c = round(on_line[0]), round(on_line[1])
    patch = image[r - 1 : r + 2, c - 1 : c + 2].astype(int)
    assert (((patch[..., 0] - patch[..., 2]) > 80) & (patch[..., 1] > 150)).any()
    assert not cyan(image, *on_line)
