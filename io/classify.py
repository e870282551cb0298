"""Recognise the non-DICOM things found on a disc, USB stick or in a folder.

Dental media usually carry more than the scan: the vendor's viewer program, a PDF
report, screenshots, a planning program's project file. The user should be told, in
plain words, what those are and that they are not a 3D scan. Recognition sniffs the
first bytes (magic numbers) and only then looks at the extension.
"""

from __future__ import annotations

from pathlib import Path

from cbctviewer.io.report import FileProblem, FoundItem, ItemKind

#: Files and folders that operating systems leave behind; skipped without a word.
IGNORED_NAMES = frozenset(
    {
        "thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin",
        "system volume information", "recycler",
    }
)  # fmt: skip

#: Extensions under which DICOM files are commonly stored (besides none at all).
DICOM_EXTENSIONS = frozenset({"", ".dcm", ".dicom", ".dic", ".ima", ".img", ".dc3"})

_PROJECTS = {
    ".nnt": "NNT (NewTom) project file",
    ".inv3": "InVesalius project file",
    ".pln": "planning project file (.pln)",
    ".dpr": "planning project file (.dpr)",
}
_PROJECT_HINT = " — proprietary; export the scan as DICOM from that program to open it here"
_PROGRAM_EXTENSIONS = frozenset(
    {".exe", ".dll", ".msi", ".ocx", ".sys", ".com", ".bat", ".cmd", ".sh", ".command", ".jar",
     ".ps1", ".vbs", ".cab", ".so", ".dylib", ".apk"}
)  # fmt: skip
_PROGRAM_NOTE = "a viewer program from the disc (not needed here and never run)"
_MODELS = frozenset({".stl", ".ply", ".obj", ".off", ".3mf"})
_RESEARCH_VOLUMES = frozenset({".nii", ".mha", ".mhd", ".nrrd", ".nhdr", ".mnc", ".hdr"})
_TEXT_KINDS = {
    ".xml": "catalogue or settings file (XML)",
    ".ini": "settings file (INI)",
    ".inf": "settings file (INF)",
    ".cfg": "settings file",
    ".json": "settings or catalogue file (JSON)",
    ".htm": "web page (often the disc's start page)",
    ".html": "web page (often the disc's start page)",
    ".csv": "table (CSV)",
    ".txt": "text file",
    ".log": "log file",
    ".rtf": "text document (RTF)",
}
_ARCHIVE_EXTENSIONS = frozenset({".zip", ".rar", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".iso", ".zst"})


def is_ignored(name: str) -> bool:
    """True for hidden files and operating-system clutter that is never reported."""
    return name.startswith(".") or name.lower() in IGNORED_NAMES


def classify_dir(path: Path) -> FoundItem | None:
    """A folder that is itself an item (a macOS ``.app`` bundle), else None."""
    if path.suffix.lower() == ".app":
        return FoundItem(path, ItemKind.PROGRAM, f"macOS application: {_PROGRAM_NOTE}")
    return None


def _magic(head: bytes) -> tuple[ItemKind, str] | None:
    """Kind and description from the first bytes, or None."""
    if head.startswith(b"%PDF"):
        return ItemKind.PDF, "PDF document (probably the printed report)"
    pictures = [
        (b"\xff\xd8\xff", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    ]
    for magic, name in pictures:
        if head.startswith(magic):
            return ItemKind.PICTURE, f"{name} picture (a screenshot or photo, not a 3D scan)"
    if head.startswith(b"BM") and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        return ItemKind.PICTURE, "BMP picture (a screenshot or photo, not a 3D scan)"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return ItemKind.PICTURE, "WebP picture (a screenshot or photo, not a 3D scan)"
    if head.startswith(b"MZ"):
        return ItemKind.PROGRAM, f"Windows program or library: {_PROGRAM_NOTE}"
    if head.startswith(b"\x7fELF"):
        return ItemKind.PROGRAM, f"Linux program or library: {_PROGRAM_NOTE}"
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return ItemKind.PROGRAM, f"macOS or Java program: {_PROGRAM_NOTE}"
    if head.startswith(b"#!"):
        return ItemKind.PROGRAM, f"script: {_PROGRAM_NOTE}"
    archives = [
        (b"PK\x03\x04", "ZIP"),
        (b"PK\x05\x06", "ZIP"),
        (b"Rar!\x1a\x07", "RAR"),
        (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
        (b"\x1f\x8b", "gzip"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"MSCF", "cabinet"),
    ]
    for magic, name in archives:
        if head.startswith(magic):
            return ItemKind.ARCHIVE, f"{name} archive inside the folder (not opened; open it separately)"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return ItemKind.ARCHIVE, "tar archive inside the folder (not opened; open it separately)"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return ItemKind.OTHER, "Microsoft Office document or installer database"
    if head.startswith(b"{\\rtf"):
        return ItemKind.OTHER, "text document (RTF)"
    if head[4:8] == b"ftyp" or (head.startswith(b"RIFF") and head[8:11] == b"AVI"):
        return ItemKind.OTHER, "video file (not a 3D scan)"
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head[:4096]:
        return False
    sample = head[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a cut multi-byte character at the end is fine
            return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(sample) // 100


def classify_file(path: Path, head: bytes) -> FoundItem | FileProblem:
    """Describe a file that is not DICOM.

    Parameters
    ----------
    path : Path
        The file (only its name is looked at).
    head : bytes
        Its first bytes (a few kilobytes are plenty).

    Returns
    -------
    FoundItem or FileProblem
        An item for anything recognisable or plausibly a proprietary file; a problem
        ("not a DICOM file") when the name suggests DICOM but the content is not.
    """
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name == "autorun.inf":
        return FoundItem(path, ItemKind.PROGRAM, "autorun file that starts the disc's viewer (ignored)")
    if suffix in _PROJECTS:
        return FoundItem(path, ItemKind.PROJECT, _PROJECTS[suffix] + _PROJECT_HINT)
    found = _magic(head)
    if found is not None:
        kind, description = found
        if kind is ItemKind.ARCHIVE and suffix in (".jar", ".apk"):
            kind, description = ItemKind.PROGRAM, f"Java or Android program: {_PROGRAM_NOTE}"
        elif kind is ItemKind.ARCHIVE and suffix in (".docx", ".xlsx", ".pptx", ".odt", ".ods"):
            kind, description = ItemKind.OTHER, "office document"
        elif kind is ItemKind.OTHER and suffix == ".msi":
            kind, description = ItemKind.PROGRAM, f"Windows installer: {_PROGRAM_NOTE}"
        return FoundItem(path, kind, description)
    if suffix in _PROGRAM_EXTENSIONS:
        return FoundItem(path, ItemKind.PROGRAM, f"program file: {_PROGRAM_NOTE}")
    if suffix in _MODELS:
        return FoundItem(path, ItemKind.OTHER, "3D surface model (e.g. an intra-oral scan), not a CT")
    if suffix in _RESEARCH_VOLUMES or name.endswith(".nii.gz"):
        return FoundItem(path, ItemKind.OTHER, "volume in a research format (not DICOM; not supported here)")
    if suffix in _ARCHIVE_EXTENSIONS:
        return FoundItem(path, ItemKind.ARCHIVE, "archive inside the folder (not opened; open it separately)")
    if _is_text(head):
        return FoundItem(path, ItemKind.OTHER, _TEXT_KINDS.get(suffix, "text file"))
    if suffix in DICOM_EXTENSIONS:
        return FileProblem(path, "not a DICOM file (it does not start like one; it may be damaged)")
    return FoundItem(
        path,
        ItemKind.PROJECT,
        "unknown binary file — perhaps a project file of a planning program; it cannot be opened here",
    )
