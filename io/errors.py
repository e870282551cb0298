"""Errors raised by reading media, each with a message a dentist or patient understands."""

from __future__ import annotations


class MediaError(Exception):
    """Base class: something on the media could not be used. ``str(err)`` is plain words."""


class NotDicomError(MediaError):
    """The file is not DICOM (or so damaged that it cannot be recognised as DICOM)."""


class UnsupportedError(MediaError):
    """The file is DICOM but stored in a way this viewer cannot decode."""


class DamagedError(MediaError):
    """The file is DICOM but truncated or internally inconsistent."""


class TooLargeError(MediaError):
    """The header claims more data than the memory budget allows; nothing was allocated."""


class UnsafeArchiveError(MediaError):
    """An archive member or DICOMDIR reference points outside the media."""
