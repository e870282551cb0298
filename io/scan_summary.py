"""Report-level warnings that sum up a scan in plain words (no patient data)."""

from __future__ import annotations

from collections import Counter

from cbctviewer.io.report import CandidateKind, ItemKind, ScanReport


def _count(n: int, one: str, many: str) -> str:
    return f"{'a' if n == 1 and one[0] not in 'aeiou' else 'an' if n == 1 else n} {one if n == 1 else many}"


def overall_warnings(report: ScanReport) -> list[str]:
    """Sentences that tell the user what the media holds when it is not simply a scan."""
    out: list[str] = []
    kinds = Counter(c.kind for c in report.series)
    items = Counter(i.kind for i in report.items)
    if report.cancelled:
        out.append("The scan was cancelled; what is listed may be incomplete.")
    if not report.series and not report.items and not report.problems:
        out.append("No files were found.")
        return out
    if not kinds[CandidateKind.VOLUME]:
        extras = []
        if items[ItemKind.PDF] or any("PDF" in c.summary for c in report.series):
            extras.append("a PDF report")
        if items[ItemKind.PICTURE] or kinds[CandidateKind.SECONDARY]:
            extras.append("screenshots")
        if kinds[CandidateKind.IMAGE_2D]:
            extras.append(_count(kinds[CandidateKind.IMAGE_2D], "2D image", "2D images"))
        if extras:
            what = " and ".join([", ".join(extras[:-1]), extras[-1]] if len(extras) > 1 else extras)
            out.append(f"The media holds {what} but no 3D scan.")
        elif not report.series:
            out.append("No DICOM images were found.")
    if items[ItemKind.PROJECT]:
        n = items[ItemKind.PROJECT]
        out.append(
            f"{_count(n, 'file looks', 'files look')} like project data of a planning program; "
            "such files are not DICOM and cannot be opened here. Export the scan as DICOM from "
            "that program."
        )
    if items[ItemKind.ARCHIVE]:
        out.append("An archive inside the folder was not opened; open it separately.")
    if report.problems:
        n = len(report.problems)
        out.append(f"{_count(n, 'file', 'files')} could not be used (see the list of problems).")
    if items[ItemKind.PROGRAM]:
        out.append("The media also holds a viewer program; it is not needed here and was not run.")
    return out
