"""Zip archives: scanned from a private temporary folder; hostile members are refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from cbctviewer.io.archive import extract_zip, safe_member_path
from cbctviewer.io.report import CandidateKind, ItemKind
from cbctviewer.io.scan import scan

SERIES, STUDY = generate_uid(), generate_uid()


def ct_slice(z: float) -> bytes:
    """One small CT slice as file bytes."""
    from pydicom.filebase import DicomBytesIO

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = STUDY, SERIES, "CT"
    ds.PatientName, ds.PatientID = "Zip^Patient", "Z1"
    ds.ImagePositionPatient, ds.ImageOrientationPatient = [0, 0, z], [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.Rows, ds.Columns = [0.3, 0.3], 4, 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = bytes(32)
    out = DicomBytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def make_zip(path: Path, members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_safe_member_paths() -> None:
    assert str(safe_member_path("DICOM/IM1")) == "DICOM/IM1"
    assert str(safe_member_path("DICOM\\IM1")) == "DICOM/IM1"
    for bad in ("../evil", "/abs", "C:/x", "C:x", "a/../../b", "a/..", "", "x\x00y", "a:b/c"):
        assert safe_member_path(bad) is None, bad


def test_zip_of_a_volume_scans_from_a_temp_folder_that_close_removes(tmp_path: Path) -> None:
    members = {f"DISC/DICOM/IM{i}": ct_slice(float(i)) for i in range(5)}
    members["DISC/report.pdf"] = b"%PDF-1.4 ..."
    archive = make_zip(tmp_path / "scan.zip", members)
    with scan(archive) as report:
        assert report.temp_dir is not None and report.temp_dir.is_dir()
        assert not report.temp_dir.is_relative_to(tmp_path)
        [volume] = report.series
        assert volume.kind is CandidateKind.VOLUME and len(volume.frames) == 5
        assert all(f.path.is_relative_to(report.temp_dir) for f in volume.frames)
        [item] = report.items
        assert item.kind is ItemKind.PDF and item.path == archive / "DISC" / "report.pdf"
        temp = report.temp_dir
    assert report.temp_dir is None and not temp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.zip"]


def test_hostile_members_are_refused_and_never_written(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    members = {
        "ok/IM1": ct_slice(0.0),
        "../evil": b"x",
        "../../evil2": b"x",
        "/abs_evil": b"x",
        "C:/drive_evil": b"x",
        "a/../../evil3": b"x",
        "bomb": bytes(4 * 1024 * 1024),  # compresses ~1000:1
    }
    archive = make_zip(work / "evil.zip", members, symlinks=("link",))
    with scan(archive) as report:
        reasons = {p.path.name: p.error for p in report.problems}
        for name in ("evil", "evil2", "abs_evil", "drive_evil", "evil3"):
            assert "outside" in reasons[name], name
        assert "symbolic link" in reasons["link"]
        assert "zip bomb" in reasons["bomb"]
        assert report.temp_dir is not None
        written = sorted(str(p.relative_to(report.temp_dir)) for p in report.temp_dir.rglob("*"))
        assert written == ["ok", "ok/IM1"]
        assert len(report.series) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["evil.zip", "work"]


def test_limits_on_total_size_and_member_count(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"f{i}": bytes(range(256)) * 8 for i in range(5)})
    dest = tmp_path / "out"
    dest.mkdir()
    result = extract_zip(archive, dest, max_total_bytes=5000)
    assert result.written == 2 and len(result.problems) == 3
    assert all("size limit" in p.error for p in result.problems)
    dest2 = tmp_path / "out2"
    dest2.mkdir()
    result = extract_zip(archive, dest2, max_members=2)
    assert result.written == 2 and any("only the first 2" in w for w in result.warnings)


def test_duplicate_names_and_encrypted_members(tmp_path: Path) -> None:
    archive = tmp_path / "odd.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("same", b"one")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("same", b"two")
        zf.writestr("locked", b"secret")
    data = bytearray(archive.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 0x1  # mark the entry encrypted in the central directory
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    result = extract_zip(archive, dest)
    reasons = sorted(p.error for p in result.problems)
    assert any("twice" in r or "clashes" in r for r in reasons)
    assert any("password" in r for r in reasons)
    assert (dest / "same").read_bytes() == b"one"


def test_not_a_zip_or_broken_zip_is_a_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + bytes(range(200)))
    report = scan(broken)
    assert not report.series
    assert report.items or report.problems  # recognised as a (damaged) archive, never raised
    report.close()


def test_nested_archives_are_listed_not_opened(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"IM1": ct_slice(0.0)})
    outer = make_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes(), "IM2": ct_slice(1.0)})
    with scan(outer) as report:
        assert [i.kind for i in report.items] == [ItemKind.ARCHIVE]
        assert len(report.series) == 1 and len(report.series[0].frames) == 1


def test_cancel_during_extraction(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"IM{i}": ct_slice(float(i)) for i in range(20)})
    with scan(archive, cancel=lambda: True) as report:
        assert report.cancelled and not report.series


def test_corrupt_member_is_a_problem_and_leaves_no_partial_file(tmp_path: Path) -> None:
    archive = tmp_path / "crc.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("good", b"fine")
        zf.writestr("bad", b"A" * 1000)
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"A" * 1000, b"A" * 999 + b"B"))
    dest = tmp_path / "out"
    dest.mkdir()
    result = extract_zip(archive, dest)
    assert [p.path.name for p in result.problems] == ["bad"]
    assert "damaged" in result.problems[0].error
    assert sorted(p.name for p in dest.iterdir()) == ["good"]
