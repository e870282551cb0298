"""Write a numpy volume as a DICOM series of single-frame CT images.

Used for the built-in phantom and by benchmarks (large and compressed series). One
template dataset is built once; each slice only changes its position, UIDs and pixels.
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
    generate_uid,
)

from cbctviewer.core.tasks import CancelCheck, ProgressCallback, check_cancel

__all__ = ["UNCOMPRESSED_SYNTAXES", "deterministic_uid", "supported_transfer_syntaxes", "write_series"]

#: Transfer syntaxes written without pixel compression.
UNCOMPRESSED_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian)
#: Compressed syntaxes that GDCM can produce when pydicom has no encoder for them.
_GDCM_SYNTAXES = (
    UID("1.2.840.10008.1.2.4.57"),  # JPEG Lossless, process 14
    JPEGLosslessSV1,
    UID("1.2.840.10008.1.2.4.80"),  # JPEG-LS lossless
    UID("1.2.840.10008.1.2.4.90"),  # JPEG 2000 lossless
    UID("1.2.840.10008.1.2.5"),  # RLE lossless
)
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def deterministic_uid(*parts: object) -> str:
    """A ``2.25.`` UID derived from ``parts`` (same parts, same UID).

    A name-based (version 5) UUID as an integer, which is what the ``2.25`` root expects.
    pydicom's ``generate_uid(prefix=None, entropy_srcs=...)`` ignores the entropy and is
    random, so it cannot be used here.
    """
    name = "\x1f".join(str(p) for p in parts)
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, 'cbct-viewer:' + name).int}"


def supported_transfer_syntaxes() -> list[str]:
    """Transfer syntax UIDs :func:`write_series` can produce with the installed codecs."""
    out = [str(u) for u in UNCOMPRESSED_SYNTAXES]
    for uid in (*_pydicom_encodable(), *(_GDCM_SYNTAXES if _gdcm_available() else ())):
        if str(uid) not in out:
            out.append(str(uid))
    return out


def _pydicom_encodable() -> list[UID]:
    from pydicom.pixels import get_encoder

    found = []
    for uid in pydicom.uid.AllTransferSyntaxes:
        try:
            if get_encoder(UID(uid)).is_available:
                found.append(UID(uid))
        except NotImplementedError:
            continue
    return found


def _gdcm_available() -> bool:
    try:
        import gdcm  # noqa: F401
    except ImportError:
        return False
    return True


def write_series(
    array_zyx: np.ndarray,
    outdir: str | os.PathLike[str],
    *,
    origin: Sequence[float],
    spacing: Sequence[float],
    direction: Sequence[float] = _IDENTITY,
    rescale_slope: float = 1.0,
    rescale_intercept: float = 0.0,
    rescale_type: str | None = None,
    modality: str = "CT",
    patient_name: str = "PHANTOM^DENTAL",
    patient_id: str = "CBCT-PHANTOM",
    patient_birth_date: str = "",
    patient_sex: str = "O",
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    uid_seed: str | None = None,
    study_date: str | None = None,
    study_time: str = "120000",
    study_id: str = "1",
    accession_number: str = "",
    study_description: str = "Dental CBCT",
    series_description: str = "CBCT",
    series_number: int = 1,
    window_center: float | None = None,
    window_width: float | None = None,
    bits_stored: int | None = None,
    manufacturer: str = "cbct-viewer phantom",
    model_name: str = "synthetic",
    transfer_syntax: str = ExplicitVRLittleEndian,
    encoding_plugin: str = "",
    file_name_format: str = "IMG{:04d}.dcm",
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> list[Path]:
    """Write ``array_zyx`` as single-frame CT Image Storage files, one per z slice.

    Parameters
    ----------
    array_zyx
        Stored pixel values, shape (nz, ny, nx), dtype uint8, uint16 or int16. Slice ``k``
        is at ``origin + k * spacing[2] * direction[:, 2]``.
    outdir
        Folder to write into (created if needed).
    origin, spacing, direction
        Geometry as SimpleITK gives it: patient position (LPS, mm) of voxel (0, 0, 0),
        (sx, sy, sz) in mm, and 9 direction cosines in row-major order (columns are the
        i, j, k axes). The direction must be orthonormal and right-handed.
    rescale_slope, rescale_intercept, rescale_type
        Modality LUT; the real value is ``stored * slope + intercept``. ``rescale_type``
        (e.g. ``"HU"`` or ``"US"``) is written when given.
    study_uid, series_uid, frame_of_reference_uid
        UIDs to use. Missing ones are derived from ``uid_seed`` (deterministic) or random.
    uid_seed
        Any string; with it every generated UID (including SOP Instance UIDs) is stable,
        so the same input gives byte-identical files.
    study_date
        ``YYYYMMDD``; today when omitted (then files differ from day to day).
    window_center, window_width
        Suggested window in rescaled units; derived from the data range when omitted.
    bits_stored
        Significant bits (default: all bits of the dtype). Values must fit.
    transfer_syntax
        Implicit/explicit/deflated little endian, or a compressed syntax encodable by
        pydicom (RLE, JPEG 2000 lossless, JPEG-LS with pyjpegls) or, failing that, GDCM
        (JPEG lossless, JPEG-LS, JPEG 2000, RLE). See :func:`supported_transfer_syntaxes`.
    encoding_plugin
        pydicom encoding plugin to use (e.g. ``"pylibjpeg"``), default: any available.
    file_name_format
        ``str.format`` pattern fed the 1-based instance number.
    progress, cancel
        Progress sink (fraction, message) and cancellation check, polled per slice.

    Returns
    -------
    list[Path]
        The written files, in slice order.
    """
    arr = np.asarray(array_zyx)
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ValueError(f"expected a non-empty (z, y, x) array, got shape {arr.shape}")
    if arr.dtype not in (np.uint8, np.uint16, np.int16):
        raise ValueError(f"unsupported dtype {arr.dtype}; use uint8, uint16 or int16")
    tsuid = UID(transfer_syntax)
    gdcm_syntax = _choose_encoder(tsuid)
    d = np.asarray(direction, dtype=float).reshape(3, 3)
    if not np.allclose(d.T @ d, np.eye(3), atol=1e-6) or np.linalg.det(d) < 0:
        raise ValueError("direction must be an orthonormal, right-handed rotation")
    sx, sy, sz = (float(v) for v in spacing)
    bits_allocated = arr.dtype.itemsize * 8
    bits = bits_allocated if bits_stored is None else int(bits_stored)
    signed = arr.dtype == np.int16
    lo, hi = int(arr.min()), int(arr.max())
    limit_lo, limit_hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not 1 <= bits <= bits_allocated or lo < limit_lo or hi > limit_hi:
        raise ValueError(f"values {lo}..{hi} do not fit in {bits} stored bits")
    if window_center is None or window_width is None:
        r_lo, r_hi = lo * rescale_slope + rescale_intercept, hi * rescale_slope + rescale_intercept
        window_center = 0.5 * (r_lo + r_hi) if window_center is None else window_center
        window_width = max(abs(r_hi - r_lo), 1.0) if window_width is None else window_width

    seed = uid_seed
    study_uid = study_uid or (deterministic_uid(seed, "study") if seed else str(generate_uid(prefix=None)))
    series_uid = series_uid or (deterministic_uid(seed, "series") if seed else str(generate_uid(prefix=None)))
    frame_of_reference_uid = frame_of_reference_uid or (
        deterministic_uid(seed, "frame-of-reference") if seed else str(generate_uid(prefix=None))
    )
    date = study_date or _dt.date.today().strftime("%Y%m%d")

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2"  # per slice below
    for prefix in ("Study", "Series", "Acquisition", "Content"):
        setattr(ds, f"{prefix}Date", date)
        setattr(ds, f"{prefix}Time", study_time)
    ds.AccessionNumber = accession_number
    ds.Modality = modality
    ds.Manufacturer = manufacturer
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study_description
    ds.SeriesDescription = series_description
    ds.ManufacturerModelName = model_name
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = patient_birth_date
    ds.PatientSex = patient_sex
    ds.BodyPartExamined = "JAW"
    ds.SliceThickness = _ds(sz)
    ds.KVP = "90"
    ds.PatientPosition = ""
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = study_id
    ds.SeriesNumber = int(series_number)
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [0.0, 0.0, 0.0]
    ds.ImageOrientationPatient = [_ds(v) for v in (*d[:, 0], *d[:, 1])]
    ds.FrameOfReferenceUID = frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = "0"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
    ds.PixelSpacing = [_ds(sy), _ds(sx)]  # row spacing (between rows, along j), column spacing
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = int(signed)
    ds.WindowCenter = _ds(window_center)
    ds.WindowWidth = _ds(window_width)
    ds.RescaleIntercept = _ds(rescale_intercept)
    ds.RescaleSlope = _ds(rescale_slope)
    if rescale_type:
        ds.RescaleType = rescale_type

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "CBCTVIEWER"
    ds.file_meta = meta

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    origin_v = np.asarray(origin, dtype=float)
    normal = d[:, 2]
    stored_dtype = arr.dtype.newbyteorder("<")
    compressed = tsuid not in UNCOMPRESSED_SYNTAXES and gdcm_syntax is None
    paths: list[Path] = []
    nz = arr.shape[0]
    for k in range(nz):
        check_cancel(cancel)
        sop = deterministic_uid(seed, series_uid, "instance", k) if seed else str(generate_uid(prefix=None))
        position = origin_v + k * sz * normal
        ds.SOPInstanceUID = UID(sop)
        meta.MediaStorageSOPInstanceUID = UID(sop)
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.SliceLocation = _ds(float(position @ normal))
        frame = np.ascontiguousarray(arr[k], dtype=stored_dtype)
        if compressed:
            ds.compress(tsuid, frame, encoding_plugin=encoding_plugin, generate_instance_uid=False)
        else:
            ds.PixelData = frame.tobytes()
            ds["PixelData"].VR = "OW" if bits_allocated > 8 else "OB"
            meta.TransferSyntaxUID = tsuid if gdcm_syntax is None else ExplicitVRLittleEndian
        path = out / file_name_format.format(k + 1)
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        if gdcm_syntax is not None:
            _gdcm_transcode(path, gdcm_syntax)
        paths.append(path)
        if progress is not None:
            progress((k + 1) / nz, "Writing DICOM slices")
    return paths


def _ds(value: float) -> str:
    """A Decimal String of at most 16 characters (DICOM's limit), round-trip stable."""
    text = f"{float(value):.10g}"
    if len(text) > 16:
        text = f"{float(value):.8e}"
    return text


def _choose_encoder(tsuid: UID) -> UID | None:
    """``None`` when pydicom writes ``tsuid`` itself, else the syntax to hand to GDCM."""
    if tsuid in UNCOMPRESSED_SYNTAXES:
        return None
    from pydicom.pixels import get_encoder

    try:
        if get_encoder(tsuid).is_available:
            return None
    except NotImplementedError:
        pass
    if tsuid in _GDCM_SYNTAXES and _gdcm_available():
        return tsuid
    raise ValueError(f"cannot encode transfer syntax {tsuid} ({tsuid.name}) with the installed codecs")


def _gdcm_transcode(path: Path, tsuid: UID) -> None:
    """Re-encode the file at ``path`` in place with GDCM."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    if not reader.Read():
        raise OSError(f"GDCM could not read {path.name} back for encoding")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(str(tsuid))))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise ValueError(f"GDCM could not encode {path.name} as {tsuid.name}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise OSError(f"GDCM could not write {path.name}")
