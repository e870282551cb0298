"""Where a DICOM file's frames are: its header parsed once, and the fragment table.

Used by :mod:`cbctviewer.io.pixels` for everything the native fast path cannot read.
The header is parsed up to the pixel data (large non-pixel values are left on disk);
for encapsulated (compressed) data only the item headers are read, giving each frame's
fragments as (offset, length) so that any frame can be decoded on its own — by several
worker processes at once if need be. Parsed files are cached (a few, keyed by path,
size and modification time) because a multi-frame file is visited once per frame.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.utils import as_pixel_options
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from cbctviewer.io.errors import DamagedError, UnsupportedError

TAG_LE = b"\xe0\x7f\x10\x00"  #: (7FE0,0010) PixelData tag, little endian
TAG_BE = b"\x7f\xe0\x00\x10"  #: ... and big endian
UNDEFINED = 0xFFFFFFFF  #: undefined length: encapsulated data follows
ITEM_LE = b"\xfe\xff\x00\xe0"  #: (FFFE,E000) item tag
_SEQ_END_LE = b"\xfe\xff\xdd\xe0"
#: Files whose parsed header is kept while their frames are decoded (multi-frame files).
_CACHE_SIZE = 4
#: Header values larger than this are not read (only pixel-module values are needed).
_DEFER_BYTES = 1 << 20
#: More fragments than this in one file is hostile or broken (real files have far fewer).
_MAX_FRAGMENTS = 1_000_000


@dataclass(slots=True)
class FileInfo:
    """One file's header and where its frames are, parsed once."""

    transfer_syntax: UID
    header: Dataset
    options: dict[str, Any]
    size: int
    #: Native: offset of the PixelData value and its length.
    value_offset: int = 0
    value_length: int = 0
    #: Encapsulated: (offset, length) of each fragment of each frame.
    fragments: list[list[tuple[int, int]]] = field(default_factory=list)
    #: Deflated files: the whole dataset (pixels included) had to be inflated.
    inflated: bool = False


_cache: OrderedDict[tuple[str, int, int], FileInfo] = OrderedDict()
_cache_lock = threading.Lock()
_path_locks: dict[str, threading.Lock] = {}


def clear_cache() -> None:
    """Forget the cached file headers (the loader calls this when it is done)."""
    with _cache_lock:
        _cache.clear()
        _path_locks.clear()


def file_info(path: Path) -> FileInfo:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        lock = _path_locks.setdefault(key[0], threading.Lock())
    with lock:  # one parse per file even when many threads want its frames
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
        info = _read_file_info(path, stat.st_size)
        with _cache_lock:
            _cache[key] = info
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return info


def _read_file_info(path: Path, size: int) -> FileInfo:
    name = path.name
    with path.open("rb") as f:
        try:
            # Big non-pixel values (private blobs) stay on disk: the file is untrusted.
            ds = pydicom.dcmread(f, stop_before_pixels=True, force=True, defer_size=_DEFER_BYTES)
        except Exception as exc:
            raise DamagedError(f"The header of file '{name}' is damaged and could not be read.") from exc
        position = f.tell()
        syntax = _syntax_of(ds)
        if syntax is not None and syntax.is_deflated:
            return _inflated_info(path, syntax)
        head = f.read(12)
        if len(head) < 8 or head[:4] not in (TAG_LE, TAG_BE):
            raise DamagedError(
                f"File '{name}' holds no image data where the header ends (it may be cut short)."
            )
        big = head[:4] == TAG_BE
        explicit = head[4:6] in (b"OB", b"OW") and head[6:8] == b"\0\0" and len(head) == 12
        order = ">" if big else "<"
        length = struct.unpack(order + "I", head[8:12] if explicit else head[4:8])[0]
        start = position + (12 if explicit else 8)
        if length == UNDEFINED:
            if syntax is None or not syntax.is_encapsulated:
                raise UnsupportedError(
                    f"File '{name}' holds compressed image data but does not say how it is compressed."
                )
            options = _options(ds, syntax, head[4:6].decode("ascii", "replace") if explicit else "OB")
            fragments = fragment_table(f, start, size, options, name)
            return FileInfo(syntax, ds, options, size, fragments=fragments)
        # Native data: the element itself says how it is encoded.
        if big:
            native = ExplicitVRBigEndian
        else:
            native = ExplicitVRLittleEndian if explicit else ImplicitVRLittleEndian
        vr = head[4:6].decode("ascii", "replace") if explicit else "OW"
        options = _options(ds, native, vr)
        return FileInfo(native, ds, options, size, value_offset=start, value_length=length)


def _inflated_info(path: Path, syntax: UID) -> FileInfo:
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:
        raise DamagedError(f"File '{path.name}' is damaged and could not be decompressed.") from exc
    if "PixelData" not in ds:
        raise DamagedError(f"File '{path.name}' holds no image data.")
    options = _options(ds, syntax, ds["PixelData"].VR)
    return FileInfo(syntax, ds, options, path.stat().st_size, inflated=True)


def _syntax_of(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    if value:
        return UID(str(value).strip("\0 "))
    implicit, little = ds.original_encoding
    if implicit is None:
        return None
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _options(ds: Dataset, syntax: UID, vr: str) -> dict[str, Any]:
    try:
        options = as_pixel_options(ds)
    except Exception as exc:
        raise DamagedError("The image attributes (size, bits, frames) in a header are invalid.") from exc
    options.update(transfer_syntax_uid=syntax, pixel_keyword="PixelData", pixel_vr=vr)
    return options


def fragment_table(
    f: Any, start: int, size: int, options: dict[str, Any], name: str
) -> list[list[tuple[int, int]]]:
    """Where each frame's fragments lie, from the item headers (values are skipped)."""
    damaged = f"The compressed image data in file '{name}' is incomplete or damaged."
    items: list[tuple[int, int]] = []
    position = start
    while True:
        f.seek(position)
        head = f.read(8)
        if len(head) < 8:
            raise DamagedError(damaged)  # no sequence delimiter: the file is cut short
        if head[:4] == _SEQ_END_LE:
            break
        if head[:4] != ITEM_LE:
            raise DamagedError(damaged)
        length = struct.unpack("<I", head[4:])[0]
        if length == UNDEFINED or position + 8 + length > size:
            raise DamagedError(damaged)
        items.append((position + 8, length))
        position += 8 + length
        if len(items) > _MAX_FRAGMENTS:
            raise DamagedError(damaged)
    if not items:
        raise DamagedError(damaged)
    bot_offset, bot_length = items[0]
    fragments = items[1:]
    frames = int(options.get("number_of_frames") or 1)
    if not fragments:
        raise DamagedError(damaged)
    first = fragments[0][0] - 8  # offset tables count from the first fragment's item tag
    extended = options.get("extended_offsets")
    if extended:
        by_start = {offset - 8 - first: (offset, length) for offset, length in fragments}
        starts = _unpack_table(extended[0], "Q")
        if all(start in by_start for start in starts):
            return [[by_start[start]] for start in starts]
    if 0 < bot_length <= 8 * (frames + 1):  # one entry per frame; ignore absurd tables
        f.seek(bot_offset)
        basic = list(struct.unpack(f"<{bot_length // 4}I", f.read(bot_length - bot_length % 4)))
        table: list[list[tuple[int, int]]] = [[] for _ in basic]
        index = -1
        for fragment in fragments:
            while index + 1 < len(basic) and fragment[0] - 8 - first >= basic[index + 1]:
                index += 1
            if index < 0:
                break
            table[index].append(fragment)
        if index >= 0 and all(table):
            return table
    if frames == 1:
        return [fragments]
    if len(fragments) == frames:
        return [[fragment] for fragment in fragments]
    if len(fragments) < frames:
        raise DamagedError(damaged)
    # More fragments than frames, no offset table: a frame ends with an EOI/EOC marker.
    table = [[]]
    for fragment in fragments:
        table[-1].append(fragment)
        offset, length = fragment
        f.seek(offset + max(length - 10, 0))
        if b"\xff\xd9" in f.read(min(length, 10)):
            table.append([])
    if not table[-1]:
        table.pop()
    return table


def _unpack_table(value: Any, code: str) -> list[int]:
    if isinstance(value, bytes | bytearray):
        return list(struct.unpack(f"<{len(value) // 8}{code}", value))
    return [int(v) for v in value]
