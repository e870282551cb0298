"""The compare workspace in the real window: follow-up, registration, linked views, overlays, pairs.

Runs in order on one window (module scope): open the baseline phantom and its follow-up,
check the pixels before and after registration, the linking, the overlays, landmarks,
a paired bone-level measurement against the phantom's truth, and the case file round trip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from app_support import grab, open_phantom, phantom_window, wait_until
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from shots import save_shot

from cbctviewer.app.compare.saving import CompareRecord
from cbctviewer.app.main_window import MainWindow
from cbctviewer.core.registration import RigidTransform, box_corners, transform_error
from cbctviewer.core.registration_record import RegistrationRecord
from cbctviewer.core.view_state import ViewKind
from cbctviewer.core.volume import SeriesIdentity
from cbctviewer.core.window_level import WindowLevel
from cbctviewer.io.case_file import case_path

#: Shows only titanium (stored clipped at 3095) as white; enamel (2700) stays black.
IMPLANT_WINDOW = WindowLevel(2975.0, 150.0)


@pytest.fixture(scope="module")
def truth(phantom_dir: Path, phantom_followup_dir: Path) -> dict:
    base = json.loads((phantom_dir / "phantom_truth.json").read_text())
    follow = json.loads((phantom_followup_dir / "phantom_truth.json").read_text())
    return {
        "base": base,
        "follow": follow,
        "T": RigidTransform(np.asarray(base["registration"]["baseline_to_followup"])),
    }


@pytest.fixture(scope="module")
def window(qapp: QApplication, phantom_dir: Path) -> Iterator[MainWindow]:
    with phantom_window(phantom_dir) as win:
        win.show_workspace("compare")
        yield win


def _workspace(win: MainWindow):
    return win.compare_workspace  # type: ignore[attr-defined]


def _settle(win: MainWindow) -> None:
    ws = _workspace(win)

    def done() -> bool:
        widgets = [*ws.base_widgets.values(), *ws.follow_widgets.values(), ws.overlay]
        return not any(w.is_stale for w in widgets) and not win.compare.busy  # type: ignore[attr-defined]

    wait_until(done, 60.0, "the compare views to repaint")
    for _ in range(4):
        QApplication.processEvents()
        time.sleep(0.01)


def _shot(win: MainWindow, name: str) -> None:
    save_shot(grab(win), name)


def _panes(win: MainWindow) -> tuple[np.ndarray, np.ndarray]:
    ws = _workspace(win)
    return grab(ws.base_widgets[ws.kind]), grab(ws.follow_stack.currentWidget())


def _implant_centroid(image: np.ndarray, near: tuple[float, float]) -> np.ndarray:
    """(row, col) of the white implant within 15 mm of ``near`` in a grab made with :data:`IMPLANT_WINDOW`."""
    grey = image.astype(float).mean(axis=2)
    white = (grey > 230) & (np.ptp(image.astype(int), axis=2) < 20)
    rr, cc = np.mgrid[: white.shape[0], : white.shape[1]]
    white &= np.hypot(rr - near[0], cc - near[1]) < 140  # not the white texts in the corners
    rows, cols = np.nonzero(white)
    assert len(rows) > 100, "no implant visible"
    return np.array([rows.mean(), cols.mean()])


def _click(widget, row: float, col: float) -> None:
    ratio = widget.devicePixelRatioF()
    from pytestqt.qtbot import QtBot

    QtBot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(round(col / ratio), round(row / ratio)))


def _click_at(win: MainWindow, widget, point: np.ndarray) -> None:
    """Put the plane through ``point`` (this view's frame), then click where it is shown."""
    widget.state.crosshair = point
    _settle(win)
    probe = widget.view.probe(point)
    assert probe.inside and abs(probe.depth) < 1e-6
    _click(widget, probe.row, probe.col)


def _implant_offsets(win: MainWindow, truth: dict) -> float:
    ws = _workspace(win)
    ws.set_mode("side by side")
    ws.show_kind(ViewKind.AXIAL)
    win.state.crosshair = truth["base"]["implant"]["shoulder"]
    win.state.scroll(ViewKind.AXIAL, 10)  # 4 mm down into the implant
    win.state.window_level = IMPLANT_WINDOW
    _settle(win)
    base, follow = _panes(win)
    probe = ws.base_views[ViewKind.AXIAL].probe(win.state.crosshair)
    near = (probe.row, probe.col)
    pixels = float(np.linalg.norm(_implant_centroid(base, near) - _implant_centroid(follow, near)))
    return pixels * win.state.pixel_size(ViewKind.AXIAL)  # mm


def test_open_followup_shows_it_unregistered(
    window: MainWindow, phantom_followup_dir: Path, truth: dict
) -> None:
    c = window.compare  # type: ignore[attr-defined]
    c.open_followup(phantom_followup_dir)
    wait_until(lambda: c.resampled is not None, 60.0, "the follow-up to open")
    _settle(window)
    assert c.identity_warning is None  # same phantom patient
    assert not c.is_registered and "Not registered yet" in _workspace(window).notice.text()
    _shot(window, "01_opened")
    # The follow-up is moved by ~6 mm and turned 6.5°: its implant is ~3.3 mm away on screen.
    shoulder = np.asarray(truth["base"]["implant"]["shoulder"])
    expected = np.linalg.norm((truth["T"].apply(shoulder) - shoulder)[:2])
    offset = _implant_offsets(window, truth)
    assert offset == pytest.approx(expected, abs=0.6), (offset, expected)


def test_cancel_leaves_the_previous_placement(window: MainWindow) -> None:
    c = window.compare  # type: ignore[attr-defined]
    before = c.transform
    c.register()
    wait_until(lambda: _workspace(window).panel.progress.value() > 0 or not c.busy, 30.0, "progress")
    assert _workspace(window).panel.cancel_button.isEnabled()
    _workspace(window).panel.cancel_button.click()
    wait_until(lambda: not c.busy, 30.0, "the cancel")
    assert c.transform is before and not c.is_registered and c.result is None


def test_registration_puts_the_implant_at_the_same_place(window: MainWindow, truth: dict) -> None:
    c = window.compare  # type: ignore[attr-defined]
    started = time.perf_counter()
    _workspace(window).panel.register_button.click()
    wait_until(lambda: c.is_registered and not c.busy, 90.0, "the registration")
    seconds = time.perf_counter() - started
    base = c.baseline
    corners = box_corners(
        np.asarray(base.origin), np.asarray(base.index_to_patient(np.asarray(base.size) - 1))
    )
    error_mm, error_deg = transform_error(c.transform, truth["T"], points=corners)
    print(f"\nregistration in the GUI: {seconds:.1f} s, max error {error_mm:.3f} mm, {error_deg:.3f}°")
    assert error_mm < 0.5 and error_deg < 0.3
    assert "Final metric" in _workspace(window).panel.quality_label.text()
    offset = _implant_offsets(window, truth)
    _shot(window, "02_registered")
    assert offset < 0.25, offset  # mm on screen


def test_views_are_linked_both_ways(window: MainWindow, truth: dict) -> None:
    c, ws = window.compare, _workspace(window)  # type: ignore[attr-defined]
    follow_widget = ws.follow_widgets[ViewKind.AXIAL]
    before = np.asarray(window.state.crosshair)
    follow_widget.setFocus()
    from pytestqt.qtbot import QtBot

    QtBot.keyClick(follow_widget, Qt.Key.Key_PageDown)  # scroll in the follow-up view…
    moved = np.asarray(window.state.crosshair) - before
    assert abs(moved[2]) == pytest.approx(0.4, abs=1e-6)  # …moves the baseline one slice
    assert np.allclose(c.state.crosshair, window.state.crosshair)
    window.state.zoom_about(ViewKind.AXIAL, 2.0, row=300, col=200)
    assert c.state.views[ViewKind.AXIAL].zoom == pytest.approx(2.0)
    assert c.state.views[ViewKind.AXIAL].pan == window.state.views[ViewKind.AXIAL].pan
    c.state.window_level = WindowLevel(2950.0, 200.0)
    assert window.state.window_level == WindowLevel(2950.0, 200.0)
    window.state.rotate(ViewKind.AXIAL, 5.0)
    assert np.allclose(c.state.axes, window.state.axes)
    _settle(window)
    base, follow = _panes(window)
    probe = ws.base_views[ViewKind.AXIAL].probe(window.state.crosshair)
    near = (probe.row, probe.col)
    assert np.linalg.norm(_implant_centroid(base, near) - _implant_centroid(follow, near)) < 3.0
    window.state.reset_views()
    window.state.window_level = WindowLevel(1000.0, 4000.0)
    _settle(window)


def test_overlay_modes(window: MainWindow) -> None:
    c, ws = window.compare, _workspace(window)  # type: ignore[attr-defined]
    base_view = ws.base_views[ViewKind.AXIAL]
    follow_view = ws.follow_views[ViewKind.AXIAL]
    ws.set_mode("blend")
    ws.opacity.setValue(0)
    _settle(window)
    blend = grab(ws.overlay)
    rows, cols = base_view.grey().shape
    assert np.abs(blend[:rows, :cols, 1].astype(int) - base_view.grey()).max() <= 2
    ws.opacity.setValue(100)
    _settle(window)
    assert np.abs(grab(ws.overlay)[:rows, :cols, 0].astype(int) - follow_view.grey()).max() <= 2
    ws.set_mode("checkerboard")
    _settle(window)
    _shot(window, "03_checkerboard")
    board = grab(ws.overlay)[:rows, :cols, 1].astype(int)
    side = int(ws.square.value() / window.state.pixel_size(ViewKind.AXIAL))
    assert np.abs(board[: side - 1, : side - 1] - base_view.grey()[: side - 1, : side - 1]).max() <= 2
    assert (
        np.abs(
            board[: side - 1, side + 1 : 2 * side - 1]
            - follow_view.grey()[: side - 1, side + 1 : 2 * side - 1]
        ).max()
        <= 2
    )

    ws.set_mode("difference")
    _settle(window)
    _shot(window, "04_difference_registered")
    valid = np.asarray(follow_view.resliced()) >= c.no_data_below
    bone = valid & (np.asarray(base_view.resliced()) > 1000)
    registered = grab(ws.overlay)[:rows, :cols].astype(int).sum(axis=2)[bone].mean()
    kept = c.transform
    c.reset_registration()
    wait_until(lambda: not c.busy and not c.is_registered, 30.0, "the reset")
    _settle(window)
    _shot(window, "05_difference_unregistered")
    unregistered = grab(ws.overlay)[:rows, :cols].astype(int).sum(axis=2)[bone].mean()
    print(f"\nmean difference colour over bone: registered {registered:.0f}, unregistered {unregistered:.0f}")
    assert unregistered > 2.5 * registered
    c.set_transform(kept, registered=True)
    wait_until(lambda: not c.busy, 30.0, "the transform back")

    ws.set_mode("flicker")
    ws.rate.setValue(4.0)
    timer = ws.overlay.flicker_timer
    assert timer.isActive() and timer.interval() == 125  # 4 alternations a second
    flips = ws.overlay.flicker_phase
    wait_until(lambda: ws.overlay.flicker_phase != flips, 5.0, "the flicker to alternate")
    timer.stop()  # check each phase's pixels without the timer racing the grab
    for _ in range(2):
        ws.overlay.flip()
        _settle(window)
        source = (follow_view if ws.overlay.flicker_phase else base_view).grey()
        assert np.abs(grab(ws.overlay)[:rows, :cols, 1].astype(int) - source).max() <= 2
    ws.set_mode("side by side")


def test_landmarks_give_sub_mm_residuals(window: MainWindow, truth: dict) -> None:
    c, ws = window.compare, _workspace(window)  # type: ignore[attr-defined]
    ws.show_kind(ViewKind.AXIAL)
    ws.panel.landmark_button.click()
    assert ws.click_mode == "landmark"
    names = ["implant_shoulder", "site_crest", "mental_foramen_left", "canine_tip_33", "site_canal_top"]
    for name in names:
        base_point = np.asarray(truth["base"]["landmarks"][name])
        follow_point = truth["T"].apply(base_point)  # the same anatomy in the follow-up's frame
        _click_at(window, ws.base_widgets[ViewKind.AXIAL], base_point)
        assert c.pending_landmark is not None
        shown = c.transform.apply_inverse(follow_point)  # where the follow-up view shows it
        _click_at(window, ws.follow_widgets[ViewKind.AXIAL], shown)
    assert len(c.landmarks) == len(names)
    _shot(window, "06_landmarks")
    ws.panel.use_landmarks_button.click()
    wait_until(lambda: not c.busy, 30.0, "the landmark placement")
    residual = c.quality["landmark_residual_mm"]
    print(f"\nlandmark fit residual (RMS): {residual:.3f} mm")
    assert residual < 1.0
    assert np.all(c.landmark_residuals() < 1.0)
    assert "L5: residual" in ws.panel.landmark_list.item(4).text()
    ws.panel.accept_button.click()
    assert ws.click_mode is None and c.is_registered


def test_paired_bone_level_shows_the_extra_loss(window: MainWindow, truth: dict) -> None:
    c, ws = window.compare, _workspace(window)  # type: ignore[attr-defined]
    ws.show_kind(ViewKind.CORONAL)
    window.state.window_level = WindowLevel(1000.0, 4000.0)
    base_defect, follow_defect = truth["base"]["marginal_defect"], truth["follow"]["marginal_defect"]
    shoulder = np.asarray(truth["base"]["implant"]["shoulder"])
    bone_level = np.asarray(base_defect["bone_level_point"])
    window.set_measure_tool("distance")
    base_widget = ws.base_widgets[ViewKind.CORONAL]
    _click_at(window, base_widget, shoulder)
    _click_at(window, base_widget, bone_level)
    window.set_measure_tool("navigate")
    mset = window.measure.measurements
    assert len(mset) == 1
    measured = next(iter(mset))
    mapped = ws.map_to_followup()
    assert len(mapped) == 1 and np.allclose(mapped[0].array, c.transform.apply(measured.array))
    ws.panel.pair_table.selectRow(0)
    ws.panel.remeasure_button.click()
    assert ws.click_mode == "remeasure"
    follow_widget = ws.follow_widgets[ViewKind.CORONAL]
    for point in (truth["follow"]["implant"]["shoulder"], follow_defect["bone_level_point"]):
        _click_at(window, follow_widget, c.transform.apply_inverse(np.asarray(point)))
    assert ws.click_mode is None
    (row,) = c.paired.rows(mset)
    expected = follow_defect["marginal_bone_level_mm"] - base_defect["marginal_bone_level_mm"]
    print(
        f"\nbone level: baseline {row.baseline_value:.2f} mm, follow-up {row.followup_value:.2f} mm, "
        f"change {row.change:+.2f} mm (truth {expected:+.2f})"
    )
    assert expected == pytest.approx(1.0)
    assert row.change == pytest.approx(expected, abs=0.2)
    shown = ws.panel.pair_table.item(0, 3).text()
    assert shown.endswith(" mm") and float(shown.split()[0]) == pytest.approx(row.change, abs=0.006)
    _settle(window)
    _shot(window, "07_paired")


def test_case_file_keeps_one_registration_record(window: MainWindow, truth: dict) -> None:
    c = window.compare  # type: ignore[attr-defined]
    mset = window.measure.measurements
    assert window.measure.save() is not None
    section = json.loads(case_path(mset.identity).read_text())["sections"]["compare"]
    assert section["version"] == 2
    assert not {"transform", "landmarks", "quality"} & set(section)  # only in the registration record
    record = RegistrationRecord.from_dict(section["registration"])
    assert record.followup == c.followup.metadata.identity
    assert record.registered and record.method == "landmarks"  # placed by landmarks, then accepted
    assert np.allclose(record.transform.matrix, c.transform.matrix, atol=1e-9)
    error_mm, _ = transform_error(record.transform, truth["T"], points=np.asarray(record.baseline_landmarks))
    assert error_mm < 1.0  # the saved transform is the truth's, at the landmarks
    assert record.landmark_residual_mm == pytest.approx(c.quality["landmark_residual_mm"])
    base, follow = c.landmark_arrays()
    assert np.allclose(record.baseline_landmarks, base) and np.allclose(record.followup_landmarks, follow)


def test_unregistered_record_round_trip_and_old_versions() -> None:
    follow = SeriesIdentity("1.2.3.2", "1.2.3.1", "1.2.3.3", "CT")
    moved = RigidTransform.from_rotation_translation(np.eye(3), (12.0, -3.0, 4.5))
    pairs = ((1.0, 2.0, 3.0), (4.0, 5.0, 6.5))
    placed = RegistrationRecord(
        follow, moved, method="placement", baseline_landmarks=pairs, followup_landmarks=pairs[::-1]
    )
    region = (np.array([-5.0, -6.0, -7.0]), np.array([5.0, 6.0, 7.0]))
    record = CompareRecord(placed, source="/media/disc", region=region)
    again = CompareRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.series_uid == "1.2.3.2" and again.source == "/media/disc"
    assert not again.registered and again.quality == {}
    assert np.allclose(again.transform.matrix, moved.matrix)
    assert [tuple(b) for b, _ in again.landmarks] == list(pairs)
    assert [tuple(f) for _, f in again.landmarks] == list(pairs[::-1])
    assert again.region is not None and np.allclose(again.region[1], region[1])
    old = {"version": 1, "followup": {"series_instance_uid": "1.2.3.2"}, "transform": moved.to_dict()}
    with pytest.raises(ValueError, match="another version"):
        CompareRecord.from_dict(old)
    with pytest.raises(ValueError):
        CompareRecord.from_dict({**record.to_dict(), "registration": {"transform": None}})


def test_registration_is_restored_on_reopen(window: MainWindow, phantom_dir: Path) -> None:
    c = window.compare  # type: ignore[attr-defined]
    if not hasattr(window.measure, "register_section"):
        pytest.skip("the case file has no sections yet")
    transform, pairs = c.transform, c.paired.rows(window.measure.measurements)
    window.measure.flush()
    open_phantom(window, phantom_dir)
    assert c.followup is None and c.saved is not None
    assert any("Reopen follow-up" in note for note in window.banner.notes)
    action = window.compare_actions["reopen"]  # type: ignore[attr-defined]
    assert action.isEnabled()
    action.trigger()
    wait_until(lambda: c.resampled is not None and not c.busy, 60.0, "the follow-up to reopen")
    assert c.is_registered and c.result is None  # no new registration ran
    assert np.allclose(c.transform.matrix, transform.matrix, atol=1e-9)
    again = c.paired.rows(window.measure.measurements)
    assert [r.change for r in again] == pytest.approx([r.change for r in pairs])
    assert len(c.landmarks) == 5


def test_a_new_window_offers_the_saved_follow_up_before_building_the_workspace(
    window: MainWindow, phantom_dir: Path
) -> None:
    """The compare workspace is built on first use; the saved record alone offers the reopen."""
    c = window.compare  # type: ignore[attr-defined]
    record = c.record()
    assert record is not None
    window.measure.flush()
    with phantom_window(phantom_dir) as fresh:
        feature = fresh.compare_feature
        assert not feature.built
        assert feature.saved is not None and feature.saved.series_uid == record.series_uid
        assert np.allclose(feature.saved.transform.matrix, c.transform.matrix, atol=1e-9)
        assert any("Reopen follow-up" in note for note in fresh.banner.notes)
        actions = fresh.compare_actions  # type: ignore[attr-defined]
        assert actions["reopen"].isEnabled() and not actions["register"].isEnabled()
        assert not feature.built
        actions["reopen"].trigger()
        assert feature.built and fresh.current_workspace == "compare"
        reopened = fresh.compare  # type: ignore[attr-defined]
        wait_until(lambda: reopened.resampled is not None and not reopened.busy, 60.0, "the follow-up")
        assert reopened.is_registered and reopened.result is None  # the saved transform, no new run
        assert np.allclose(reopened.transform.matrix, c.transform.matrix, atol=1e-9)
        assert actions["register"].isEnabled()


def test_another_patient_is_flagged(window: MainWindow, phantom_followup_dir: Path) -> None:
    c = window.compare  # type: ignore[attr-defined]
    real_loader = c.opener.loader

    def other_patient(candidate, **kwargs):
        volume = real_loader(candidate, **kwargs)
        volume.metadata = replace(volume.metadata, patient_id="SOMEONE-ELSE")
        return volume

    c.opener.loader = other_patient
    try:
        c.close_followup()
        c.open_followup(phantom_followup_dir)
        wait_until(lambda: c.resampled is not None and not c.busy, 60.0, "the other follow-up")
    finally:
        c.opener.loader = real_loader
    assert c.identity_warning is not None and "patient ID" in c.identity_warning
    assert "SOMEONE-ELSE" not in c.identity_warning
    assert c.identity_warning in window.banner.notes
    assert "patient ID" in _workspace(window).notice.text()
