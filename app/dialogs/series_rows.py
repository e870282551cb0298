"""What the series browser shows, as plain data (no Qt): rows grouped patient → study → series.

:func:`browser_rows` turns a scan report into a tree of :class:`BrowserRow` — the
patients, their studies and series, then the other files the scan found (reports,
screenshots, viewer programs...) and the files that could not be read, each in plain
words. :func:`preferred_candidate` picks what to preselect (the largest volume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cbctviewer.io.report import CandidateKind, ItemKind, Patient, ScanReport, SeriesCandidate, Study

KIND_WORDS = {
    CandidateKind.VOLUME: "3D scan",
    CandidateKind.IMAGE_2D: "2D image",
    CandidateKind.LOCALIZER: "Localizer (scout)",
    CandidateKind.SECONDARY: "Screen capture / derived",
    CandidateKind.NOT_IMAGE: "No image (report, plan…)",
}
ITEM_WORDS = {
    ItemKind.PDF: "PDF document",
    ItemKind.PICTURE: "Picture",
    ItemKind.PROGRAM: "Program",
    ItemKind.PROJECT: "Project file",
    ItemKind.ARCHIVE: "Archive",
    ItemKind.OTHER: "Other file",
}


class RowKind(StrEnum):
    """What a browser row stands for."""

    PATIENT = "patient"
    STUDY = "study"
    SERIES = "series"
    ITEMS = "items"  #: heading of the non-DICOM files
    ITEM = "item"
    PROBLEMS = "problems"  #: heading of the unreadable files
    PROBLEM = "problem"


@dataclass(slots=True)
class BrowserRow:
    """One row of the browser tree; the text of each column, ready to show."""

    kind: RowKind
    title: str
    type_text: str = ""
    modality: str = ""
    size: str = ""
    voxel_size: str = ""
    files: str = ""
    #: Warnings (series), description (items) or the reason (problems), in plain words.
    notes: list[str] = field(default_factory=list)
    #: True when ``notes`` are warnings the user should see (shown with a warning icon).
    warn: bool = False
    candidate: SeriesCandidate | None = None
    path: Path | None = None
    children: list[BrowserRow] = field(default_factory=list)

    @property
    def openable(self) -> bool:
        """True for a series that ``load`` can open (not NOT_IMAGE, not a file or heading)."""
        return self.candidate is not None and is_openable(self.candidate)

    def walk(self) -> list[BrowserRow]:
        """This row and all rows below it, depth first."""
        out = [self]
        for child in self.children:
            out += child.walk()
        return out


def is_openable(candidate: SeriesCandidate) -> bool:
    """True when the candidate holds images ``load`` can show."""
    return candidate.kind is not CandidateKind.NOT_IMAGE and bool(candidate.frames)


def preferred_candidate(report: ScanReport) -> SeriesCandidate | None:
    """What to preselect: the volume with the most voxels, else the biggest 2D image."""
    volumes = [c for c in report.series if c.is_volume and is_openable(c)]
    if volumes:
        return max(volumes, key=_voxels)
    others = [c for c in report.series if is_openable(c)]
    if not others:
        return None
    plain = [c for c in others if c.kind is CandidateKind.IMAGE_2D] or others
    return max(plain, key=lambda c: c.rows * c.columns)


def _voxels(candidate: SeriesCandidate) -> int:
    if candidate.size:
        return math.prod(candidate.size)
    return candidate.rows * candidate.columns * len(candidate.frames)


def browser_rows(report: ScanReport) -> list[BrowserRow]:
    """The browser's top-level rows: patients, then other files, then unreadable files."""
    rows = [_patient_row(p) for p in report.patients]
    if report.items:
        rows.append(
            BrowserRow(
                RowKind.ITEMS,
                f"Other files on the media ({len(report.items)})",
                notes=["Not DICOM images: they cannot be opened here."],
                children=[
                    BrowserRow(
                        RowKind.ITEM,
                        _relative(item.path, report),
                        type_text=ITEM_WORDS.get(item.kind, "Other file"),
                        notes=[_sentence(item.description)],
                        path=item.path,
                    )
                    for item in report.items
                ],
            )
        )
    if report.problems:
        rows.append(
            BrowserRow(
                RowKind.PROBLEMS,
                f"Files that could not be read ({len(report.problems)})",
                children=[
                    BrowserRow(
                        RowKind.PROBLEM,
                        _relative(problem.path, report),
                        type_text="Unreadable",
                        notes=[_sentence(problem.error)],
                        warn=True,
                        path=problem.path,
                    )
                    for problem in report.problems
                ],
            )
        )
    return rows


def _patient_row(patient: Patient) -> BrowserRow:
    name = format_person_name(patient.patient_name) or "Unnamed patient"
    title = f"{name} (ID {patient.patient_id})" if patient.patient_id else name
    return BrowserRow(RowKind.PATIENT, title, children=[_study_row(s) for s in patient.studies])


def _study_row(study: Study) -> BrowserRow:
    parts = [format_date(study.study_date) or "Study without a date"]
    if study.study_description.strip():
        parts.append(study.study_description.strip())
    return BrowserRow(RowKind.STUDY, " · ".join(parts), children=[series_row(s) for s in study.series])


def series_row(candidate: SeriesCandidate) -> BrowserRow:
    """The row of one series candidate."""
    description = candidate.series_description.strip()
    if candidate.series_number is not None:
        title = (
            f"{candidate.series_number}: {description}"
            if description
            else f"Series {candidate.series_number}"
        )
    else:
        title = description or "Series without a description"
    notes = [_sentence(w) for w in candidate.warnings]
    if candidate.kind is CandidateKind.NOT_IMAGE and not notes:
        notes = [_sentence(candidate.summary or "DICOM object without an image; it cannot be opened here")]
    return BrowserRow(
        RowKind.SERIES,
        title,
        type_text=KIND_WORDS.get(candidate.kind, str(candidate.kind)),
        modality=candidate.modality,
        size=_size_text(candidate),
        voxel_size=_spacing_text(candidate),
        files=str(candidate.files),
        notes=notes,
        warn=bool(candidate.warnings),
        candidate=candidate,
    )


def _size_text(candidate: SeriesCandidate) -> str:
    if candidate.size:
        nx, ny, nz = candidate.size
        return f"{nx}×{ny}×{nz}" if candidate.is_volume else f"{nx}×{ny}"
    if candidate.rows and candidate.columns:
        return f"{candidate.columns}×{candidate.rows}"
    return ""


def _spacing_text(candidate: SeriesCandidate) -> str:
    if not candidate.spacing:
        return ""
    sx, sy, sz = candidate.spacing
    if candidate.is_volume:
        if math.isclose(sx, sy, rel_tol=1e-3) and math.isclose(sx, sz, rel_tol=1e-3):
            return f"{sx:.2f} mm"
        return f"{sx:.2f}×{sy:.2f}×{sz:.2f} mm"
    return f"{sx:.3g}×{sy:.3g} mm"


def format_person_name(value: str) -> str:
    """A DICOM person name ("Family^Given^Middle^Prefix^Suffix") as "Family, Given Middle".

    Only the first non-empty component group is used (alphabetic, else ideographic,
    else phonetic; groups are separated by "=").
    """
    alphabetic = next((group for group in value.split("=") if group.strip("^ ")), "")
    parts = [p.strip() for p in alphabetic.split("^")]
    parts += [""] * (5 - len(parts))
    family, given, middle, prefix, suffix = parts[:5]
    first = " ".join(p for p in (prefix, given, middle) if p)
    text = f"{family}, {first}" if family and first else family or first
    return f"{text} {suffix}".strip() if suffix else text.strip()


def format_date(value: str) -> str:
    """A DICOM date (YYYYMMDD) as YYYY-MM-DD; other text as it is."""
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _relative(path: Path, report: ScanReport) -> str:
    """The path below the scanned folder (or the archive's private copy), else its name."""
    for base in (report.source, report.temp_dir):
        if base is not None:
            try:
                relative = Path(path).relative_to(base)
            except ValueError:
                continue
            if relative.parts:
                return str(relative)
    return Path(path).name


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."
