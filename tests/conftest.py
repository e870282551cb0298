"""Shared fixtures: the real-sample corpus and the synthetic dental phantom."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _samples_root() -> Path:
    env = os.environ.get("CBCT_DICOM_SAMPLES")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "dicom-samples"


@pytest.fixture(scope="session")
def dicom_samples() -> Path:
    """``../shared/dicom-samples`` (real files written by others); skip when absent."""
    root = _samples_root()
    if not root.is_dir():
        pytest.skip(f"real DICOM sample corpus not found at {root} (set CBCT_DICOM_SAMPLES)")
    return root


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in dental phantom at 0.4 mm (same anatomy as the 0.2 mm sample, faster)."""
    from cbctviewer.io.sample import write_sample

    out = tmp_path_factory.mktemp("phantom")
    write_sample(out, voxel_size=0.4)
    return out


@pytest.fixture(scope="session")
def phantom_followup_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The follow-up phantom (moved, cropped, 1 mm more bone loss) at 0.4 mm."""
    from cbctviewer.io.sample import write_sample

    out = tmp_path_factory.mktemp("phantom_followup")
    write_sample(out, voxel_size=0.4, followup=True)
    return out


@pytest.fixture(scope="session")
def truth(phantom_dir: Path) -> dict[str, Any]:
    """The baseline phantom's ground truth (``phantom_truth.json``)."""
    return json.loads((phantom_dir / "phantom_truth.json").read_text())


@pytest.fixture(scope="session")
def loaded_phantoms(phantom_dir: Path, phantom_followup_dir: Path) -> dict[str, Any]:
    """Both phantoms loaded the normal way (scan + load) with their truths, once per session.

    Keys: ``baseline``, ``followup`` (:class:`~cbctviewer.core.volume.Volume`), ``truth_b``,
    ``truth_f`` (dicts). The volumes are read-only views; tests must not change them.
    """
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    loaded: dict[str, Any] = {}
    for key, folder in (("b", phantom_dir), ("f", phantom_followup_dir)):
        with scan(folder) as report:
            loaded["baseline" if key == "b" else "followup"] = load(report.volumes[0])
        loaded[f"truth_{key}"] = json.loads((folder / "phantom_truth.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session", autouse=True)
def _private_user_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Recent cases, case files and other user data go to a temp folder, never the real home."""
    path = tmp_path_factory.mktemp("user-data")
    previous = os.environ.get("CBCT_VIEWER_DATA_DIR")
    os.environ["CBCT_VIEWER_DATA_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("CBCT_VIEWER_DATA_DIR", None)
    else:
        os.environ["CBCT_VIEWER_DATA_DIR"] = previous


@pytest.fixture(scope="module", autouse=True)
def _module_user_data(_private_user_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Each test module starts without the case files other modules saved for the phantom."""
    path = tmp_path_factory.mktemp("module-user-data")
    os.environ["CBCT_VIEWER_DATA_DIR"] = str(path)
    yield path
    os.environ["CBCT_VIEWER_DATA_DIR"] = str(_private_user_data)
