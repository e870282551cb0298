"""Fast, forgiving decoding of the few header values the scan needs.

``dcmread(..., specific_tags=...)`` leaves values as raw bytes; letting pydicom convert
and validate each of them costs more than parsing the file. These helpers decode the
raw bytes directly (numbers, UIDs, code strings) and use pydicom's character-set support
only for free text and person names.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName
from pydicom.values import convert_PN

_DEFAULT_ENCODINGS = ["iso8859"]


class BadValue(ValueError):
    """A header value that must be a number is not one."""


#: Where values are looked up: a Dataset, or ``dict(ds.items())`` built once for speed
#: (``Dataset.get_item`` converts the tag on every call, which dominates a fast scan).
Source = Dataset | Mapping[int, Any]


def elements(ds: Dataset) -> dict[int, Any]:
    """The dataset's top-level elements (raw where not yet decoded), keyed by tag."""
    return dict(ds.items())


def _element(ds: Source, tag: int) -> Any:
    # Headers are read without ``defer_size``, so a raw value of None just means empty.
    return ds.get_item(tag) if isinstance(ds, Dataset) else ds.get(tag)


def _raw(ds: Source, tag: int) -> Any:
    """Raw bytes (or an already converted value) of ``tag``; None when absent."""
    elem = _element(ds, tag)
    return None if elem is None else elem.value


def _is_little_endian(ds: Source, tag: int) -> bool:
    elem = _element(ds, tag)
    if isinstance(elem, DataElement):  # already converted: endianness no longer matters
        return True
    return bool(getattr(elem, "is_little_endian", True))


def encodings_of(ds: Source) -> list[str]:
    """Python codecs for the dataset's Specific Character Set (ASCII when absent)."""
    value = _raw(ds, 0x00080005)
    if value is None:
        return _DEFAULT_ENCODINGS
    if isinstance(value, bytes):
        names: list[str] = [v.strip() for v in value.decode("ascii", "replace").split("\\")]
    elif isinstance(value, str):
        names = [value]
    else:
        names = [str(v) for v in value]
    try:
        return convert_encodings(names or None)
    except Exception:  # unknown charset names: fall back to Latin-1 rather than fail
        return _DEFAULT_ENCODINGS


def text(ds: Source, tag: int, encodings: Sequence[str] | None = None) -> str:
    """A single string value (code string, UID, date, or free text when ``encodings``)."""
    value = _raw(ds, tag)
    if value is None:
        return ""
    if isinstance(value, bytes):
        if encodings is not None:
            return decode_bytes(value, list(encodings), set()).strip(" \x00")
        return value.decode("latin-1").strip(" \x00")
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value).strip(" \x00")
    return str(value).strip(" \x00")


def person_name(ds: Source, tag: int, encodings: Sequence[str]) -> str:
    """A person name decoded with the dataset's character set; never raises."""
    value = _raw(ds, tag)
    if value is None:
        return ""
    try:
        if isinstance(value, bytes):
            decoded = convert_PN(value, list(encodings))  # exactly as pydicom shows it
            first = decoded if isinstance(decoded, PersonName) else decoded[0]
            return str(first).strip(" \x00")
        return str(value).strip(" \x00")
    except Exception:
        return value.decode("latin-1", "replace").strip(" \x00") if isinstance(value, bytes) else ""


def strings(ds: Source, tag: int) -> tuple[str, ...]:
    """A multi-valued code string such as ImageType, upper-cased and stripped."""
    raw = text(ds, tag)
    return tuple(v.strip().upper() for v in raw.split("\\")) if raw else ()


def _numbers(ds: Source, tag: int) -> list[str]:
    value = _raw(ds, tag)
    if value is None:
        return []
    if isinstance(value, bytes):
        raw = value.decode("latin-1").strip(" \x00")
        return [v.strip(" \x00") for v in raw.split("\\")] if raw else []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return [str(v) for v in value]


def floats(ds: Source, tag: int, *, count: int | None = None) -> tuple[float, ...] | None:
    """A DS/FD value as floats; None when absent, empty, malformed or of the wrong count."""
    elem = _element(ds, tag)
    value = None if elem is None else elem.value
    if isinstance(value, bytes) and elem is not None and elem.VR in ("FD", "FL"):
        fmt = "d" if elem.VR == "FD" else "f"
        size = struct.calcsize(fmt)
        order = "<" if _is_little_endian(ds, tag) else ">"
        out = struct.unpack(f"{order}{len(value) // size}{fmt}", value[: len(value) // size * size])
    else:
        try:
            out = tuple(float(v) for v in _numbers(ds, tag))
        except ValueError:
            return None
    if not out or (count is not None and len(out) != count):
        return None
    if not all(math.isfinite(v) for v in out):
        return None
    return tuple(out)


def first_float(ds: Source, tag: int) -> float | None:
    """First value of a DS element (window centre, rescale...); None when absent or bad."""
    values = _numbers(ds, tag)
    try:
        value = float(values[0]) if values else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def integer(ds: Source, tag: int, *, strict: bool = False) -> int | None:
    """An IS value as int; None when absent. ``strict`` raises :class:`BadValue` on junk."""
    values = _numbers(ds, tag)
    if not values or values[0] == "":
        return None
    try:
        return int(float(values[0]))
    except ValueError:
        if strict:
            raise BadValue(values[0]) from None
        return None


def ushort(ds: Source, tag: int) -> int | None:
    """A US value (Rows, Columns, BitsAllocated...); None when absent or empty."""
    value = _raw(ds, tag)
    if value is None:
        return None
    if isinstance(value, bytes):
        if len(value) < 2:
            return None
        order = "<" if _is_little_endian(ds, tag) else ">"
        return int(struct.unpack(f"{order}H", value[:2])[0])
    if isinstance(value, int):
        return value
    try:
        return int(value[0])
    except (TypeError, ValueError, IndexError):
        return None
