"""Group file headers into patients → studies → series candidates.

A DICOM series is split into several candidates when it cannot be one image: frames
with different image sizes or orientations, several stacks or time points of one
multi-frame file, acquisitions that repeat the same positions, scout images, and
derived screen captures mixed into it. Each part is given a kind:

- ``LOCALIZER``: ImageType LOCALIZER (or a scout-like description), or a lone slice
  whose orientation differs from the series' stack;
- ``IMAGE_2D``: each radiograph-like image (DX, IO, PX, CR, MG, XA, RF, US...), any
  single image, and stacks whose geometry cannot form a volume (demoted, with the
  reason as a warning: they can still be viewed one by one);
- ``SECONDARY``: screen captures, colour and derived images — unless they are
  grayscale and form a regular 3D stack, then they are a ``VOLUME`` with a warning;
- ``NOT_IMAGE``: objects without pixels, one candidate per series and SOP class;
- ``VOLUME``: everything else with two or more frames whose geometry checks out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from cbctviewer.io import geometry_summary as gs
from cbctviewer.io.headers import FileHeader
from cbctviewer.io.report import CandidateKind, FrameRef, Patient, SeriesAttributes, SeriesCandidate, Study
from cbctviewer.io.series_kinds import Role, is_not_image, not_image_summary, role_of, summary

# Same order as io.geometry's tolerance (~0.6 degrees): noise in IOP values must not split.
_ORIENTATION_TOLERANCE = 1e-2
_POSITION_TOLERANCE = 1e-3  # mm; positions closer than this are "the same"


@dataclass(slots=True)
class _Part:
    """Frames that will become one candidate, with the header they share."""

    header: FileHeader
    role: Role
    frames: list[FrameRef] = field(default_factory=list)
    headers: dict[str, FileHeader] = field(default_factory=dict)  #: by file path
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Grouping:
    """The result of :func:`group`: the patient tree and report-level warnings."""

    patients: list[Patient] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def group(
    headers: Iterable[FileHeader],
    *,
    memory_budget: int,
    analyse: bool = True,
    cancel: Callable[[], bool] | None = None,
) -> Grouping:
    """Build patients → studies → series candidates from file headers.

    Parameters
    ----------
    headers : iterable of FileHeader
        Headers of DICOM files (DICOMDIR index files excluded), in a stable order.
    memory_budget : int
        Voxel bytes one load may allocate; bigger candidates get a warning.
    analyse : bool
        Run the geometry analysis of volumes (skipped for a cancelled scan).
    cancel : callable, optional
        Polled between series; when it returns True the geometry analysis stops.
    """
    out = Grouping()
    unique, duplicates = _dedupe(headers)
    if duplicates:
        out.warnings.append(
            f"{duplicates} file{'s are copies' if duplicates > 1 else ' is a copy'} of images found "
            "elsewhere on the media; the copies were ignored."
        )
    tree: dict[tuple[str, str], dict[str, dict[str, list[FileHeader]]]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for h in unique:
        # "DOE^JOHN" and "doe^john^^" written by two programs are the same patient.
        who = (h.patient_id.strip(), h.patient_name.rstrip("^ ").casefold())
        names.setdefault(who, (h.patient_id, h.patient_name))
        patient = tree.setdefault(who, {})
        study = patient.setdefault(h.study_instance_uid, {})
        study.setdefault(_series_key(h), []).append(h)
    used_keys: set[str] = set()
    for who, studies in tree.items():
        patient_id, patient_name = names[who]
        p = Patient(patient_id=patient_id, patient_name=patient_name)
        for study_uid, series in studies.items():
            first = next(iter(series.values()))[0]
            st = Study(study_uid, study_date=first.study_date, study_description=first.study_description)
            for members in series.values():
                run = analyse and not (cancel is not None and cancel())
                st.series.extend(_candidates(members, memory_budget=memory_budget, analyse=run))
            st.series.sort(key=lambda c: (c.series_number is None, c.series_number or 0))
            for candidate in st.series:
                candidate.key = _unique_key(candidate.series_instance_uid or "unknown-series", used_keys)
            p.studies.append(st)
        out.patients.append(p)
    return out


def _dedupe(headers: Iterable[FileHeader]) -> tuple[list[FileHeader], int]:
    """Drop second copies of the same image (discs often hold two copies of each file).

    A copy has the same SOP instance UID *and* the same size and position: a broken
    exporter that reuses one UID for different slices must not lose slices here.
    """
    seen: dict[tuple[object, ...], int] = {}
    unique: list[FileHeader] = []
    duplicates = 0
    for h in headers:
        if h.sop_instance_uid:
            first = h.frames[0].position if h.frames else None
            key = (
                h.sop_instance_uid,
                h.series_instance_uid,
                h.patient_id,
                h.patient_name,
                h.rows,
                h.columns,
                h.number_of_frames,
                first,
            )
            if key in seen:
                duplicates += 1
                if h.has_pixels and not unique[seen[key]].has_pixels:
                    unique[seen[key]] = h  # keep the copy that still has its pixel data
                continue
            seen[key] = len(unique)
        unique.append(h)
    return unique, duplicates


def _series_key(h: FileHeader) -> str:
    if h.series_instance_uid:
        return h.series_instance_uid
    # Files without a SeriesInstanceUID: group by folder and series number.
    return f"no-uid:{h.path.parent}:{h.series_number}:{h.modality}"


def _unique_key(base: str, used: set[str]) -> str:
    key, n = base, 1
    while key in used:
        n += 1
        key = f"{base}#{n}"
    used.add(key)
    return key


def _candidates(members: list[FileHeader], *, memory_budget: int, analyse: bool) -> list[SeriesCandidate]:
    """Split one series into candidates and decide each one's kind."""
    parts = _split(members)
    stacks = [p for p in parts if p.role is Role.STACK and len(p.frames) >= 2]
    out: list[SeriesCandidate] = []
    for part in parts:
        if is_not_image(part.header):
            out.append(_make(part, CandidateKind.NOT_IMAGE, memory_budget))
            out[-1].summary = not_image_summary(part.header)
            continue
        kind = _kind(part, stacks)
        candidate = _make(part, kind, memory_budget)
        if kind is CandidateKind.VOLUME or (part.role is Role.DERIVED and len(part.frames) >= 2):
            candidate = _settle_volume(candidate, part, analyse=analyse)
        if not candidate.is_volume:
            _flat_summary(candidate)
        candidate.summary = summary(
            candidate.kind,
            frames=len(candidate.frames),
            files=candidate.files,
            rows=candidate.rows,
            columns=candidate.columns,
            modality=candidate.modality,
        )
        out.append(candidate)
    # The main stack first: it keeps the plain SeriesInstanceUID as its key.
    out.sort(key=lambda c: (not c.is_volume, -len(c.frames)))
    return out


def _split(members: list[FileHeader]) -> list[_Part]:
    """Partition the frames of one series by what must not be mixed in one image."""
    parts: dict[tuple[object, ...], _Part] = {}
    orientations: list[tuple[float, ...]] = []
    for h in members:
        if is_not_image(h):
            key: tuple[object, ...] = ("not-image", h.sop_class_uid)
            part = parts.setdefault(key, _Part(h, Role.STACK))
            part.frames.append(FrameRef(h.path))
            part.headers[str(h.path)] = h
            continue
        role = role_of(h)
        for frame, stack in zip(h.frames, h.stack_keys or [""] * len(h.frames), strict=False):
            # Scouts and screen captures stay together whatever their orientation.
            turned = role in (Role.STACK, Role.PROJECTION)
            key = (
                role,
                h.rows,
                h.columns,
                h.samples_per_pixel,
                _orientation_cluster(frame.orientation, orientations) if turned else 0,
                stack,
                str(h.path) if role is Role.PROJECTION else "",
            )
            part = parts.setdefault(key, _Part(h, role))
            part.frames.append(frame)
            part.headers[str(h.path)] = h
    result: list[_Part] = []
    for part in parts.values():
        result.extend(_split_repeats(part))
    return result


def _orientation_cluster(orientation: tuple[float, ...] | None, known: list[tuple[float, ...]]) -> int:
    """Index of the orientation among those seen (within tolerance); -1 when absent."""
    if orientation is None:
        return -1
    for i, other in enumerate(known):
        if max(abs(a - b) for a, b in zip(orientation, other, strict=True)) < _ORIENTATION_TOLERANCE:
            return i
    known.append(orientation)
    return len(known) - 1


def _position_key(frame: FrameRef) -> tuple[int, int, int] | None:
    if frame.position is None:
        return None
    x, y, z = (round(v / _POSITION_TOLERANCE) for v in frame.position)
    return (x, y, z)


def _split_repeats(part: _Part) -> list[_Part]:
    """Split by AcquisitionNumber when positions repeat and acquisitions tell them apart."""
    if part.role is Role.PROJECTION or len(part.frames) < 2:
        return [part]
    positions = [_position_key(f) for f in part.frames]
    known = [p for p in positions if p is not None]
    if len(set(known)) == len(known):
        return [part]
    by_acq: dict[int | None, list[FrameRef]] = defaultdict(list)
    for frame in part.frames:
        by_acq[frame.acquisition_number].append(frame)
    if len(by_acq) < 2:
        return [part]
    for frames in by_acq.values():
        keys = [k for k in (_position_key(f) for f in frames) if k is not None]
        if len(set(keys)) != len(keys):
            return [part]  # acquisitions do not explain the repeats; geometry will tell
    split = []
    for acq, frames in sorted(by_acq.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        new = _Part(part.header, part.role, frames=frames, headers=part.headers)
        new.warnings.append(
            f"Acquisition {acq} of a series that repeats the same slice positions; shown separately."
        )
        split.append(new)
    return split


def _kind(part: _Part, stacks: list[_Part]) -> CandidateKind:
    if part.role is Role.LOCALIZER:
        return CandidateKind.LOCALIZER
    if part.role is Role.PROJECTION:
        return CandidateKind.IMAGE_2D
    if len(part.frames) == 1:
        if part.role is Role.STACK and any(_turned(part, s) for s in stacks):
            return CandidateKind.LOCALIZER  # a lone slice beside the stack, oriented differently
        return CandidateKind.SECONDARY if part.role is Role.DERIVED else CandidateKind.IMAGE_2D
    return CandidateKind.SECONDARY if part.role is Role.DERIVED else CandidateKind.VOLUME


def _turned(lone: _Part, stack: _Part) -> bool:
    """True when ``lone``'s orientation differs from ``stack``'s (or is unknown)."""
    a, b = lone.frames[0].orientation, stack.frames[0].orientation
    if stack is lone or b is None:
        return False
    return a is None or max(abs(x - y) for x, y in zip(a, b, strict=True)) >= _ORIENTATION_TOLERANCE


def _settle_volume(candidate: SeriesCandidate, part: _Part, *, analyse: bool) -> SeriesCandidate:
    """Check a would-be volume's geometry; demote it when the frames cannot form one."""
    derived = part.role is Role.DERIVED
    if derived and not gs.plausible_stack(candidate.frames):
        return candidate  # screen captures stay secondary
    if not analyse:
        candidate.frames = gs.fallback_order(candidate.frames)
        return candidate
    problem = gs.same_place(candidate.frames) or gs.fill_geometry(candidate)
    if problem is None:
        candidate.kind = CandidateKind.VOLUME
        if derived:
            candidate.warnings.append(
                "These images are marked as derived or secondary, but their slices form a regular "
                "3D stack, so they are offered as a volume."
            )
    elif not derived:
        candidate.kind = CandidateKind.IMAGE_2D
        candidate.warnings.append(
            f"These {len(candidate.frames)} images cannot be put together as a 3D volume: {problem} "
            "They can still be viewed one by one as 2D images."
        )
    return candidate


def _flat_summary(candidate: SeriesCandidate) -> None:
    """Size and pixel spacing of 2D candidates (x = along a row, SimpleITK order)."""
    candidate.size = (candidate.columns, candidate.rows, len(candidate.frames))
    spacing = candidate.imager_pixel_spacing
    if spacing is not None:
        candidate.spacing = (spacing[1], spacing[0], 1.0)
    elif candidate.kind is CandidateKind.IMAGE_2D and not any("pixel size" in w for w in candidate.warnings):
        candidate.warnings.append("The header gives no pixel size; distances cannot be measured.")


def _make(part: _Part, kind: CandidateKind, memory_budget: int) -> SeriesCandidate:
    h = part.header
    c = SeriesCandidate(
        series_instance_uid=h.series_instance_uid,
        **{f.name: getattr(h, f.name) for f in fields(SeriesAttributes)},
        frames=list(part.frames),
        kind=kind,
    )
    c.transfer_syntaxes = {m.transfer_syntax for m in part.headers.values() if m.transfer_syntax}
    warnings = list(part.warnings)
    for m in part.headers.values():
        warnings.extend(m.warnings)
    c.warnings = list(dict.fromkeys(warnings))
    if len({(m.bits_allocated, m.pixel_representation) for m in part.headers.values()}) > 1:
        c.warnings.append("The images do not all store pixels the same way; loading converts them.")
    claimed = c.rows * c.columns * c.samples_per_pixel * ((c.bits_allocated + 7) // 8) * len(c.frames)
    if kind is not CandidateKind.NOT_IMAGE and claimed > memory_budget:
        c.warnings.append(
            f"too large to open safely: header claims {claimed / 1024**3:.1f} GB "
            f"(this computer's limit is {memory_budget / 1024**3:.1f} GB)"
        )
    return c
