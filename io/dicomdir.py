"""Read a DICOMDIR (the index of a DICOM disc) into the list of files it references.

The directory records are walked flat rather than through ``pydicom.fileset.FileSet``:
FileSet refuses indexes with an invalid record (e.g. a patient record of unknown type)
that still reference perfectly good files, and the scan regroups files from their own
headers anyway. Every reference is checked: absolute paths, drive letters and ``..``
are refused, and a reference must resolve (after symlinks) inside the media root.
References to missing files are retried the way discs often mangle names
(upper/lower case, ISO 9660 ``;1`` version suffixes) before being reported as missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from cbctviewer.io.errors import DamagedError, MediaError

#: Larger DICOMDIR files are refused (a real index of a full DVD is a few megabytes).
MAX_DICOMDIR_BYTES = 256 * 1024**2
_REFERENCED_FILE_ID = 0x00041500


@dataclass(slots=True)
class DicomDirIndex:
    """Files referenced by one DICOMDIR."""

    path: Path
    root: Path  #: the folder holding the DICOMDIR (the media root)
    files: list[Path] = field(default_factory=list)  #: existing files, in record order
    missing: list[str] = field(default_factory=list)  #: references to absent files
    refused: list[str] = field(default_factory=list)  #: references leaving the media root
    records: int = 0  #: number of directory records


def is_dicomdir_name(name: str) -> bool:
    """True for the standard index file name (any case, ISO 9660 version suffix allowed)."""
    return name.upper().split(";")[0] == "DICOMDIR"


def read_dicomdir(path: Path) -> DicomDirIndex:
    """Read a DICOMDIR and resolve the files it references.

    Parameters
    ----------
    path : Path
        The DICOMDIR file.

    Returns
    -------
    DicomDirIndex
        Existing referenced files plus the references that were missing or refused.

    Raises
    ------
    DamagedError
        When the file cannot be read as a DICOMDIR.
    """
    size = path.stat().st_size
    if size > MAX_DICOMDIR_BYTES:
        raise DamagedError("the disc's index (DICOMDIR) is unreasonably large; it was not used")
    try:
        ds = pydicom.dcmread(path, force=True)
        records = list(ds.get("DirectoryRecordSequence") or [])
    except MediaError:
        raise
    except Exception as exc:
        raise DamagedError("the disc's index (DICOMDIR) is damaged and could not be read") from exc
    index = DicomDirIndex(path=path, root=path.parent, records=len(records))
    root = path.parent.resolve()
    listings: dict[Path, dict[str, str]] = {}
    seen: set[Path] = set()
    for record in records:
        try:
            parts = _components(record.get(_REFERENCED_FILE_ID))
        except Exception:  # an unreadable record: skip it, the others may be fine
            continue
        if parts is None:
            continue
        shown = "/".join(parts)
        if not _safe(parts):
            index.refused.append(shown)
            continue
        found = _locate(root, parts, listings)
        if found is None:
            index.missing.append(shown)
            continue
        resolved = found.resolve()
        if not resolved.is_relative_to(root):
            index.refused.append(shown)
        elif resolved not in seen:
            seen.add(resolved)
            index.files.append(found)
    return index


def _components(element: object) -> list[str] | None:
    """ReferencedFileID as path components; None when the record references no file."""
    if element is None:
        return None
    value = getattr(element, "value", element)
    if value is None or value == "":
        return None
    if isinstance(value, (str, bytes)):
        parts = [value.decode("latin-1") if isinstance(value, bytes) else value]
    else:
        parts = [str(v) for v in value]  # type: ignore[attr-defined]
    # Writers sometimes store one string with backslashes instead of a multi-value.
    return [p.strip() for part in parts for p in part.split("\\")]


def _safe(parts: list[str]) -> bool:
    """Refuse absolute paths, drive letters, ``..`` and embedded separators."""
    return all(part not in ("", ".", "..") and not any(c in part for c in "/:\x00") for part in parts)


def _locate(root: Path, parts: list[str], listings: dict[Path, dict[str, str]]) -> Path | None:
    """Find ``root/parts`` exactly, else ignoring case and ISO 9660 ``;1`` suffixes."""
    exact = root.joinpath(*parts)
    if exact.is_file():
        return exact
    current = root
    for part in parts:
        names = listings.get(current)
        if names is None:
            try:
                names = {_fold(child.name): child.name for child in current.iterdir()}
            except OSError:
                names = {}
            listings[current] = names
        actual = names.get(_fold(part))
        if actual is None:
            return None
        current = current / actual
    return current if current.is_file() else None


def _fold(name: str) -> str:
    return name.split(";")[0].rstrip(".").casefold()
