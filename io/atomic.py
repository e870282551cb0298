"""Write small files so that a crash never leaves a half-written one behind.

The data goes to a temporary file in the destination's folder, is flushed and synced
to disk, then renamed over the destination with :func:`os.replace` (atomic on POSIX
and Windows). Whoever reads the file sees the old contents or the new, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically.

    Parameters
    ----------
    path : Path
        Destination; its folder must exist. An existing file is replaced only once the
        new contents are safely on disk.
    data : bytes
        The complete new contents.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        The folder is not writable, the disk is full... The destination is unchanged
        and no temporary file is left behind.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _sync_folder(path.parent)
    return path


def write_json_atomic(path: Path, data: Any, *, indent: int | None = 2) -> Path:
    """Write ``data`` as UTF-8 JSON to ``path`` atomically (see :func:`write_bytes_atomic`).

    Parameters
    ----------
    path : Path
        Destination file.
    data : object
        Anything :func:`json.dumps` accepts. It is serialised before the file is touched,
        so a value that cannot be written leaves the old file as it was.
    indent : int or None, optional
        JSON indentation (default 2, readable); ``None`` for one line.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError, ValueError
        ``data`` is not JSON-serialisable (nothing was written).
    OSError
        The file could not be written (the old one is unchanged).
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False)
    return write_bytes_atomic(path, (text + "\n").encode("utf-8"))


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
