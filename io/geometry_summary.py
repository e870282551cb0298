"""Fill a volume candidate's geometry summary from :func:`cbctviewer.io.geometry.analyse_stack`.

``analyse_stack`` (owned by the geometry module) orders the frames, computes size,
spacing, origin and direction, and lists plain-language warnings; it raises
:class:`~cbctviewer.io.errors.MediaError` when the frames cannot form a volume. Until
that module is importable a simple ordering is used and the summary is left empty.
"""

from __future__ import annotations

from typing import Any

from cbctviewer.io.errors import MediaError
from cbctviewer.io.report import FrameRef, SeriesCandidate


def _analyser() -> Any:
    try:
        from cbctviewer.io.geometry import analyse_stack
    except ImportError:
        return None
    return analyse_stack


def plausible_stack(frames: list[FrameRef]) -> bool:
    """True when every frame has a position and orientation and no two positions coincide."""
    if len(frames) < 2 or any(f.position is None or f.orientation is None for f in frames):
        return False
    rounded = {tuple(round(v, 3) for v in f.position or ()) for f in frames}
    return len(rounded) == len(frames)


def same_place(frames: list[FrameRef]) -> str | None:
    """The reason frames cannot stack when they all lie at one position, else None."""
    if len(frames) < 2 or any(f.position is None for f in frames):
        return None
    if len({tuple(round(v, 3) for v in f.position or ()) for f in frames}) > 1:
        return None
    return (
        f"all {len(frames)} images lie at the same position (copies of one slice, or repeated measurements)."
    )


def fallback_order(frames: list[FrameRef]) -> list[FrameRef]:
    """Frames along the slice normal when positions are known, else by instance and frame."""
    first = frames[0].orientation if frames else None
    if first is not None and all(f.position is not None for f in frames):
        a, b = first[:3], first[3:]
        normal = (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
        return sorted(frames, key=lambda f: sum(p * n for p, n in zip(f.position or (), normal, strict=True)))
    return sorted(frames, key=lambda f: (f.instance_number or 0, str(f.path), f.frame_index))


def fill_geometry(candidate: SeriesCandidate) -> str | None:
    """Set size/spacing/origin/direction, warnings and frame order on ``candidate``.

    Returns
    -------
    str or None
        None when the frames form a volume; otherwise the reason, in plain words.
    """
    analyse = _analyser()
    if analyse is None:
        candidate.frames = fallback_order(candidate.frames)
        return None
    try:
        result = analyse(candidate.frames, rows=candidate.rows, columns=candidate.columns)
    except MediaError as exc:
        return str(exc)
    except Exception as exc:  # a bug elsewhere must not hide the series from the user
        candidate.frames = fallback_order(candidate.frames)
        candidate.warnings.append(f"The slice geometry could not be checked ({type(exc).__name__}).")
        return None
    nx, ny, nz = (int(v) for v in result.size)
    sx, sy, sz = (float(v) for v in result.spacing)
    ox, oy, oz = (float(v) for v in result.origin)
    candidate.size, candidate.spacing, candidate.origin = (nx, ny, nz), (sx, sy, sz), (ox, oy, oz)
    candidate.direction = tuple(float(v) for v in result.direction)
    candidate.frames = list(result.ordered)
    candidate.warnings.extend(w for w in result.warnings if w not in candidate.warnings)
    return None
