"""The window's decisions without a window: gestures, read-outs, series choice, task outcomes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.app.opening import choose_series, open_notes
from cbctviewer.app.views.gestures import (
    angle_step,
    crosshair_screen,
    dolly,
    dragged_window,
    on_rotate_handle,
    orbit,
    pan_camera,
    screen_angle,
)
from cbctviewer.app.views.readout import cursor_readout, patient_position_text
from cbctviewer.app.workers import Task
from cbctviewer.core.tasks import Cancelled
from cbctviewer.core.view_state import Camera, ViewerState, ViewKind
from cbctviewer.core.volume import Volume, VolumeMetadata
from cbctviewer.core.window_level import WindowLevel
from cbctviewer.io.errors import DamagedError
from cbctviewer.io.report import (
    CandidateKind,
    FileProblem,
    FrameRef,
    Patient,
    ScanReport,
    SeriesCandidate,
    Study,
)


def small_volume(*, hu: bool = False) -> Volume:
    array = np.arange(20 * 30 * 40, dtype=np.int16).reshape(20, 30, 40)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.5, 0.5, 0.5))
    image.SetOrigin((-10.0, -7.5, -5.0))
    return Volume(image, VolumeMetadata(values_are_hu=hu))


def report_with(*candidates: SeriesCandidate) -> ScanReport:
    study = Study("1.2", series=list(candidates))
    return ScanReport(Path("/media"), patients=[Patient("P", studies=[study])])


def test_angle_step_wraps_and_screen_angles_turn_counter_clockwise():
    assert angle_step(170.0, -170.0) == pytest.approx(20.0)
    assert angle_step(-170.0, 170.0) == pytest.approx(-20.0)
    assert screen_angle((0.0, 0.0), 0.0, -10.0) == pytest.approx(90.0)  # up on screen: +90°


def test_right_drag_window_doubles_width_per_150_px_and_down_raises_level():
    start = WindowLevel(800.0, 2600.0)
    wider = dragged_window(start, 150.0, 0.0)
    assert wider.width == pytest.approx(5200.0) and wider.center == start.center
    darker = dragged_window(start, 0.0, 30.0)
    assert darker.center > start.center and darker.width == start.width
    assert dragged_window(start, -5000.0, 0.0).width >= 1.0


def test_rotate_handles_are_the_outer_ends_of_the_crosshair_lines():
    state = ViewerState(small_volume(), viewport=(400, 300))
    (cx, cy), directions = crosshair_screen(state, ViewKind.AXIAL)
    assert len(directions) == 2
    horizontal = next(d for d in directions if abs(d[0]) > 0.9)
    far = np.array([cx, cy]) + 160.0 * horizontal
    assert on_rotate_handle(state, ViewKind.AXIAL, *far)
    assert not on_rotate_handle(state, ViewKind.AXIAL, cx + 20.0, cy)  # near the centre: move
    assert not on_rotate_handle(state, ViewKind.AXIAL, far[0], far[1] + 30.0)  # off the line
    assert not on_rotate_handle(ViewerState(), ViewKind.AXIAL, *far)


def test_camera_gestures_keep_their_invariants():
    camera = Camera((0.0, -300.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
    turned = orbit(camera, 225.0, 0.0)  # 0.4°/px: 90° about view-up
    assert np.linalg.norm(turned.position) == pytest.approx(300.0)
    assert abs(turned.position[0]) == pytest.approx(300.0, abs=1e-6)
    assert turned.focal_point == camera.focal_point
    closer = dolly(camera, 2.0)
    assert closer.position[1] == pytest.approx(-150.0)
    moved = pan_camera(camera, 10.0, 0.0, mm_per_px=0.5)
    shift = np.subtract(moved.focal_point, camera.focal_point)
    assert np.allclose(np.subtract(moved.position, camera.position), shift)
    assert np.linalg.norm(shift) == pytest.approx(5.0)


def test_cursor_readout_names_grey_values_unless_calibrated_hu():
    for hu, unit in ((False, "grey value"), (True, "HU")):
        state = ViewerState(small_volume(hu=hu), viewport=(100, 100))
        text = cursor_readout(state, ViewKind.AXIAL, 50.0, 50.0)
        assert unit in text and "voxel" in text
        assert ("grey value" in text) is (not hu)
    state = ViewerState(small_volume(), viewport=(100, 100))
    state.views[ViewKind.AXIAL].zoom = 0.1
    assert "outside the scan" in cursor_readout(state, ViewKind.AXIAL, 0.0, 0.0)
    assert cursor_readout(ViewerState(), ViewKind.AXIAL, 1.0, 1.0) == ""


def test_patient_position_names_the_sides():
    assert patient_position_text(np.array([12.34, -5.0, -40.0])) == "L 12.3  A 5.0  I 40.0 mm"


def test_choose_series():
    one = SeriesCandidate("1.1", key="1.1")
    two = SeriesCandidate("1.2", key="1.2")
    flat = SeriesCandidate("1.3", key="1.3", kind=CandidateKind.IMAGE_2D)
    assert choose_series(report_with(one)) is one
    assert choose_series(report_with(one, two)) == [one, two]
    assert choose_series(report_with(one, two), "1.2") is two
    assert choose_series(report_with(one, flat)) is one  # 3D volumes first
    assert choose_series(report_with(flat)) is flat  # only a radiograph: open it
    frame = FrameRef(Path("/media/sc.dcm"))
    capture = SeriesCandidate("1.4", kind=CandidateKind.SECONDARY, frames=[frame])
    empty = SeriesCandidate("1.5", kind=CandidateKind.NOT_IMAGE, frames=[frame])
    assert choose_series(report_with(capture, empty)) is capture  # screenshots only: still viewable
    text = choose_series(ScanReport(Path("/media")))
    assert isinstance(text, str) and text.startswith("No 3D scan found")


def test_open_notes_are_deduplicated_plain_sentences():
    candidate = SeriesCandidate("1.1", warnings=["2 slices are missing."])
    volume = small_volume()
    volume.metadata.warnings.append("2 slices are missing.")
    report = report_with(candidate)
    report.problems.append(FileProblem(Path("/media/x.dcm"), "truncated"))
    notes = open_notes(report, candidate, volume)
    assert notes[0] == "2 slices are missing." and len(notes) == 2
    assert "1 file on the media could not be used" in notes[1]


@pytest.mark.parametrize(
    ("fn", "outcome"),
    [
        (lambda progress, cancel: 42, ("succeeded", 42)),
        (lambda progress, cancel: (_ for _ in ()).throw(Cancelled()), ("cancelled",)),
        (lambda progress, cancel: (_ for _ in ()).throw(DamagedError("The file is damaged.")),
         ("failed", "The file is damaged.")),
        (lambda progress, cancel: 1 / 0, ("failed", None)),
    ],
)  # fmt: skip
def test_task_reports_exactly_one_outcome(fn, outcome):
    task = Task(fn, name="Loading the images")
    seen: list[tuple] = []
    task.signals.succeeded.connect(lambda value: seen.append(("succeeded", value)))
    task.signals.cancelled.connect(lambda: seen.append(("cancelled",)))
    task.signals.failed.connect(lambda text: seen.append(("failed", text)))
    task.signals.finished.connect(lambda: seen.append(("finished",)))
    task.run()
    assert seen[-1] == ("finished",) and len(seen) == 2
    if outcome[0] == "failed" and outcome[1] is None:
        assert seen[0][0] == "failed" and "ZeroDivisionError" in seen[0][1] and "Traceback" not in seen[0][1]
    else:
        assert seen[0] == outcome


def test_task_progress_is_throttled_but_keeps_the_end():
    def fn(progress, cancel):
        for i in range(1000):
            progress(i / 1000, "working")
        progress(1.0, "done")
        return None

    task = Task(fn, name="x")
    fractions: list[float] = []
    task.signals.progress.connect(lambda f, m: fractions.append(f))
    task.run()
    assert len(fractions) < 50 and fractions[-1] == 1.0 and math.isclose(fractions[0], 0.0)


def test_3d_camera_change_reaches_a_consumer_that_renders_at_once():
    """Regression: a binder that updates on ``needs_render`` must not miss a camera change
    (psygnal ran the "all" relay, which emits ``needs_render``, before the camera flag was set)."""
    from cbctviewer.rendering.volume_render import VolumeView

    state = ViewerState(small_volume(), viewport=(32, 32))
    view = VolumeView(state)
    try:
        view.render()
        seen: list[tuple[float, ...]] = []

        def render_now() -> None:
            view.update()
            seen.append(view.renderer.GetActiveCamera().GetPosition())

        view.needs_render.connect(render_now)
        state.volume_render.camera = Camera((100.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
        assert seen and seen[-1] == pytest.approx((100.0, 0.0, 0.0))
    finally:
        view.close()


def test_pyside_void_calls_do_not_drop_references_to_none():
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call and crashes the
    interpreter ("none_dealloc") after a few seconds of dragging; pyproject pins < 6.12.
    This fails if an upgrade brings the leak back."""
    import sys

    from PySide6.QtCore import QTimer

    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(1000):
        timer.stop()
    assert sys.getrefcount(None) - before > -100
