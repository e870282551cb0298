"""app.recent and io.atomic: order, de-duplication, limit, persistence, atomicity, recovery.

Headless (no Qt). Every test runs with CBCT_VIEWER_DATA_DIR in a temporary folder, so
the real home is never touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cbctviewer.app import recent as recent_module
from cbctviewer.app.recent import RecentCases, data_dir
from cbctviewer.io.atomic import write_json_atomic


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("CBCT_VIEWER_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def cases(tmp_path: Path) -> list[Path]:
    made = []
    for n in range(15):
        case = tmp_path / "scans" / f"case{n:02d}"
        case.mkdir(parents=True)
        made.append(case)
    return made


def test_default_location_follows_the_environment(private_data_dir: Path, cases: list[Path]) -> None:
    assert data_dir() == private_data_dir
    store = RecentCases()
    assert store.file == private_data_dir / "recent.json"
    store.add(cases[0])
    assert store.file.is_file()


def test_most_recent_first_without_duplicates(cases: list[Path]) -> None:
    store = RecentCases()
    for case in (cases[0], cases[1], cases[2], cases[1]):
        store.add(case)
    assert store.paths() == [cases[1], cases[2], cases[0]]


def test_paths_are_resolved_before_comparing(cases: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    store = RecentCases()
    store.add(cases[0])
    monkeypatch.chdir(cases[0].parent)
    store.add(Path(cases[0].name) / ".." / cases[0].name)
    store.add(cases[0].name)
    assert store.paths() == [cases[0]]
    assert all(p.is_absolute() for p in store.paths())


def test_limit_drops_the_oldest(cases: list[Path]) -> None:
    store = RecentCases(limit=3)
    for case in cases[:5]:
        store.add(case)
    assert store.paths() == [cases[4], cases[3], cases[2]]
    with pytest.raises(ValueError):
        RecentCases(limit=0)


def test_default_limit_is_ten(cases: list[Path]) -> None:
    store = RecentCases()
    for case in cases:
        store.add(case)
    assert store.paths() == cases[::-1][:10]


def test_persists_across_instances_and_shares_one_list(tmp_path: Path, cases: list[Path]) -> None:
    file = tmp_path / "elsewhere" / "list.json"
    first = RecentCases(file)
    second = RecentCases(file)  # e.g. a second window
    first.add(cases[0])
    second.add(cases[1])  # re-reads the file: cases[0] is kept
    assert RecentCases(file).paths() == [cases[1], cases[0]]
    data = json.loads(file.read_text(encoding="utf-8"))
    assert data == {"version": 1, "paths": [str(cases[1]), str(cases[0])]}
    second.clear()
    assert RecentCases(file).paths() == [] and first.paths() == []


def test_missing_paths_are_kept_after_existing_ones(cases: list[Path]) -> None:
    store = RecentCases()
    for case in cases[:3]:
        store.add(case)
    cases[2].rmdir()  # the newest is gone (a USB stick pulled out)
    assert store.paths() == [cases[1], cases[0], cases[2]]
    assert [(e.path, e.exists) for e in store.entries()] == [
        (cases[2], False),
        (cases[1], True),
        (cases[0], True),
    ]
    store.remove(cases[2])
    assert store.paths() == [cases[1], cases[0]]


def test_crash_during_write_leaves_the_old_file_intact(
    cases: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecentCases()
    store.add(cases[0])
    before = store.file.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        store.add(cases[1])  # must not raise: the list still works for this session
    assert store.file.read_bytes() == before
    assert [p.name for p in store.file.parent.iterdir()] == ["recent.json"]  # no temp file left
    assert RecentCases().paths() == [cases[0]]


@pytest.mark.parametrize(
    "damage",
    [b"{not json", b'{"paths": "oops"}', b'{"paths": [1, 2]}', b"[]", b"\xff\xfe\x00garbage", b""],
)
def test_damaged_file_is_set_aside_and_the_list_starts_empty(
    private_data_dir: Path, cases: list[Path], damage: bytes
) -> None:
    private_data_dir.mkdir(parents=True)
    (private_data_dir / "recent.json").write_bytes(damage)
    store = RecentCases()
    assert store.paths() == []
    aside = list(private_data_dir.glob("recent.json.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damage
    store.add(cases[0])
    assert RecentCases().paths() == [cases[0]]


def test_two_damaged_files_in_one_second_both_kept(private_data_dir: Path) -> None:
    private_data_dir.mkdir(parents=True)
    for damage in (b"{1", b"{2"):
        (private_data_dir / "recent.json").write_bytes(damage)
        assert RecentCases().paths() == []
    assert sorted(p.read_bytes() for p in private_data_dir.glob("recent.json.damaged-*")) == [b"{1", b"{2"]


def test_unwritable_folder_does_not_crash(cases: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(recent_module, "write_json_atomic", refuse)
    store = RecentCases()
    store.add(cases[0])
    assert store.paths() == [cases[0]]  # kept in memory for this session


def test_only_paths_are_stored(cases: list[Path]) -> None:
    store = RecentCases()
    store.add(cases[0])
    data = json.loads(store.file.read_text(encoding="utf-8"))
    assert set(data) == {"version", "paths"}


# --------------------------------------------------------------------------- io.atomic


def test_write_json_atomic_round_trip_and_no_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "case.json"
    assert write_json_atomic(target, {"name": "Zoë", "n": [1, 2]}) == target
    assert json.loads(target.read_text(encoding="utf-8")) == {"name": "Zoë", "n": [1, 2]}
    write_json_atomic(target, {"n": 3})
    assert json.loads(target.read_text(encoding="utf-8")) == {"n": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]


def test_write_json_atomic_keeps_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "case.json"
    write_json_atomic(target, {"version": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"bad": object()})  # not serialisable: nothing written
    with pytest.raises(ValueError):
        write_json_atomic(target, {"bad": float("nan")})

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            write_json_atomic(target, {"version": 2})
    assert json.loads(target.read_text(encoding="utf-8")) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]
