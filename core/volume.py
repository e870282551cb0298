"""The loaded volume: one copy of the voxels, owned by a SimpleITK image."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True, slots=True)
class SeriesIdentity:
    """What ties measurements and sessions to one series (no pixel data)."""

    series_instance_uid: str = ""
    study_instance_uid: str = ""
    frame_of_reference_uid: str = ""
    modality: str = ""


@dataclass(slots=True)
class VolumeMetadata:
    """Header facts the UI shows next to the image.

    Patient-identifying fields are kept here for the on-screen overlay only; they are
    never logged.
    """

    identity: SeriesIdentity = field(default_factory=SeriesIdentity)
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_description: str = ""
    series_description: str = ""
    series_number: int | None = None
    manufacturer: str = ""
    model_name: str = ""
    #: True when the grey values are calibrated Hounsfield units (modality CT with a
    #: rescale type of HU or none given by a conventional CT). CBCT values usually are not.
    values_are_hu: bool = False
    #: MONOCHROME1 data were inverted at load so that higher always means denser.
    inverted_monochrome1: bool = False
    #: Window centre/width suggested by the file, if any.
    window_center: float | None = None
    window_width: float | None = None
    transfer_syntaxes: tuple[str, ...] = ()
    photometric_interpretation: str = ""
    #: Plain-language warnings about geometry or content (gaps, tilt, resampling...).
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Volume:
    """A 3D (or single-slice 2D) image in patient coordinates (LPS, millimetres).

    ``image`` owns the voxels. ``array`` is a numpy *view* of that buffer in
    (z, y, x) order; keep the ``Volume`` alive while any view exists.
    """

    image: sitk.Image
    metadata: VolumeMetadata = field(default_factory=VolumeMetadata)
    _array: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Taken once, now: SimpleITK copies the buffer when a view is asked for while a
        # filter elsewhere (e.g. the 3D view's shrink on another thread) holds the image,
        # and VTK, which shows the old buffer, would then read freed memory.
        self._array = _view(self.image, writable=False)

    @property
    def array(self) -> np.ndarray:
        """Read-only numpy view (z, y, x) of the voxel buffer, no copy.

        The view keeps the image alive, so ``load(...).array`` is safe on its own. It is
        the same view on every call (taken when the volume was made).
        """
        return self._array

    @property
    def size(self) -> tuple[int, int, int]:
        """Voxel counts (nx, ny, nz)."""
        s = self.image.GetSize()
        return (int(s[0]), int(s[1]), int(s[2]) if len(s) > 2 else 1)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing in mm (sx, sy, sz)."""
        s = self.image.GetSpacing()
        return (float(s[0]), float(s[1]), float(s[2]) if len(s) > 2 else 1.0)

    @property
    def origin(self) -> tuple[float, float, float]:
        """Patient position (LPS, mm) of the centre of voxel (0, 0, 0)."""
        o = self.image.GetOrigin()
        return (float(o[0]), float(o[1]), float(o[2]) if len(o) > 2 else 0.0)

    @property
    def direction(self) -> tuple[float, ...]:
        """Direction cosines, 9 floats in SimpleITK (row-major) order."""
        d = self.image.GetDirection()
        if len(d) == 9:
            return tuple(float(v) for v in d)
        return (float(d[0]), float(d[1]), 0.0, float(d[2]), float(d[3]), 0.0, 0.0, 0.0, 1.0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the voxel buffer."""
        return int(self.array.nbytes)

    def index_to_patient(self, index: tuple[float, float, float]) -> np.ndarray:
        """Map a continuous voxel index (i, j, k) to patient coordinates (LPS, mm)."""
        direction = np.asarray(self.direction).reshape(3, 3)
        return np.asarray(self.origin) + direction @ (np.asarray(index, float) * np.asarray(self.spacing))

    def patient_to_index(self, point: tuple[float, float, float]) -> np.ndarray:
        """Map a patient point (LPS, mm) to a continuous voxel index (i, j, k)."""
        direction = np.asarray(self.direction).reshape(3, 3)
        return (direction.T @ (np.asarray(point, float) - np.asarray(self.origin))) / np.asarray(self.spacing)


class _BufferOwner:
    """Exposes an image's buffer to numpy and holds the image while any view exists.

    SimpleITK's own views do not reference the image, so a view outliving it reads freed
    memory; numpy keeps this object as the array's base instead.
    """

    def __init__(self, image: sitk.Image, view: np.ndarray, *, writable: bool) -> None:
        self.image = image
        interface = dict(view.__array_interface__)
        interface["data"] = (interface["data"][0], not writable)
        self.__array_interface__ = interface


def _view(image: sitk.Image, *, writable: bool) -> np.ndarray:
    view = sitk.GetArrayViewFromImage(image)  # also makes the buffer unique
    return np.asarray(_BufferOwner(image, view, writable=writable))


def writable_view(image: sitk.Image) -> np.ndarray:
    """Return a writable numpy view (z, y, x) of ``image``'s own buffer, no copy.

    SimpleITK only hands out read-only views; loaders need to fill the buffer in place
    so that the voxels exist once. The view keeps ``image`` alive.
    """
    return _view(image, writable=True)
