"""Regenerate ``docs/screenshots/*.png``: the viewer on the built-in sample.

Run under a display (Xvfb in CI)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python packaging/screenshots.py

Writes ``main_window.png`` (2×2 layout), ``oblique.png`` (planes turned 30° to follow the
mandibular canal), ``slab.png`` (thick MIP slabs), ``volume_3d.png`` (1+3 layout, 3D
large), ``dental.png`` (the dental workspace: arch, panoramic, cross-sections) and
``compare.png`` (the follow-up sample registered to the sample, side by side, coronal
through the implant). Case files go to a scratch data folder, never the user's.
Pictures are taken from the screen (``QScreen.grabWindow``), so they show what a
user sees, VTK pixels included. Each is kept under 500 KB (palette PNG if needed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from cbctviewer.app.main import application
from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.view_state import Camera, SlabMode, ViewerState, ViewKind, VolumePreset
from cbctviewer.core.window_level import WindowLevel

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1400, 900)
MAX_BYTES = 500_000


def wait(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the viewer did not get there in time")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(window: MainWindow) -> None:
    """Until every visible view (3D included) shows the model's current state."""
    wait(lambda: not any(v.is_stale for v in window.grid.slices.values()) and not window.grid.volume.is_stale)
    for _ in range(5):
        QApplication.processEvents()
        time.sleep(0.02)


def save(window: MainWindow, path: Path) -> int:
    """Grab the window from the screen; write a PNG of at most :data:`MAX_BYTES`."""
    settle(window)
    screen = window.screen()
    image = screen.grabWindow(window.winId(), 0, 0, window.width(), window.height()).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))
    if path.stat().st_size > MAX_BYTES:  # noise in CBCT pictures compresses badly: 256 colours
        print(f"  {path.name}: {path.stat().st_size} bytes as RGB; saving with a 256-colour palette")
        flags = Qt.ImageConversionFlag.AvoidDither | Qt.ImageConversionFlag.ThresholdDither
        image.convertToFormat(QImage.Format.Format_Indexed8, flags).save(str(path))
    return path.stat().st_size


def turned_camera(window: MainWindow, degrees: float, tilt: float) -> Camera:
    """The default 3D camera turned about the patient's S axis and tilted down."""
    camera = window.grid.volume.camera
    assert camera is not None
    focal = np.asarray(camera.focal_point)
    offset = np.asarray(camera.position) - focal
    turn = rotation_about((0.0, 0.0, 1.0), degrees)
    offset = turn @ offset
    right = np.cross(offset, (0.0, 0.0, 1.0))
    offset = rotation_about(right, tilt) @ offset
    up = rotation_about(right, tilt) @ np.array([0.0, 0.0, 1.0])
    return Camera(tuple(focal + offset), tuple(focal), tuple(up))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, help="an existing sample folder (default: write one)")
    parser.add_argument(
        "--followup", type=Path, help="an existing follow-up sample folder (default: write one)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    app = application()
    with tempfile.TemporaryDirectory(prefix="cbct-shots-") as scratch:
        # Opening and editing saves case files: keep them out of the user's data folder.
        os.environ["CBCT_VIEWER_DATA_DIR"] = str(Path(scratch) / "data")
        from cbctviewer.io.sample import write_sample

        sample, followup = args.sample, args.followup
        if sample is None:
            sample = Path(scratch) / "sample"
            write_sample(sample)
        if followup is None:
            followup = Path(scratch) / "followup"
            write_sample(followup, followup=True)
        truth = json.loads((sample / "phantom_truth.json").read_text())
        window = MainWindow(ViewerState(), recent=None)
        window.resize(*SIZE)
        window.show()
        opened: list[bool] = []
        window.case_opened.connect(lambda: opened.append(True))
        window.open_path(sample)
        wait(lambda: bool(opened))
        state = window.state
        implant = np.asarray(truth["landmarks"]["implant_center"])
        canal = np.asarray(truth["implant"]["canal_axis_point_below_apex"])
        state.window_level = WindowLevel(1000.0, 3200.0)

        # 1. The 2×2 layout through the implant.
        state.crosshair = implant
        window.grid.slices[ViewKind.AXIAL].setFocus()
        QApplication.processEvents()
        print("main_window.png", save(window, args.out / "main_window.png"), "bytes")

        # 2. Oblique: turn the planes 30° in the axial view so the sagittal follows the canal.
        state.crosshair = canal + np.array([0.0, 0.0, 6.0])
        state.rotate(ViewKind.AXIAL, -30.0 if _needs_negative(state, truth) else 30.0)
        window.grid.set_active(ViewKind.SAGITTAL.value)
        window.grid.set_layout("1+3")
        print("oblique.png", save(window, args.out / "oblique.png"), "bytes")

        # 3. Thick slabs: a 20 mm axial MIP shows the whole arch, a 12 mm coronal MIP the implant.
        state.reset_axes()
        window.grid.set_layout("2x2")
        state.crosshair = np.array([0.0, implant[1], -38.0])
        state.views[ViewKind.AXIAL].slab_thickness = 20.0
        state.views[ViewKind.CORONAL].slab_thickness = 12.0
        state.views[ViewKind.SAGITTAL].slab_thickness = 8.0
        state.views[ViewKind.SAGITTAL].slab_mode = SlabMode.MEAN
        print("slab.png", save(window, args.out / "slab.png"), "bytes")
        for view in state.views.values():
            view.slab_thickness = 0.0

        # 4. The 3D view large: teeth and bone turned towards the implant side.
        state.crosshair = implant
        state.volume_render.preset = VolumePreset.BONE
        window.grid.set_active("3d")
        window.grid.set_layout("1+3")
        settle(window)
        state.volume_render.camera = turned_camera(window, 30.0, 15.0)
        print("volume_3d.png", save(window, args.out / "volume_3d.png"), "bytes")

        # 5. The dental workspace: the arch through the crest, the panoramic, the strip at
        #    the implant, the left canal traced.
        dental_shot(window, truth, args.out / "dental.png")

        # 6. The compare workspace: the follow-up registered, coronal through the implant.
        compare_shot(window, truth, followup, args.out / "compare.png")
        window.close()
        app.processEvents()
    return 0


def dental_shot(window: MainWindow, truth: dict, path: Path) -> None:
    """The dental workspace with an arch on the truth crest line, the left canal and the implant."""
    from cbctviewer.core.arch import ArchCurve

    workspace = window.dental  # type: ignore[attr-defined]
    window.grid.set_layout("2x2")
    window.show_workspace("dental")
    crest = np.asarray(truth["arch"]["polyline"])
    workspace.set_axial_height(float(crest[0, 2]))
    workspace.dental.arch = ArchCurve(crest[np.linspace(0, len(crest) - 1, 9).round().astype(int)])
    spec = workspace.dental.panoramic  # lower and taller than the default: roots and canal in view
    workspace.dental.panoramic = dataclasses.replace(spec, height_mm=50.0, centre_height_mm=-8.0)
    canal = np.asarray(truth["canals"]["left"]["points"])
    for point in canal[:: max(1, len(canal) // 6)]:
        workspace.dental.add_canal_point("left", point)
    workspace.dental.position_mm = workspace.dental.arch.locate(truth["implant"]["shoulder"])[0]
    wait(lambda: workspace.panoramic_image is not None and not workspace.runner.busy)
    wait(lambda: not workspace.panoramic_view.preview)
    print(path.name, save(window, path), "bytes")
    window.show_workspace("views")


def compare_shot(window: MainWindow, truth: dict, followup: Path, path: Path) -> None:
    """The follow-up registered automatically, side by side with the baseline, coronal at the implant."""
    controller = window.compare  # type: ignore[attr-defined]
    workspace = window.compare_workspace  # type: ignore[attr-defined]
    window.show_workspace("compare")
    controller.open_followup(followup)
    wait(lambda: controller.resampled is not None and not controller.busy)
    controller.register()
    wait(lambda: controller.is_registered and not controller.busy, timeout=300.0)
    workspace.set_mode("side by side")
    workspace.show_kind(ViewKind.CORONAL)
    state = window.state
    implant = np.asarray(truth["landmarks"]["implant_center"])
    state.crosshair = implant
    state.window_level = WindowLevel(1000.0, 3200.0)
    # Zoomed in, the implant in the middle of both panes (the views pan together).
    x_axis, y_axis = state.view_axes(ViewKind.CORONAL)
    offset = implant - state.volume_centre()
    view = state.views[ViewKind.CORONAL]
    view.zoom = 2.0
    view.pan = (float(offset @ x_axis), float(offset @ y_axis))
    panes = [*workspace.base_widgets.values(), *workspace.follow_widgets.values(), workspace.overlay]
    wait(lambda: not controller.busy and not any(w.is_stale for w in panes))
    window.status.bar.clearMessage()  # "Reading the follow-up…" would still be showing
    print(path.name, save(window, path), "bytes")
    window.show_workspace("views")


def _needs_negative(state: ViewerState, truth: dict) -> bool:
    """Whether -30° (rather than +30°) brings the sagittal plane along the left canal."""
    points = np.asarray(truth["canals"]["left"]["points"])
    below = np.asarray(truth["implant"]["canal_axis_point_below_apex"])
    i = int(np.argmin(np.linalg.norm(points - below, axis=1)))
    tangent = points[min(i + 1, len(points) - 1)] - points[max(i - 1, 0)]
    tangent /= np.linalg.norm(tangent)
    probe = ViewerState(state.volume)
    probe.rotate(ViewKind.AXIAL, 30.0)
    return abs(float(probe.view_axes(ViewKind.SAGITTAL)[0] @ tangent)) < np.cos(np.radians(15.0))


if __name__ == "__main__":
    sys.exit(main())
