"""Extract a zip archive safely into a private folder so that it can be scanned.

Archives are untrusted: a member is refused (and never written) when its name is
absolute, has a drive letter or a ``..`` component, when it is a symlink or encrypted,
when its compression ratio looks like a zip bomb, or when the archive as a whole
exceeds the member-count or total-size limits of :mod:`cbctviewer.io.limits`.
Nothing is ever written outside the destination folder.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cbctviewer.core.tasks import CancelCheck, ProgressCallback
from cbctviewer.io import limits
from cbctviewer.io.errors import UnsafeArchiveError
from cbctviewer.io.report import FileProblem

_CHUNK = 1024 * 1024
#: Small members compress extremely well legitimately (blank files); ratio is judged above this.
_RATIO_MIN_BYTES = 1024 * 1024


@dataclass(slots=True)
class Extraction:
    """What :func:`extract_zip` wrote and refused."""

    root: Path
    written: int = 0  #: number of files written
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False


def is_zip(path: Path) -> bool:
    """True when ``path`` is a zip archive (by content, not by name)."""
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path a member may be written to, or None when the name is unsafe."""
    if not name or "\x00" in name:
        return None
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." or ":" in p for p in parts):
        return None
    return PurePosixPath(*parts)


def extract_zip(
    archive: Path,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    max_total_bytes: int = limits.MAX_ARCHIVE_EXTRACT_BYTES,
    max_members: int = limits.MAX_ARCHIVE_MEMBERS,
    max_ratio: float = limits.MAX_ARCHIVE_RATIO,
) -> Extraction:
    """Extract the safe members of ``archive`` into the existing folder ``dest``.

    Parameters
    ----------
    archive : Path
        The zip file (read-only).
    dest : Path
        A private, empty folder (e.g. from :func:`tempfile.mkdtemp`).
    progress, cancel
        Progress callback and cancel check (polled between members and chunks).
    max_total_bytes, max_members, max_ratio
        Limits; defaults from :mod:`cbctviewer.io.limits`.

    Returns
    -------
    Extraction
        Counts, per-member problems and warnings. Raises :class:`UnsafeArchiveError`
        only when the archive itself cannot be opened.
    """
    out = Extraction(root=dest)
    root = dest.resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # Exception texts may quote file names (which can name the patient): keep the type.
        raise UnsafeArchiveError(f"the zip archive could not be opened ({type(exc).__name__})") from None
    with zf:
        members = zf.infolist()
        if len(members) > max_members:
            out.warnings.append(
                f"The archive holds {len(members)} entries; only the first {max_members} were considered."
            )
            members = members[:max_members]
        declared = sum(m.file_size for m in members if not m.is_dir())
        free = shutil.disk_usage(root).free
        if declared > free:
            out.warnings.append("There is not enough free disk space to unpack the whole archive.")
        total = 0
        done = 0
        for member in members:
            if cancel is not None and cancel():
                out.cancelled = True
                break
            if progress is not None and declared:
                progress(min(done / declared, 1.0), "Unpacking the archive")
            if member.is_dir():
                continue
            where = archive / member.filename  # a virtual path for messages only
            reason = _refusal(member, total=total, max_total=max_total_bytes, max_ratio=max_ratio)
            relative = safe_member_path(member.filename)
            if relative is None:
                reason = "refused: the entry's path points outside the archive folder"
            if reason is not None:
                out.problems.append(FileProblem(where, reason))
                continue
            assert relative is not None
            target = root.joinpath(*relative.parts)
            if not target.resolve().is_relative_to(root) or free - total < member.file_size:
                reason = "refused: not enough room to unpack it safely"
                out.problems.append(FileProblem(where, reason))
                continue
            written = _copy_member(zf, member, target, where, out, cancel)
            if written is None:
                continue
            total += written
            done += member.file_size
            out.written += 1
    return out


def _refusal(member: zipfile.ZipInfo, *, total: int, max_total: int, max_ratio: float) -> str | None:
    """Why a member must not be extracted, in plain words; None when it is fine."""
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "refused: the entry is a symbolic link"
    if member.flag_bits & 0x1:
        return "refused: the entry is password-protected"
    if member.file_size > _RATIO_MIN_BYTES and member.file_size > max_ratio * max(member.compress_size, 1):
        return "refused: the entry is compressed suspiciously well (a possible zip bomb)"
    if total + member.file_size > max_total:
        return "refused: unpacking it would exceed the size limit for archives"
    return None


def _copy_member(
    zf: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    target: Path,
    where: Path,
    out: Extraction,
    cancel: CancelCheck | None,
) -> int | None:
    """Stream one member to ``target`` (new file only); None when it failed or was cancelled."""
    written = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(member) as src, target.open("xb") as dst:
            # ZipExtFile never yields more than the declared size and checks the CRC.
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
                written += len(chunk)
                if cancel is not None and cancel():
                    out.cancelled = True
                    break
    except FileExistsError:
        out.problems.append(FileProblem(where, "refused: the name clashes with another entry"))
        return None
    except NotImplementedError:
        reason = "the entry uses a compression method this viewer cannot unpack"
        out.problems.append(FileProblem(where, reason))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        reason = f"the entry is damaged and could not be unpacked ({type(exc).__name__})"
        out.problems.append(FileProblem(where, reason))
    else:
        if not out.cancelled:
            return written
    target.unlink(missing_ok=True)
    return None
