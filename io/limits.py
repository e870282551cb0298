"""Resource limits applied to untrusted input."""

from __future__ import annotations

import os

#: Default ceiling on the voxel bytes one load may allocate. A header that claims more
#: (Rows x Columns x Frames x bytes) is refused before anything is allocated.
DEFAULT_MEMORY_BUDGET = 8 * 1024**3

#: Largest single DICOM file whose header we will parse (headers are read lazily, so this
#: only guards against pathological files).
MAX_FILE_BYTES = 16 * 1024**3

#: Zip safety: total bytes we will extract, and the largest compression ratio accepted.
MAX_ARCHIVE_EXTRACT_BYTES = 16 * 1024**3
MAX_ARCHIVE_RATIO = 200.0
MAX_ARCHIVE_MEMBERS = 200_000


def memory_budget() -> int:
    """Voxel-byte budget: ``CBCT_VIEWER_MEMORY_BUDGET`` (bytes) or the default."""
    value = os.environ.get("CBCT_VIEWER_MEMORY_BUDGET", "")
    try:
        return int(value) if value else DEFAULT_MEMORY_BUDGET
    except ValueError:
        return DEFAULT_MEMORY_BUDGET
