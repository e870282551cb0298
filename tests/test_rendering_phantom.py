"""End to end: the dental phantom written as DICOM, scanned, loaded and rendered.

The phantom's ground-truth JSON gives patient positions; they must show where the display
conventions put them, and the implant must measure its true length on screen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.rendering.scene import MprScene

AXIAL, CORONAL, SAGITTAL = ViewKind.AXIAL, ViewKind.CORONAL, ViewKind.SAGITTAL


@pytest.fixture(scope="module")
def phantom(phantom_dir: Path) -> Iterator[tuple[MprScene, dict]]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    truth = json.loads((phantom_dir / "phantom_truth.json").read_text())
    report = scan(phantom_dir)
    state = ViewerState(load(report.volumes[0]), viewport=(256, 256))
    report.close()
    state.volume_render.viewport = (128, 128)
    scene = MprScene(state)
    yield scene, truth
    scene.close()


def test_implant_shows_bright_where_the_truth_says(phantom):
    scene, truth = phantom
    state = scene.state
    implant = np.asarray(truth["landmarks"]["implant_center"])
    state.crosshair = implant
    for view in scene.slices.values():
        view.render()
        probe = view.probe(implant)
        assert probe.inside and probe.value > 2500 and probe.grey > 200
    # The implant sits at the patient's left (+x): screen right in axial and coronal.
    assert scene.slices[AXIAL].probe(implant).col > 128
    assert scene.slices[CORONAL].probe(implant).col > 128
    # Sagittal shows anterior on the left: the canine tip is anterior of the implant.
    canine = np.asarray(truth["landmarks"]["canine_tip_33"])
    sagittal = scene.slices[SAGITTAL]
    assert sagittal.probe(canine).col < sagittal.probe(implant).col


def test_implant_measures_its_length_on_screen(phantom):
    scene, truth = phantom
    state = scene.state
    shoulder = np.asarray(truth["implant"]["shoulder"])
    apex = np.asarray(truth["implant"]["apex"])
    state.crosshair = (shoulder + apex) / 2
    view = scene.slices[CORONAL]
    values = view.resliced()
    col = round(view.probe(shoulder).col)
    rows = np.nonzero(values[:, col] > 2800)[0]
    pixel_size = state.pixel_size(CORONAL)
    assert (rows.max() - rows.min() + 1) * pixel_size == pytest.approx(truth["implant"]["length_mm"], abs=1.0)
    top, bottom = view.probe(shoulder).row, view.probe(apex).row
    assert rows.min() == pytest.approx(top, abs=2.5) and rows.max() == pytest.approx(bottom, abs=2.5)


def test_phantom_3d_view_is_not_black(phantom):
    scene, _ = phantom
    frame = scene.volume_view.render()
    assert (frame.max(axis=2) > 60).sum() > 500
