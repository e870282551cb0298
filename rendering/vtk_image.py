"""A :class:`~cbctviewer.core.volume.Volume` as ``vtkImageData`` without copying the voxels.

The VTK image shares SimpleITK's buffer. It is kept in *grid* coordinates: origin 0,
identity direction, the volume's spacing, so that a grid point ``q = spacing * index``.
Patient space is reached through one affine, ``patient = origin + direction @ q``, that
every pipeline folds into its own matrix (the re-slice axes, the 3D prop's user matrix).
VTK 9.7's ``vtkImageReslice`` does honour ``vtkImageData.SetDirectionMatrix``, but not
every volume mapper does on every backend; one explicit matrix is correct everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkDataArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from cbctviewer.core.volume import Volume


def to_vtk_matrix(matrix: ArrayLike) -> vtkMatrix4x4:
    """A 4×4 numpy matrix as ``vtkMatrix4x4``."""
    m = np.asarray(matrix, dtype=float).reshape(4, 4)
    out = vtkMatrix4x4()
    out.DeepCopy(m.ravel().tolist())
    return out


def affine(rotation: ArrayLike, translation: ArrayLike) -> NDArray[np.float64]:
    """4×4 homogeneous matrix from a 3×3 linear part and a translation."""
    m = np.eye(4)
    m[:3, :3] = np.asarray(rotation, dtype=float).reshape(3, 3)
    m[:3, 3] = np.asarray(translation, dtype=float).reshape(3)
    return m


@dataclass(eq=False)
class VolumeImage:
    """The VTK view of a volume's voxels plus the grid ↔ patient affines.

    Build it with :meth:`from_volume`. It holds the volume, so the shared buffer lives at
    least as long as this object and the VTK image made from it.
    """

    volume: Volume
    image: vtkImageData
    #: 4×4: grid coordinates (mm, origin 0, identity direction) → patient LPS mm.
    grid_to_patient: NDArray[np.float64]
    #: 4×4 inverse of :attr:`grid_to_patient`.
    patient_to_grid: NDArray[np.float64]
    #: Smallest and largest voxel value (for backgrounds and full-range windows).
    scalar_range: tuple[float, float]
    _keep: list[object] = field(default_factory=list, repr=False)

    @classmethod
    def from_volume(cls, volume: Volume) -> VolumeImage:
        """Wrap ``volume``'s buffer (no copy) as single-component ``vtkImageData``."""
        array = volume.array  # read-only (z, y, x) view of SimpleITK's buffer
        if volume.image.GetNumberOfComponentsPerPixel() != 1:
            raise ValueError("only single-component (grey-value) volumes can be rendered")
        nx, ny, nz = volume.size
        flat = array.reshape(-1)  # a view: SimpleITK buffers are C-contiguous
        if not np.shares_memory(flat, array):
            raise AssertionError("volume buffer is not contiguous; refusing to copy it")
        scalars: vtkDataArray = numpy_support.numpy_to_vtk(flat, deep=False)
        scalars.SetName("voxels")
        image = vtkImageData()
        image.SetDimensions(nx, ny, nz)
        image.SetSpacing(*volume.spacing)
        image.SetOrigin(0.0, 0.0, 0.0)
        image.GetPointData().SetScalars(scalars)
        direction = np.asarray(volume.direction).reshape(3, 3)
        grid_to_patient = affine(direction, volume.origin)
        patient_to_grid = affine(direction.T, -direction.T @ np.asarray(volume.origin))
        # numpy's min/max is ~5× faster than vtkDataArray.GetRange on large volumes.
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        return cls(volume, image, grid_to_patient, patient_to_grid, (low, high), [array, flat, scalars])

    @property
    def bounds(self) -> NDArray[np.float64]:
        """Patient positions of the 8 corners of the voxel-centre box, shape (8, 3)."""
        x0, x1, y0, y1, z0, z1 = self.image.GetBounds()
        corners = np.array([[x, y, z, 1.0] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])
        return np.asarray((corners @ self.grid_to_patient.T)[:, :3], dtype=float)

    def shares_buffer_with(self, array: NDArray[np.generic]) -> bool:
        """True when the VTK scalars use the same memory as ``array`` (a test aid)."""
        scalars = numpy_support.vtk_to_numpy(self.image.GetPointData().GetScalars())
        return bool(scalars.__array_interface__["data"][0] == array.__array_interface__["data"][0])
