"""The built-in sample: the dental phantom written as a DICOM series plus its ground truth."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cbctviewer.core.phantom import VALUE_MIN, render_phantom
from cbctviewer.core.tasks import ProgressCallback
from cbctviewer.io.dicom_writer import deterministic_uid, write_series

__all__ = ["DICOM_SUBDIR", "TRUTH_FILE", "SampleInfo", "write_sample"]

DICOM_SUBDIR = "DICOM"
TRUTH_FILE = "phantom_truth.json"
PATIENT_NAME = "PHANTOM^DENTAL"
PATIENT_ID = "CBCTV-PHANTOM-0001"
#: Fixed dates keep the sample byte-identical from run to run.
_STUDY_DATES = {"baseline": "20240115", "followup": "20250120"}
_BITS_STORED = 12
#: Stored = value - intercept; unsigned 12 bits above -1000 (common CBCT vendor practice).
_INTERCEPT = float(VALUE_MIN)


@dataclass(slots=True)
class SampleInfo:
    """Where the sample went and what it is."""

    directory: Path
    dicom_dir: Path
    truth_path: Path
    files: list[Path]
    study_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str
    truth: dict[str, Any] = field(default_factory=dict)


def write_sample(
    outdir: str | os.PathLike[str],
    *,
    followup: bool = False,
    voxel_size: float = 0.2,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> SampleInfo:
    """Render the dental phantom and write it to ``outdir/DICOM/`` with ``outdir/phantom_truth.json``.

    Parameters
    ----------
    outdir
        Target folder (created if needed). Existing ``IMG*.dcm`` files there are replaced.
    followup
        Write the follow-up scan (moved, cropped, 1 mm more marginal bone loss) instead
        of the baseline: same patient, another study and series.
    voxel_size
        Isotropic voxel size in mm (0.2 default; tests use 0.4).
    seed
        Noise seed (default: the variant's own). Output is byte-identical for equal inputs.
    progress
        Optional ``(fraction, message)`` sink.

    Returns
    -------
    SampleInfo
        Paths, UIDs and the ground-truth dict that was written.
    """
    variant = "followup" if followup else "baseline"

    def sub(start: float, span: float) -> ProgressCallback | None:
        if progress is None:
            return None
        sink = progress
        return lambda f, msg: sink(start + span * f, msg)

    image = render_phantom(voxel_size=voxel_size, followup=followup, seed=seed, progress=sub(0.0, 0.7))
    truth = image.truth
    noise_seed = truth["image"]["noise_seed"]
    uid_seed = f"cbct-viewer phantom v{truth['version']}/{variant}/{voxel_size:g}/{noise_seed}"
    stored = (image.array.astype(np.int32) - int(_INTERCEPT)).astype(np.uint16)
    out = Path(outdir)
    dicom_dir = out / DICOM_SUBDIR
    dicom_dir.mkdir(parents=True, exist_ok=True)
    for old in dicom_dir.glob("IMG*.dcm"):
        old.unlink()
    label = "follow-up" if followup else "baseline"
    study_uid = deterministic_uid(uid_seed, "study")
    series_uid = deterministic_uid(uid_seed, "series")
    for_uid = deterministic_uid(uid_seed, "frame-of-reference")
    files = write_series(
        stored,
        dicom_dir,
        origin=image.origin,
        spacing=image.spacing,
        direction=image.direction,
        rescale_slope=1.0,
        rescale_intercept=_INTERCEPT,
        rescale_type="US",
        patient_name=PATIENT_NAME,
        patient_id=PATIENT_ID,
        patient_birth_date="19700101",
        study_uid=study_uid,
        series_uid=series_uid,
        frame_of_reference_uid=for_uid,
        uid_seed=uid_seed,
        study_date=_STUDY_DATES[variant],
        study_time="093000" if not followup else "141500",
        study_id="1" if not followup else "2",
        study_description=f"Dental CBCT phantom {label}",
        series_description=f"Dental CBCT phantom ({label})",
        series_number=1,
        window_center=1000.0,
        window_width=4000.0,
        bits_stored=_BITS_STORED,
        progress=sub(0.7, 0.3),
    )
    truth = {
        **truth,
        "dicom": {
            "directory": DICOM_SUBDIR,
            "files": len(files),
            "first_file": files[0].name,
            "stored": "uint16, BitsStored 12; value = stored + RescaleIntercept (-1000), RescaleType US",
            "rescale_intercept": _INTERCEPT,
            "rescale_slope": 1.0,
            "patient_id": PATIENT_ID,
            "study_date": _STUDY_DATES[variant],
            "study_instance_uid": study_uid,
            "series_instance_uid": series_uid,
            "frame_of_reference_uid": for_uid,
        },
    }
    truth_path = out / TRUTH_FILE
    tmp = truth_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    tmp.replace(truth_path)
    if progress is not None:
        progress(1.0, "Sample written")
    return SampleInfo(
        directory=out,
        dicom_dir=dicom_dir,
        truth_path=truth_path,
        files=files,
        study_instance_uid=study_uid,
        series_instance_uid=series_uid,
        frame_of_reference_uid=for_uid,
        truth=truth,
    )
