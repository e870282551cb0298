"""Read one file's DICOM header (never its pixels) into a :class:`FileHeader`.

The file is untrusted. At most :data:`MAX_HEADER_BYTES` are read: first a small chunk,
grown only when the header does not fit. Parsing stops at the pixel data, whose
element offset is recorded for native transfer syntaxes so that ``load`` can read the
pixels without parsing the header again. Problems raise :class:`~cbctviewer.io.errors.MediaError`
subclasses whose message is plain words.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cbctviewer.io import header_values as hv
from cbctviewer.io.errors import DamagedError, NotDicomError, TooLargeError
from cbctviewer.io.header_frames import TAGS as FRAME_TAGS
from cbctviewer.io.header_frames import frames_of
from cbctviewer.io.header_parse import (
    SOP_CLASS_TAG,
    SOP_INSTANCE_TAG,
    TRUNCATED,
    TS_TAG,
    Parsed,
    first_read_size,
    parse_header,
)
from cbctviewer.io.report import FrameRef, SeriesAttributes

#: Most frames one file may declare; more is treated as a damaged or hostile header.
MAX_FRAMES_PER_FILE = 65_536
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
NATIVE_SYNTAXES = frozenset({IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE})
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"

# Top-level tags the scan reads; everything else is skipped without decoding.
_TOP_TAGS = [
    0x00080005, 0x00080008, 0x00080016, 0x00080018, 0x00080020, 0x00080060, 0x00080064,
    0x00080070, 0x00081030, 0x0008103E, 0x00081090, 0x00100010, 0x00100020, 0x0018602C,
    0x00181164, 0x00200013, 0x0020000D, 0x0020000E, 0x00200011, 0x00200012, 0x00200052,
    0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x00280101,
    0x00280103, 0x00281050, 0x00281051, 0x00281054, 0x00420012,
]  # fmt: skip
_TAGS = sorted(set(_TOP_TAGS) | set(FRAME_TAGS))


@dataclass(slots=True)
class FileHeader(SeriesAttributes):
    """What one DICOM file holds, from its header: series attributes and its frames."""

    path: Path
    sop_instance_uid: str = ""
    series_instance_uid: str = ""
    transfer_syntax: str = ""
    number_of_frames: int = 1
    has_pixels: bool = False
    mime_type: str = ""
    conversion_type: str = ""
    is_directory: bool = False  #: a DICOMDIR (media index), not an image
    frames: list[FrameRef] = field(default_factory=list)
    #: Per frame: a label separating stacks/time points inside one multi-frame file.
    stack_keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def has_dicom_signature(head: bytes) -> bool:
    """True when ``head`` has the 128-byte preamble followed by ``DICM``."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def looks_like_legacy_dicom(head: bytes) -> bool:
    """Cheap check for an old ACR-NEMA style file without preamble or file meta.

    Such files start directly with a group 0x0008 (or 0x0002) element, little or big
    endian, implicit or explicit VR. Anything else is not treated as DICOM.
    """
    if len(head) < 8:
        return False
    for order in "<>":
        group, element = struct.unpack(f"{order}HH", head[:4])
        if group not in (0x0002, 0x0008) or element > 0x0100:
            continue
        vr = head[4:6]
        if vr.isalpha() and vr.isupper():
            return True
        (length,) = struct.unpack(f"{order}I", head[4:8])
        if length < 0x10000:
            return True
    return False


def read_header(path: Path, *, size: int | None = None) -> FileHeader:
    """Read the header of one DICOM file.

    Parameters
    ----------
    path : Path
        The file; opened read-only.
    size : int, optional
        Its size in bytes when already known.

    Returns
    -------
    FileHeader
        Series attributes, one :class:`FrameRef` per frame, and plain-language warnings.

    Raises
    ------
    NotDicomError, DamagedError, TooLargeError, MediaError
        With a message for the user; :exc:`OSError` when the file cannot be read.
    """
    size = path.stat().st_size if size is None else size
    with path.open("rb") as f:
        first = f.read(first_read_size())
        legacy = not has_dicom_signature(first)
        if legacy and not looks_like_legacy_dicom(first):
            raise NotDicomError("not a DICOM file")
        parsed = parse_header(f, first, size=size, legacy=legacy, tags=_TAGS)
        header = _describe(parsed, path)
        if header.is_directory:
            return header
        _check_sanity(header)
        if parsed.at_pixels and not parsed.deflated and header.transfer_syntax in NATIVE_SYNTAXES | {""}:
            offset = _check_native_pixels(f, parsed, size, header)
            header.frames = [_with_offset(fr, offset) for fr in header.frames]
        elif parsed.at_pixels and not parsed.deflated and header.number_of_frames == 1:
            # Encapsulated (compressed) pixel data is checked by the loader (trailing elements
            # after it are legal, so a missing end marker here proves nothing); its offset
            # lets the loader skip a second header parse per file.
            offset = _encapsulated_offset(f, parsed)
            header.frames = [_with_offset(fr, offset) for fr in header.frames]
    return header


def _encapsulated_offset(f: BinaryIO, parsed: Parsed) -> int | None:
    """Offset of an undefined-length PixelData element where parsing stopped, else None."""
    order = "<" if parsed.little else ">"
    f.seek(parsed.pos)
    head = f.read(12)
    if len(head) < 12 or struct.unpack(f"{order}HH", head[:4]) != (0x7FE0, 0x0010):
        return None
    length_at = 4 if parsed.implicit else 8
    (length,) = struct.unpack(f"{order}I", head[length_at : length_at + 4])
    return parsed.pos if length == 0xFFFFFFFF else None


def _check_sanity(h: FileHeader) -> None:
    """Refuse headers that cannot describe a usable object."""
    if h.has_pixels and (h.rows == 0 or h.columns == 0):
        raise DamagedError("DICOM header is damaged: the image size (rows × columns) is missing")
    if not h.has_pixels and not h.sop_class_uid and not h.rows:
        raise DamagedError(
            "DICOM header is incomplete (the file may be cut short): it does not say what it holds"
        )


def _describe(parsed: Parsed, path: Path) -> FileHeader:
    """Turn the parsed dataset into a FileHeader (frames without pixel offsets yet)."""
    ds = hv.elements(parsed.ds)  # a plain dict: much faster lookups than the Dataset
    h = FileHeader(path=path, has_pixels=parsed.at_pixels)
    h.sop_class_uid = hv.text(ds, 0x00080016) or parsed.meta.get(SOP_CLASS_TAG, "")
    h.transfer_syntax = parsed.meta.get(TS_TAG, "")
    h.is_directory = h.sop_class_uid == DICOMDIR_CLASS
    if h.is_directory:
        return h
    enc = hv.encodings_of(ds)
    h.sop_instance_uid = hv.text(ds, 0x00080018) or parsed.meta.get(SOP_INSTANCE_TAG, "")
    h.study_instance_uid = hv.text(ds, 0x0020000D)
    h.series_instance_uid = hv.text(ds, 0x0020000E)
    h.frame_of_reference_uid = hv.text(ds, 0x00200052)
    h.modality = hv.text(ds, 0x00080060).upper()
    h.series_description = hv.text(ds, 0x0008103E, enc)
    h.series_number = hv.integer(ds, 0x00200011)
    h.image_type = hv.strings(ds, 0x00080008)
    h.patient_name = hv.person_name(ds, 0x00100010, enc)
    h.patient_id = hv.text(ds, 0x00100020, enc)
    h.study_date = hv.text(ds, 0x00080020)
    h.study_description = hv.text(ds, 0x00081030, enc)
    h.manufacturer = hv.text(ds, 0x00080070, enc)
    h.model_name = hv.text(ds, 0x00081090, enc)
    h.rows = hv.ushort(ds, 0x00280010) or 0
    h.columns = hv.ushort(ds, 0x00280011) or 0
    h.bits_allocated = hv.ushort(ds, 0x00280100) or 0
    h.bits_stored = hv.ushort(ds, 0x00280101) or h.bits_allocated
    h.pixel_representation = hv.ushort(ds, 0x00280103) or 0
    h.samples_per_pixel = hv.ushort(ds, 0x00280002) or 1
    h.photometric_interpretation = hv.text(ds, 0x00280004).upper()
    h.rescale_type = hv.text(ds, 0x00281054)
    h.window_center = hv.first_float(ds, 0x00281050)
    h.window_width = hv.first_float(ds, 0x00281051)
    h.mime_type = hv.text(ds, 0x00420012)
    h.conversion_type = hv.text(ds, 0x00080064).upper()
    try:
        frames = hv.integer(ds, 0x00280008, strict=True)
    except hv.BadValue as exc:
        raise DamagedError(f"DICOM header is damaged: Number of Frames is not a number ({exc})") from None
    h.number_of_frames = max(frames or 1, 1)
    if h.number_of_frames > MAX_FRAMES_PER_FILE:
        raise TooLargeError(
            f"too large to open safely: the header claims {h.number_of_frames} images in one file"
        )
    h.imager_pixel_spacing = _pixel_spacing_2d(ds, h)
    geometry = frames_of(parsed.ds, ds, path=path, count=h.number_of_frames)
    h.frames = geometry.frames
    h.stack_keys = geometry.stack_keys
    h.warnings.extend(geometry.warnings)
    if h.window_center is None and geometry.window is not None:
        h.window_center, h.window_width = geometry.window
    h.rescale_type = h.rescale_type or geometry.rescale_type
    return h


def _pixel_spacing_2d(ds: hv.Source, h: FileHeader) -> tuple[float, float] | None:
    """PixelSpacing, else ImagerPixelSpacing; zero or missing values are reported."""
    for tag in (0x00280030, 0x00181164, 0x0018602C):  # PixelSpacing, Imager..., Nominal scanned
        value = hv.floats(ds, tag, count=2)
        if value is not None and min(value) > 0:
            return (value[0], value[1])
    if hv.floats(ds, 0x00280030) is not None or hv.floats(ds, 0x00181164) is not None:
        h.warnings.append("The header gives a pixel size of zero; distances cannot be measured.")
    return None


def _check_native_pixels(f: BinaryIO, parsed: Parsed, size: int, h: FileHeader) -> int | None:
    """Verify the PixelData element where parsing stopped; return its offset or raise."""
    pos, order = parsed.pos, "<" if parsed.little else ">"
    f.seek(pos)
    head = f.read(12)
    if len(head) < 8 or struct.unpack(f"{order}HH", head[:4]) != (0x7FE0, 0x0010):
        return None  # float pixel data, or not where expected: the loader reads it its way
    if parsed.implicit:
        (length,), start = struct.unpack(f"{order}I", head[4:8]), pos + 8
    else:
        if len(head) < 12:
            raise DamagedError(TRUNCATED)
        (length,), start = struct.unpack(f"{order}I", head[8:12]), pos + 12
    if length == 0xFFFFFFFF:
        return None  # encapsulated data under a native syntax: leave it to the loader
    if start + length > size:
        raise DamagedError(TRUNCATED)
    expected = _expected_bytes(h)
    if expected and length < expected:
        raise DamagedError(
            f"image data is shorter than the header says ({length} of {expected} bytes) — "
            "the file is damaged or incomplete"
        )
    return pos


def _expected_bytes(h: FileHeader) -> int:
    """Bytes of native pixel data the header implies (0 when it cannot tell)."""
    samples = h.samples_per_pixel
    if h.photometric_interpretation in ("YBR_FULL_422", "YBR_PARTIAL_422"):
        samples = 2  # two stored values per pixel for 4:2:2 subsampled colour
    bits = h.rows * h.columns * samples * h.number_of_frames * h.bits_allocated
    return (bits + 7) // 8


def _with_offset(frame: FrameRef, offset: int | None) -> FrameRef:
    if offset is None:
        return frame
    return FrameRef(
        path=frame.path,
        frame_index=frame.frame_index,
        position=frame.position,
        orientation=frame.orientation,
        pixel_spacing=frame.pixel_spacing,
        rescale_slope=frame.rescale_slope,
        rescale_intercept=frame.rescale_intercept,
        instance_number=frame.instance_number,
        acquisition_number=frame.acquisition_number,
        pixel_data_offset=offset,
    )
