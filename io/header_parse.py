"""Parse a DICOM header from a bounded, growing prefix of an untrusted file.

The file meta group (group 0002, always explicit VR little endian) is read here with a
tiny parser; the dataset itself is parsed by :func:`pydicom.filereader.read_dataset`
with ``specific_tags`` (unneeded elements are skipped, not decoded) and stops at the
pixel data. This skips ``dcmread``'s preamble and meta validation, which cost a fifth
of a scan's time. Legacy files without file meta still go through ``dcmread(force=True)``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from io import BytesIO
from typing import BinaryIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset

from cbctviewer.io.errors import DamagedError, MediaError

#: Most bytes read to parse one header (functional groups of big multi-frame files fit).
MAX_HEADER_BYTES = 64 * 1024**2
FIRST_READ = 32 * 1024
_GROWTH = 4
#: Files of one series have headers of about the same size: the first read of the next
#: file is sized from the last header seen, so large vendor headers are read in one go.
_hint = FIRST_READ

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
TS_TAG, SOP_CLASS_TAG, SOP_INSTANCE_TAG = 0x00020010, 0x00020002, 0x00020003
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
TRUNCATED = "file is cut short (truncated) — the copy on the disc may be incomplete"
_LONG_VRS = (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")

# SOP classes that carry no pixels: no need to read on to the (absent) pixel data.
NON_IMAGE_HINT = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.104.1",  # encapsulated PDF
        "1.2.840.10008.5.1.4.1.1.104.2",  # encapsulated CDA
        "1.2.840.10008.5.1.4.1.1.88.59",  # key object selection
        "1.2.840.10008.5.1.4.1.1.481.5",  # RT plan
        "1.2.840.10008.5.1.4.1.1.481.3",  # RT structure set
        "1.2.840.10008.5.1.4.1.1.66",  # raw data
        "1.2.840.10008.1.3.10",  # DICOMDIR
    }
)


@dataclass(slots=True)
class Parsed:
    """A parsed header and where parsing stopped."""

    ds: Dataset
    pos: int  #: stop position in ``data`` (the pixel data tag when ``at_pixels``)
    data: bytes  #: the bytes parsed: a file prefix, or the inflated dataset
    implicit: bool
    little: bool
    deflated: bool = False
    at_pixels: bool = False
    meta: dict[int, str] = field(default_factory=dict)  #: file meta strings by tag


def first_read_size() -> int:
    """How many bytes to read first: enough for the last header seen (at least 32 KiB)."""
    return _hint


def parse_header(
    f: BinaryIO, first: bytes, *, size: int, legacy: bool, tags: list[int], max_bytes: int = MAX_HEADER_BYTES
) -> Parsed:
    """Parse the header from a growing prefix of ``f`` until it is complete.

    Complete means: parsing stopped at the pixel data, or the whole file was parsed, or
    the object is of a kind without pixels. Raises :class:`DamagedError` when the file
    is damaged, cut short, or its header exceeds ``max_bytes``.
    """
    buf = first
    while True:
        try:
            parsed = _parse(buf, legacy=legacy, tags=tags)
            error: Exception | None = None
        except MediaError:
            raise
        except Exception as exc:  # pydicom raises many types on malformed input
            error = exc
        whole = len(buf) >= size
        if error is None:
            parsed.at_pixels = tag_at(parsed.data, parsed.pos, little=parsed.little) in PIXEL_TAGS
            sop_class = parsed.meta.get(SOP_CLASS_TAG, "")
            if parsed.at_pixels or whole or sop_class in NON_IMAGE_HINT:
                if not parsed.at_pixels and whole and _runs_past_end(parsed):
                    raise DamagedError(TRUNCATED)
                if parsed.at_pixels and not parsed.deflated:
                    global _hint  # approximate and process-wide on purpose: only a size hint
                    _hint = min(max(FIRST_READ, parsed.pos + parsed.pos // 4 + 1024), 4 * 1024**2)
                return parsed
        elif whole:
            if isinstance(error, (EOFError, struct.error)) or "end of file" in str(error).lower():
                raise DamagedError(TRUNCATED) from None
            reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
            raise DamagedError(f"DICOM header is damaged: {reason}") from None
        if len(buf) >= max_bytes:
            raise DamagedError("the DICOM header is unreasonably large; the file is probably damaged")
        more = f.read(min(len(buf) * (_GROWTH - 1), max_bytes - len(buf)))
        if not more:  # the file shrank or lied about its size: parse what there is
            size = len(buf)
        buf += more


def _at_pixels(tag: int, vr: str | None, length: int) -> bool:
    return tag in PIXEL_TAGS


def _parse(buf: bytes, *, legacy: bool, tags: list[int]) -> Parsed:
    if legacy:
        stream = BytesIO(buf)
        ds: Dataset = pydicom.dcmread(stream, force=True, stop_before_pixels=True, specific_tags=tags)
        meta = {t: str(ds.file_meta[t].value) for t in (TS_TAG, SOP_CLASS_TAG) if t in ds.file_meta}
        return _done(ds, stream, buf, meta)
    end, meta = read_meta(buf)
    syntax = meta.get(TS_TAG, "")
    if syntax == DEFLATED:
        # Inflate at most MAX_HEADER_BYTES: a deflate bomb stays harmless.
        data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(buf[end:], MAX_HEADER_BYTES)
        stream = BytesIO(data)
        ds = read_dataset(stream, False, True, stop_when=_at_pixels, specific_tags=tags)
        parsed = _done(ds, stream, data, meta)
        parsed.deflated = True
        return parsed
    if syntax:
        implicit, little = syntax == IMPLICIT_LE, syntax != EXPLICIT_BE
    else:  # no transfer syntax in the meta: guess from the first element's VR bytes
        implicit, little = not buf[end + 4 : end + 6].isalpha(), True
    stream = BytesIO(buf)
    stream.seek(end)
    ds = read_dataset(stream, implicit, little, stop_when=_at_pixels, specific_tags=tags)
    return _done(ds, stream, buf, meta)


def _done(ds: Dataset, stream: BytesIO, data: bytes, meta: dict[int, str]) -> Parsed:
    # pydicom corrects a wrong implicit/explicit claim; its verdict is what the data is.
    implicit, little = ds.original_encoding
    return Parsed(ds, stream.tell(), data, implicit is not False, little is not False, meta=meta)


def read_meta(buf: bytes) -> tuple[int, dict[int, str]]:
    """Parse the file meta group after the preamble; return its end and its strings."""
    pos, meta = 132, {}
    while pos + 8 <= len(buf):
        group, element, vr = struct.unpack("<HH2s", buf[pos : pos + 6])
        if group != 2:
            break
        if vr in _LONG_VRS:
            if pos + 12 > len(buf):
                break
            start, length = pos + 12, struct.unpack("<I", buf[pos + 8 : pos + 12])[0]
        else:
            start, length = pos + 8, struct.unpack("<H", buf[pos + 6 : pos + 8])[0]
        if vr == b"UI":
            meta[group << 16 | element] = buf[start : start + length].decode("ascii", "replace").strip(" \0")
        pos = start + length
    return pos, meta


def tag_at(data: bytes, pos: int, *, little: bool) -> int:
    """The tag stored at ``pos`` (0 when out of range)."""
    if pos < 0 or pos + 4 > len(data):
        return 0
    group, element = struct.unpack("<HH" if little else ">HH", data[pos : pos + 4])
    return int(group << 16 | element)


def _runs_past_end(parsed: Parsed) -> bool:
    """True when the parse ran out of file: a skipped or the last element claims more bytes."""
    size = len(parsed.data)
    if parsed.pos > size:
        return True
    keys = list(parsed.ds.keys())
    if not keys:
        return False
    last = parsed.ds.get_item(max(keys), keep_deferred=True)
    length = getattr(last, "length", 0)
    tell = getattr(last, "value_tell", None)
    return tell is not None and length != 0xFFFFFFFF and tell + length > size
