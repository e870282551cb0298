"""The canal and implant panels: controls write the dental model, the model shows in them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from app_support import grab, wait_until
from PySide6.QtWidgets import QApplication, QWidget
from shots import save_shot

from cbctviewer.app.dental.canal_panel import CanalPanel
from cbctviewer.app.dental.implant_panel import WARNING_COLOUR, ImplantPanel
from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.geometry import Plane
from cbctviewer.core.virtual_implant import VirtualImplant

pytestmark = pytest.mark.gui
CROSS = Plane.from_axes((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))  # buccal = +x, up = +z


def show(widget: QWidget, name: str) -> np.ndarray:
    widget.resize(320, widget.sizeHint().height())
    widget.show()
    wait_until(widget.isVisible, what="the panel to show")
    for _ in range(5):
        QApplication.processEvents()
    frame = grab(widget)
    save_shot(frame, name)
    return frame


def red_pixels(frame: np.ndarray) -> int:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 200) & (g < 110) & (b < 110)))


def test_canal_panel_edits_the_model(qapp: QApplication) -> None:
    state = DentalState()
    panel = CanalPanel(state)
    try:
        toggled: list[bool] = []
        panel.trace_toggled.connect(toggled.append)
        panel.trace.click()
        assert toggled == [True] and panel.tracing
        panel.side.setCurrentIndex(panel.side.findData("left"))
        assert state.active_side == "left"
        assert "Not traced" in panel.info.text() and not panel.clear.isEnabled()
        for p in ([0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [6.0, 8.0, 0.0]):
            state.add_canal_point("left", p)  # what the workspace does on a click
        assert panel.info.text() == "3 points, length 10.0 mm"
        panel.diameter.setValue(2.5)
        assert state.canals["left"].diameter_mm == 2.5
        panel.delete_last.click()
        assert len(state.canals["left"].points) == 2 and panel.info.text().startswith("2 points, length 5.0")
        state.active_side = "right"  # the panel follows the model
        assert panel.side.currentData() == "right" and "Not traced" in panel.info.text()
        state.active_side = "left"
        panel.clear.click()
        assert "left" not in state.canals
        show(panel, "canal_panel.png")
    finally:
        panel.unbind()
        panel.deleteLater()


def test_implant_panel_edits_and_warns(qapp: QApplication) -> None:
    state = DentalState()
    for p in ([-20.0, 0.0, -20.0], [20.0, 0.0, -20.0]):
        state.add_canal_point("right", p)
    panel = ImplantPanel(state)
    try:
        panel.preset.setCurrentIndex(panel.preset.findText("Ø4.1 × 11.5 mm"))
        assert panel.chosen_size() == (4.1, 11.5)
        panel.diameter.setValue(3.9)
        assert panel.preset.currentText() == "Custom size"
        panel.diameter.setValue(4.1)
        assert panel.preset.currentText() == "Ø4.1 × 11.5 mm"
        implant = state.add_implant(VirtualImplant.placed_on(CROSS, (0.0, 0.0, 0.0), *panel.chosen_size()))
        assert panel.list.count() == 1 and "Ø4.1 × 11.5 mm" in panel.list.item(0).text()
        # Apex at z = -11.5; canal surface at z = -20 + 1 = -19: 7.5 mm, not a warning.
        assert "7.5 mm" in panel.distance.text() and WARNING_COLOUR not in panel.distance.text()
        calm = show(panel, "implant_panel_ok.png")
        for _ in range(12):  # 6 mm deeper: 1.5 mm left, below the 2 mm margin
            panel.buttons["down"].click()
        assert state.implants[implant.id].shoulder == pytest.approx((0.0, 0.0, -6.0))
        assert "1.5 mm" in panel.distance.text() and WARNING_COLOUR in panel.distance.text()
        warned = show(panel, "implant_panel_warning.png")
        assert red_pixels(warned) > 30 and red_pixels(calm) == 0
        panel.buttons["bl_plus"].click()
        tilted = state.implants[implant.id]
        assert tilted.shoulder == pytest.approx((0.0, 0.0, -6.0))
        assert np.degrees(np.arccos(-tilted.direction[2])) == pytest.approx(5.0)
        assert tilted.direction[1] == pytest.approx(0.0, abs=1e-12)  # stayed in the cross-section
        panel.buttons["md_minus"].click()
        assert abs(state.implants[implant.id].direction[1]) > 0.05  # now along the arch too
        panel.length.setValue(8.0)
        panel.buttons["resize"].click()
        assert state.implants[implant.id].length_mm == 8.0
        panel.buttons["delete"].click()
        assert state.implants == {} and panel.list.count() == 0
        assert not panel.buttons["up"].isEnabled()
    finally:
        panel.unbind()
        panel.deleteLater()


def test_implant_panel_bone_around_on_the_phantom(qapp: QApplication, phantom_dir: Path) -> None:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth: dict[str, Any] = json.loads((phantom_dir / "phantom_truth.json").read_text())
    t = truth["implant"]
    state = DentalState()
    panel = ImplantPanel(state)
    try:
        state.add_implant(
            VirtualImplant("i", t["diameter_mm"], t["length_mm"], t["shoulder"], t["direction"])
        )
        assert panel.bone.text() == ""
        panel.set_volume(load(scan(phantom_dir).volumes[0]))
        text = panel.bone.text()
        assert text.startswith("Bone buccal / lingual (mm): crest ")
        values = [float(v) for part in text.split(": ")[1].split(", ") for v in part.split()[1::2]]
        assert len(values) == 6 and all(v > 2.0 for v in values)  # 3.2–4.5 mm walls on the phantom
        show(panel, "implant_panel_bone.png")
    finally:
        panel.unbind()
        panel.deleteLater()
