"""Editing in the dental views with the mouse, checked against the phantom and the screen.

Measurements on the panoramic that follow the surface (polyline, angle as drawn), the
rubber band while drawing, dragging measurement handles, canal points and implants in
the panoramic, the cross-sections and the axial view (each drag one undo step), deleting
and inserting canal points, the strip's ticks at the ends of the arch, and the first
panoramic's height covering the canal and the jaw's border. One window for the module;
the arch is the phantom's own (``phantom_truth.json``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, phantom_window, wait_until
from dental_support import RIGHT, click, current_section_at, drag, full_panoramic, hover, mouse, pump
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QCursor, QKeyEvent
from PySide6.QtWidgets import QApplication

from cbctviewer.app.dental.handles import canal_insert_index
from cbctviewer.app.dental.panoramic_measure import PANORAMIC_NOTE, pixel_size
from cbctviewer.app.dental.workspace import DentalWorkspace
from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.canal import CanalPath
from cbctviewer.core.measurements import MeasurementKind, angle_deg
from cbctviewer.core.virtual_implant import VirtualImplant

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        win.dental.toggle_action.trigger()  # type: ignore[attr-defined]
        yield win


@pytest.fixture(scope="module")
def ws(window: MainWindow, truth: dict) -> DentalWorkspace:
    workspace: DentalWorkspace = window.dental  # type: ignore[attr-defined]
    polyline = np.asarray(truth["arch"]["polyline"])
    workspace.set_axial_height(float(polyline[0, 2]))
    picks = polyline[np.linspace(0, len(polyline) - 1, 11).round().astype(int)]
    workspace.dental.arch = ArchCurve(picks, workspace.axial.up)
    full_panoramic(workspace)
    return workspace


def coloured(pixels: np.ndarray, pos: QPointF, test, radius: int = 2) -> bool:
    r, c = round(pos.y()), round(pos.x())
    patch = pixels[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1].astype(int)
    return bool(test(patch[..., 0], patch[..., 1], patch[..., 2]).any())


def measure_blue(r, g, b):  # the measurement colour (40, 200, 255)
    return (b - r > 120) & (g > 140)


def canal_yellow(r, g, b):  # "#ffd21f"
    return (r > 200) & (g > 170) & (b < 110)


def implant_blue(r, g, b):  # "#3fd0ff"
    return (b - r > 120) & (g > 150)


def crest_row(ws: DentalWorkspace, height_mm: float = 0.0) -> float:
    heights = np.asarray(ws.panoramic_image.heights_mm)
    return float(np.interp(height_mm, heights[::-1], np.arange(len(heights))[::-1]))


# ----------------------------------------------------------------------------- pure helpers


def test_canal_insert_index_grows_the_trace_least() -> None:
    points = np.array([[0.0, 0, 0], [10, 0, 0], [20, 0, 0]])
    assert canal_insert_index(points, [30.0, 0, 0]) is None  # beyond the last: appended
    assert canal_insert_index(points, [-5.0, 0, 0]) == 0  # before the first
    assert canal_insert_index(points, [14.0, 1.0, 0]) == 2  # between the 2nd and 3rd
    assert canal_insert_index(points[:1], [5.0, 0, 0]) is None


# ----------------------------------------------------------------------------- the first panoramic


def test_first_panoramic_reaches_the_canal_and_the_lower_border(ws: DentalWorkspace, truth: dict) -> None:
    plane = ws.dental.arch.plane_height
    heights = np.asarray(ws.panoramic_image.heights_mm) + plane
    for z in (truth["canals"]["z_axis_baseline"], truth["bone"]["inferior_border_z_baseline"]):
        assert heights.min() < z < heights.max()
    teeth = [t["occlusal_center"][2] for t in truth["teeth"] if t["present"]]
    assert heights.max() > max(teeth)


def test_canal_shows_at_its_height_on_the_panoramic_and_never_on_its_edge(
    ws: DentalWorkspace, truth: dict
) -> None:
    arch = ws.dental.arch
    centreline = np.asarray(truth["canals"]["left"]["points"])
    inside = centreline[[1.0 < arch.locate(p)[0] < arch.length_mm - 1.0 for p in centreline]]
    ws.dental.set_canal("left", CanalPath("left", inside[:: max(1, len(inside) // 6)], 2.0))
    pump(0.2)
    view = ws.panoramic_view
    pixels = grab(view)
    middle = inside[len(inside) // 2]
    s = arch.locate(middle)[0]
    row = crest_row(ws, float(middle[2] - arch.plane_height))
    assert coloured(pixels, view.image_to_widget(row, view.col_of(s)), canal_yellow)
    # A band that leaves the canal out: nothing of it is squeezed onto the bottom edge.
    spec = ws.dental.panoramic
    ws.dental.panoramic = type(spec)(height_mm=20.0, centre_height_mm=0.0, step_mm=spec.step_mm)
    full_panoramic(ws)
    pixels = grab(view)
    rows = ws.panoramic_image.pixels.shape[0]
    bottom = [
        view.image_to_widget(rows - 1.0, view.col_of(s)) for s in np.linspace(5, arch.length_mm - 5, 40)
    ]
    assert not any(coloured(pixels, p, canal_yellow, radius=1) for p in bottom)
    ws.dental.panoramic = spec
    full_panoramic(ws)


# ----------------------------------------------------------------------------- panoramic measuring


def test_polyline_on_the_panoramic_follows_the_surface_with_a_rubber_band(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    view, image = ws.panoramic_view, ws.panoramic_image
    row = crest_row(ws)
    last = len(image.s_mm) - 1.0
    window.set_measure_tool("polyline")
    click(view, view.image_to_widget(row, 0.0))
    click(view, view.image_to_widget(row - 40, last / 2))
    cursor = view.image_to_widget(row, last * 0.8)
    hover(view, cursor)
    pump(0.1)
    pixels = grab(view)
    between = view.image_to_widget(row - 20, last * 0.65)  # on the band to the cursor
    assert coloured(pixels, between, measure_blue)
    end = view.image_to_widget(row, last)
    click(view, end)
    mouse(view, QEvent.Type.MouseButtonDblClick, end)
    mouse(view, QEvent.Type.MouseButtonRelease, end)
    window.set_measure_tool("navigate")
    (line,) = [m for m in window.measure.measurements if m.kind == MeasurementKind.POLYLINE]
    assert line.note == PANORAMIC_NOTE
    length = float(np.sum(np.linalg.norm(np.diff(line.array, axis=0), axis=1)))
    # Two straight strokes on the unrolled surface: the arc length and 8 mm up and down.
    rise = 40 * pixel_size(image)[1]
    expected = 2 * math.hypot(truth["arch"]["arc_length_mm"] / 2, rise)
    assert length == pytest.approx(expected, rel=0.01)
    assert len(line.points) > 100  # the surface path, not three chords
    window.measure.remove(line.id)


def test_angle_on_the_panoramic_is_the_angle_drawn(window: MainWindow, ws: DentalWorkspace) -> None:
    view, image = ws.panoramic_view, ws.panoramic_image
    dx, dy = pixel_size(image)
    row, col = crest_row(ws, -5.0), len(image.s_mm) * 0.3
    window.set_measure_tool("angle")
    for r, c in ((row - 12.0 / dy, col), (row, col), (row - 6.0 / dy, col + 9.0 / dx)):
        click(view, view.image_to_widget(r, c))
    window.set_measure_tool("navigate")
    (angle,) = [m for m in window.measure.measurements if m.kind == MeasurementKind.ANGLE]
    drawn = math.degrees(math.atan2(9.0, 6.0))  # vertical arm vs the arm 9 mm along, 6 mm up
    assert angle_deg(*angle.array) == pytest.approx(drawn, abs=0.3)
    window.measure.remove(angle.id)


def test_dragging_the_end_of_a_panoramic_distance_is_one_undo_step(
    window: MainWindow, ws: DentalWorkspace
) -> None:
    view, image = ws.panoramic_view, ws.panoramic_image
    dx, _ = pixel_size(image)
    row = crest_row(ws)
    a, b = view.image_to_widget(row, 50.0), view.image_to_widget(row, 50.0 + 20.0 / dx)
    window.set_measure_tool("distance")
    click(view, a)
    click(view, b)
    window.set_measure_tool("navigate")
    mset = window.measure.measurements
    (line,) = [m for m in mset if m.note == PANORAMIC_NOTE]
    assert float(np.sum(np.linalg.norm(np.diff(line.array, axis=0), axis=1))) == pytest.approx(20.0, abs=0.1)
    per_mm = view.widget_per_mm()
    drag(view, b, b + QPointF(10.0 * per_mm, 0.0))
    moved = mset.get(line.id)
    assert float(np.sum(np.linalg.norm(np.diff(moved.array, axis=0), axis=1))) == pytest.approx(30.0, abs=0.3)
    pump(0.1)
    assert coloured(grab(view), b + QPointF(5.0 * per_mm, 0.0), measure_blue)
    mset.undo()
    assert mset.get(line.id) == line
    view.vertices.clear()  # as after reopening the case: the stroke is found from the path itself
    drag(view, b, b + QPointF(-5.0 * per_mm, 0.0))
    shorter = mset.get(line.id)
    assert float(np.sum(np.linalg.norm(np.diff(shorter.array, axis=0), axis=1))) == pytest.approx(
        15.0, abs=0.3
    )
    mset.remove(line.id)


# ----------------------------------------------------------------------------- cross-sections


def test_distance_on_a_section_shows_its_band_and_its_handle_drags(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    crest = np.asarray(truth["implant_site"]["crest_point"])
    section = current_section_at(ws, ws.dental.arch.locate(crest)[0])
    x_axis = np.asarray(section.geometry_.plane.x_axis)
    start = section.widget_of(crest - np.array([0, 0, 3.0]))
    window.set_measure_tool("distance")
    click(section, start)
    cursor = start + QPointF(60.0, 0.0)
    hover(section, cursor)
    pump(0.1)
    assert coloured(grab(section), start + QPointF(30.0, 0.0), measure_blue)
    click(section, cursor)
    window.set_measure_tool("navigate")
    mset = window.measure.measurements
    (distance,) = [m for m in mset if m.kind == MeasurementKind.DISTANCE]
    before = distance.array
    per_mm = section.widget_per_mm()
    drag(section, cursor, cursor + QPointF(5.0 * per_mm, 0.0))
    after = mset.get(distance.id).array
    assert after[0] == pytest.approx(before[0])
    assert after[1] - before[1] == pytest.approx(5.0 * x_axis, abs=0.05)
    mset.undo()
    assert mset.get(distance.id).array == pytest.approx(before)
    mset.remove(distance.id)


def test_implant_dragged_and_tilted_in_a_section(ws: DentalWorkspace, truth: dict) -> None:
    crest = np.asarray(truth["implant"]["shoulder"])
    section = current_section_at(ws, ws.dental.arch.locate(crest)[0])
    plane = section.geometry_.plane
    implant = ws.dental.add_implant(VirtualImplant.placed_on(plane, crest, 4.0, 10.0))
    pump(0.1)
    per_mm = section.widget_per_mm()
    x_axis = np.asarray(plane.x_axis)
    shoulder = section.widget_of(np.asarray(implant.shoulder))
    drag(section, shoulder, shoulder + QPointF(2.0 * per_mm, 0.0))
    moved = ws.dental.implants[implant.id]
    assert np.asarray(moved.shoulder) - np.asarray(implant.shoulder) == pytest.approx(2.0 * x_axis, abs=0.05)
    assert moved.direction == pytest.approx(implant.direction)
    apex = section.widget_of(np.asarray(moved.apex))
    drag(section, apex, apex + QPointF(3.0 * per_mm, 0.0))
    tilted = ws.dental.implants[implant.id]
    assert tilted.shoulder == pytest.approx(moved.shoulder)
    assert tilted.length_mm == moved.length_mm
    tilt = math.degrees(math.acos(float(np.dot(tilted.direction, moved.direction))))
    assert tilt == pytest.approx(math.degrees(math.atan2(3.0, 10.0)), abs=0.5)
    pump(0.15)
    new_apex = section.widget_of(np.asarray(tilted.apex))
    assert coloured(grab(section), new_apex, implant_blue)
    ws.dental.undo()
    assert ws.dental.implants[implant.id] == moved  # the tilt was one step
    ws.dental.undo()
    assert ws.dental.implants[implant.id] == implant
    ws.dental.remove_implant(implant.id)


# ----------------------------------------------------------------------------- canal points


def test_canal_points_drag_on_the_panoramic_and_the_axial_view_and_delete(
    ws: DentalWorkspace, truth: dict
) -> None:
    canal = ws.dental.canals["left"]
    arch = ws.dental.arch
    view = ws.panoramic_view
    pump(0.1)
    i = len(canal.points) // 2
    point = np.asarray(canal.points[i])
    s, offset, _ = arch.locate(point)
    handle = view.image_to_widget(*(view.pixels_of(point[None])[0]))
    per_mm = view.widget_per_mm()
    drag(view, handle, handle + QPointF(0.0, -3.0 * per_mm))  # 3 mm up on the panoramic
    moved = np.asarray(ws.dental.canals["left"].points[i])
    s2, offset2, _ = arch.locate(moved)
    assert moved[2] - point[2] == pytest.approx(3.0, abs=0.1)
    assert (s2, offset2) == pytest.approx((s, offset), abs=0.1)  # along the arch and depth kept
    ws.dental.undo()
    assert ws.dental.canals["left"] == canal
    axial = ws.axial
    ws.set_axial_height(float(point[2]))
    pump(0.1)
    at = axial.widget_point(point)
    drag(axial, at, at + QPointF(2.0 * axial.widget_per_mm(), 0.0))
    moved = np.asarray(ws.dental.canals["left"].points[i])
    assert moved[2] == pytest.approx(point[2])  # the height is kept
    assert float(np.linalg.norm(moved - point)) == pytest.approx(2.0, abs=0.1)
    ws.dental.undo()
    click(axial, at, RIGHT)
    assert len(ws.dental.canals["left"].points) == len(canal.points) - 1
    ws.dental.undo()
    assert ws.dental.canals["left"] == canal


def test_canal_click_between_points_inserts_and_right_click_on_a_section_deletes(
    ws: DentalWorkspace, truth: dict
) -> None:
    canal = ws.dental.canals["left"]
    arch = ws.dental.arch
    centreline = np.asarray(truth["canals"]["left"]["points"])
    a, b = np.asarray(canal.points[1]), np.asarray(canal.points[2])
    sa, sb = arch.locate(a)[0], arch.locate(b)[0]
    between = centreline[np.argmin([abs(arch.locate(p)[0] - (sa + sb) / 2) for p in centreline])]
    section = current_section_at(ws, arch.locate(between)[0])
    ws.tool_actions["canal_left"].trigger()
    click(section, section.widget_of(between))
    ws.tool_actions["navigate"].trigger()
    traced = ws.dental.canals["left"]
    assert len(traced.points) == len(canal.points) + 1
    assert np.asarray(traced.points[2]) == pytest.approx(between, abs=0.3)  # between points 1 and 2
    pump(0.1)
    click(section, section.widget_of(np.asarray(traced.points[2])), RIGHT)
    assert ws.dental.canals["left"] == canal


# ----------------------------------------------------------------------------- strip ends


@pytest.mark.parametrize("where", ["start", "end"])
def test_ticks_at_the_arch_ends_mark_the_sections_shown(ws: DentalWorkspace, where: str) -> None:
    arch = ws.dental.arch
    s = 0.0 if where == "start" else arch.length_mm
    ws.controls.follow_state()
    ws.dental.cross_section_interval_mm = 2.0
    section = current_section_at(ws, s)
    shown = [v.s_mm for v in ws.strip.views]
    assert shown == pytest.approx(ws.section_positions())
    assert section.s_mm == pytest.approx(s)
    assert len(set(np.round(shown, 6))) == len(shown)  # distinct, all on the arch
    assert min(shown) >= 0.0 and max(shown) <= arch.length_mm
    view = ws.panoramic_view
    pixels = grab(view)
    top = view.image_to_widget(-0.5, 0.0).y()
    for position in shown:
        x = view.image_to_widget(0.0, view.col_of(position)).x()
        tick = QPointF(min(x, view.width() - 1.0), top + 4.0)
        if position == pytest.approx(s):  # the dashed marker runs over its tick
            assert coloured(pixels, tick, lambda r, g, b: (g > 200) & (r < 120), radius=1)
        else:
            assert coloured(pixels, tick, lambda r, g, b: (b > 100) & (b - r > 60), radius=1), position
    ws.dental.cross_section_interval_mm = 1.0


def test_del_removes_the_canal_point_under_the_cursor(ws: DentalWorkspace) -> None:
    canal = ws.dental.canals["left"]
    view = ws.panoramic_view
    point = np.asarray(canal.points[1])
    at = view.image_to_widget(*(view.pixels_of(point[None])[0]))
    QCursor.setPos(view.mapToGlobal(at.toPoint()))
    wait_until(
        lambda: (view.mapFromGlobal(QCursor.pos()) - at.toPoint()).manhattanLength() <= 1, 5.0, "the cursor"
    )
    QApplication.sendEvent(
        view, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier)
    )
    assert len(ws.dental.canals["left"].points) == len(canal.points) - 1
    ws.dental.undo()
    assert ws.dental.canals["left"] == canal


def test_polygon_on_a_section_is_finished_by_a_double_click(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    crest = np.asarray(truth["implant_site"]["crest_point"])
    section = current_section_at(ws, ws.dental.arch.locate(crest)[0])
    centre = section.widget_of(crest - np.array([0, 0, 6.0]))
    corners = [centre + QPointF(dx, dy) for dx, dy in ((-12, -12), (12, -12), (12, 12), (-12, 12))]
    window.set_measure_tool("polygon")
    for corner in corners:
        click(section, corner)
    mouse(section, QEvent.Type.MouseButtonDblClick, corners[-1])
    mouse(section, QEvent.Type.MouseButtonRelease, corners[-1])
    window.set_measure_tool("navigate")
    (polygon,) = [m for m in window.measure.measurements if m.kind == MeasurementKind.POLYGON]
    assert len(polygon.points) == 4
    assert polygon.plane is not None
    assert np.abs(section.geometry_.plane.to_plane(polygon.array)[:, 2]).max() < 1e-6  # on the section
    side_mm = 24.0 / section.widget_per_mm()
    assert float(np.linalg.norm(polygon.array[1] - polygon.array[0])) == pytest.approx(side_mm, rel=0.02)
    window.measure.remove(polygon.id)


def test_implant_apex_dragged_on_the_panoramic_tilts_it_along_the_arch(
    ws: DentalWorkspace, truth: dict
) -> None:
    crest = np.asarray(truth["implant"]["shoulder"])
    arch = ws.dental.arch
    section = current_section_at(ws, arch.locate(crest)[0])
    implant = ws.dental.add_implant(VirtualImplant.placed_on(section.geometry_.plane, crest, 4.0, 10.0))
    pump(0.1)
    view = ws.panoramic_view
    apex = view.image_to_widget(*(view.pixels_of(np.asarray(implant.apex)[None])[0]))
    drag(view, apex, apex + QPointF(3.0 * view.widget_per_mm(), 0.0))
    tilted = ws.dental.implants[implant.id]
    assert tilted.shoulder == pytest.approx(implant.shoulder)
    s0, offset0, _ = arch.locate(np.asarray(implant.apex))
    s1, offset1, _ = arch.locate(np.asarray(tilted.apex))
    assert s1 - s0 == pytest.approx(3.0 * math.cos(math.atan2(3.0, 10.0)), abs=0.3)  # along the arch
    assert offset1 == pytest.approx(offset0, abs=0.1)  # not bucco-lingually
    ws.dental.undo()
    assert ws.dental.implants[implant.id] == implant
    ws.dental.remove_implant(implant.id)


def test_distance_on_the_axial_view_is_drawn_there_and_its_handle_drags(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    axial = ws.axial
    crest = np.asarray(truth["implant_site"]["crest_point"])
    ws.set_axial_height(float(crest[2]))
    pump(0.1)
    a = axial.widget_point(crest)
    b = a + QPointF(50.0, 0.0)
    window.set_measure_tool("distance")
    click(axial, a)
    hover(axial, b)
    pump(0.1)
    assert coloured(grab(axial), a + QPointF(25.0, 0.0), measure_blue)  # the rubber band
    click(axial, b)
    window.set_measure_tool("navigate")
    mset = window.measure.measurements
    (distance,) = [m for m in mset if m.kind == MeasurementKind.DISTANCE]
    assert distance.array[1, 2] == pytest.approx(crest[2], abs=0.01)  # on the axial plane
    assert float(np.linalg.norm(distance.array[1] - distance.array[0])) == pytest.approx(
        50.0 / axial.widget_per_mm(), rel=0.01
    )
    pump(0.1)
    assert coloured(grab(axial), a + QPointF(25.0, 0.0), measure_blue)  # drawn once made
    drag(axial, b, b + QPointF(0.0, 20.0))
    moved = mset.get(distance.id).array
    assert float(np.linalg.norm(moved[1] - distance.array[1])) == pytest.approx(
        20.0 / axial.widget_per_mm(), rel=0.02
    )
    mset.undo()
    assert mset.get(distance.id) == distance
    mset.remove(distance.id)
