"""The DICOM header of one file as rows for a tag browser (headers only, never pixels).

:func:`read_tags` lists the file meta group and then the data set, in tag order, with
sequence items nested (``TagRow.depth``). Values are turned into one short line of
text: long texts are cut, binary values show their size and first bytes, and values
larger than :data:`DEFER_BYTES` are not read at all. In a multi-frame file the
Per-Frame Functional Groups Sequence (one item per image, thousands in big files)
shows only the item of the chosen image.

The file is untrusted: a damaged file gives the rows that could be read, plus a row
saying where reading stopped; :class:`~cbctviewer.io.errors.MediaError` is raised
only when nothing at all could be read. Rows hold patient data (names, dates): show
them, never log them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pydicom
from pydicom.datadict import dictionary_description, dictionary_has_tag, dictionary_keyword, dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import data_element_generator
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID
from pydicom.valuerep import PersonName

from cbctviewer.io.errors import MediaError, NotDicomError

#: Values larger than this are not read from the file (private blobs, overlays...).
DEFER_BYTES = 256 * 1024
#: Longest value text shown; longer values end in "…".
MAX_VALUE_CHARS = 200
#: Most values of a multi-valued element shown.
MAX_VALUES = 32
#: Bytes of a binary value shown in hex.
HEX_BYTES = 16
#: Most rows returned; a hostile or huge header ends with a "not shown" row.
MAX_ROWS = 20_000

_PER_FRAME = 0x52009230  #: Per-Frame Functional Groups Sequence
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_ITEM_TAG = "(FFFE,E000)"
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW"})
_TEXT_VRS = frozenset({"LT", "ST", "UT", "UC"})


@dataclass(frozen=True, slots=True)
class TagRow:
    """One line of the tag browser.

    ``depth`` is 0 for the file's own elements; a sequence's items are rows with tag
    ``(FFFE,E000)`` at ``depth + 1`` and the items' elements are at ``depth + 2``.
    Rows that explain something (an unreadable value, the end of a damaged file, rows
    not shown) have an empty ``vr`` and their explanation as ``value``.
    """

    tag: str  #: "(0010,0010)"
    keyword: str  #: "PatientName"; "" for private or unknown tags
    name: str  #: "Patient's Name"; "Private tag" when unknown
    vr: str  #: "PN"
    value: str  #: one line of text, shortened
    depth: int = 0


class _Rows:
    """Collects rows up to :data:`MAX_ROWS`."""

    def __init__(self, frame_index: int, limit: int) -> None:
        self.rows: list[TagRow] = []
        self.frame_index = frame_index
        self.limit = limit
        self.left_off = 0

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.limit

    def add(self, row: TagRow) -> None:
        if self.full:
            self.left_off += 1
        else:
            self.rows.append(row)


def read_tags(path: Path, *, frame_index: int = 0, max_rows: int = MAX_ROWS) -> list[TagRow]:
    """Read a DICOM file's header into rows for display.

    Parameters
    ----------
    path : Path
        The file. Only the header is read (parsing stops before the pixel data).
    frame_index : int, optional
        For multi-frame files: which image's Per-Frame Functional Groups item to show
        (0-based). Ignored for single-frame files.
    max_rows : int, optional
        Most rows returned; if the header has more, the last row says how many were left
        out.

    Returns
    -------
    list of TagRow
        File meta elements first, then the data set, in tag order, sequence items nested.
        For a damaged file: what could be read, then a row saying that reading stopped.

    Raises
    ------
    MediaError
        The file cannot be opened, or nothing in it could be read as DICOM (the message
        is plain words and names the file, not its contents).
    ValueError
        ``frame_index`` is negative.
    """
    if frame_index < 0:
        raise ValueError("frame_index must be 0 or more")
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warnings may quote header values
        ds, stopped = _read(path)
        if not _looks_like_dicom(ds):
            raise NotDicomError(f"File '{path.name}' is not a DICOM file, or too damaged to read.")
        rows = _Rows(frame_index, max(1, max_rows))
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            _walk(meta, 0, rows)
        _walk(ds, 0, rows)
    if rows.left_off:
        rows.rows.append(_note(f"{rows.left_off} more rows are not shown."))
    if stopped:
        rows.rows.append(_note(stopped))
    return rows.rows


# --------------------------------------------------------------------------- reading


def _read(path: Path) -> tuple[Dataset, str]:
    """The header, and a plain-language note when it could be read only in part."""
    try:
        f = path.open("rb")
    except OSError as exc:
        raise MediaError(f"Could not open file '{path.name}': {exc.strerror or exc}.") from exc
    with f:
        ds: Dataset
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, force=True, defer_size=DEFER_BYTES)
            note = ""
        except Exception:  # pydicom raises OSError, struct.error, ValueError... on damage
            # Read element by element, keeping everything before the damage.
            f.seek(0)
            try:
                ds = _read_partial(f)
            except OSError as exc:
                raise MediaError(f"Could not read file '{path.name}': {exc.strerror or exc}.") from exc
            note = "The rest of the header could not be read: the file is damaged or cut short."
    ds.filename = str(path)  # deferred values (large sequences) are read from here
    return ds, note


def _read_partial(f: BinaryIO) -> Dataset:
    """Read elements one by one until the first that fails (file meta, then the data set)."""
    head = f.read(132)
    f.seek(132 if head[128:132] == b"DICM" else 0)
    meta = Dataset()
    start = f.tell()
    if f.read(2) == b"\x02\x00":  # group 0002: the file meta, explicit VR little endian
        f.seek(start)
        _collect(
            meta,
            data_element_generator(f, False, True, stop_when=lambda tag, vr, length: tag.group != 2),
        )
    else:
        f.seek(start)
    syntax = str(meta.get("TransferSyntaxUID", "") or "")
    implicit = syntax == "1.2.840.10008.1.2" or (not syntax and _guess_implicit(f))
    little = syntax != "1.2.840.10008.1.2.2"
    ds = Dataset()
    ds.set_original_encoding(implicit, little, None)
    _collect(
        ds,
        data_element_generator(
            f,
            implicit,
            little,
            stop_when=lambda tag, vr, length: int(tag) in _PIXEL_TAGS,
            defer_size=DEFER_BYTES,
        ),
    )
    ds.file_meta = pydicom.dataset.FileMetaDataset(meta) if len(meta) else None  # type: ignore[assignment]
    return ds


def _guess_implicit(f: BinaryIO) -> bool:
    """True when the next element has no readable VR (implicit VR little endian)."""
    position = f.tell()
    head = f.read(6)
    f.seek(position)
    return len(head) < 6 or not (head[4:6].isalpha() and head[4:6].isupper())


def _collect(ds: Dataset, elements: Iterator[RawDataElement | DataElement]) -> None:
    with contextlib.suppress(Exception):
        for element in elements:
            ds[element.tag] = element


def _looks_like_dicom(ds: Dataset) -> bool:
    """At least one standard element (random bytes parse as one odd "private" element)."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and len(meta):
        return True
    return any(dictionary_has_tag(tag) for tag in ds.keys())  # noqa: SIM118 (tags, not elements)


# --------------------------------------------------------------------------- rows


def _walk(ds: Dataset, depth: int, rows: _Rows) -> None:
    for tag in sorted(ds.keys()):
        if rows.full:
            rows.left_off += 1
            continue
        raw = ds.get_item(tag)
        vr = _vr_of(raw, tag)
        if isinstance(raw, RawDataElement) and raw.value is None and raw.length and vr != "SQ":
            rows.add(_row(tag, vr, f"({_size(raw.length)}, not shown)", depth))
            continue
        try:
            element = ds[tag]
        except Exception:
            rows.add(_row(tag, vr, _invalid(raw), depth))
            continue
        if element.VR == "SQ":
            _sequence(element, depth, rows)
            continue
        try:
            text = _format(element)
        except Exception:
            text = _invalid(raw)
        rows.add(_row(tag, str(element.VR or vr), text, depth, element))


def _sequence(element: DataElement, depth: int, rows: _Rows) -> None:
    items = list(element.value or [])
    shown: list[tuple[int, Dataset]] = list(enumerate(items))
    count = f"{len(items)} item" if len(items) == 1 else f"{len(items)} items"
    if int(element.tag) == _PER_FRAME and len(items) > 1:
        k = rows.frame_index
        shown = [(k, items[k])] if k < len(items) else []
        where = f"showing image {k + 1}" if shown else f"image {k + 1} is not in this file"
        count = f"{len(items)} items, one per image; {where}"
    rows.add(_row(element.tag, "SQ", count, depth, element))
    for index, item in shown:
        if rows.full:
            rows.left_off += 1 + len(item)
            continue
        rows.add(TagRow(_ITEM_TAG, "Item", f"Item {index + 1}", "", "", depth + 1))
        _walk(item, depth + 2, rows)


def _row(tag: Any, vr: str, value: str, depth: int, element: DataElement | None = None) -> TagRow:
    tag = Tag(tag)
    if dictionary_has_tag(tag):
        return TagRow(_tag_text(tag), dictionary_keyword(tag), dictionary_description(tag), vr, value, depth)
    if not tag.is_private:
        name = "Unknown tag"
    elif tag.is_private_creator:
        name = "Private creator"
    else:
        name = "Private tag"
        with contextlib.suppress(Exception):
            if element is not None and element.name.startswith("["):  # known to pydicom's private dictionary
                name = element.name.strip("[]")
    return TagRow(_tag_text(tag), "", name, vr, value, depth)


def _note(text: str) -> TagRow:
    return TagRow("", "", "", "", text, 0)


def _tag_text(tag: BaseTag) -> str:
    return f"({tag.group:04X},{tag.element:04X})"


def _vr_of(raw: RawDataElement | DataElement, tag: BaseTag) -> str:
    vr = getattr(raw, "VR", None)
    if vr:
        return str(vr)
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024**2:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024**2:.1f} MB"


# --------------------------------------------------------------------------- values


def _format(element: DataElement) -> str:
    value = element.value
    vr = str(element.VR)
    if value is None or (isinstance(value, str | bytes | list | MultiValue) and len(value) == 0):
        return ""
    if isinstance(value, bytes | bytearray):
        if vr in _BINARY_VRS or not _printable(bytes(value)):
            return _hex(bytes(value))
        value = value.decode("latin-1")
    if vr == "AT":
        tags = value if isinstance(value, list | MultiValue) else [value]
        return _shorten("\\".join(_tag_text(Tag(t)) for t in tags))
    if isinstance(value, list | tuple | MultiValue):
        parts = [_one(v, vr) for v in list(value)[:MAX_VALUES]]
        text = "\\".join(parts)
        if len(value) > MAX_VALUES:
            text += f"… ({len(value)} values)"
        return _shorten(text)
    return _shorten(_one(value, vr))


def _one(value: Any, vr: str) -> str:
    if isinstance(value, PersonName):
        return str(value)
    if vr == "UI" and isinstance(value, str):
        uid = UID(value)
        name = uid.name if uid.is_valid else ""
        return f"{value} ({name})" if name and name != value else value
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, bytes | bytearray):
        return _hex(bytes(value))
    return str(value)


def _shorten(text: str) -> str:
    text = " ".join(text.replace("\0", " ").split()) if any(c in text for c in "\r\n\t\0") else text
    text = text.strip()
    if len(text) > MAX_VALUE_CHARS:
        return text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def _hex(data: bytes) -> str:
    text = data.rstrip(b"\0 ")
    if text and len(text) <= MAX_VALUE_CHARS and all(32 <= b < 127 for b in text):
        return f'({_size(len(data))}) "{text.decode("ascii")}"'  # e.g. text in a UN element
    head = " ".join(f"{b:02X}" for b in data[:HEX_BYTES])
    more = " …" if len(data) > HEX_BYTES else ""
    return f"({_size(len(data))}) {head}{more}"


def _printable(data: bytes) -> bool:
    return all(32 <= b < 127 or b in (9, 10, 13, 0) for b in data[:256])


def _invalid(raw: RawDataElement | DataElement) -> str:
    data = raw.value if isinstance(raw, RawDataElement) else None
    if isinstance(data, bytes) and data:
        text = data.decode("latin-1") if _printable(data) else _hex(data)
        return _shorten(f"(invalid value) {text}")
    return "(this value could not be read)"


# --------------------------------------------------------------------------- browsing


def filter_tags(rows: list[TagRow], text: str) -> list[int]:
    """Indexes of the rows to show for a filter text.

    A row matches when ``text`` occurs (case-insensitive) in its tag (also written
    without punctuation, "00100010"), keyword, name or value. Shown are the matching
    rows, everything inside a matching sequence, and the sequences and items around a
    match (so that nested matches keep their context). An empty filter shows all rows.
    """
    needle = text.strip().casefold()
    if not needle:
        return list(range(len(rows)))
    parents: list[int] = []
    stack: list[tuple[int, int]] = []  # (depth, index) of the open sequences and items
    for index, row in enumerate(rows):
        while stack and stack[-1][0] >= row.depth:
            stack.pop()
        parents.append(stack[-1][1] if stack else -1)
        stack.append((row.depth, index))
    selected = [False] * len(rows)
    for index, row in enumerate(rows):
        bare = row.tag.strip("()").replace(",", "")
        haystack = f"{row.tag}\n{bare}\n{row.keyword}\n{row.name}\n{row.value}".casefold()
        parent = parents[index]
        selected[index] = needle in haystack or (parent >= 0 and selected[parent])
    shown = set()
    for index, chosen in enumerate(selected):
        if chosen:
            k = index
            while k >= 0 and k not in shown:
                shown.add(k)
                k = parents[k]
    return sorted(shown)


def tags_to_text(rows: list[TagRow]) -> str:
    """Rows as tab-separated text (tag, name, VR, value), indented by nesting, for the clipboard."""
    lines = []
    for row in rows:
        indent = "  " * row.depth
        if not row.tag:
            lines.append(f"{indent}{row.value}")
        else:
            lines.append(f"{indent}{row.tag}\t{row.name}\t{row.vr}\t{row.value}".rstrip("\t"))
    return "\n".join(lines) + ("\n" if lines else "")
