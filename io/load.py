"""Phase two of the import: turn one scanned series candidate into a :class:`Volume`.

The voxels exist once: the SimpleITK image is allocated first (after the memory budget
check) and every frame is written straight into its slice — uncompressed frames by one
``readinto`` each (:func:`~cbctviewer.io.pixels.read_native_into`), compressed ones
decoded in worker processes (:mod:`cbctviewer.io.frame_pool`). Irregular stacks (gaps,
uneven spacing, gantry tilt) are resampled slice by slice onto the regular grid the
geometry module describes (:mod:`cbctviewer.io.resample`).

Values: the modality rescale is applied per frame. The volume is int16 when every
frame's result is an integer that fits (the usual CBCT case), else float32. When the
header range alone cannot promise that (e.g. unsigned 16-bit stored values with an
intercept), loading starts in int16 and checks each frame; if one overflows, the load
restarts in float32 (rare; costs a second pass). MONOCHROME1 is inverted so that higher
always means denser (recorded in the metadata, the window centre mirrored with it).
Colour 2D images (RGB, YBR, palette) become greyscale (BT.601 luma), with a warning.

Damaged data: a frame shorter than its header says raises
:class:`~cbctviewer.io.errors.DamagedError` for the whole load — a volume with a
silently filled hole would invite wrong measurements.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from cbctviewer.core.tasks import CancelCheck, Cancelled, ProgressCallback, check_cancel, no_progress
from cbctviewer.core.volume import SeriesIdentity, Volume, VolumeMetadata, writable_view
from cbctviewer.io import limits
from cbctviewer.io.errors import DamagedError, MediaError, TooLargeError, UnsupportedError
from cbctviewer.io.frame_pool import iter_decoded
from cbctviewer.io.geometry import StackGeometry, analyse_stack
from cbctviewer.io.pixel_files import clear_cache
from cbctviewer.io.pixels import (
    NeedsFloatError,
    PixelLayout,
    ValueMap,
    read_native_into,
    store_frame,
)
from cbctviewer.io.report import CandidateKind, FrameRef, SeriesCandidate
from cbctviewer.io.resample import plan_slices, resample_stack

_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
#: Manufacturer / model words of dental CBCT scanners, whose CT values are not calibrated HU.
_CBCT_WORDS = (
    "planmeca", "carestream", "kodak", "sirona", "dentsply", "vatech", "kavo", "newtom", "cefla",
    "morita", "accuitomo", "veraviewepocs", "i-cat", "imaging sciences", "instrumentarium",
    "soredex", "scanora", "gendex", "acteon", "sopro", "myray", "owandy", "genoray", "ray co",
    "prexion", "promax", "orthophos", "galileos", "pax-i", "cbct", "cone beam", "cone-beam",
)  # fmt: skip


#: Projection radiography modalities (pixel sizes there are at the detector unless calibrated).
_PROJECTION = frozenset({"CR", "DX", "IO", "PX", "MG", "RG", "XA", "RF", "DR"})
_AT_DETECTOR = (
    "The pixel size is measured at the detector, not at the patient: distances may be "
    "enlarged by the X-ray magnification (often about 10%)."
)


@dataclass(slots=True)
class _Grid:
    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]


def load(
    candidate: SeriesCandidate,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    memory_budget: int | None = None,
    workers: int | None = None,
) -> Volume:
    """Read one series candidate into a volume in patient coordinates (LPS, mm).

    Parameters
    ----------
    candidate : SeriesCandidate
        From :func:`cbctviewer.io.scan.scan`: frames with geometry, rescale and pixel
        offsets. Files are only ever opened for reading.
    progress : callable, optional
        Called with (fraction, message) after each frame.
    cancel : callable, optional
        Polled before each frame; when it returns True, :class:`Cancelled` is raised
        and nothing is kept.
    memory_budget : int, optional
        Most voxel bytes to allocate; default :func:`cbctviewer.io.limits.memory_budget`.
    workers : int, optional
        Parallel decoders for compressed frames; default: all CPUs.

    Returns
    -------
    Volume
        A 3D SimpleITK image (a 2D image is one slice) owning the only copy of the
        voxels, int16 or float32, plus header metadata and plain-language warnings.

    Raises
    ------
    TooLargeError
        The header claims more voxel bytes than the budget; nothing was allocated.
    DamagedError, UnsupportedError, MediaError
        With a message in plain words. No other exception type escapes.
    Cancelled
        The user cancelled.
    """
    report = progress or no_progress
    budget = limits.memory_budget() if memory_budget is None else memory_budget
    count = workers if workers is not None else (os.cpu_count() or 1)
    try:
        return _load(candidate, report, cancel, budget, max(1, count))
    except (MediaError, Cancelled):
        raise
    except MemoryError as exc:
        raise TooLargeError("There is not enough memory to load these images.") from exc
    except OSError as exc:
        name = Path(str(exc.filename)).name if exc.filename else "a file"
        raise MediaError(f"Could not read {name}: {exc.strerror or exc}.") from exc
    except Exception as exc:
        # Only the type: messages of unexpected errors may quote header values.
        raise MediaError(
            f"The images could not be loaded because of an unexpected problem ({type(exc).__name__})."
        ) from exc
    finally:
        clear_cache()


def _load(
    candidate: SeriesCandidate,
    progress: ProgressCallback,
    cancel: CancelCheck | None,
    budget: int,
    workers: int,
) -> Volume:
    if candidate.kind is CandidateKind.NOT_IMAGE or not candidate.frames:
        raise UnsupportedError("This series holds no images to show.")
    layout = PixelLayout.of(candidate)
    if layout.rows <= 0 or layout.columns <= 0:
        raise DamagedError("The image size in the files is missing or invalid.")
    # The header's claim, before anything else is done (untrusted input).
    frames = len(candidate.frames) if candidate.kind is CandidateKind.VOLUME else 1
    _check_budget(layout.rows * layout.columns * frames * 2, budget)
    warnings: list[str] = []
    geometry: StackGeometry | None = None
    if candidate.kind is CandidateKind.VOLUME:
        geometry = analyse_stack(candidate.frames, rows=layout.rows, columns=layout.columns)
        ordered = geometry.ordered
        grid = _Grid(geometry.size, geometry.spacing, geometry.origin, geometry.direction)
        warnings += geometry.warnings
    else:
        ordered = [candidate.frames[0]]
        grid = _grid_2d(candidate, warnings)
    if layout.is_colour:
        warnings.append("This is a colour image; it is shown in shades of grey.")
    dtype, maps = _value_maps(layout, ordered)
    while True:
        _check_budget(math.prod(grid.size) * np.dtype(dtype).itemsize, budget)
        dest: np.ndarray | None = None
        image = sitk.Image(list(grid.size), sitk.sitkInt16 if dtype == np.int16 else sitk.sitkFloat32)
        image.SetSpacing(grid.spacing)
        image.SetOrigin(grid.origin)
        image.SetDirection(grid.direction)
        try:
            dest = writable_view(image)
            if geometry is not None and geometry.needs_resampling:
                _fill_resampled(dest, geometry, layout, maps, workers, progress, cancel)
            else:
                _fill_direct(dest, ordered, layout, maps, workers, progress, cancel)
            break
        except NeedsFloatError:
            dest = image = None  # type: ignore[assignment]  # free int16 before float32 exists
            dtype = np.dtype(np.float32)
            maps = [ValueMap(m.slope, m.intercept, m.reflect, False) for m in maps]
    progress(1.0, "Images read")
    metadata = _metadata(candidate, layout, _merge(candidate.warnings, warnings), maps[0].reflect)
    return Volume(image=image, metadata=metadata)


def _check_budget(nbytes: int, budget: int) -> None:
    if nbytes > budget:
        raise TooLargeError(
            f"These images would need {nbytes / 1024**3:.1f} GB of memory, more than the "
            f"{budget / 1024**3:.1f} GB allowed; they were not loaded."
        )


def _grid_2d(candidate: SeriesCandidate, warnings: list[str]) -> _Grid:
    """A one-slice grid for a 2D image (radiograph, photo, single CT slice)."""
    ref = candidate.frames[0]
    if len(candidate.frames) > 1:
        warnings.append(f"Only the first of {len(candidate.frames)} images is shown.")
    imager = candidate.imager_pixel_spacing
    if imager is not None and not min(imager) > 0:
        imager = None
    if ref.pixel_spacing and min(ref.pixel_spacing) > 0:
        sx, sy = float(ref.pixel_spacing[1]), float(ref.pixel_spacing[0])
        # A radiograph whose PixelSpacing just repeats ImagerPixelSpacing is uncalibrated.
        projection = candidate.modality.upper() in _PROJECTION
        if projection and imager is not None and np.allclose(imager, ref.pixel_spacing, rtol=1e-4):
            warnings.append(_AT_DETECTOR)
    elif imager is not None:
        sx, sy = float(imager[1]), float(imager[0])
        warnings.append(_AT_DETECTOR)
    else:
        sx = sy = 1.0
        if not any("pixel size" in w for w in candidate.warnings):  # the scan may have said so
            warnings.append(
                "The image gives no pixel size; 1 mm is assumed, so distances are not calibrated."
            )
    direction: tuple[float, ...] = _IDENTITY
    if ref.orientation is not None:
        row = np.asarray(ref.orientation[:3], float)
        col = np.asarray(ref.orientation[3:], float)
        if np.all(np.isfinite(row)) and np.all(np.isfinite(col)) and np.linalg.norm(row) > 0.5:
            row /= np.linalg.norm(row)
            col = col - np.dot(col, row) * row
            if np.linalg.norm(col) > 0.5:
                col /= np.linalg.norm(col)
                direction = tuple(float(v) for v in np.stack([row, col, np.cross(row, col)], axis=1).ravel())
    origin = tuple(float(v) for v in ref.position) if ref.position is not None else (0.0, 0.0, 0.0)
    return _Grid((candidate.columns, candidate.rows, 1), (sx, sy, 1.0), origin, direction)  # type: ignore[arg-type]


def _value_maps(layout: PixelLayout, ordered: list[FrameRef]) -> tuple[np.dtype, list[ValueMap]]:
    """Output dtype and each frame's rescale (see the module docstring)."""
    low, high = layout.stored_range()
    pairs = []
    for ref in ordered:
        slope, intercept = float(ref.rescale_slope), float(ref.rescale_intercept)
        if layout.is_colour or slope == 0:
            slope, intercept = 1.0, 0.0
        if not (math.isfinite(slope) and math.isfinite(intercept)):
            raise DamagedError("The value scale (rescale slope/intercept) in the header is invalid.")
        pairs.append((slope, intercept))
    ends = [(s * low + b, s * high + b) for s, b in pairs]
    lowest = min(min(e) for e in ends)
    highest = max(max(e) for e in ends)
    reflect = lowest + highest if layout.photometric == "MONOCHROME1" else None
    integral = all(s.is_integer() and b.is_integer() for s, b in pairs)
    if integral:
        # Colour is checked anyway: luma of decoded samples is cheap to verify.
        check = lowest < -32768 or highest > 32767 or layout.is_colour
        return np.dtype(np.int16), [ValueMap(s, b, reflect, check) for s, b in pairs]
    return np.dtype(np.float32), [ValueMap(s, b, reflect, False) for s, b in pairs]


def _fill_direct(
    dest: np.ndarray,
    ordered: list[FrameRef],
    layout: PixelLayout,
    maps: list[ValueMap],
    workers: int,
    progress: ProgressCallback,
    cancel: CancelCheck | None,
) -> None:
    """One output slice per frame, in the geometry's order."""
    total = len(ordered)
    done = 0
    # int16 output from 16-bit stored values: read straight into the destination slice.
    in_place = dest.dtype == np.int16 and layout.bits_allocated == 16
    scratch = np.empty((layout.rows, layout.columns), layout.raw_dtype) if layout.fast_path else None
    rest: list[int] = []
    for k, ref in enumerate(ordered):
        check_cancel(cancel)
        if ref.pixel_data_offset is None or scratch is None:
            rest.append(k)
            continue
        target = dest[k] if in_place else scratch
        if not read_native_into(ref, layout, target):
            rest.append(k)
            continue
        store_frame(target.view(layout.raw_dtype), dest[k], maps[k])
        done += 1
        progress(done / total, f"Reading image {done} of {total}")
    for index, frame in iter_decoded([ordered[k] for k in rest], layout, workers=workers, cancel=cancel):
        k = rest[index]
        store_frame(frame, dest[k], maps[k])
        done += 1
        progress(done / total, f"Reading image {done} of {total}")


def _fill_resampled(
    dest: np.ndarray,
    geometry: StackGeometry,
    layout: PixelLayout,
    maps: list[ValueMap],
    workers: int,
    progress: ProgressCallback,
    cancel: CancelCheck | None,
) -> None:
    """Resample the ordered frames onto the regular grid (see :mod:`cbctviewer.io.resample`)."""
    ordered = geometry.ordered
    first = ordered[0].position
    if first is None:
        raise MediaError("The slice positions needed to correct the geometry are missing.")
    row, col, normal = geometry.row_direction, geometry.column_direction, geometry.normal
    origin = np.asarray(geometry.origin, float)
    sx, sy, sz = geometry.spacing
    outputs = float(origin @ normal) + sz * np.arange(dest.shape[0])
    plans = plan_slices(np.asarray(geometry.normal_positions, float), outputs)
    start = origin - np.asarray(first, float)
    offsets = np.asarray(geometry.in_plane_offsets, float)
    shifts = np.stack([(start @ row - offsets[:, 0]) / sx, (start @ col - offsets[:, 1]) / sy], axis=1)
    total = len(ordered)
    limit = dest.dtype == np.int16 and any(m.check for m in maps)

    def inputs() -> Iterator[tuple[int, np.ndarray]]:
        scratch = np.empty((layout.rows, layout.columns), np.float32)
        for index, frame in iter_decoded(ordered, layout, workers=workers, cancel=cancel):
            values = maps[index]
            store_frame(frame, scratch, ValueMap(values.slope, values.intercept, values.reflect))
            if limit and (scratch.min() < -32768 or scratch.max() > 32767):
                raise NeedsFloatError
            yield index, scratch

    def consumed(index: int) -> None:
        progress((index + 1) / total, f"Reading image {index + 1} of {total}")

    resample_stack(dest, plans, shifts, inputs(), on_slice=consumed)


def _metadata(
    candidate: SeriesCandidate, layout: PixelLayout, warnings: list[str], reflect: float | None
) -> VolumeMetadata:
    inverted = reflect is not None
    center = candidate.window_center
    if reflect is not None and center is not None:
        center = reflect - center  # the window moves with the inverted values
    return VolumeMetadata(
        identity=SeriesIdentity(
            series_instance_uid=candidate.series_instance_uid,
            study_instance_uid=candidate.study_instance_uid,
            frame_of_reference_uid=candidate.frame_of_reference_uid,
            modality=candidate.modality,
        ),
        patient_name=candidate.patient_name,
        patient_id=candidate.patient_id,
        study_date=candidate.study_date,
        study_description=candidate.study_description,
        series_description=candidate.series_description,
        series_number=candidate.series_number,
        manufacturer=candidate.manufacturer,
        model_name=candidate.model_name,
        values_are_hu=_values_are_hu(candidate, layout),
        inverted_monochrome1=inverted,
        window_center=center,
        window_width=candidate.window_width,
        transfer_syntaxes=tuple(sorted(candidate.transfer_syntaxes)),
        photometric_interpretation=layout.photometric,
        warnings=warnings,
    )


def _values_are_hu(candidate: SeriesCandidate, layout: PixelLayout) -> bool:
    """CT with rescale type HU, or none given by a scanner that is not a dental CBCT."""
    if candidate.modality.upper() != "CT" or layout.is_colour:
        return False
    rescale_type = candidate.rescale_type.strip().upper()
    if rescale_type:
        return rescale_type == "HU"
    words = f"{candidate.manufacturer} {candidate.model_name} {candidate.series_description}".lower()
    return not any(word in words for word in _CBCT_WORDS)


def _merge(*lists: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
    return list(seen)
