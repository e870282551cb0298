"""What a DICOM file is in the user's terms: its role in a series and plain descriptions.

Decided from the header only (SOP class, modality, image type, photometric
interpretation, series description). The grouping step combines these roles with the
geometry of the frames to pick each candidate's :class:`CandidateKind`.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydicom.uid import UID

from cbctviewer.io.headers import FileHeader
from cbctviewer.io.report import CandidateKind


class Role(StrEnum):
    """How one image file may take part in a candidate."""

    STACK = "stack"  #: an ordinary slice or frame that may belong to a 3D volume
    LOCALIZER = "localizer"  #: scout / localizer / surview
    PROJECTION = "projection"  #: a 2D radiograph-like modality: one image per candidate
    DERIVED = "derived"  #: screen capture, colour or derived image: secondary unless it stacks


#: Modalities whose images are 2D pictures by nature (radiographs, photos, ultrasound).
PROJECTION_MODALITIES = frozenset(
    {"DX", "IO", "PX", "CR", "MG", "XA", "RF", "US", "ES", "XC", "OP", "GM", "SM", "DG", "RG"}
)
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.1-.7.4
_COLOUR = ("RGB", "YBR", "PALETTE")
_DERIVED_TYPES = frozenset({"SECONDARY", "SCREEN SAVE", "PROJECTION IMAGE", "MIP", "MPR", "CURVED"})
_LOCALIZER_WORDS = re.compile(
    r"\b(localizer|localiser|scout|survey|surview|topogram|scanogram|pilot|3[- ]?plane[- ]?loc)\b", re.I
)

_NON_IMAGE = {
    "1.2.840.10008.5.1.4.1.1.104.1": "PDF report inside DICOM",
    "1.2.840.10008.5.1.4.1.1.104.2": "clinical document (CDA) inside DICOM",
    "1.2.840.10008.5.1.4.1.1.104.3": "3D model (STL) inside DICOM",
    "1.2.840.10008.5.1.4.1.1.88.59": "key-image note (a list of selected images), no image",
    "1.2.840.10008.5.1.4.1.1.481.5": "radiotherapy plan, no image",
    "1.2.840.10008.5.1.4.1.1.481.3": "radiotherapy contours, no image",
    "1.2.840.10008.5.1.4.1.1.481.2": "radiotherapy dose grid (not an anatomical image)",
    "1.2.840.10008.5.1.4.1.1.66": "raw data (vendor-specific), no image",
    "1.2.840.10008.5.1.4.1.1.66.1": "spatial registration (alignment between scans), no image",
}


def role_of(h: FileHeader) -> Role:
    """The role of an image file (one with pixel data) in its series."""
    if "LOCALIZER" in h.image_type or _LOCALIZER_WORDS.search(h.series_description or ""):
        return Role.LOCALIZER
    if h.modality in PROJECTION_MODALITIES:
        return Role.PROJECTION
    if (
        h.sop_class_uid.startswith(_SECONDARY_CAPTURE)
        or h.photometric_interpretation.startswith(_COLOUR)
        or h.samples_per_pixel != 1
        or _DERIVED_TYPES.intersection(h.image_type[2:] if len(h.image_type) > 2 else ())
        or (len(h.image_type) > 1 and h.image_type[1] == "SECONDARY")
    ):
        return Role.DERIVED
    return Role.STACK


def is_not_image(h: FileHeader) -> bool:
    """True for DICOM objects that carry no picture to show (SR, PDF, plans, dose...)."""
    return not h.has_pixels or h.sop_class_uid in _NON_IMAGE or h.modality in ("RTDOSE", "SEG")


def not_image_summary(h: FileHeader) -> str:
    """Plain words for a DICOM object without a picture."""
    if h.sop_class_uid in _NON_IMAGE:
        return _NON_IMAGE[h.sop_class_uid]
    if h.mime_type == "application/pdf":
        return "PDF report inside DICOM"
    name = _uid_name(h.sop_class_uid)
    if "SR" in name.split() or h.modality == "SR":
        return "structured report (text), no image"
    if "Presentation State" in name or h.modality == "PR":
        return "display settings (presentation state), no image"
    if h.modality == "SEG":
        return "segmentation (outlines of structures), not a scan"
    if "Image" in name and not h.has_pixels:
        return "image header without image data — nothing to show (the file may be incomplete)"
    return f"DICOM object without an image ({name or 'unknown kind'})"


def _uid_name(uid: str) -> str:
    try:
        name = UID(uid).name if uid else ""
    except Exception:
        return ""
    return "" if name == uid else name


def summary(kind: CandidateKind, *, frames: int, files: int, rows: int, columns: int, modality: str) -> str:
    """A one-line description of a candidate for lists and the ``inspect`` command."""
    size = f"{columns}×{rows}"
    what = f"{modality} " if modality else ""
    if kind is CandidateKind.VOLUME:
        return f"{what}3D volume: {frames} slices of {size}"
    if kind is CandidateKind.LOCALIZER:
        return f"scout / localizer image{'s' if frames > 1 else ''} ({size})"
    if kind is CandidateKind.SECONDARY:
        s = "s" if frames > 1 else ""
        return f"{frames} screen capture{s} or derived image{s}"
    if kind is CandidateKind.IMAGE_2D:
        if frames == 1:
            return f"{what}2D image ({size})"
        return f"{frames} {what}2D images ({size}) that do not form a 3D volume"
    return "DICOM object without an image"
