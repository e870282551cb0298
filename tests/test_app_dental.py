"""The dental workspace on the phantom: arch by clicks, panoramic, linked strip, tools, saving.

Everything goes through real mouse events on the widgets and is checked against the
phantom's ground truth (``phantom_truth.json``) and the pixels on screen. The tests share
one window and run in file order (the arch placed first is used by the later ones).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, open_phantom, phantom_window, settle, wait_until
from dental_support import click, current_section_at, full_panoramic, mouse, pump, wheel
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from shots import save_shot

from cbctviewer.app.dental.workspace import DentalWorkspace
from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.measurements import MeasurementKind, site_values
from cbctviewer.core.view_state import ViewerState, ViewKind

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        win.dental.toggle_action.trigger()  # type: ignore[attr-defined]
        yield win


@pytest.fixture(scope="module")
def ws(window: MainWindow) -> DentalWorkspace:
    workspace = window.dental  # type: ignore[attr-defined]
    assert window.current_workspace == "dental"
    return workspace


def shot(widget: QWidget, name: str) -> np.ndarray:
    pixels = grab(widget)
    save_shot(pixels, name)
    return pixels


def grey_at(pixels: np.ndarray, pos: QPointF, radius: int = 2) -> float:
    r, c = round(pos.y()), round(pos.x())
    return float(pixels[r - radius : r + radius + 1, c - radius : c + radius + 1].mean())


def truth_s(truth: dict, point: list[float], arc_length: float) -> float:
    """Arc position from the curve's first point (the patient's right end) of a tooth."""
    half = truth["arch"]["arc_length_mm"] / 2
    return half + float(np.sign(point[0])) * arc_length


def test_arch_clicked_on_the_axial_view_gives_a_panoramic_with_the_teeth_in_place(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    polyline = np.asarray(truth["arch"]["polyline"])
    ws.set_axial_height(float(polyline[0, 2]))
    ws.tool_actions["arch"].trigger()
    pump()
    picks = polyline[np.linspace(0, len(polyline) - 1, 9).round().astype(int)]
    for p in picks:
        click(ws.axial, ws.axial.widget_point(p))
    arch = ws.dental.arch
    assert arch is not None and len(arch.control_points) == 9
    pixel = ws.axial.geometry_.pixel_size
    assert np.abs(arch.control_points - picks).max() < 1.5 * pixel
    assert arch.length_mm == pytest.approx(truth["arch"]["arc_length_mm"], rel=0.01)
    ws.tool_actions["navigate"].trigger()
    full_panoramic(ws)
    image = ws.panoramic_image
    pixels = shot(ws.panoramic_view, "panoramic.png")
    shot(window, "dental_workspace.png")
    heights = np.asarray(image.heights_mm)

    def widget_pos(s: float, z: float) -> QPointF:
        row = float(np.interp(z - polyline[0, 2], heights[::-1], np.arange(len(heights))[::-1]))
        return ws.panoramic_view.image_to_widget(row, ws.panoramic_view.col_of(s))

    crowns = []
    for tooth in truth["teeth"]:
        occlusal = np.asarray(tooth["occlusal_center"])
        s = truth_s(truth, tooth["cej_center"], tooth["arc_length"])
        if not 2.0 < s < arch.length_mm - 2.0:
            continue
        grey = grey_at(pixels, widget_pos(s, occlusal[2] - 1.5))  # the enamel cap
        crowns.append((tooth["fdi"], tooth["present"], grey))
    present = [g for _, p, g in crowns if p]
    missing = [g for _, p, g in crowns if not p]
    assert len(present) >= 8 and min(present) > 150, crowns
    assert missing and max(missing) < 90, crowns  # the edentulous site: air above the crest
    implant = truth["implant"]
    mid = (np.asarray(implant["shoulder"]) + np.asarray(implant["apex"])) / 2
    s_implant = arch.locate(mid)[0]
    assert grey_at(pixels, widget_pos(s_implant, mid[2])) > 200


def test_dragging_a_control_point_updates_the_panoramic_without_blocking(ws: DentalWorkspace) -> None:
    arch = ws.dental.arch
    assert arch is not None
    before_pixels = grab(ws.panoramic_view)
    before = ws.panoramic_image
    ticks: list[float] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    ws.tool_actions["arch"].trigger()
    handle = ws.axial.widget_point(arch.control_points[3])
    mouse(ws.axial, QEvent.Type.MouseButtonPress, handle)
    worst = 0.0
    for i in range(1, 13):
        pos = handle + QPointF(0.0, 2.0 * i)
        t = time.perf_counter()
        mouse(ws.axial, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton)
        worst = max(worst, time.perf_counter() - t)
        pump(0.02)
    mouse(ws.axial, QEvent.Type.MouseButtonRelease, pos)
    full_panoramic(ws)
    timer.stop()
    ws.tool_actions["navigate"].trigger()
    moved = ws.dental.arch
    assert moved is not None and not np.allclose(moved.control_points[3], arch.control_points[3])
    assert worst < 0.05  # each move returns at once: sampling runs on the worker
    assert len(ticks) >= 10  # the event loop kept running during the drag
    assert ws.panoramic_image is not before and ws.panoramic_image.curve == moved
    assert np.abs(grab(ws.panoramic_view).astype(int) - before_pixels).mean() > 1.0
    ws.dental.undo()  # back to the clicked arch for the next tests
    assert ws.dental.arch == arch
    full_panoramic(ws)


def test_panoramic_slab_and_offset_controls(ws: DentalWorkspace) -> None:
    thin = ws.panoramic_image
    controls = ws.controls
    controls.pano_mode.setCurrentIndex(controls.pano_mode.findData("mip"))
    controls.pano_slab.setValue(10.0)
    full_panoramic(ws)
    mip = ws.panoramic_image
    assert (mip.spec.slab_mm, mip.spec.slab_mode) == (10.0, "mip")
    assert mip.pixels.shape == thin.pixels.shape
    assert float(np.nanmean(mip.pixels)) > float(np.nanmean(thin.pixels))  # a MIP only adds brightness
    controls.pano_offset.setValue(-3.0)
    full_panoramic(ws)
    assert ws.panoramic_image.spec.offset_mm == -3.0
    middle = len(ws.panoramic_image.s_mm) // 2
    surface = ws.panoramic_image.pixel_to_patient(0.0, middle)
    assert ws.dental.arch.locate(surface)[1] == pytest.approx(-3.0, abs=0.05)  # lingual shift
    controls.pano_offset.setValue(0.0)
    controls.pano_slab.setValue(0.0)
    controls.pano_mode.setCurrentIndex(controls.pano_mode.findData("mean"))
    full_panoramic(ws)
    assert ws.panoramic_image.spec == thin.spec


def test_click_on_the_panoramic_moves_the_marker_and_the_strip(ws: DentalWorkspace) -> None:
    view = ws.panoramic_view
    rows = ws.panoramic_image.pixels.shape[0]
    click(view, view.image_to_widget(rows / 2, view.col_of(30.0)))
    assert ws.dental.position_mm == pytest.approx(30.0, abs=0.5)
    pump(0.1)
    positions = [v.s_mm for v in ws.strip.views]
    assert positions[len(positions) // 2] == pytest.approx(ws.dental.position_mm)
    assert np.diff(positions) == pytest.approx(ws.dental.cross_section_interval_mm)
    axial = shot(ws.axial, "axial.png")
    point, _, _ = ws.dental.arch.frame_at(ws.dental.position_mm)
    marker = ws.axial.widget_point(point)
    patch = axial[
        round(marker.y()) - 1 : round(marker.y()) + 2, round(marker.x()) - 1 : round(marker.x()) + 2
    ]
    assert ((patch[..., 1].astype(int) - patch[..., 0]) > 100).any()  # the green position dot


def test_wheel_on_the_strip_steps_by_the_interval(ws: DentalWorkspace) -> None:
    start = ws.dental.position_mm
    first = [v.s_mm for v in ws.strip.views]
    wheel(ws.strip.views[0], 2)
    assert ws.dental.position_mm == pytest.approx(start + 2 * ws.dental.cross_section_interval_mm)
    pump(0.1)
    assert [v.s_mm for v in ws.strip.views] == pytest.approx([s + 2.0 for s in first])
    wheel(ws.strip.views[0], -2)
    assert ws.dental.position_mm == pytest.approx(start)


def test_distance_on_the_panoramic_is_the_true_arc_length(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    window.set_measure_tool("distance")
    view = ws.panoramic_view
    image = ws.panoramic_image
    row = float(np.argmin(np.abs(image.heights_mm)))  # the curve plane (crest height)
    click(view, view.image_to_widget(row, 0.0))
    click(view, view.image_to_widget(row, len(image.s_mm) - 1.0))
    window.set_measure_tool("navigate")
    mset = window.measure.measurements
    drawn = [m for m in mset if m.kind == MeasurementKind.POLYLINE]
    assert len(drawn) == 1
    length = float(np.sum(np.linalg.norm(np.diff(drawn[0].array, axis=0), axis=1)))
    assert length == pytest.approx(truth["arch"]["arc_length_mm"], rel=0.01)
    pump(0.1)
    pixels = shot(view, "panoramic_distance.png")
    middle = view.image_to_widget(row, len(image.s_mm) / 2)
    p = pixels[round(middle.y()) - 2 : round(middle.y()) + 3, round(middle.x())].astype(int)
    assert ((p[:, 2] - p[:, 0]) > 80).any()  # drawn in the measurement colour


def test_implant_site_tool_on_a_cross_section_measures_the_truth_widths(
    window: MainWindow, ws: DentalWorkspace, truth: dict
) -> None:
    site = truth["implant_site"]
    crest = np.asarray(site["crest_point"])
    section = current_section_at(ws, ws.dental.arch.locate(crest)[0])
    window.set_measure_tool("implant_site")
    click(section, section.widget_of(crest))
    window.set_measure_tool("navigate")
    sites = [m for m in window.measure.measurements if m.kind == MeasurementKind.IMPLANT_SITE]
    assert len(sites) == 1
    values = site_values(sites[0])
    voxel = truth["voxel_size"]
    for width in site["widths"]:
        assert values[f"width_{width['depth_mm']:g}_mm"] == pytest.approx(width["width_mm"], abs=voxel)
    pump(0.1)
    shot(ws.strip, "strip_implant_site.png")


def test_implant_placed_on_a_cross_section_is_drawn_there(ws: DentalWorkspace, truth: dict) -> None:
    crest = np.asarray(truth["implant"]["shoulder"])  # plan over the phantom's own implant (site 36)
    section = current_section_at(ws, ws.dental.arch.locate(crest)[0])
    before = shot(section, "section_before_implant.png")
    ws.tool_actions["implant"].trigger()
    click(section, section.widget_of(crest))
    ws.tool_actions["navigate"].trigger()
    (implant,) = ws.dental.implants.values()
    assert np.allclose(implant.shoulder, crest, atol=truth["voxel_size"])
    assert np.asarray(implant.direction) == pytest.approx([0.0, 0.0, -1.0], abs=1e-6)
    assert (implant.diameter_mm, implant.length_mm) == ws.implant_size_mm()
    pump(0.1)
    after = shot(section, "section_implant.png")
    x_axis = np.asarray(section.geometry_.plane.x_axis)
    side = section.widget_of(crest + implant.radius_mm * x_axis - np.array([0.0, 0.0, 7.0]))
    r, c = round(side.y()), round(side.x())

    def blue(image: np.ndarray) -> bool:
        patch = image[r - 2 : r + 3, c - 2 : c + 3].astype(int)
        return bool(((patch[..., 2] - patch[..., 0]) > 120).any())

    assert blue(after) and not blue(before)


def test_canal_traced_on_cross_sections_shows_in_the_axial_view(ws: DentalWorkspace, truth: dict) -> None:
    arch = ws.dental.arch
    centreline = np.asarray(truth["canals"]["left"]["points"])
    # The canal runs on behind the last molar: trace the part that the sections reach.
    centreline = centreline[[0.5 < arch.locate(p)[0] < arch.length_mm - 0.5 for p in centreline]]
    picks = centreline[np.linspace(0, len(centreline) - 1, 6).round().astype(int)]
    ws.tool_actions["canal_left"].trigger()
    for p in picks:
        section = current_section_at(ws, ws.dental.arch.locate(p)[0])
        click(section, section.widget_of(p))
    ws.tool_actions["navigate"].trigger()
    canal = ws.dental.canals["left"]
    assert len(canal.points) == len(picks)
    assert np.abs(np.asarray(canal.points) - picks).max() < 1.0
    pump(0.1)
    axial = shot(ws.axial, "axial_canal.png")
    yellow = 0
    for p in centreline[10:-10:10]:
        pos = ws.axial.widget_point(p)
        patch = axial[round(pos.y()) - 2 : round(pos.y()) + 3, round(pos.x()) - 2 : round(pos.x()) + 3]
        yellow += bool(((patch[..., 0] > 200) & (patch[..., 1] > 170) & (patch[..., 2] < 110)).any())
    assert yellow >= 0.7 * len(centreline[10:-10:10])


def test_propose_arch_gives_a_curve_near_the_truth(ws: DentalWorkspace, truth: dict) -> None:
    pytest.importorskip("cbctviewer.core.arch_detect")
    saved = ws.dental.arch
    finished: list[object] = []
    ws.proposal_finished.connect(lambda curve, message: finished.append(curve))
    ws.controls.propose.click()
    wait_until(lambda: bool(finished), 30.0, "the arch proposal")
    proposed = finished[0]
    assert proposed is not None and ws.dental.arch is proposed
    polyline = np.asarray(truth["arch"]["polyline"])
    distances = [np.min(np.linalg.norm(polyline[:, :2] - p[:2], axis=1)) for p in proposed.frames(2.0).points]
    assert float(np.mean(distances)) < 2.0
    full_panoramic(ws)
    ws.dental.arch = saved
    full_panoramic(ws)


def test_saving_and_reopening_restores_the_arch_canal_and_implant(
    window: MainWindow, ws: DentalWorkspace, phantom_dir: Path
) -> None:
    arch, canal, implants = ws.dental.arch, ws.dental.canals["left"], ws.dental.implants
    assert implants
    window.close_case()
    assert ws.dental.arch is None and not ws.dental.canals
    open_phantom(window, phantom_dir)
    assert ws.dental.arch == arch
    assert ws.dental.canals["left"] == canal
    assert ws.dental.implants == implants
    full_panoramic(ws)
    shot(window, "dental_reopened.png")


def test_a_saved_case_shows_its_canal_and_implant_before_the_workspace_is_built(
    window: MainWindow, ws: DentalWorkspace, phantom_dir: Path
) -> None:
    """The dental workspace is built on first use; the case's dental data needs no workspace."""
    arch, canal, implants = ws.dental.arch, ws.dental.canals["left"], ws.dental.implants
    (implant,) = implants.values()
    window.measure.flush()
    fresh = MainWindow(ViewerState(), recent=None)
    fresh.resize(1400, 900)
    fresh.show()
    shown_in_3d: list[tuple] = []
    show_3d = fresh.grid.renderer.set_scene_objects
    fresh.grid.renderer.set_scene_objects = lambda objects: (shown_in_3d.append(objects), show_3d(objects))
    try:
        open_phantom(fresh, phantom_dir)
        feature = fresh.dental_feature
        assert not feature.built and fresh.workspace_page("views") is fresh.grid
        state = feature.state
        assert state.arch == arch and state.canals["left"] == canal and state.implants == implants
        kinds = {type(o).__name__ for o in shown_in_3d[-1]}
        assert kinds == {"TubeObject", "CylinderObject"}  # the canal and the implant in 3D
        # The implant's cut in the axial view: its outline on a circle of its radius.
        axis = np.asarray(implant.direction)
        middle = np.asarray(implant.shoulder) + 0.5 * implant.length_mm * axis
        fresh.state.crosshair = middle
        settle(fresh)
        geometry = fresh.state.slice_geometry(ViewKind.AXIAL)
        pixels = shot(fresh.grid.slices[ViewKind.AXIAL], "axial_saved_implant_lazy.png")
        u, v = np.asarray(geometry.plane.x_axis), np.asarray(geometry.plane.y_axis)
        hits = 0
        for angle in np.radians(np.arange(0, 360, 30)):
            rim = middle + implant.radius_mm * (np.cos(angle) * u + np.sin(angle) * v)
            row, col = geometry.patient_to_pixel(rim)
            patch = pixels[round(row) - 2 : round(row) + 3, round(col) - 2 : round(col) + 3].astype(int)
            hits += bool(((patch[..., 2] - patch[..., 0]) > 120).any())
        assert hits >= 10, f"the implant outline shows at {hits} of 12 rim points"
        assert not feature.built
        # Built on first use, the workspace takes the data over and the views follow it.
        built = fresh.dental
        assert feature.built and feature.state is built.dental
        assert built.dental.arch == arch and built.dental.canals["left"] == canal
        assert built.dental.implants == implants
        assert all(view.dental.state is built.dental for view in fresh.grid.slice_views.values())
        full_panoramic(built)
    finally:
        fresh.close()
        fresh.deleteLater()
        QApplication.processEvents()
