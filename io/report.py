"""The scan report: what a folder, disc, DICOMDIR or zip holds, from headers only.

Pure data. ``scan`` builds it, ``load`` reads one :class:`SeriesCandidate` from it, and the
``inspect``/``check`` commands print it. Patient-identifying fields are carried for display
and grouping only; they must never be logged.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class CandidateKind(StrEnum):
    """What a series candidate is, in the user's terms."""

    VOLUME = "volume"  #: a 3D stack (single-frame slices or one multi-frame file)
    IMAGE_2D = "image_2d"  #: a single 2D image: radiograph, panoramic, one CT slice...
    LOCALIZER = "localizer"  #: scout / localizer images that accompany a volume
    SECONDARY = "secondary"  #: screen captures, summaries, derived 2D images
    NOT_IMAGE = "not_image"  #: DICOM without pixels (SR, RT plan, presentation state...)


class ItemKind(StrEnum):
    """Non-DICOM things found on the media."""

    PDF = "pdf"
    PICTURE = "picture"  #: JPEG/PNG/BMP/TIFF/GIF screenshots or photos
    PROGRAM = "program"  #: a vendor viewer: .exe, .dll, .msi, autorun, .app, .jar...
    PROJECT = "project"  #: a proprietary project/scene file of a planning program
    ARCHIVE = "archive"  #: an archive that was not opened (nested zip, rar, 7z...)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FrameRef:
    """One 2D image of a series: a single-frame file, or one frame of a multi-frame file.

    Geometry is in patient coordinates (LPS, mm) as the header gives it; ``None`` when
    the header lacks it.
    """

    path: Path
    frame_index: int = 0  #: 0 for single-frame files
    position: tuple[float, float, float] | None = None  #: ImagePositionPatient
    orientation: tuple[float, float, float, float, float, float] | None = None  #: IOP
    pixel_spacing: tuple[float, float] | None = None  #: (row spacing, column spacing)
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    instance_number: int | None = None
    acquisition_number: int | None = None
    #: Byte offset of the native (uncompressed) PixelData *element* (its tag) in ``path``,
    #: when the scan saw it; lets ``load`` read pixels without re-parsing the header.
    pixel_data_offset: int | None = None


@dataclass(slots=True, kw_only=True)
class SeriesAttributes:
    """Header attributes that describe a whole series; each file's header carries them and a
    candidate takes them from its first file. No pixel data; identity is for display only."""

    study_instance_uid: str = ""
    frame_of_reference_uid: str = ""
    sop_class_uid: str = ""
    modality: str = ""
    series_description: str = ""
    series_number: int | None = None
    image_type: tuple[str, ...] = ()
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_description: str = ""
    manufacturer: str = ""
    model_name: str = ""
    rows: int = 0
    columns: int = 0
    bits_allocated: int = 0
    bits_stored: int = 0
    pixel_representation: int = 0
    samples_per_pixel: int = 1
    photometric_interpretation: str = ""
    rescale_type: str = ""
    window_center: float | None = None
    window_width: float | None = None
    #: Pixel spacing of a projection radiograph (ImagerPixelSpacing), when PixelSpacing is absent.
    imager_pixel_spacing: tuple[float, float] | None = None


@dataclass(slots=True)
class SeriesCandidate(SeriesAttributes):
    """A group of frames that can be loaded as one image (3D volume or 2D picture)."""

    series_instance_uid: str
    #: Unique within the report: the SeriesInstanceUID, with ``#2``, ``#3``... appended
    #: for the extra parts of a series that was split (orientation, size, localizer...).
    key: str = ""
    transfer_syntaxes: set[str] = field(default_factory=set)
    frames: list[FrameRef] = field(default_factory=list)
    kind: CandidateKind = CandidateKind.VOLUME
    #: One line in plain words saying what this is, e.g. "CT 3D volume: 28 slices of
    #: 512×512" or "PDF report inside DICOM" (set by ``scan``; no patient data).
    summary: str = ""
    #: Plain-language warnings (gaps, tilt, mixed sizes, missing geometry...).
    warnings: list[str] = field(default_factory=list)
    #: Geometry summary as ``load`` will produce it (after any resampling).
    size: tuple[int, int, int] | None = None
    spacing: tuple[float, float, float] | None = None
    origin: tuple[float, float, float] | None = None
    direction: tuple[float, ...] | None = None

    @property
    def files(self) -> int:
        """Number of distinct files holding this series' frames."""
        return len({f.path for f in self.frames})

    @property
    def is_volume(self) -> bool:
        """True for a 3D stack that ``load`` turns into a volume."""
        return self.kind is CandidateKind.VOLUME


@dataclass(slots=True)
class Study:
    """One study (visit) of a patient."""

    study_instance_uid: str
    study_date: str = ""
    study_description: str = ""
    series: list[SeriesCandidate] = field(default_factory=list)


@dataclass(slots=True)
class Patient:
    """One patient on the media; identity is for display only."""

    patient_id: str
    patient_name: str = ""
    studies: list[Study] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FoundItem:
    """A non-DICOM file worth telling the user about (report, screenshot, viewer...)."""

    path: Path
    kind: ItemKind
    description: str  #: plain words, e.g. "PDF document (probably the printed report)"


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that could not be used, with a human reason."""

    path: Path
    error: str


@dataclass(slots=True)
class ScanReport:
    """Everything ``scan`` found under one path.

    When the source was an archive its members were extracted to a private temporary
    folder that lives as long as the report: call :meth:`close` (or use ``with``) when
    done loading.
    """

    source: Path
    patients: list[Patient] = field(default_factory=list)
    items: list[FoundItem] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files_seen: int = 0
    cancelled: bool = False
    #: Private temporary folder (archives only); removed by :meth:`close`.
    temp_dir: Path | None = None

    @property
    def series(self) -> list[SeriesCandidate]:
        """All candidates, patient → study → series order."""
        return [s for p in self.patients for st in p.studies for s in st.series]

    @property
    def volumes(self) -> list[SeriesCandidate]:
        """Candidates that load as 3D volumes."""
        return [s for s in self.series if s.is_volume]

    def find(self, key_or_uid: str) -> SeriesCandidate | None:
        """Return the candidate with this key, else the first with this SeriesInstanceUID."""
        for s in self.series:
            if s.key == key_or_uid:
                return s
        for s in self.series:
            if s.series_instance_uid == key_or_uid:
                return s
        return None

    def close(self) -> None:
        """Remove the private temporary folder, if any."""
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None

    def __enter__(self) -> ScanReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
