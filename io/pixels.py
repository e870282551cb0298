"""Decoding one frame: a native fast path straight into the volume, and pydicom's codecs.

Two ways to get a frame's stored values:

* :func:`read_native_into` — for uncompressed (native) data whose PixelData element
  offset the scan recorded: one ``readinto`` of the frame's bytes into the caller's
  buffer (normally the destination slice of the volume), then byte swap and unused-bit
  masking in place. It checks the element header first and returns ``False`` when
  anything looks unusual, so the caller falls back to :func:`decode_frame`.
* :func:`decode_frame` — everything else: the header is parsed once per file (cached),
  native frames are read by offset, encapsulated frames are cut out by a fragment table
  and decoded by pydicom's codecs (GDCM, pylibjpeg, RLE), palette colour is expanded.

:func:`store_frame` then applies the modality rescale (and MONOCHROME1 inversion) while
writing into the volume's int16 or float32 slice. Colour frames become greyscale
(ITU-R BT.601 luma), so every volume is scalar; the loader records a warning.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.pixels.processing import apply_color_lut
from pydicom.uid import UID

from cbctviewer.io.errors import DamagedError, MediaError, UnsupportedError
from cbctviewer.io.pixel_files import (
    ITEM_LE,
    TAG_BE,
    TAG_LE,
    UNDEFINED,
    FileInfo,
    file_info,
    fragment_table,
)
from cbctviewer.io.report import FrameRef, SeriesCandidate

_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")


class NeedsFloatError(Exception):
    """A frame's rescaled values do not fit int16; the loader restarts with float32."""


@dataclass(frozen=True, slots=True)
class PixelLayout:
    """What every frame of a candidate looks like, from its header attributes."""

    rows: int
    columns: int
    samples_per_pixel: int = 1
    bits_allocated: int = 16
    bits_stored: int = 16
    signed: bool = False
    photometric: str = "MONOCHROME2"
    #: The series' transfer syntax when all its files share one, else "".
    transfer_syntax: str = ""
    #: True when every file holds one frame (a classic single-frame series).
    single_frame_files: bool = False

    @classmethod
    def of(cls, candidate: SeriesCandidate) -> PixelLayout:
        """Layout from a scan candidate, with defaults for missing attributes."""
        allocated = candidate.bits_allocated or 16
        syntaxes = candidate.transfer_syntaxes
        stored = candidate.bits_stored or allocated
        return cls(
            rows=candidate.rows,
            columns=candidate.columns,
            samples_per_pixel=candidate.samples_per_pixel or 1,
            bits_allocated=allocated,
            bits_stored=min(stored, allocated),
            signed=candidate.pixel_representation == 1,
            photometric=(candidate.photometric_interpretation or "MONOCHROME2").strip().upper(),
            transfer_syntax=next(iter(syntaxes)) if len(syntaxes) == 1 else "",
            single_frame_files=candidate.files == len(candidate.frames),
        )

    @property
    def is_colour(self) -> bool:
        """True for RGB/YBR and palette colour images (shown as greyscale)."""
        return self.samples_per_pixel > 1 or self.photometric == "PALETTE COLOR"

    @property
    def fast_path(self) -> bool:
        """True when frames can be read natively by :func:`read_native_into`."""
        return (
            self.samples_per_pixel == 1
            and self.bits_allocated in (8, 16, 32)
            and self.photometric in _MONOCHROME
        )

    @property
    def raw_dtype(self) -> np.dtype:
        """numpy dtype of one stored value (native byte order)."""
        kind = "i" if self.signed else "u"
        return np.dtype(f"{kind}{max(self.bits_allocated, 8) // 8}")

    @property
    def frame_bytes(self) -> int:
        """Bytes of one native greyscale frame (fast path only)."""
        return self.rows * self.columns * self.bits_allocated // 8

    def stored_range(self) -> tuple[int, int]:
        """Smallest and largest stored value the header allows (colour: 8 or 16 bit)."""
        if self.is_colour:  # palette entries are reduced to 8 bits
            bits = 16 if self.samples_per_pixel > 1 and self.bits_allocated > 8 else 8
            return 0, (1 << bits) - 1
        bits = self.bits_stored
        if self.signed:
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return 0, (1 << bits) - 1


# --------------------------------------------------------------------------- fast path


def read_native_into(ref: FrameRef, layout: PixelLayout, out: np.ndarray) -> bool:
    """Read one native frame's stored values into ``out`` without parsing the header.

    Parameters
    ----------
    ref : FrameRef
        The frame; ``ref.pixel_data_offset`` must point at the PixelData element's tag.
    layout : PixelLayout
        The series' pixel layout; must satisfy :attr:`PixelLayout.fast_path`.
    out : numpy.ndarray
        C-contiguous buffer of exactly ``layout.frame_bytes`` bytes (any dtype); on
        success it holds the frame's values as ``layout.raw_dtype`` (byte-swapped and
        unused bits masked / sign-extended as pydicom does).

    Returns
    -------
    bool
        False when the offset is unknown or the element there does not look as expected
        (the caller then uses :func:`decode_frame`, which re-parses the header).

    Raises
    ------
    DamagedError
        The file ends before the frame does.
    """
    offset = ref.pixel_data_offset
    if offset is None or not layout.fast_path or out.nbytes != layout.frame_bytes:
        return False
    frame_bytes = layout.frame_bytes
    with Path(ref.path).open("rb", buffering=0) as f:
        f.seek(offset)
        element = _native_element(f.read(12), layout, ref.frame_index)
        if element is None:
            return False
        header_length, big_endian = element
        f.seek(offset + header_length + ref.frame_index * frame_bytes)
        view = out.reshape(-1).view(np.uint8).data
        got = 0
        while got < frame_bytes:
            n = f.readinto(view[got:])
            if not n:
                raise DamagedError(_truncated(ref))
            got += n
    raw = out.reshape(-1).view(layout.raw_dtype)
    if big_endian and raw.itemsize > 1:
        raw.byteswap(inplace=True)
    fix_unused_bits(raw, layout)
    return True


def _native_element(head: bytes, layout: PixelLayout, index: int) -> tuple[int, bool] | None:
    """(header length, big endian) of a plausible native PixelData element, else None."""
    if len(head) < 8:
        return None
    if head[:4] == TAG_LE:
        order, big = "<", False
    elif head[:4] == TAG_BE:
        order, big = ">", True
    else:
        return None
    vr = head[4:6]
    if vr in (b"OB", b"OW") and len(head) >= 12 and head[6:8] == b"\0\0":
        (length,), header_length = struct.unpack(order + "I", head[8:12]), 12
    elif not big:  # implicit VR is little endian only
        (length,), header_length, vr = struct.unpack("<I", head[4:8]), 8, b""
    else:
        return None
    frame_bytes = layout.frame_bytes
    if length == UNDEFINED or length < (index + 1) * frame_bytes or length % frame_bytes > 1:
        return None
    if big and vr == b"OW" and layout.bits_allocated == 8:
        return None  # 8-bit data swapped pairwise: leave to pydicom
    return header_length, big


def fix_unused_bits(raw: np.ndarray, layout: PixelLayout) -> None:
    """Mask (unsigned) or sign-extend (signed) values when BitsStored < BitsAllocated."""
    shift = raw.itemsize * 8 - layout.bits_stored
    if shift > 0 and layout.samples_per_pixel == 1:
        np.left_shift(raw, shift, out=raw)
        np.right_shift(raw, shift, out=raw)


def _truncated(ref: FrameRef) -> str:
    return (
        f"The image data in file '{Path(ref.path).name}' is shorter than its header says "
        "(the file is cut short or damaged)."
    )


# --------------------------------------------------------------------------- general path


def _quick_info(ref: FrameRef, layout: PixelLayout) -> FileInfo | None:
    """Where a single-frame greyscale file's compressed frame is, without parsing its header.

    Used when the scan recorded the PixelData offset of an encapsulated file and the
    series has one transfer syntax: the pixel attributes are the series' own, so a
    header parse per file (a quarter of a JPEG lossless frame's decoding time) is saved.
    """
    syntax = UID(layout.transfer_syntax) if layout.transfer_syntax else None
    offset = ref.pixel_data_offset
    if (
        offset is None
        or syntax is None
        or not syntax.is_encapsulated
        or not layout.single_frame_files
        or layout.samples_per_pixel != 1
        or layout.photometric not in _MONOCHROME
    ):
        return None
    path = Path(ref.path)
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(offset)
        head = f.read(12)
        if head[:4] != TAG_LE or head[4:6] not in (b"OB", b"OW") or head[6:] != b"\0\0\xff\xff\xff\xff":
            return None
        options: dict[str, Any] = {
            "rows": layout.rows,
            "columns": layout.columns,
            "samples_per_pixel": 1,
            "bits_allocated": layout.bits_allocated,
            "bits_stored": layout.bits_stored,
            "pixel_representation": int(layout.signed),
            "photometric_interpretation": layout.photometric,
            "number_of_frames": 1,
            "transfer_syntax_uid": syntax,
            "pixel_keyword": "PixelData",
            "pixel_vr": head[4:6].decode("ascii"),
        }
        fragments = fragment_table(f, offset + 12, size, options, path.name)
    return FileInfo(syntax, Dataset(), options, size, fragments=fragments)


def decode_frame(ref: FrameRef, layout: PixelLayout) -> np.ndarray:
    """Decode one frame with pydicom, whatever its transfer syntax.

    Parameters
    ----------
    ref : FrameRef
        The frame (file and frame index).
    layout : PixelLayout
        Expected size and sample layout; a frame that differs is reported as damaged.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` stored values for greyscale, or ``(rows, columns, 3)`` RGB
        for colour (YBR converted, palette applied).

    Raises
    ------
    DamagedError, UnsupportedError
        With a plain-language message naming the file (and the compression).
    """
    if layout.fast_path and ref.pixel_data_offset is not None:
        out = np.empty((layout.rows, layout.columns), layout.raw_dtype)
        if read_native_into(ref, layout, out):
            return out
    path = Path(ref.path)
    info = _quick_info(ref, layout) or file_info(path)
    if (info.options.get("rows"), info.options.get("columns")) != (layout.rows, layout.columns):
        raise DamagedError(
            f"File '{path.name}' holds an image of a different size from the rest of the series."
        )
    frames = int(info.options.get("number_of_frames") or 1)
    if ref.frame_index >= frames:
        raise DamagedError(f"File '{path.name}' has fewer images than expected.")
    decoder = _decoder(info.transfer_syntax, path.name)
    if info.inflated:
        arr = _run(decoder, info, path.name, info.header, index=ref.frame_index)
    elif info.fragments:
        arr = _decode_encapsulated(decoder, info, path, ref.frame_index)
    else:
        arr = _decode_native(decoder, info, path, ref.frame_index)
    if info.options.get("photometric_interpretation") == "PALETTE COLOR":
        try:
            arr = apply_color_lut(arr, info.header)
        except Exception as exc:
            raise DamagedError(f"The colour palette of file '{path.name}' is invalid.") from exc
        if arr.dtype.itemsize > 1:  # 16-bit palette entries span 0..65535: keep the top 8 bits
            arr = (arr >> 8).astype(np.uint8)
    expected = (layout.rows, layout.columns)
    if arr.shape[:2] != expected or arr.ndim not in (2, 3):
        raise DamagedError(
            f"An image in file '{path.name}' has a different size from the rest of the series."
        )
    return arr


def _decoder(syntax: UID, name: str) -> Any:
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        decoder = None
    if decoder is None or not decoder.is_available:
        raise UnsupportedError(
            f"The images in file '{name}' are compressed as {_syntax_name(syntax)}, "
            "which this viewer cannot decode."
        )
    return decoder


#: Compressed syntaxes that GDCM decodes markedly faster than pylibjpeg here (measured on
#: 512×512 CT: JPEG 2000 24 vs 36 ms, JPEG lossless 8 vs 13 ms per frame), with identical output.
_GDCM_FIRST = frozenset(
    {
        "1.2.840.10008.1.2.4.57",  # JPEG lossless
        "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
    }
)


def _plugin(decoder: Any) -> dict[str, str]:
    """``decoding_plugin`` option preferring GDCM where it is the faster decoder."""
    if str(decoder.UID) in _GDCM_FIRST and "gdcm" in decoder.available_plugins:
        return {"decoding_plugin": "gdcm"}
    return {}


def _decode_native(decoder: Any, info: FileInfo, path: Path, index: int) -> np.ndarray:
    rows, columns = int(info.options.get("rows", 0)), int(info.options.get("columns", 0))
    samples = int(info.options.get("samples_per_pixel", 1))
    if info.options.get("photometric_interpretation") in ("YBR_FULL_422", "YBR_PARTIAL_422"):
        samples = 2
    frame_bits = rows * columns * samples * int(info.options.get("bits_allocated", 0))
    end = info.value_offset + ((index + 1) * frame_bits + 7) // 8
    if end > info.value_offset + info.value_length or end > info.size:
        raise DamagedError(_truncated(FrameRef(path=path)))
    with path.open("rb") as f:
        f.seek(info.value_offset)
        return _run(decoder, info, path.name, f, index=index)


def _decode_encapsulated(decoder: Any, info: FileInfo, path: Path, index: int) -> np.ndarray:
    if index >= len(info.fragments):
        raise DamagedError(f"The compressed image data in file '{path.name}' is incomplete or damaged.")
    with path.open("rb") as f:
        parts = []
        for offset, length in info.fragments[index]:
            f.seek(offset)
            parts.append(f.read(length))
    frame = b"".join(parts)
    # pydicom's decoders take encapsulated data: an empty offset table and one item.
    item = ITEM_LE + struct.pack("<I", len(frame) + len(frame) % 2) + frame + b"\0" * (len(frame) % 2)
    buffer = ITEM_LE + b"\0\0\0\0" + item
    options = {k: v for k, v in info.options.items() if k != "extended_offsets"}
    options["number_of_frames"] = 1
    return _run(decoder, info, path.name, buffer, index=0, options=options)


def _run(
    decoder: Any, info: FileInfo, name: str, src: Any, *, index: int, options: dict[str, Any] | None = None
) -> np.ndarray:
    opts = info.options if options is None else options
    try:
        try:
            arr, _ = decoder.as_array(src, index=index, validate=False, **_plugin(decoder), **opts)
        except Exception:
            if not _plugin(decoder):
                raise
            # GDCM refused this stream: let pydicom try its other plugins.
            arr, _ = decoder.as_array(src, index=index, validate=False, **opts)
    except MediaError:
        raise
    except Exception as exc:
        syntax = info.transfer_syntax
        if syntax.is_encapsulated:
            raise UnsupportedError(
                f"An image in file '{name}' (compressed as {_syntax_name(syntax)}) could not be "
                "decoded; the file may be damaged or use a variant this viewer cannot read."
            ) from exc
        raise DamagedError(f"The image data in file '{name}' could not be read ({_reason(exc)}).") from exc
    return cast(np.ndarray, arr)


def _syntax_name(syntax: UID) -> str:
    name = syntax.name
    return f"'{name}'" if name and name != str(syntax) else f"an unknown method (transfer syntax {syntax})"


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# --------------------------------------------------------------------------- values


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an RGB frame, rounded to integers (int32)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    return (299 * r + 587 * g + 114 * b + 500) // 1000


@dataclass(frozen=True, slots=True)
class ValueMap:
    """How stored values become the volume's values for one frame."""

    slope: float = 1.0
    intercept: float = 0.0
    #: MONOCHROME1: output = reflect - value (the rescaled range mirrored onto itself).
    reflect: float | None = None
    #: int16 output only: check the frame's range and raise NeedsFloatError if it overflows.
    check: bool = False

    @property
    def integral(self) -> bool:
        """True when slope and intercept are whole numbers."""
        return float(self.slope).is_integer() and float(self.intercept).is_integer()


def store_frame(raw: np.ndarray, out: np.ndarray, values: ValueMap) -> None:
    """Write ``slope * raw + intercept`` (mirrored for MONOCHROME1) into ``out``.

    Parameters
    ----------
    raw : numpy.ndarray
        Stored values of one frame (integers), or RGB ``(rows, columns, 3)``. May share
        ``out``'s memory exactly (the fast path reads into the destination slice).
    out : numpy.ndarray
        Destination slice, int16 or float32, same shape as a greyscale ``raw``.
    values : ValueMap
        Rescale, inversion and whether to check the int16 range.

    Raises
    ------
    NeedsFloatError
        int16 output with ``values.check`` and a result outside int16.
    """
    if raw.ndim == 3:
        raw = to_grey(raw)
    if out.dtype == np.int16:
        if not values.integral or raw.dtype.kind not in "iub":
            raise NeedsFloatError
        slope, intercept = int(values.slope), int(values.intercept)
        if values.check and raw.size:
            ends = (slope * int(raw.min()) + intercept, slope * int(raw.max()) + intercept)
            if values.reflect is not None:
                ends = (int(values.reflect) - ends[0], int(values.reflect) - ends[1])
            if min(ends) < -32768 or max(ends) > 32767:
                raise NeedsFloatError
        # Arithmetic modulo 2**16 on an unsigned view gives the exact int16 result
        # whenever the true result fits, with no temporary array.
        u = out.view(np.uint16)
        if not np.shares_memory(raw, out):
            np.copyto(u, raw, casting="unsafe")
        if slope != 1:
            np.multiply(u, np.uint16(slope % 65536), out=u)
        if intercept:
            np.add(u, np.uint16(intercept % 65536), out=u)
        if values.reflect is not None:
            np.subtract(np.uint16(int(values.reflect) % 65536), u, out=u)
        return
    if np.shares_memory(raw, out):
        raise ValueError("float output cannot share memory with the stored values")
    np.multiply(raw, values.slope, out=out, casting="unsafe")
    if values.intercept:
        np.add(out, values.intercept, out=out, casting="unsafe")
    if values.reflect is not None:
        np.subtract(values.reflect, out, out=out, casting="unsafe")
