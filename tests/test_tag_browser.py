"""The DICOM tag browser dialog: file choice, filter, copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbctviewer.io.scan import scan

pytestmark = pytest.mark.gui


@pytest.fixture
def ct_dialog(dicom_samples: Path, qtbot):  # type: ignore[no-untyped-def]
    from cbctviewer.app.dialogs.tag_browser import TagBrowserDialog

    [volume] = scan(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm").volumes
    dialog = TagBrowserDialog(volume)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_shows_the_header_of_the_chosen_file(ct_dialog) -> None:  # type: ignore[no-untyped-def]
    frames = ct_dialog.candidate.frames
    assert ct_dialog.image_spin.maximum() == len(frames) == 28
    assert ct_dialog.tree.topLevelItemCount() > 50
    first = {r.keyword: r.value for r in ct_dialog.rows}
    assert first["Modality"] == "CT"
    assert frames[0].path.name in ct_dialog.file_label.text()
    ct_dialog.set_image(27)
    last = {r.keyword: r.value for r in ct_dialog.rows}
    assert frames[27].path.name in ct_dialog.file_label.text()
    assert last["SOPInstanceUID"] != first["SOPInstanceUID"]
    assert last["ImagePositionPatient"] != first["ImagePositionPatient"]


def test_filter_reduces_rows_to_matching_ones(ct_dialog) -> None:  # type: ignore[no-untyped-def]
    total = len(ct_dialog.visible_rows())
    assert total == len(ct_dialog.rows)
    ct_dialog.set_filter("slice")
    shown = ct_dialog.visible_rows()
    assert 0 < len(shown) < total
    for row in shown:
        if row.vr != "SQ" and row.tag != "(FFFE,E000)":
            assert "slice" in f"{row.tag} {row.keyword} {row.name} {row.value}".lower(), row
    assert {"SliceThickness", "SliceLocation"} <= {r.keyword for r in shown}
    assert "of" in ct_dialog.count_label.text()
    ct_dialog.set_filter("(0028,0010)")
    assert [r.keyword for r in ct_dialog.visible_rows()] == ["Rows"]
    ct_dialog.set_filter("no such thing anywhere")
    assert ct_dialog.visible_rows() == []
    ct_dialog.set_filter("")
    assert len(ct_dialog.visible_rows()) == total


def test_copy_puts_the_shown_rows_on_the_clipboard(ct_dialog) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QGuiApplication

    ct_dialog.set_filter("modality")
    text = ct_dialog.copy_to_clipboard()
    assert text == QGuiApplication.clipboard().text()
    assert "(0008,0060)\tModality\tCS\tCT" in text.splitlines()
    assert len(text.splitlines()) == len(ct_dialog.visible_rows())


def test_multiframe_file_offers_each_frame(dicom_samples: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.dialogs.tag_browser import TagBrowserDialog

    path = dicom_samples / "multiframe" / "enhanced_ct_ct0012" / "CT0012.explicit_little_endian.dcm"
    [candidate] = scan(path).series
    dialog = TagBrowserDialog(candidate)
    qtbot.addWidget(dialog)
    assert dialog.image_spin.maximum() == 2
    positions = set()
    for index in range(2):
        dialog.set_image(index)
        positions.add(next(r.value for r in dialog.rows if r.keyword == "ImagePositionPatient"))
    assert len(positions) == 2


def test_unreadable_file_shows_a_message(tmp_path: Path, dicom_samples: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.dialogs.tag_browser import TagBrowserDialog

    [volume] = scan(dicom_samples / "volumes" / "mr_ge_signa_16slices").volumes
    broken = tmp_path / "gone.dcm"
    broken.write_bytes(b"this is not DICOM at all")
    volume.frames[0] = type(volume.frames[0])(path=broken)
    dialog = TagBrowserDialog(volume)
    qtbot.addWidget(dialog)
    assert dialog.rows == [] and not dialog.message.isHidden()
    assert "could not be read" in dialog.message.text()
    dialog.set_image(1)
    assert dialog.rows and dialog.message.isHidden()
