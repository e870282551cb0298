"""The series browser on a folder with several real series, a PDF and a damaged file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cbctviewer.app.dialogs.series_rows import (
    RowKind,
    browser_rows,
    format_date,
    format_person_name,
    preferred_candidate,
)
from cbctviewer.io.report import CandidateKind, ScanReport
from cbctviewer.io.scan import scan

# A minimal but well-formed PDF (the scan recognises PDFs by content).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def media(dicom_samples: Path, tmp_path: Path) -> Iterator[ScanReport]:
    """A disc as a clinic might burn it: two volumes, an imageless object, a report, a damaged file."""
    root = tmp_path / "disc"
    shutil.copytree(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm", root / "CT")
    shutil.copytree(dicom_samples / "volumes" / "mr_ge_signa_16slices", root / "MR")
    shutil.copy(dicom_samples / "charsets" / "chrJapMulti.dcm", root / "header_only.dcm")
    shutil.copy(dicom_samples / "broken" / "MR_truncated.dcm", root / "damaged.dcm")
    (root / "report.pdf").write_bytes(PDF)
    report = scan(root)
    yield report
    report.close()


def kinds(report: ScanReport) -> list[CandidateKind]:
    return sorted(c.kind for c in report.series)


# --------------------------------------------------------------------------- headless rows


def test_rows_group_patients_studies_series_items_and_problems(media: ScanReport) -> None:
    assert kinds(media) == sorted([CandidateKind.VOLUME, CandidateKind.VOLUME, CandidateKind.NOT_IMAGE])
    rows = browser_rows(media)
    every = [r for top in rows for r in top.walk()]
    series = [r for r in every if r.kind is RowKind.SERIES]
    assert len(series) == 3
    assert sum(r.openable for r in series) == 2
    [items] = [r for r in rows if r.kind is RowKind.ITEMS]
    assert [(c.title, c.type_text) for c in items.children] == [("report.pdf", "PDF document")]
    [problems] = [r for r in rows if r.kind is RowKind.PROBLEMS]
    assert [c.title for c in problems.children] == ["damaged.dcm"]
    assert "cut short" in problems.children[0].notes[0]
    assert not any(r.openable for r in (items, *items.children, problems, *problems.children))
    ct = next(r for r in series if r.modality == "CT")
    assert (ct.size, ct.files, ct.type_text) == ("512×512×28", "28", "3D scan")
    assert ct.voxel_size.endswith("×5.00 mm")
    [imageless] = [r for r in series if not r.openable]
    assert imageless.notes and imageless.type_text.startswith("No image")


def test_preferred_candidate_is_the_largest_volume(media: ScanReport) -> None:
    best = preferred_candidate(media)
    assert best is not None and best.modality == "CT" and best.size == (512, 512, 28)


def test_preferred_candidate_without_volumes(dicom_samples: Path) -> None:
    report = scan(dicom_samples / "radiographs")
    best = preferred_candidate(report)
    assert best is not None and best.kind is CandidateKind.IMAGE_2D
    assert best.rows * best.columns == max(c.rows * c.columns for c in report.series)
    assert preferred_candidate(ScanReport(source=dicom_samples)) is None


def test_names_and_dates_in_plain_words() -> None:
    assert format_person_name("Doe^John^Q^Dr^Jr") == "Doe, Dr John Q Jr"
    assert format_person_name("Yamada^Tarou=山田^太郎=やまだ^たろう") == "Yamada, Tarou"
    assert format_person_name("=山田^太郎") == "山田, 太郎"
    assert format_person_name("PHANTOM") == "PHANTOM"
    assert format_person_name("") == ""
    assert format_date("20170716") == "2017-07-16"
    assert format_date("") == ""


# --------------------------------------------------------------------------- the dialog


@pytest.fixture
def dialog(media: ScanReport, qtbot):  # type: ignore[no-untyped-def]
    from cbctviewer.app.dialogs.series_browser import SeriesBrowserDialog

    widget = SeriesBrowserDialog(media)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def series_items(dialog):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QTreeWidgetItemIterator

    from cbctviewer.app.dialogs.series_browser import _ROLE_ROW

    found = []
    iterator = QTreeWidgetItemIterator(dialog.tree)
    while iterator.value():
        item = iterator.value()
        row = item.data(0, _ROLE_ROW)
        found.append((row, item))
        iterator += 1
    return found


@pytest.mark.gui
def test_dialog_lists_every_series_item_and_problem(dialog, media: ScanReport) -> None:  # type: ignore[no-untyped-def]
    rows = series_items(dialog)
    assert sum(row.kind is RowKind.SERIES for row, _ in rows) == 3
    texts = [item.text(0) for _, item in rows]
    assert "report.pdf" in texts and "damaged.dcm" in texts
    [(_, pdf)] = [(r, i) for r, i in rows if i.text(0) == "report.pdf"]
    assert pdf.text(1) == "PDF document" and "report" in pdf.text(6)
    assert "Found 2 3D scans" in dialog.summary.text()


@pytest.mark.gui
def test_largest_volume_is_preselected_and_opens(dialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    chosen = dialog.selected_candidate()
    assert chosen is not None and chosen.modality == "CT" and len(chosen.frames) == 28
    assert dialog.open_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        dialog.open_button.click()
    assert dialog.selected_candidate() is chosen


@pytest.mark.gui
def test_double_click_opens_another_series(dialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    [(row, item)] = [
        (r, i) for r, i in series_items(dialog) if r.candidate is not None and r.modality == "MR"
    ]
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        dialog.tree.itemDoubleClicked.emit(item, 0)
    assert dialog.selected_candidate() is row.candidate


@pytest.mark.gui
def test_rows_that_cannot_be_opened_cannot_be_selected(dialog, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    preselected = dialog.selected_candidate()
    refused = [(row, item) for row, item in series_items(dialog) if not row.openable]
    # The imageless series, the PDF, the damaged file and the headings.
    assert {RowKind.SERIES, RowKind.ITEM, RowKind.PROBLEM, RowKind.PATIENT} <= {r.kind for r, _ in refused}
    for _, item in refused:
        assert not item.flags() & Qt.ItemFlag.ItemIsSelectable, item.text(0)
        item.setSelected(True)  # refused by the view
        dialog.tree.setCurrentItem(item)
        dialog.tree.itemDoubleClicked.emit(item, 0)
        assert dialog.isVisible() and dialog.result() == 0  # not accepted
        # Clicking a heading may clear the selection (as in any Qt list), never select it.
        assert dialog.selected_candidate() in (None, preselected)
        assert dialog.open_button.isEnabled() == (dialog.selected_candidate() is not None)
    dialog.tree.clearSelection()
    assert dialog.selected_candidate() is None
    assert not dialog.open_button.isEnabled()
    dialog.open_button.click()
    assert dialog.isVisible() and dialog.result() == 0


def grey_values(pixmap):  # type: ignore[no-untyped-def]
    """The pixmap's pixels as a (height, width) uint8 array."""
    from PySide6.QtGui import QImage

    image = pixmap.toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width()].copy()


@pytest.mark.gui
def test_thumbnails_arrive_off_the_gui_thread_and_are_not_blank(dialog, media: ScanReport, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert dialog.isVisible()  # the dialog is up before any thumbnail is ready
    qtbot.waitUntil(lambda: dialog.pending_thumbnails() == 0, timeout=20_000)
    for candidate in media.series:
        pixmap = dialog.thumbnail_pixmap(candidate)
        if candidate.kind is CandidateKind.NOT_IMAGE:
            assert pixmap is None
            continue
        assert pixmap is not None
        values = grey_values(pixmap)
        assert max(values.shape) == 128
        assert values.std() > 10, f"blank thumbnail for {candidate.modality}"


@pytest.mark.gui
def test_closing_while_thumbnails_are_pending_is_safe(media: ScanReport, qtbot) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.dialogs.series_browser import SeriesBrowserDialog, thumbnail_pool

    for _ in range(3):
        widget = SeriesBrowserDialog(media)
        widget.show()
        widget.reject()
        widget.deleteLater()
    qtbot.wait(50)
    assert thumbnail_pool().waitForDone(20_000)
