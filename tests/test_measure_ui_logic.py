"""The measuring UI's pure parts, without a window: plot ticks, implant-site parameters,
view-state JSON, MeasurementSet.replace and the overlay's handles, rubber band and ellipse."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from vtkmodules.vtkRenderingCore import vtkRenderer

from cbctviewer.app.panels.measure_site import site_extras, site_parameters, site_threshold
from cbctviewer.app.panels.measure_view_state import dump_view_state, restore_view_state
from cbctviewer.app.panels.profile_plot import nice_ticks
from cbctviewer.core.geometry import Plane, SliceGeometry
from cbctviewer.core.implant_site import SiteMeasurement
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measurements import Measurement, MeasurementKind
from cbctviewer.core.view_state import SlabMode, ViewerState, ViewKind
from cbctviewer.core.volume import SeriesIdentity
from cbctviewer.core.window_level import WindowLevel
from cbctviewer.rendering.measure_overlay import MeasureOverlay


@pytest.mark.parametrize(("low", "high"), [(0.0, 10.0), (-1000.0, 3095.0), (0.37, 0.41), (250.0, 2900.0)])
def test_nice_ticks_are_round_and_cover_the_range(low: float, high: float) -> None:
    ticks = nice_ticks(low, high)
    assert 3 <= len(ticks) <= 8
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6
    assert low <= ticks[0] < low + steps[0] and high - steps[0] < ticks[-1] <= high


def _site(axis: np.ndarray, across: np.ndarray, *, widths: bool = True) -> Measurement:
    crest = np.array([10.0, -5.0, 20.0])
    points = [crest, crest + 12.0 * axis]
    for depth in (1.0, 3.0, 5.0):
        centre = crest + depth * axis
        half = (3.0 + depth / 2) if widths else 0.0
        points += [centre + half * across, centre - half * across]
    return Measurement.create(MeasurementKind.IMPLANT_SITE, points)


def test_site_parameters_come_back_from_the_points() -> None:
    axis = np.array([0.0, 0.6, -0.8])
    across = np.array([1.0, 0.0, 0.0])
    params = site_parameters(_site(axis, across))
    assert np.allclose(params.crest, [10.0, -5.0, 20.0])
    assert np.allclose(params.axis, axis) and np.allclose(params.width_direction, across)
    with pytest.raises(ValueError, match="width"):
        site_parameters(_site(axis, across, widths=False))
    with pytest.raises(ValueError, match="not an implant site"):
        site_parameters(Measurement.create("point", [[0, 0, 0]]))


def test_threshold_written_in_the_note_reads_back() -> None:
    def result(**kw: object) -> SiteMeasurement:
        base: dict[str, object] = {
            "height_mm": 15.0, "limit": "cortex", "widths": {}, "segments": (), "threshold": 842.4,
            "threshold_estimated": True, "safety_margin_mm": 2.0, "safe_length_mm": 15.0,
            "cortex_height_mm": 15.0,
        }  # fmt: skip
        base.update(kw)
        return SiteMeasurement(**base)  # type: ignore[arg-type]

    note = "limit: the inferior cortex; " + site_extras(result())
    m = Measurement.create(MeasurementKind.IMPLANT_SITE, [[0, 0, 0], [0, 0, -1]], note=note)
    assert site_threshold(m) == (842.0, True)
    canal = site_extras(
        result(
            limit="canal", canal_height_mm=12.3, safe_length_mm=10.3, threshold=-50, threshold_estimated=False
        )
    )
    assert "canal surface 12.3 mm below the crest" in canal and "safe length 10.3 mm" in canal
    assert site_threshold(Measurement.create("point", [[0, 0, 0]], note=canal)) == (-50.0, False)
    assert site_threshold(Measurement.create("point", [[0, 0, 0]])) is None


def test_view_state_round_trip_through_json() -> None:
    state = ViewerState()
    state.crosshair = (1.0, -2.0, 3.5)
    state.rotate(ViewKind.CORONAL, 30.0)
    state.views[ViewKind.AXIAL].zoom = 2.0
    state.views[ViewKind.AXIAL].pan = (1.5, -4.0)
    state.views[ViewKind.SAGITTAL].slab_thickness = 8.0
    state.views[ViewKind.SAGITTAL].slab_mode = SlabMode.MINIP
    state.window_level = WindowLevel(500.0, 1800.0)
    data = json.loads(json.dumps(dump_view_state(state)))
    other = ViewerState()
    restore_view_state(other, None, data)
    assert other.crosshair == state.crosshair
    assert np.allclose(other.axes, state.axes)
    assert other.roll(ViewKind.CORONAL) == pytest.approx(state.roll(ViewKind.CORONAL))
    assert other.views[ViewKind.AXIAL].pan == pytest.approx((1.5, -4.0))
    assert other.views[ViewKind.SAGITTAL].slab_mode == SlabMode.MINIP
    assert other.window_level == state.window_level
    # A damaged part is skipped, the rest still restored; another version is ignored.
    data["axes"] = [1, 2, 3]
    data["crosshair"] = [7.0, 8.0, 9.0]
    third = ViewerState()
    restore_view_state(third, None, data)
    assert np.allclose(third.axes, np.eye(3)) and third.crosshair == (7.0, 8.0, 9.0)
    restore_view_state(third, None, {**data, "version": 99, "crosshair": [0.0, 0.0, 0.0]})
    assert third.crosshair == (7.0, 8.0, 9.0)


def test_replace_keeps_id_and_label_and_undoes() -> None:
    mset = MeasurementSet(SeriesIdentity(series_instance_uid="1.2.3"))
    first = mset.add(Measurement.create("distance", [[0, 0, 0], [1, 0, 0]], label="Mine"))
    changed: list[tuple[Measurement, Measurement]] = []
    mset.events.changed.connect(lambda old, new: changed.append((old, new)))
    new = mset.replace(first.id, Measurement.create("distance", [[0, 0, 0], [5, 0, 0]]))
    assert new.id == first.id and new.label == "Mine" and mset.get(first.id) == new
    assert changed == [(first, new)]
    mset.undo()
    assert mset.get(first.id) == first


def _geometry() -> SliceGeometry:
    plane = Plane.from_axes((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    return SliceGeometry(plane, 0.1, 400, 300)


def test_overlay_handles_rubber_band_and_ellipse_outline() -> None:
    overlay = MeasureOverlay(vtkRenderer(), lambda: None)
    mset = MeasurementSet(SeriesIdentity(series_instance_uid="1.2.3"))
    # An ellipse drawn on a plane whose origin is elsewhere than the view's (another crosshair).
    roi_plane = Plane.from_axes((-7.0, 3.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    ellipse = mset.add(
        Measurement.create("ellipse", [[2.0, 1.0, 0.0], [4.0, 1.0, 0.0], [2.0, 2.0, 0.0]], plane=roi_plane)
    )
    overlay.bind(mset)
    geometry = _geometry()
    overlay.update(geometry, tolerance=0.2, volume=None)
    points = overlay.lines.data.GetPoints()
    xy = np.array([points.GetPoint(i)[:2] for i in range(points.GetNumberOfPoints())])
    rc = geometry.patient_to_pixel(np.array([2.0, 1.0, 0.0]))
    centre = np.array([rc[1] + 0.5, geometry.height - rc[0] - 0.5])
    radii = np.hypot(*(xy - centre).T)
    assert radii.min() == pytest.approx(10.0, abs=0.5) and radii.max() == pytest.approx(20.0, abs=0.5)
    # The handle under the mouse, within the radius only.
    hit = overlay.handle_at(centre[0] + 20 + 3, centre[1] + 2, radius=6)
    assert hit is not None and (hit.measurement_id, hit.index) == (ellipse.id, 1)
    assert overlay.handle_at(centre[0] + 20 + 9, centre[1], radius=6) is None
    # Selected: drawn with the selection actor, not the plain one.
    overlay.set_selected(ellipse.id)
    overlay.update(geometry, tolerance=0.2, volume=None)
    assert overlay.lines.data.GetNumberOfLines() == 0 and overlay.selected_lines.data.GetNumberOfLines() == 64
    # Rubber band of a polygon being drawn: an open chain closed back to the first point.
    overlay.set_pending([[0, 0, 0], [3, 0, 0], [3, 3, 0]], MeasurementKind.POLYGON)
    overlay.update(geometry, tolerance=0.2, volume=None)
    assert overlay.pending_lines.data.GetNumberOfLines() == 3
    overlay.set_pending([[0, 0, 0], [3, 0, 5]], MeasurementKind.POLYLINE)  # not in this plane
    overlay.update(geometry, tolerance=0.2, volume=None)
    assert overlay.pending_lines.data.GetNumberOfLines() == 0
