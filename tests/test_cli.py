"""The command line: inspect, check, convert, sample (headless, no Qt)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.app.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main


def _truth(phantom_dir: Path) -> dict:
    return json.loads((phantom_dir / "phantom_truth.json").read_text())


def test_inspect_json_describes_the_phantom(phantom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(phantom_dir), "--json"]) == EXIT_OK
    out = capsys.readouterr()
    doc = json.loads(out.out)
    volumes = [s for s in doc["series"] if s["is_volume"]]
    assert len(volumes) == 1
    series = volumes[0]
    truth = _truth(phantom_dir)
    files = sorted((phantom_dir / "DICOM").iterdir())
    assert series["files"] == len(files)
    assert series["modality"] == "CT"
    assert series["spacing"] == pytest.approx([truth["voxel_size"]] * 3, abs=1e-6)
    assert series["size"] == list(truth["size"])
    assert series["origin"] == pytest.approx(truth["origin"], abs=1e-3)
    assert series["direction"] == pytest.approx([1, 0, 0, 0, 1, 0, 0, 0, 1])
    assert series["transfer_syntaxes"] == ["1.2.840.10008.1.2.1"]
    assert series["warnings"] == []
    assert doc["verdict"].startswith("Yes")
    assert out.err == ""  # --json implies no progress noise


def test_inspect_text_never_prints_patient_name(
    phantom_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pydicom

    first = next((phantom_dir / "DICOM").iterdir())
    name = str(pydicom.dcmread(first, stop_before_pixels=True).PatientName)
    assert name
    assert main(["inspect", str(phantom_dir)]) == EXIT_OK
    out = capsys.readouterr()
    assert "3D scan" in out.out
    assert name not in out.out and name not in out.err


def test_check_says_yes_for_the_phantom(phantom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--quiet", str(phantom_dir)]) == EXIT_OK
    out = capsys.readouterr()
    assert "Yes: a complete 3D scan opens" in out.out
    assert out.err == ""


def test_check_says_no_for_a_report_and_screenshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Befund.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n")
    (tmp_path / "screen1.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64)
    assert main(["check", "-q", str(tmp_path)]) == EXIT_FAILED
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert verdict.startswith("No 3D scan found")
    assert "PDF" in verdict and "picture" in verdict


def test_check_on_the_broken_corpus_reports_every_file(
    dicom_samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-q", str(dicom_samples / "broken")]) in (EXIT_OK, EXIT_FAILED)
    out = capsys.readouterr().out
    assert "Traceback" not in out


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope")]) == EXIT_USAGE
    assert main(["inspect"]) == EXIT_USAGE
    assert main(["convert", str(tmp_path), "--out", str(tmp_path / "x.png")]) == EXIT_USAGE
    assert main(["sample", str(tmp_path / "s"), "--voxel-size", "0"]) == EXIT_USAGE
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz", ".mha"])
def test_convert_round_trips_geometry_and_voxels(phantom_dir: Path, tmp_path: Path, suffix: str) -> None:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    out = tmp_path / f"vol{suffix}"
    assert main(["convert", "-q", str(phantom_dir), "--out", str(out)]) == EXIT_OK
    written = sitk.ReadImage(str(out))
    with scan(phantom_dir) as report:
        volume = load(report.volumes[0])
    assert written.GetSize() == volume.image.GetSize()
    assert np.allclose(written.GetOrigin(), volume.image.GetOrigin(), atol=1e-4)
    assert np.allclose(written.GetSpacing(), volume.image.GetSpacing(), atol=1e-6)
    assert np.allclose(written.GetDirection(), volume.image.GetDirection(), atol=1e-6)
    assert np.array_equal(sitk.GetArrayViewFromImage(written), volume.array)
    assert not list(tmp_path.glob(".cbct-*"))  # no temp file left behind


def test_convert_refuses_to_overwrite_without_force(phantom_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "vol.mha"
    out.write_bytes(b"keep me")
    assert main(["convert", "-q", str(phantom_dir), "--out", str(out)]) == EXIT_USAGE
    assert out.read_bytes() == b"keep me"
    assert main(["convert", "-q", str(phantom_dir), "--out", str(out), "--force"]) == EXIT_OK
    assert out.stat().st_size > 1000


def test_convert_asks_for_series_when_several(
    dicom_samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media = tmp_path / "media"
    shutil.copytree(dicom_samples / "volumes" / "mr_ge_signa_16slices", media / "mr")
    shutil.copytree(dicom_samples / "volumes" / "ct_phantom_philips_ingenuity_5mm", media / "ct")
    assert main(["convert", "-q", str(media), "--out", str(tmp_path / "v.nrrd")]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "--series" in err


def test_sample_if_missing_does_not_rewrite(tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert main(["sample", "-q", str(out), "--voxel-size", "1.0"]) == EXIT_OK
    truth = out / "phantom_truth.json"
    before = truth.stat().st_mtime_ns
    assert main(["sample", "-q", str(out), "--voxel-size", "1.0", "--if-missing"]) == EXIT_OK
    assert truth.stat().st_mtime_ns == before
    assert len(list((out / "DICOM").iterdir())) == _truth(out)["size"][2]


def test_console_script_runs_without_qt(phantom_dir: Path) -> None:
    """The installed entry point works and the headless commands never import PySide6."""
    code = (
        "import sys; from cbctviewer.app.cli import main; rc = main(['inspect', '-q', sys.argv[1]]);"
        "assert 'PySide6' not in sys.modules, 'Qt imported'; sys.exit(rc)"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", code, str(phantom_dir)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    exe = Path(sys.executable).with_name("cbct-viewer")
    if exe.exists():
        done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "inspect" in done.stdout


def test_pydicom_messages_are_silenced(tmp_path: Path) -> None:
    """pydicom's own warnings quote header values (possibly patient data); the CLI silences them."""
    probe = (
        "import sys\n"
        "if sys.argv[1] == 'quiet':\n"
        "    from cbctviewer.app.cli import quiet_third_party_logs; quiet_third_party_logs()\n"
        "import pydicom\n"
        "ds = pydicom.Dataset(); ds.PatientBirthDate = 'DOE-JOHN-1970'\n"
    )

    def stderr(mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, mode], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "DOE-JOHN-1970" in stderr("loud")  # control: pydicom does print the value
    assert "DOE-JOHN-1970" not in stderr("quiet")


def test_verdict_names_scouts_and_screen_captures(
    dicom_samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of a localizer and 'Exam Summary' captures is not a scan, and says what it is."""
    assert main(["check", "-q", str(dicom_samples / "mixed_series_one_folder")]) == EXIT_FAILED
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert verdict.startswith("No 3D scan found")
    assert "localizer" in verdict and "screen capture" in verdict
    assert "no images" not in verdict
