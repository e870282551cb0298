"""The evented dental model: events, undo, nearest canal, case-file round trip and validation."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from cbctviewer.core.canal import CanalPath
from cbctviewer.core.dental_state import DENTAL_SCHEMA_VERSION, DentalState
from cbctviewer.core.geometry import Plane
from cbctviewer.core.virtual_implant import VirtualImplant

CROSS = Plane.from_axes((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


def recorder(state: DentalState) -> list[tuple[str, tuple[Any, ...]]]:
    got: list[tuple[str, tuple[Any, ...]]] = []
    for name in (
        "arch",
        "panoramic",
        "position",
        "cross_sections",
        "canals",
        "implants",
        "selection",
        "history",
    ):
        getattr(state.events, name).connect(lambda *args, _n=name: got.append((_n, args)))
    return got


def filled() -> DentalState:
    state = DentalState()
    for p in ([30.0, -20.0, -61.0], [33.0, -10.0, -61.0], [35.0, 5.0, -61.0]):
        state.add_canal_point("left", p)
    state.add_canal_point("right", [-30.0, -20.0, -61.0])
    state.add_canal_point("right", [-35.0, 5.0, -61.0])
    state.add_implant(
        VirtualImplant.placed_on(CROSS.moved_to((32.0, -12.0, -42.0)), (32.0, -12.0, -42.0), 4.0, 10.0)
    )
    state.position_mm = 12.5
    state.cross_section_count = 7
    return state


def test_canal_edits_emit_and_undo() -> None:
    state = DentalState()
    got = recorder(state)
    first = state.add_canal_point("left", [0.0, 0.0, 0.0])
    assert got[0] == ("canals", ("left", first)) and len(first.points) == 1
    state.add_canal_point("left", [10.0, 0.0, 0.0])
    state.add_canal_point("left", [5.0, 2.0, 0.0], index=1)
    assert state.canals["left"].points[1].tolist() == [5.0, 2.0, 0.0]
    for step in range(3):
        state.move_canal_point("left", 1, [5.0, 2.0 - step, 0.0], merge=True)
    state.end_drag()
    assert state.canals["left"].points[1].tolist() == [5.0, 0.0, 0.0]
    assert state.undo()  # the whole drag is one step
    assert state.canals["left"].points[1].tolist() == [5.0, 2.0, 0.0]
    assert state.redo()
    state.remove_canal_point("left", 1)
    state.set_canal_diameter("left", 2.5)
    assert state.canals["left"].diameter_mm == 2.5
    state.remove_canal_point("left", 0)
    state.remove_canal_point("left", 0)
    assert "left" not in state.canals
    assert got[-2] == ("canals", ("left", None))
    assert got[-1] == ("history", (True, False))
    with pytest.raises(KeyError):
        state.move_canal_point("right", 0, [0, 0, 0])
    with pytest.raises(ValueError):
        state.set_canal("left", CanalPath("right", [[0.0, 0.0, 0.0]]))


def test_implant_edits_emit_and_undo() -> None:
    state = DentalState()
    got = recorder(state)
    implant = state.add_implant(VirtualImplant.placed_on(CROSS, (1.0, 2.0, 3.0), 4.0, 10.0))
    assert implant.label == "Implant 1" and state.selected_implant == implant.id
    assert ("implants", (implant.id, implant)) in got
    changed = state.update_implant(implant.id, length_mm=12.0)
    assert state.implants[implant.id].apex == pytest.approx((1.0, 2.0, -9.0))
    tilted = changed.tilted_bucco_lingual(5.0)
    state.replace_implant(tilted)
    assert state.implants[implant.id] == tilted
    state.undo()
    state.undo()
    assert state.implants[implant.id] == implant
    state.remove_implant(implant.id)
    assert state.implants == {} and state.selected_implant is None
    assert got[-1] == ("history", (True, False))
    state.add_implant(implant)
    with pytest.raises(ValueError):
        state.add_implant(implant)  # ids are unique


def test_view_settings_emit_only_on_change() -> None:
    state = DentalState()
    got = recorder(state)
    state.position_mm = 3.0
    state.position_mm = 3.0
    state.cross_section_interval_mm = 2.0
    state.cross_section_width_mm = 40.0  # unchanged
    state.active_side = "left"
    assert [n for n, _ in got] == ["position", "cross_sections", "selection"]
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            state.cross_section_interval_mm = bad
    with pytest.raises(ValueError):
        state.cross_section_count = 0
    with pytest.raises(ValueError):
        state.active_side = "middle"


def test_arch_is_undoable() -> None:
    arch_module = pytest.importorskip("cbctviewer.core.arch")
    state = DentalState()
    got = recorder(state)
    curve = arch_module.ArchCurve(np.array([[-30.0, 0.0, -42.0], [0.0, -35.0, -42.0], [30.0, 0.0, -42.0]]))
    state.arch = curve
    assert got[0] == ("arch", (curve,))
    state.undo()
    assert state.arch is None


def test_nearest_canal() -> None:
    state = filled()
    assert state.nearest_canal([32.0, -12.0, -52.0]) is state.canals["left"]
    assert state.nearest_canal([-32.0, -12.0, -52.0]) is state.canals["right"]
    assert DentalState().nearest_canal([0.0, 0.0, 0.0]) is None


def test_round_trip_through_json() -> None:
    state = filled()
    data = json.loads(json.dumps(state.to_dict()))
    assert data["version"] == DENTAL_SCHEMA_VERSION
    other = DentalState()
    got = recorder(other)
    other.restore(data)
    assert other.to_dict() == data
    assert other.canals == state.canals and other.implants == state.implants
    assert other.position_mm == 12.5 and other.cross_section_count == 7
    assert {"canals", "implants", "position", "cross_sections"} <= {n for n, _ in got}
    assert not other.can_undo
    other.restore(None)
    assert other.canals == {} and other.implants == {} and other.position_mm == 0.0


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(version=DENTAL_SCHEMA_VERSION + 1),
        lambda d: d.pop("version"),
        lambda d: d.update(position_mm="here"),
        lambda d: d.update(position_mm=float("inf")),
        lambda d: d["cross_sections"].update(count=0),
        lambda d: d["cross_sections"].update(interval_mm=-1),
        lambda d: d["canals"].update(left={"side": "right", "points": [[0, 0, 0]]}),
        lambda d: d["canals"]["left"].update(points=[[0, 0]]),
        lambda d: d["implants"].append(d["implants"][0]),
        lambda d: d["implants"][0].update(diameter_mm="wide"),
        lambda d: d.update(implants="none"),
        lambda d: d.update(canals=[1, 2]),
        lambda d: d.update(arch={"control_points": [[0, 0, 0]]}),
    ],
)
def test_bad_data_raises_and_leaves_state_alone(change: Any) -> None:
    state = filled()
    before = state.to_dict()
    data = json.loads(json.dumps(before))
    change(data)
    with pytest.raises(ValueError):
        state.restore(data)
    assert state.to_dict() == before
    with pytest.raises(ValueError):
        state.restore([])
