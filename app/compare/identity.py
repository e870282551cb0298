"""Does the follow-up belong to the same patient as the baseline? (Plain words, no patient data.)"""

from __future__ import annotations

import re

from cbctviewer.core.volume import VolumeMetadata


def _name_key(name: str) -> str:
    # DICOM names are "FAMILY^GIVEN^…"; compare letters only, case-insensitively.
    return re.sub(r"[^a-z0-9]", "", name.replace("^", " ").lower())


def patient_mismatch(baseline: VolumeMetadata, followup: VolumeMetadata) -> str | None:
    """A warning when the two scans' patient ID or name differ (fields empty in either are skipped).

    The text names which field differs, never its value (it must not reach logs or
    screenshots of the banner).
    """
    differing = []
    ids = (baseline.patient_id.strip(), followup.patient_id.strip())
    if all(ids) and ids[0] != ids[1]:
        differing.append("patient ID")
    names = (_name_key(baseline.patient_name), _name_key(followup.patient_name))
    if all(names) and names[0] != names[1]:
        differing.append("patient name")
    if not differing:
        return None
    return (
        f"The follow-up scan's {' and '.join(differing)} differ from the open scan's: "
        "make sure both scans are of the same patient before comparing them."
    )
