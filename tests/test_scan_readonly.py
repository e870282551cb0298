"""scan() never writes to the source: it scans read-only copies and leaves them untouched."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cbctviewer.io.scan import scan


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every path under ``root`` with its content hash, mtime (ns) and mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(root))] = (digest, st.st_mtime_ns, st.st_mode)
    return out


def set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        if writable:
            path.chmod(mode | stat.S_IWUSR)
        else:
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture()
def readonly_media(dicom_samples: Path, tmp_path: Path) -> Iterator[Path]:
    """A read-only copy of several sample folders plus a zip of one of them."""
    root = tmp_path / "media"
    for part in ("volumes/ct_phantom_philips_ingenuity_5mm", "dicomdir", "broken", "mixed_series_one_folder"):
        shutil.copytree(dicom_samples / part, root / part)
    with zipfile.ZipFile(root / "disc.zip", "w") as zf:
        for path in sorted((root / "mixed_series_one_folder").iterdir()):
            zf.write(path, f"DISC/{path.name}")
    set_writable(root, False)
    try:
        yield root
    finally:
        set_writable(root, True)


def test_scanning_never_modifies_the_source(readonly_media: Path, tmp_path: Path) -> None:
    before = snapshot(readonly_media)
    temp_dirs = []
    targets = [
        readonly_media,
        readonly_media / "dicomdir" / "pydicom_dicomdirtests" / "DICOMDIR",
        readonly_media / "disc.zip",
        readonly_media / "broken" / "MR_truncated.dcm",
    ]
    for target in targets:
        with scan(target) as report:
            assert report.series or report.problems, target
            if report.temp_dir is not None:
                assert not report.temp_dir.is_relative_to(readonly_media)
                temp_dirs.append(report.temp_dir)
    assert snapshot(readonly_media) == before  # same files, contents, times and modes
    assert temp_dirs and not any(d.exists() for d in temp_dirs)
    if os.geteuid() != 0:  # root ignores permissions; the snapshot above is the real check
        with pytest.raises(PermissionError):
            (readonly_media / "probe").write_bytes(b"")
