"""The case file: a series' measurements and view state, kept in the user's data folder.

Versioned JSON::

    {"schema": "cbct-viewer/case", "version": 2,
     "series": {"study_instance_uid": ..., "series_instance_uid": ...,
                "frame_of_reference_uid": ..., "modality": ...},
     "measurements": [...], "view_state": {...},
     "sections": {"compare": {...}, "dental": {...}, ...}}

``sections`` (new in version 2) holds one JSON object per feature, keyed by the feature's
name; this module only checks that it is an object of objects, each feature reads its own
(the follow-up's :class:`cbctviewer.core.registration_record.RegistrationRecord` inside
"compare", the arch, canals and implants in "dental"). Version 1 files
(without sections) still load, with no sections.

One file per series in ``<data dir>/cases/``, named by a hash of StudyInstanceUID and
SeriesInstanceUID (no patient data in file names), never next to the scan (which may be
read-only media). The data dir is the ``data_dir`` argument, else ``$CBCT_VIEWER_DATA_DIR``,
else :func:`platformdirs.user_data_dir`. Writes are atomic (:mod:`cbctviewer.io.atomic`):
a crash mid-save leaves the previous version. A damaged file is renamed aside
(``<name>.damaged-<timestamp>``) and :class:`DamagedCaseFile` tells where it went; a file
from a newer version raises :class:`UnsupportedCaseVersion` and is left untouched.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from cbctviewer.core.measurements import (
    Measurement,
    identity_matches,
    measurement_from_dict,
    measurement_to_dict,
    measurement_values,
)
from cbctviewer.core.volume import SeriesIdentity, Volume
from cbctviewer.io.atomic import write_bytes_atomic, write_json_atomic

__all__ = [
    "CASE_SCHEMA",
    "CASE_VERSION",
    "Case",
    "CaseFileError",
    "DamagedCaseFile",
    "UnsupportedCaseVersion",
    "case_path",
    "cases_dir",
    "export_csv",
    "load_case",
    "save_case",
]

log = logging.getLogger(__name__)

APP_NAME = "cbct-viewer"
DATA_DIR_ENV = "CBCT_VIEWER_DATA_DIR"
CASE_SCHEMA = "cbct-viewer/case"
CASE_VERSION = 2
_IDENTITY_FIELDS = ("study_instance_uid", "series_instance_uid", "frame_of_reference_uid", "modality")


class CaseFileError(Exception):
    """A case file could not be used; the message is meant for the user."""


class DamagedCaseFile(CaseFileError):
    """The file was unreadable and was renamed to :attr:`moved_to` (``None`` if that failed)."""

    def __init__(self, message: str, moved_to: Path | None) -> None:
        super().__init__(message)
        self.moved_to = moved_to


class UnsupportedCaseVersion(CaseFileError):
    """The file was written by a newer cbct-viewer; it was left as it is."""


@dataclass(slots=True)
class Case:
    """What a case file holds."""

    identity: SeriesIdentity
    measurements: list[Measurement] = field(default_factory=list)
    view_state: dict[str, Any] = field(default_factory=dict)
    #: Per-feature JSON-ready objects, keyed by feature name (e.g. "compare", "dental").
    sections: dict[str, Any] = field(default_factory=dict)


def cases_dir(data_dir: Path | str | None = None) -> Path:
    """``<data dir>/cases`` (not created here)."""
    if data_dir is None:
        override = os.environ.get(DATA_DIR_ENV, "").strip()
        base = (
            Path(override).expanduser()
            if override
            else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        )
    else:
        base = Path(data_dir)
    return base / "cases"


def case_path(identity: SeriesIdentity, *, data_dir: Path | str | None = None) -> Path:
    """The case file of a series: ``cases/<sha256(study, series)[:32]>.json``."""
    if not identity.series_instance_uid:
        raise ValueError("a case needs the SeriesInstanceUID")
    key = f"{identity.study_instance_uid}\n{identity.series_instance_uid}".encode()
    return cases_dir(data_dir) / f"{hashlib.sha256(key).hexdigest()[:32]}.json"


def save_case(case: Case, *, data_dir: Path | str | None = None, source: Path | str | None = None) -> Path:
    """Write ``case`` atomically and return its path.

    Parameters
    ----------
    case : Case
        Identity, measurements, a JSON-ready view-state dict and JSON-ready sections.
    data_dir : path, optional
        Overrides the data folder.
    source : path, optional
        Where the scan was read from; saving inside it is refused (``ValueError``).

    Raises
    ------
    OSError
        The file could not be written; the previous version is unchanged.
    ValueError
        Saving inside ``source``, or a section that is not an object keyed by a name.
    """
    sections = _checked_sections(case.sections)
    for name, value in sections.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"case file section {name!r} holds a value JSON cannot store: {exc}") from exc
    path = case_path(case.identity, data_dir=data_dir)
    if source is not None and _is_within(path, Path(source)):
        raise ValueError("case files are never written to the scan's own media")
    data = {
        "schema": CASE_SCHEMA,
        "version": CASE_VERSION,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "series": {name: getattr(case.identity, name) for name in _IDENTITY_FIELDS},
        "measurements": [measurement_to_dict(m) for m in case.measurements],
        "view_state": dict(case.view_state),
        "sections": sections,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json_atomic(path, data)


def load_case(identity: SeriesIdentity, *, data_dir: Path | str | None = None) -> Case | None:
    """Read the case of a series; ``None`` when there is none.

    Raises
    ------
    DamagedCaseFile
        The file was not a readable case; it was renamed aside (see ``moved_to``).
    UnsupportedCaseVersion
        A newer version wrote it; the file is untouched.
    CaseFileError
        The file belongs to another series or frame of reference (left untouched).
    """
    path = case_path(identity, data_dir=data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CaseFileError(f"The case file could not be read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("schema") != CASE_SCHEMA:
            raise ValueError("not a cbct-viewer case file")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("missing or invalid version")
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError, JSONDecodeError too
        raise _damaged(path, exc) from exc
    if version > CASE_VERSION:
        raise UnsupportedCaseVersion(
            f"This case was saved by a newer cbct-viewer (case format {version}; this "
            f"version reads up to {CASE_VERSION}). Update cbct-viewer to open it; the file "
            "was left unchanged."
        )
    try:
        series = data["series"]
        stored = SeriesIdentity(**{name: str(series.get(name, "")) for name in _IDENTITY_FIELDS})
        measurements = [measurement_from_dict(m) for m in data["measurements"]]
        if len({m.id for m in measurements}) != len(measurements):
            raise ValueError("duplicate measurement ids")
        view_state = data.get("view_state") or {}
        if not isinstance(view_state, dict):
            raise TypeError("view_state must be an object")
        sections = _checked_sections(data.get("sections", {}))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _damaged(path, exc) from exc
    if not identity_matches(stored, identity):
        raise CaseFileError(
            "The case file found for this series belongs to another series or frame of "
            "reference; it was not used (and left unchanged)."
        )
    return Case(identity=stored, measurements=measurements, view_state=view_state, sections=sections)


def _checked_sections(sections: Any) -> dict[str, Any]:
    """``sections`` as a new dict after checking it is an object of objects keyed by names."""
    if not isinstance(sections, dict):
        raise TypeError("sections must be an object")
    for name, value in sections.items():
        if not isinstance(name, str) or not name:
            raise ValueError("a case file section needs a name")
        if not isinstance(value, dict):
            raise ValueError(f"case file section {name!r} must be an object")
    return dict(sections)


def _damaged(path: Path, exc: BaseException) -> DamagedCaseFile:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    try:
        path.replace(target)
    except OSError as err:
        log.warning("A damaged case file could not be renamed: %s", err.strerror)
        return DamagedCaseFile(
            f"The saved case for this series is damaged ({type(exc).__name__}) and could not "
            "be renamed; measurements start empty.",
            None,
        )
    log.warning("A damaged case file was renamed to %s", target.name)
    return DamagedCaseFile(
        f"The saved case for this series is damaged ({type(exc).__name__}); it was kept as "
        f"{target.name} and measurements start empty.",
        target,
    )


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve(strict=False).relative_to(folder.resolve(strict=False))
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "id", "label", "kind", "length_mm", "angle_deg", "area_mm2", "value", "mean", "sd",
    "min", "max", "height_mm", "width_1_mm", "width_3_mm", "width_5_mm", "note", "points_lps_mm",
)  # fmt: skip


def export_csv(
    measurements: Iterable[Measurement], path: Path | str, *, volume: Volume | None = None
) -> Path:
    """Write the measurement table as CSV (UTF-8, atomic); grey values need ``volume``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in measurements:
        values: Mapping[str, float] = measurement_values(m, volume)
        row = [m.id, m.label, str(m.kind)]
        row += [_fmt(values.get(name)) for name in CSV_COLUMNS[3:-2]]
        row.append(m.note)
        row.append(" ".join(f"({p[0]:.3f},{p[1]:.3f},{p[2]:.3f})" for p in m.points))
        writer.writerow(row)
    return write_bytes_atomic(Path(path), buffer.getvalue().encode("utf-8"))


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.3f}"
