"""The recent-cases list: folders and files the user opened, most recent first.

Stored as JSON (``{"version": 1, "paths": [...]}``) in ``recent.json`` in the user's
data folder (:func:`data_dir`). Only paths are stored — nothing read from the scans.
The file is re-read before every change, so several windows share one list, and
written atomically (:func:`cbctviewer.io.atomic.write_json_atomic`). A damaged file
is renamed aside (``recent.json.damaged-<timestamp>``) and the list starts empty; a
list that cannot be saved (read-only home) still works for this session.

Missing paths are kept (a USB stick or disc may simply not be inserted): :meth:`RecentCases.paths`
lists the existing ones first, and :meth:`RecentCases.entries` tells which are missing
so that a menu can grey them out.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from cbctviewer.io.atomic import write_json_atomic

log = logging.getLogger(__name__)

APP_NAME = "cbct-viewer"
#: Environment variable naming the data folder (tests, portable installs).
DATA_DIR_ENV = "CBCT_VIEWER_DATA_DIR"
FILE_NAME = "recent.json"
_VERSION = 1


def data_dir() -> Path:
    """The folder for the user's data: ``$CBCT_VIEWER_DATA_DIR``, else the platform's.

    On Linux ``~/.local/share/cbct-viewer``, on Windows ``%LOCALAPPDATA%\\cbct-viewer``,
    on macOS ``~/Library/Application Support/cbct-viewer``. Not created here.
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True, slots=True)
class RecentEntry:
    """One remembered path and whether it is there now."""

    path: Path
    exists: bool


class RecentCases:
    """The recent-cases list, persisted as JSON.

    Parameters
    ----------
    path : Path, optional
        The JSON file; default ``data_dir() / "recent.json"``.
    limit : int, optional
        Most paths remembered (default 10); older ones drop off.
    """

    def __init__(self, path: Path | None = None, *, limit: int = 10) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.file = Path(path) if path is not None else data_dir() / FILE_NAME
        self.limit = limit
        self._paths: list[Path] = []
        self._unsaved = False  #: the last save failed: our list is newer than the file
        self._paths = self._read()

    # ----------------------------------------------------------------- public

    def add(self, path: Path | str) -> None:
        """Put ``path`` (made absolute and resolved) at the top, without duplicates, and save."""
        new = _resolve(Path(path))
        current = [p for p in self._current() if p != new]
        self._paths = [new, *current][: self.limit]
        self._save()

    def paths(self) -> list[Path]:
        """Remembered paths: existing ones first, then missing ones, each most recent first."""
        entries = self.entries()
        return [e.path for e in entries if e.exists] + [e.path for e in entries if not e.exists]

    def entries(self) -> list[RecentEntry]:
        """Remembered paths, most recent first, each with whether it exists now."""
        self._paths = self._current()
        return [RecentEntry(p, _exists(p)) for p in self._paths]

    def remove(self, path: Path | str) -> None:
        """Forget one path (e.g. the user chose "remove from list")."""
        gone = _resolve(Path(path))
        self._paths = [p for p in self._current() if p != gone]
        self._save()

    def clear(self) -> None:
        """Forget every path."""
        self._paths = []
        self._save()

    # ----------------------------------------------------------------- storage

    def _current(self) -> list[Path]:
        """The file's list (another window may have changed it), or ours if we could not save."""
        return list(self._paths) if self._unsaved else self._read()

    def _read(self) -> list[Path]:
        try:
            data = self.file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("Could not read the recent-cases list: %s", exc.strerror or type(exc).__name__)
            return list(self._paths)
        try:
            paths = json.loads(data.decode("utf-8"))["paths"]
            if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
                raise ValueError("paths must be a list of strings")
        except (ValueError, KeyError, TypeError):  # UnicodeDecodeError and JSONDecodeError too
            self._set_aside()
            return []
        unique: list[Path] = []
        for p in paths:
            path = Path(p)
            if path not in unique:
                unique.append(path)
        return unique[: self.limit]

    def _save(self) -> None:
        data = {"version": _VERSION, "paths": [str(p) for p in self._paths]}
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.file, data)
            self._unsaved = False
        except OSError as exc:
            self._unsaved = True
            # The list still works for this session. The path is not logged (it may name a patient).
            log.warning("Could not save the recent-cases list: %s", exc.strerror or type(exc).__name__)

    def _set_aside(self) -> None:
        """Rename a damaged file so that it is kept for inspection but no longer read."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.file.with_name(f"{self.file.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.file.with_name(f"{self.file.name}.damaged-{stamp}-{n}")
        try:
            self.file.replace(target)
            log.warning("The recent-cases list was damaged; it was renamed to %s", target.name)
        except OSError as exc:
            log.warning("The recent-cases list is damaged and could not be renamed: %s", exc.strerror)


def _resolve(path: Path) -> Path:
    try:
        return path.expanduser().resolve(strict=False)
    except (OSError, RuntimeError):  # symlink loops, odd mounts
        return path.expanduser().absolute()


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a network share that does not answer
        return False
