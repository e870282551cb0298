"""Pictures of what a test saw, for a person to look at: written only when asked for.

Set ``CBCT_TEST_SHOTS`` to a folder and the GUI and rendering tests save their screenshots
there (PNG, through VTK so that no imaging package is needed); otherwise nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkIOImage import vtkPNGWriter

SHOTS_ENV = "CBCT_TEST_SHOTS"


def save_shot(rgb: np.ndarray, name: str) -> Path | None:
    """Save an RGB image (row 0 on top) as ``$CBCT_TEST_SHOTS/name`` (``.png`` added if missing)."""
    folder = os.environ.get(SHOTS_ENV, "").strip()
    if not folder:
        return None
    path = Path(folder) / (name if name.endswith(".png") else f"{name}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[::-1, :, :3])  # VTK: row 0 at the bottom
    height, width = pixels.shape[:2]
    image = vtkImageData()
    image.SetDimensions(width, height, 1)
    scalars = numpy_support.numpy_to_vtk(pixels.reshape(-1, 3), deep=True)
    image.GetPointData().SetScalars(scalars)
    writer = vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(image)
    writer.Write()
    return path
