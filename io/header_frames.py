"""Per-frame geometry and rescale of one DICOM file, as :class:`FrameRef` objects.

Single-frame files give one frame from the top-level attributes. Enhanced multi-frame
files (Enhanced CT/MR/XA..., and any file with functional groups) take each frame's
position, orientation, pixel spacing, rescale and window from its per-frame functional
groups, falling back to the shared groups and then to the top level. Classic
multi-frame files without functional groups get positions computed from the slice
spacing when the header gives one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from cbctviewer.io import header_values as hv
from cbctviewer.io.report import FrameRef

_IPP, _IOP, _SPACING = 0x00200032, 0x00200037, 0x00280030
_THICKNESS, _BETWEEN = 0x00180050, 0x00180088
_INTERCEPT, _SLOPE, _RESCALE_TYPE = 0x00281052, 0x00281053, 0x00281054
_CENTER, _WIDTH = 0x00281050, 0x00281051
_INSTANCE, _ACQUISITION = 0x00200013, 0x00200012
_GRID_OFFSETS = 0x3004000C
_SHARED, _PER_FRAME = 0x52009229, 0x52009230
# Functional group macros (sequence tags) inside the shared / per-frame items.
_FRAME_CONTENT, _PLANE_POSITION, _PLANE_ORIENTATION = 0x00209111, 0x00209113, 0x00209116
_PIXEL_MEASURES, _VALUE_TRANSFORM, _FRAME_VOI = 0x00289110, 0x00289145, 0x00289132
_STACK_ID, _TEMPORAL_INDEX = 0x00209056, 0x00209128

#: Top-level tags this module needs from the header.
TAGS = [
    _IPP, _IOP, _SPACING, _THICKNESS, _BETWEEN, _INTERCEPT, _SLOPE, _RESCALE_TYPE,
    _CENTER, _WIDTH, _INSTANCE, _ACQUISITION, _GRID_OFFSETS, _SHARED, _PER_FRAME,
]  # fmt: skip


@dataclass(slots=True)
class FrameGeometry:
    """The frames of one file plus what the file-level summary needs."""

    frames: list[FrameRef] = field(default_factory=list)
    stack_keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    window: tuple[float, float | None] | None = None
    rescale_type: str = ""


def frames_of(ds: Dataset, top: hv.Source, *, path: Path, count: int) -> FrameGeometry:
    """Return one :class:`FrameRef` per frame of the file (pixel offsets not yet set).

    Parameters
    ----------
    ds : Dataset
        The parsed header (values may still be raw bytes).
    top : dict or Dataset
        Its top-level elements for fast lookups (see :func:`header_values.elements`).
    path : Path
        The file, stored in every frame.
    count : int
        Number of frames the header declares (1 for single-frame files).
    """
    shared = _items(ds, _SHARED)
    per_frame = _items(ds, _PER_FRAME)
    if shared or per_frame:
        first = shared[0] if shared else None
        return _enhanced(top, path=path, count=count, shared=first, per=per_frame)
    return _classic(top, path=path, count=count)


def _items(ds: Dataset, tag: int) -> list[Dataset]:
    """Items of a sequence; empty when absent or unreadable (a damaged sequence is ignored)."""
    if tag not in ds:
        return []
    try:
        value = ds[tag].value
        return [item for item in value if isinstance(item, Dataset)]
    except Exception:
        return []


def _macro(item: Dataset | None, shared: Dataset | None, tag: int) -> Dataset | None:
    """First item of functional group ``tag``: per-frame first, then shared."""
    for source in (item, shared):
        if source is not None:
            found = _items(source, tag)
            if found:
                return found[0]
    return None


def _position(source: hv.Source | None) -> tuple[float, float, float] | None:
    v = hv.floats(source, _IPP, count=3) if source is not None else None
    return (v[0], v[1], v[2]) if v else None


def _orientation(source: hv.Source | None) -> tuple[float, float, float, float, float, float] | None:
    v = hv.floats(source, _IOP, count=6) if source is not None else None
    return (v[0], v[1], v[2], v[3], v[4], v[5]) if v else None


def _spacing(source: hv.Source | None) -> tuple[float, float] | None:
    v = hv.floats(source, _SPACING, count=2) if source is not None else None
    return (v[0], v[1]) if v and min(v) > 0 else None


def _rescale(source: hv.Source | None) -> tuple[float, float]:
    if source is None:
        return 1.0, 0.0
    slope = hv.first_float(source, _SLOPE)
    intercept = hv.first_float(source, _INTERCEPT)
    return (slope if slope else 1.0), (intercept or 0.0)


def _enhanced(
    ds: hv.Source, *, path: Path, count: int, shared: Dataset | None, per: list[Dataset]
) -> FrameGeometry:
    out = FrameGeometry()
    if per and len(per) != count:
        out.warnings.append(
            f"The file declares {count} images but describes {len(per)}; extra images have no geometry."
        )
    instance = hv.integer(ds, _INSTANCE)
    acquisition = hv.integer(ds, _ACQUISITION)
    top_transform = ds if _SLOPE in ds or _INTERCEPT in ds else None
    for index in range(count):
        item = per[index] if index < len(per) else None
        position = _position(_macro(item, shared, _PLANE_POSITION)) or (_position(ds) if count == 1 else None)
        orientation = _orientation(_macro(item, shared, _PLANE_ORIENTATION)) or _orientation(ds)
        spacing = _spacing(_macro(item, shared, _PIXEL_MEASURES)) or _spacing(ds)
        transform = _macro(item, shared, _VALUE_TRANSFORM) or top_transform
        slope, intercept = _rescale(transform)
        if index == 0:
            if transform is not None:
                out.rescale_type = hv.text(transform, _RESCALE_TYPE)
            voi = _macro(item, shared, _FRAME_VOI)
            center = hv.first_float(voi, _CENTER) if voi is not None else None
            if center is not None:
                out.window = (center, hv.first_float(voi, _WIDTH) if voi is not None else None)
        content = _macro(item, None, _FRAME_CONTENT)
        stack = ""
        if content is not None:
            stack_id, temporal = hv.text(content, _STACK_ID), hv.integer(content, _TEMPORAL_INDEX)
            if stack_id or temporal is not None:
                stack = f"stack {stack_id or '-'} time {temporal if temporal is not None else '-'}"
        out.frames.append(
            FrameRef(path, index, position, orientation, spacing, slope, intercept, instance, acquisition)
        )
        out.stack_keys.append(stack)
    return out


def _classic(ds: hv.Source, *, path: Path, count: int) -> FrameGeometry:
    out = FrameGeometry()
    position = _position(ds)
    orientation = _orientation(ds)
    spacing = _spacing(ds)
    slope, intercept = _rescale(ds)
    instance = hv.integer(ds, _INSTANCE)
    acquisition = hv.integer(ds, _ACQUISITION)
    positions: list[tuple[float, float, float] | None] = [position] + [None] * (count - 1)
    if count > 1 and position is not None and orientation is not None:
        offsets = _frame_offsets(ds, count)
        if offsets is not None:
            normal = _cross(orientation[:3], orientation[3:])
            positions = [
                (position[0] + o * normal[0], position[1] + o * normal[1], position[2] + o * normal[2])
                for o in offsets
            ]
            out.warnings.append("Slice positions were computed from the slice spacing in the header.")
    for index in range(count):
        frame = FrameRef(
            path, index, positions[index], orientation, spacing, slope, intercept, instance, acquisition
        )
        out.frames.append(frame)
        out.stack_keys.append("")
    return out


def _frame_offsets(ds: hv.Source, count: int) -> list[float] | None:
    """Offsets of each frame along the slice normal: GridFrameOffsetVector or a spacing."""
    grid = hv.floats(ds, _GRID_OFFSETS, count=count)
    if grid is not None:
        return list(grid)
    step = hv.first_float(ds, _BETWEEN) or hv.first_float(ds, _THICKNESS)
    if step and step > 0:
        return [i * step for i in range(count)]
    return None


def _cross(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
