"""Recognising non-DICOM files by their first bytes, then by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbctviewer.io.classify import classify_dir, classify_file, is_ignored
from cbctviewer.io.report import FileProblem, FoundItem, ItemKind

CASES = [
    ("report.pdf", b"%PDF-1.7", ItemKind.PDF),
    ("noext", b"%PDF-1.4", ItemKind.PDF),
    ("shot.jpg", b"\xff\xd8\xff\xe1", ItemKind.PICTURE),
    ("shot.dat", b"\x89PNG\r\n\x1a\n", ItemKind.PICTURE),
    ("a.gif", b"GIF89a", ItemKind.PICTURE),
    ("a.tif", b"II*\x00", ItemKind.PICTURE),
    ("a.bmp", b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", ItemKind.PICTURE),
    ("viewer.exe", b"MZ\x90\x00", ItemKind.PROGRAM),
    ("VIEWER.DLL", b"MZ", ItemKind.PROGRAM),
    ("renamed.bin", b"MZ\x90\x00", ItemKind.PROGRAM),  # sniffed, not by extension
    ("setup.msi", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ItemKind.PROGRAM),
    ("viewer.jar", b"PK\x03\x04", ItemKind.PROGRAM),
    ("start.sh", b"#!/bin/sh\n", ItemKind.PROGRAM),
    ("run.bat", b"@echo off\r\nviewer.exe\r\n", ItemKind.PROGRAM),
    ("AUTORUN.INF", b"[autorun]\r\n", ItemKind.PROGRAM),
    ("elf", b"\x7fELF\x02\x01", ItemKind.PROGRAM),
    ("patient.nnt", bytes(range(200)), ItemKind.PROJECT),
    ("case.inv3", b"\x1f\x8b\x08", ItemKind.PROJECT),  # known project beats the gzip magic
    ("plan.pln", b"anything", ItemKind.PROJECT),
    ("plan.dpr", b"\x00\x01\x02", ItemKind.PROJECT),
    ("mystery.xyz", bytes(range(256)), ItemKind.PROJECT),
    ("more.zip", b"PK\x03\x04", ItemKind.ARCHIVE),
    ("more.rar", b"Rar!\x1a\x07\x00", ItemKind.ARCHIVE),
    ("more.7z", b"7z\xbc\xaf\x27\x1c", ItemKind.ARCHIVE),
    ("index.xml", b"<?xml version='1.0'?><catalogue/>", ItemKind.OTHER),
    ("setup.ini", b"[viewer]\nlanguage=de\n", ItemKind.OTHER),
    ("index.htm", b"<html><body>Open viewer</body></html>", ItemKind.OTHER),
    ("readme", "Lesen Sie mich zuerst — Größe".encode(), ItemKind.OTHER),
    ("jaw.stl", b"solid jaw\n", ItemKind.OTHER),
    ("letter.docx", b"PK\x03\x04", ItemKind.OTHER),
]


@pytest.mark.parametrize(("name", "head", "kind"), CASES)
def test_kinds(name: str, head: bytes, kind: ItemKind) -> None:
    found = classify_file(Path("/media") / name, head)
    assert isinstance(found, FoundItem), found
    assert found.kind is kind
    assert found.description


@pytest.mark.parametrize("name", ["IM0001", "slice.dcm", "x.DICOM", "y.ima"])
def test_dicom_looking_names_with_other_content_are_problems(name: str) -> None:
    found = classify_file(Path(name), bytes(range(256)))
    assert isinstance(found, FileProblem)
    assert "not a DICOM file" in found.error


def test_descriptions_speak_plainly() -> None:
    pdf = classify_file(Path("r.pdf"), b"%PDF")
    exe = classify_file(Path("v.exe"), b"MZ")
    assert isinstance(pdf, FoundItem) and "report" in pdf.description
    assert isinstance(exe, FoundItem) and "never run" in exe.description


def test_ignored_and_bundles() -> None:
    assert is_ignored(".DS_Store") and is_ignored("Thumbs.db") and is_ignored("__MACOSX")
    assert not is_ignored("DICOMDIR")
    app = classify_dir(Path("Viewer.app"))
    assert app is not None and app.kind is ItemKind.PROGRAM
    assert classify_dir(Path("DICOM")) is None
