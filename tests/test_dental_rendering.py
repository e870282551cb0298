"""Canals and implants drawn in 2D slice views and the 3D view, checked on real pixels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from shots import save_shot
from test_canal import traced

from cbctviewer.core.dental_outlines import COLOURS
from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.virtual_implant import VirtualImplant
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.dental_3d import dental_scene_objects
from cbctviewer.rendering.dental_overlay import hex_colour
from cbctviewer.rendering.slice_view import SliceView
from cbctviewer.rendering.volume_render import VolumeView

VIEWPORT = (240, 240)


@pytest.fixture(scope="module")
def phantom(phantom_dir: Path) -> tuple[Volume, dict[str, Any]]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    return load(scan(phantom_dir).volumes[0]), truth


@pytest.fixture
def scene(
    phantom: tuple[Volume, dict[str, Any]],
) -> Iterator[tuple[ViewerState, DentalState, dict[str, Any]]]:
    volume, truth = phantom
    state = ViewerState(volume, viewport=VIEWPORT)
    dental = DentalState()
    radius = truth["canals"]["radius_mm"]
    for side in ("left", "right"):
        dental.set_canal(side, traced(truth, side, diameter_mm=2 * radius))
    t = truth["implant"]
    dental.add_implant(VirtualImplant("i36", t["diameter_mm"], t["length_mm"], t["shoulder"], t["direction"]))
    yield state, dental, truth


def near_colour(frame: np.ndarray, colour: str, *, tolerance: int = 40) -> np.ndarray:
    rgb = np.asarray(hex_colour(colour)) * 255
    return np.asarray(np.all(np.abs(frame.astype(int) - rgb) <= tolerance, axis=2))


def hits_near(mask: np.ndarray, row: float, col: float, *, radius: int = 2) -> int:
    r, c = round(row), round(col)
    return int(mask[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1].sum())


def save(name: str, frame: np.ndarray) -> None:
    save_shot(frame, name)


def test_canal_band_in_the_axial_plane_of_the_canal(scene: Any) -> None:
    state, dental, truth = scene
    line = np.asarray(truth["canals"]["left"]["points"])
    state.crosshair = line[len(line) // 2]  # the axial plane through the canal's axis
    view = SliceView(state, ViewKind.AXIAL)
    view.set_dental(dental)
    try:
        frame = view.render()
        save("axial_canal.png", frame)
        yellow = near_colour(frame, COLOURS["canal"])
        radius = truth["canals"]["radius_mm"]
        checked = 0
        for i in range(10, len(line) - 10, 20):
            tangent = line[i + 1] - line[i - 1]
            side = np.cross(tangent, (0.0, 0.0, 1.0))
            side /= np.linalg.norm(side)
            for sign in (1.0, -1.0):  # both edges of the band, and not its middle
                edge = view.probe(line[i] + sign * radius * side)
                assert hits_near(yellow, edge.row, edge.col, radius=1) > 0, (i, sign)
            inside = view.probe(line[i] + 0.5 * radius * side)
            assert hits_near(yellow, inside.row, inside.col, radius=0) == 0
            checked += 1
        assert checked >= 7
        # The implant does not reach this plane: no implant colour anywhere.
        assert not near_colour(frame, COLOURS["implant"], tolerance=30).any()
    finally:
        view.close()


@pytest.mark.parametrize("turn", [0.0, 30.0])
def test_implant_rectangle_and_canal_ellipse_in_a_coronal_plane(scene: Any, turn: float) -> None:
    """The (oblique when turned) coronal plane through the implant axis and across the canal."""
    state, dental, truth = scene
    t = truth["implant"]
    state.crosshair = t["shoulder"]
    state.rotate(ViewKind.AXIAL, turn)  # tilts the coronal plane about the vertical implant axis
    view = SliceView(state, ViewKind.CORONAL)
    view.set_dental(dental)
    try:
        frame = view.render()
        save(f"coronal_implant_{turn:g}.png", frame)
        cyan = near_colour(frame, COLOURS["implant"])
        right, _ = state.view_axes(ViewKind.CORONAL)
        shoulder, d, r = np.asarray(t["shoulder"]), np.asarray(t["direction"]), 0.5 * t["diameter_mm"]
        for depth in (2.0, 5.0, 8.0):  # the long sides of the rectangle
            for sign in (1.0, -1.0):
                p = view.probe(shoulder + depth * d + sign * r * right)
                assert hits_near(cyan, p.row, p.col, radius=1) > 0, (depth, sign)
            centre = view.probe(shoulder + depth * d)
            assert hits_near(cyan, centre.row, centre.col, radius=1) > 0  # the axis line
        apex = view.probe(t["apex"])
        assert hits_near(cyan, apex.row, apex.col, radius=1) > 0  # the apical end
        mid_off = view.probe(shoulder + 5.0 * d + 0.5 * r * right)
        assert hits_near(cyan, mid_off.row, mid_off.col, radius=0) == 0  # hollow between sides
        # The canal crosses this plane below the implant: a closed outline around the crossing.
        yellow = near_colour(frame, COLOURS["canal"])
        below = view.probe(t["canal_axis_point_below_apex"])
        ys, xs = np.nonzero(yellow)
        close = np.hypot(ys - below.row, xs - below.col) < 12
        assert close.sum() > 10
        assert np.hypot(ys[close].mean() - below.row, xs[close].mean() - below.col) < 2.0
    finally:
        view.close()


def test_outlines_follow_edits(scene: Any) -> None:
    state, dental, truth = scene
    t = truth["implant"]
    state.crosshair = t["shoulder"]
    view = SliceView(state, ViewKind.CORONAL)
    view.set_dental(dental)
    try:
        view.render()
        drawn = {o.kind for o in view.dental.outlines}
        assert {"implant", "implant_axis", "canal"} <= drawn
        dental.remove_implant("i36")
        frame = view.render()
        assert not near_colour(frame, COLOURS["implant"], tolerance=30).any()
        view.set_dental(None)
        frame = view.render()
        assert not near_colour(frame, COLOURS["canal"], tolerance=30).any()
    finally:
        view.close()


def test_tube_and_implant_in_3d(scene: Any) -> None:
    state, dental, truth = scene
    state.volume_render.opacity = 0.05  # see through the bone to the canal
    view = VolumeView(state)
    try:
        before = view.render()
        view.set_scene_objects(dental_scene_objects(dental))
        frame = view.render()
        save("3d_canal_implant.png", np.hstack([before, frame]))
        # The canal: warm (red + green ≫ blue) pixels along its projection where there were none.
        line = np.asarray(truth["canals"]["left"]["points"])
        for i in (40, 90, 140):
            row, col = view.project(line[i])
            r, g, b = frame[round(row), round(col)].astype(int)
            assert r > b + 40 and g > b + 40, (i, (r, g, b))
            r0, g0, b0 = before[round(row), round(col)].astype(int)
            assert not (r0 > b0 + 40 and g0 > b0 + 40)
        # The implant, moved above the bone so nothing lies in front of it: cyan at its middle.
        implant = next(iter(dental.implants.values()))
        dental.replace_implant(implant.moved((0.0, 0.0, 16.0)))
        view.set_scene_objects(dental_scene_objects(dental))
        frame = view.render()
        mid = np.add(dental.implants["i36"].shoulder, 5.0 * np.asarray(implant.direction))
        row, col = view.project(mid)
        r, g, b = frame[round(row), round(col)].astype(int)
        assert b > r + 60, (r, g, b)
        view.set_scene_objects(())
        assert len(view.scene_objects.actors) == 0
    finally:
        view.close()
