"""Plain-language and JSON summaries of a scan report (for ``inspect`` and ``check``).

Nothing here names the patient: summaries may be pasted into e-mails or bug reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from .report import CandidateKind, ItemKind, ScanReport, SeriesCandidate

_KIND_WORDS = {
    CandidateKind.VOLUME: "3D scan",
    CandidateKind.IMAGE_2D: "2D image",
    CandidateKind.LOCALIZER: "localizer (scout) image",
    CandidateKind.SECONDARY: "screen capture / derived image",
    CandidateKind.NOT_IMAGE: "DICOM object without an image",
}

_ITEM_WORDS = {
    ItemKind.PDF: "PDF document",
    ItemKind.PICTURE: "picture file",
    ItemKind.PROGRAM: "program file",
    ItemKind.PROJECT: "planning-software project file",
    ItemKind.ARCHIVE: "unopened archive",
    ItemKind.OTHER: "other file",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe_candidate(candidate: SeriesCandidate) -> str:
    """One line: kind, modality, size and voxel size, e.g. ``3D scan, CT, 400×400×300, 0.20 mm``."""
    parts = [_KIND_WORDS[candidate.kind]]
    if candidate.modality:
        parts.append(candidate.modality)
    if candidate.series_description:
        parts.append(f"“{candidate.series_description}”")
    if candidate.size:
        nx, ny, nz = candidate.size
        parts.append(f"{nx}×{ny}×{nz}" if candidate.is_volume else f"{nx}×{ny}")
    if candidate.spacing:
        sx, sy, sz = candidate.spacing
        if candidate.is_volume:
            parts.append(f"voxels {sx:.2f}×{sy:.2f}×{sz:.2f} mm")
        else:
            parts.append(f"pixels {sx:.3g}×{sy:.3g} mm")
    parts.append(_plural(candidate.files, "file"))
    return ", ".join(parts)


def candidate_to_json(candidate: SeriesCandidate) -> dict[str, Any]:
    """The ``inspect --json`` record of one candidate."""
    return {
        "key": candidate.key or candidate.series_instance_uid,
        "series_instance_uid": candidate.series_instance_uid,
        "kind": candidate.kind.value,
        "modality": candidate.modality,
        "description": candidate.series_description,
        "size": list(candidate.size) if candidate.size else None,
        "spacing": list(candidate.spacing) if candidate.spacing else None,
        "origin": list(candidate.origin) if candidate.origin else None,
        "direction": list(candidate.direction) if candidate.direction else None,
        "transfer_syntaxes": sorted(candidate.transfer_syntaxes),
        "files": candidate.files,
        "is_volume": candidate.is_volume,
        "warnings": list(candidate.warnings),
    }


def verdict(report: ScanReport, load_errors: Mapping[str, str | None] | None = None) -> str:
    """Answer the patient's question "did the clinic give me the real scan?".

    Parameters
    ----------
    report : ScanReport
        What the scan found.
    load_errors : mapping, optional
        For ``check``: candidate key → ``None`` when it loaded, else the reason it did not.
        Without it the verdict speaks of what the headers promise.
    """
    if report.cancelled:
        return "The scan was cancelled before it finished; the list above may be incomplete."
    volumes = report.volumes
    if load_errors is not None:
        opened = [v for v in volumes if load_errors.get(v.key or v.series_instance_uid) is None]
    else:
        opened = volumes
    items = Counter(item.kind for item in report.items)
    others = [_plural(n, _ITEM_WORDS[kind]) for kind, n in items.items() if kind is not ItemKind.OTHER]
    by_kind = Counter(s.kind for s in report.series)
    if opened:
        best = max(opened, key=lambda s: (s.size or (0, 0, 0))[2])
        verb = "opens" if load_errors is not None else "is there"
        text = f"Yes: a complete 3D scan {verb} ({describe_candidate(best)})."
        if len(opened) > 1:
            state = "open" if load_errors is not None else "found"
            text += f" In all, {_plural(len(opened), '3D scan')} {state}."
        failed = len(volumes) - len(opened)
        if failed:
            text += f" {_plural(failed, 'other 3D series')} could not be opened (see above)."
        return text
    if volumes:
        return (
            "No: the disc holds 3D scan data, but it could not be opened (see the reasons above). "
            "Ask the clinic for a new copy of the DICOM files."
        )
    dicom_words = {
        CandidateKind.IMAGE_2D: "2D image",
        CandidateKind.LOCALIZER: "localizer (scout) image series",
        CandidateKind.SECONDARY: "screen capture series",
        CandidateKind.NOT_IMAGE: "DICOM object without an image",
    }
    found = others + [_plural(by_kind[k], word) for k, word in dicom_words.items() if by_kind[k]]
    what = ", ".join(found) if found else "no images"
    return (
        f"No 3D scan found: the media holds {what}. Ask the clinic for the CBCT as DICOM files "
        "(often called the 'DICOM export' or 'raw data'), not only the report or screenshots."
    )


def report_to_json(report: ScanReport, load_errors: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """The ``inspect --json`` document."""
    return {
        "series": [candidate_to_json(s) for s in report.series],
        "items": [
            {"path": str(i.path), "kind": i.kind.value, "description": i.description} for i in report.items
        ],
        "problems": [{"path": str(p.path), "error": p.error} for p in report.problems],
        "warnings": list(report.warnings),
        "files_seen": report.files_seen,
        "verdict": verdict(report, load_errors),
    }
