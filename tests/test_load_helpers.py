"""Test helper: build a SeriesCandidate from files with pydicom (stands in for the scan).

Kept in tests/ until ``cbctviewer.io.scan`` fills candidates; it records what the scan
records (per-frame geometry and rescale, the native PixelData element offset).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from cbctviewer.io.report import CandidateKind, FrameRef, SeriesCandidate

_PIXEL_TAGS = (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")


def _floats(value: object, count: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        values = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    return values if len(values) == count else None


def _item(ds: Dataset | None, keyword: str) -> Dataset | None:
    seq = ds.get(keyword) if ds is not None else None
    return seq[0] if seq else None


def _native_offset(path: Path, *, encapsulated: bool = False) -> tuple[Dataset, int | None]:
    with path.open("rb") as f:
        ds = pydicom.dcmread(f, stop_before_pixels=True, force=True)
        pos = f.tell()
        head = f.read(12)
    syntax = getattr(ds.file_meta, "TransferSyntaxUID", None) if hasattr(ds, "file_meta") else None
    if syntax is not None and (syntax.is_deflated or (syntax.is_encapsulated and not encapsulated)):
        return ds, None
    if head[:4] not in _PIXEL_TAGS:
        return ds, None
    order = "<" if head[:4] == _PIXEL_TAGS[0] else ">"
    explicit = head[4:6] in (b"OB", b"OW")
    length = struct.unpack(order + "I", head[8:12] if explicit else head[4:8])[0]
    return ds, (None if length == 0xFFFFFFFF and not encapsulated else pos)


def frames_of(path: Path, *, encapsulated_offsets: bool = False) -> tuple[Dataset, list[FrameRef]]:
    """Header and FrameRefs (classic or enhanced multi-frame) of one file.

    ``encapsulated_offsets`` also records the PixelData offset of compressed files.
    """
    ds, offset = _native_offset(path, encapsulated=encapsulated_offsets)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    per = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = []
    for index in range(count):
        item = per[index] if index < len(per) else None

        def macro(keyword: str, item: Dataset | None = item) -> Dataset | None:
            return _item(item, keyword) or _item(shared, keyword)

        pos_src = macro("PlanePositionSequence") or ds
        iop_src = macro("PlaneOrientationSequence") or ds
        spacing_src = macro("PixelMeasuresSequence") or ds
        rescale_src = macro("PixelValueTransformationSequence") or ds
        position = _floats(pos_src.get("ImagePositionPatient"), 3)
        if count > 1 and not per:
            position = None
        spacing = _floats(spacing_src.get("PixelSpacing"), 2)
        frames.append(
            FrameRef(
                path=path,
                frame_index=index,
                position=position,
                orientation=_floats(iop_src.get("ImageOrientationPatient"), 6),
                pixel_spacing=spacing if spacing and min(spacing) > 0 else None,
                rescale_slope=float(rescale_src.get("RescaleSlope", 1) or 1),
                rescale_intercept=float(rescale_src.get("RescaleIntercept", 0) or 0),
                instance_number=int(ds.InstanceNumber)
                if ds.get("InstanceNumber") not in (None, "")
                else None,
                pixel_data_offset=offset,
            )
        )
    return ds, frames


def candidate_from_files(
    paths: Iterable[Path], *, kind: CandidateKind | None = None, encapsulated_offsets: bool = False
) -> SeriesCandidate:
    """A candidate holding every frame of ``paths`` (one series assumed)."""
    frames: list[FrameRef] = []
    syntaxes: set[str] = set()
    first: Dataset | None = None
    for path in sorted(Path(p) for p in paths):
        ds, refs = frames_of(path, encapsulated_offsets=encapsulated_offsets)
        first = first or ds
        frames += refs
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "TransferSyntaxUID" in meta:
            syntaxes.add(str(meta.TransferSyntaxUID))
    assert first is not None, "no files"
    ds = first
    imager = _floats(ds.get("ImagerPixelSpacing"), 2)
    if kind is None:
        kind = CandidateKind.VOLUME if len(frames) > 1 else CandidateKind.IMAGE_2D
    wc = ds.get("WindowCenter")
    ww = ds.get("WindowWidth")
    return SeriesCandidate(
        series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
        key=str(ds.get("SeriesInstanceUID", "")),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")),
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")),
        sop_class_uid=str(ds.get("SOPClassUID", "")),
        modality=str(ds.get("Modality", "")),
        series_description=str(ds.get("SeriesDescription", "")),
        manufacturer=str(ds.get("Manufacturer", "")),
        model_name=str(ds.get("ManufacturerModelName", "")),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        bits_allocated=int(ds.BitsAllocated),
        bits_stored=int(ds.get("BitsStored", ds.BitsAllocated)),
        pixel_representation=int(ds.get("PixelRepresentation", 0)),
        samples_per_pixel=int(ds.get("SamplesPerPixel", 1)),
        photometric_interpretation=str(ds.get("PhotometricInterpretation", "")),
        rescale_type=str(ds.get("RescaleType", "")),
        window_center=float(wc[0] if isinstance(wc, pydicom.multival.MultiValue) else wc) if wc else None,
        window_width=float(ww[0] if isinstance(ww, pydicom.multival.MultiValue) else ww) if ww else None,
        imager_pixel_spacing=imager,
        transfer_syntaxes=syntaxes,
        frames=frames,
        kind=kind,
    )


def scanned(path: Path) -> SeriesCandidate:
    """The first series candidate the scan finds at ``path`` (a file or folder).

    Uses :func:`cbctviewer.io.scan.scan` when it exists, else :func:`candidate_from_files`.
    """
    try:
        from cbctviewer.io.scan import scan
    except ImportError:  # pragma: no cover - before the scan existed
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        return candidate_from_files(files)
    report = scan(path, workers=0)
    assert report.series, [problem.error for problem in report.problems]
    return report.series[0]
