"""DICOMDIR media: the sample index variants, dangling and hostile references."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest

from cbctviewer.io.dicomdir import is_dicomdir_name, read_dicomdir
from cbctviewer.io.report import CandidateKind
from cbctviewer.io.scan import scan

VARIANTS = ["DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-nooffset", "DICOMDIR-nopatient"]
VARIANTS += ["DICOMDIR-reordered"]


@pytest.fixture()
def media(dicom_samples: Path) -> Path:
    return dicom_samples / "dicomdir" / "pydicom_dicomdirtests"


@pytest.fixture()
def media_copy(media: Path, tmp_path: Path) -> Path:
    """A writable copy with only the plain DICOMDIR at its root (like a real disc)."""
    root = tmp_path / "disc"
    shutil.copytree(media, root, ignore=shutil.ignore_patterns("DICOMDIR-*", "README.txt"))
    return root


def test_names() -> None:
    assert is_dicomdir_name("DICOMDIR") and is_dicomdir_name("dicomdir;1")
    assert not is_dicomdir_name("DICOMDIR-bigEnd")


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_references_the_same_31_files(media: Path, name: str) -> None:
    index = read_dicomdir(media / name)
    assert len(index.files) == 31
    assert not index.missing and not index.refused


@pytest.mark.parametrize("name", VARIANTS)
def test_scanning_a_variant_finds_both_patients(media: Path, name: str) -> None:
    report = scan(media / name)
    assert not report.problems, report.problems
    assert report.files_seen == 31
    # The sample README says "3 patients", but its three folders hold two patients:
    # 98892001 and 98892003 share PatientID 98890234 and the name (so do the
    # DICOMDIR's two PATIENT records).
    assert len(report.patients) == 2
    assert sorted(len(p.studies) for p in report.patients) == [2, 4]
    kinds = {c.kind for c in report.series}
    assert {CandidateKind.VOLUME, CandidateKind.IMAGE_2D, CandidateKind.LOCALIZER} <= kinds
    assert len([c for c in report.series if c.modality == "CR"]) == 3


def test_empty_dicomdir_falls_back_to_a_folder_scan(media: Path) -> None:
    report = scan(media / "DICOMDIR-empty.dcm")
    assert any("lists no images" in w for w in report.warnings)
    assert len(report.patients) == 2


def test_folder_with_dicomdir_uses_it_and_skips_extra_index_copies(media: Path) -> None:
    report = scan(media)
    assert len(report.patients) == 2
    assert not report.problems
    assert not any("not listed" in w or "DICOMDIR" in w for w in report.warnings)
    assert [i.path.name for i in report.items] == ["README.txt"]


def test_dangling_reference_warns_and_scans_the_folder(media_copy: Path) -> None:
    (media_copy / "77654033" / "CR1" / "6154").unlink()
    report = scan(media_copy / "DICOMDIR")
    assert any("not on the media" in w for w in report.warnings)
    assert any("whole folder was scanned" in w for w in report.warnings)
    assert report.files_seen == 30
    assert len([c for c in report.series if c.modality == "CR"]) == 2


@pytest.mark.filterwarnings("ignore:Invalid value for VR CS")
def test_references_outside_the_media_are_refused(media_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(media_copy / "77654033" / "CR1" / "6154", outside / "evil")
    (media_copy / "link").symlink_to(outside, target_is_directory=True)
    path = media_copy / "DICOMDIR"
    ds = pydicom.dcmread(path)
    images = [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r]
    images[0].ReferencedFileID = ["..", "outside", "evil"]
    images[1].ReferencedFileID = ["link", "evil"]  # a symlink leaving the media
    images[2].ReferencedFileID = "C:\\WINDOWS\\evil"
    ds.save_as(path)
    index = read_dicomdir(path)
    assert len(index.refused) == 3 and len(index.files) == 28
    report = scan(path)
    assert any("outside the disc" in w for w in report.warnings)
    seen = {f.path.resolve() for c in report.series for f in c.frames}
    assert (outside / "evil").resolve() not in seen


def test_mangled_names_on_discs_are_still_found(media_copy: Path) -> None:
    (media_copy / "77654033" / "CR1").rename(media_copy / "77654033" / "cr1")
    (media_copy / "77654033" / "CR2" / "6247").rename(media_copy / "77654033" / "CR2" / "6247;1")
    index = read_dicomdir(media_copy / "DICOMDIR")
    assert not index.missing and len(index.files) == 31


def test_files_missing_from_the_index_are_still_scanned(media_copy: Path) -> None:
    extra = media_copy / "EXTRA"
    extra.mkdir()
    shutil.copy(media_copy / "77654033" / "CR1" / "6154", extra / "copy")
    ds = pydicom.dcmread(extra / "copy")
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(extra / "copy")
    report = scan(media_copy)
    assert any("not listed in the disc's index" in w for w in report.warnings)
    assert len([c for c in report.series if c.modality == "CR"]) == 4


@pytest.mark.filterwarnings("ignore:End of file reached")
def test_damaged_dicomdir_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 50)
    report = scan(tmp_path / "DICOMDIR")
    assert not report.series
    assert any("DICOMDIR" in w for w in report.warnings)
