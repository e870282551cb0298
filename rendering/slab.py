"""Thick slabs (MIP, MinIP, mean) as a cached stack of thin re-slices reduced in numpy.

A slab of ``n`` samples ``spacing`` mm apart along the view normal is re-sliced as an
``n × rows × cols`` block by one ``vtkImageReslice`` with a 3D output (linear, multi-
threaded) and reduced with ``numpy.max``/``min``/``mean`` along the normal. The block is
kept: the sample planes lie on a lattice ``d0 + m * spacing`` along the normal (``d0`` the
plane's depth when the block was built), so when the plane moves by a whole number of
lattice steps — scrolling, where ``spacing`` is a multiple of the scroll step — only the
planes that entered the slab are re-sliced and written over the ones that left it (a ring
buffer: lattice plane ``m`` lives in slot ``m mod n``; max, min and mean do not care about
the order). Any other change (orientation, pan, zoom, viewport, thickness, interpolation,
a move that is not on the lattice) rebuilds the whole block.

Sampling is the midpoint rule: sample ``k`` stands for ``spacing`` mm of thickness centred
on it, the mean is the plain average of the ``n`` samples (rounded to the nearest integer
for integer volumes, as ``vtkImageReslice``'s own slab mean does).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util import numpy_support
from vtkmodules.vtkImagingCore import vtkImageReslice

from cbctviewer.core.view_state import SlabMode

from .vtk_image import VolumeImage, to_vtk_matrix

#: Rows per ``vtkImageReslice`` call when many planes are re-sliced at once.
BAND_ROWS = 32
#: Relative tolerance (of a lattice step) for a plane to count as lying on the lattice.
_ON_LATTICE = 1e-6


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """Sorted integers as inclusive runs of consecutive values: ``[1, 2, 4]`` → ``[(1, 2), (4, 4)]``."""
    runs: list[tuple[int, int]] = []
    for v in sorted(values):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


class SlabStack:
    """A slab's thin re-slices, kept between frames, and their reduction to one image.

    Call :meth:`configure` whenever the view changes (cheap) and :meth:`update` to get
    the reduced image; :attr:`resliced_planes` counts the thin planes re-sliced so far
    (a test and benchmark aid).
    """

    def __init__(self) -> None:
        self.reslice = vtkImageReslice()
        self.reslice.SetEnableSMP(True)
        self.reslice.SetOutputDimensionality(3)
        self.reslice.AutoCropOutputOff()
        self.reslice.TransformInputSamplingOff()
        self.reslice.SetInterpolationModeToLinear()
        self.source: VolumeImage | None = None
        self.resliced_planes = 0
        self._key: tuple[object, ...] | None = None
        self._anchor = np.zeros(3)  # corner of the plane at lattice index 0 (patient mm)
        self._normal = np.zeros(3)
        self._spacing = 1.0
        self._centre = 0  # lattice index of the current plane
        self._mode = SlabMode.MIP
        self._stack: NDArray[np.generic] = np.zeros((0, 0, 0), np.int16)
        self._slots: list[int | None] = []
        self._result: NDArray[np.generic] | None = None
        self._result_of: tuple[int, SlabMode] | None = None

    def set_source(self, source: VolumeImage) -> None:
        self.source = source
        self.reslice.SetInputData(source.image)
        self.reslice.SetBackgroundLevel(source.scalar_range[0])  # outside = air, also for MinIP
        self._key = None

    def configure(
        self,
        rotation: NDArray[np.float64],
        corner: NDArray[np.float64],
        *,
        pixel_spacing: float,
        cols: int,
        rows: int,
        samples: int,
        spacing: float,
        mode: SlabMode,
        nearest: bool = False,
    ) -> None:
        """Describe the slab: plane axes (columns x, y, normal), bottom-left sample, grid, sampling.

        ``corner`` is the patient position of output sample ``(0, 0)`` on the plane;
        ``samples`` (odd) planes lie ``spacing`` mm apart, the middle one on the plane.
        """
        if self.source is None:
            raise RuntimeError("no volume to re-slice")
        if samples < 1 or samples % 2 == 0 or spacing <= 0:
            raise ValueError(f"need an odd sample count and a positive spacing, got {samples}, {spacing}")
        rotation = np.asarray(rotation, dtype=float)
        corner = np.asarray(corner, dtype=float)
        normal = rotation[:, 2]
        key = (id(self.source), rotation.tobytes(), pixel_spacing, cols, rows, samples, spacing, nearest)
        depth = float((corner - self._anchor) @ normal) / spacing if key == self._key else math.nan
        in_plane = corner - depth * spacing * normal if math.isfinite(depth) else corner
        on_lattice = (
            math.isfinite(depth)
            and abs(depth - round(depth)) < _ON_LATTICE
            and bool(np.allclose(in_plane, self._anchor, rtol=0.0, atol=1e-6 * max(pixel_spacing, spacing)))
        )
        self._mode = SlabMode(mode)
        if on_lattice:
            self._centre = round(depth)
            return
        # Rebuild: a new lattice anchored on this plane.
        self._key = key
        self._anchor, self._normal, self._spacing, self._centre = corner, normal, spacing, 0
        self._slots = [None] * samples
        self._result_of = None
        dtype = numpy_support.get_numpy_array_type(self.source.image.GetScalarType())
        if self._stack.shape != (samples, rows, cols) or self._stack.dtype != dtype:
            self._stack = np.empty((samples, rows, cols), dtype)
        if nearest:
            self.reslice.SetInterpolationModeToNearestNeighbor()
        else:
            self.reslice.SetInterpolationModeToLinear()
        axes = np.eye(4)
        axes[:3, :3] = rotation
        axes[:3, 3] = corner
        self.reslice.SetResliceAxes(to_vtk_matrix(self.source.patient_to_grid @ axes))
        self.reslice.SetOutputSpacing(pixel_spacing, pixel_spacing, spacing)

    def update(self) -> NDArray[np.generic]:
        """The reduced slab, ``(rows, cols)`` in VTK row order (bottom row first)."""
        if self._key is None:
            raise RuntimeError("configure the slab first")
        count = len(self._slots)
        half = count // 2
        wanted = range(self._centre - half, self._centre + half + 1)
        missing = [m for m in wanted if self._slots[m % count] != m]
        for first, last in _runs(missing):
            block = self._reslice(first, last)
            for m, plane in zip(range(first, last + 1), block, strict=True):
                self._stack[m % count] = plane
                self._slots[m % count] = m
        if missing or self._result_of != (self._centre, self._mode):
            self._result = self._reduce()
            self._result_of = (self._centre, self._mode)
        assert self._result is not None
        return self._result

    def _reslice(self, first: int, last: int) -> NDArray[np.generic]:
        """Lattice planes ``first…last`` as an array ``(planes, rows, cols)``.

        Many planes are re-sliced in bands of :data:`BAND_ROWS` rows: VTK fills a 3D output
        plane by plane, and a whole oblique plane crosses far more of the volume than the
        caches hold, so neighbouring planes would otherwise read it all again.
        """
        _, rows, cols = self._stack.shape
        count = last - first + 1
        out = np.empty((count, rows, cols), self._stack.dtype)
        band = rows if count <= 2 else BAND_ROWS
        self.reslice.SetOutputOrigin(0.0, 0.0, first * self._spacing)
        for top in range(0, rows, band):
            bottom = min(rows, top + band) - 1
            self.reslice.SetOutputExtent(0, cols - 1, top, bottom, 0, count - 1)
            self.reslice.Update()
            scalars = numpy_support.vtk_to_numpy(self.reslice.GetOutput().GetPointData().GetScalars())
            out[:, top : bottom + 1] = scalars.reshape(count, bottom - top + 1, cols)
        self.resliced_planes += count
        return out

    def _reduce(self) -> NDArray[np.generic]:
        stack = self._stack
        if self._mode is SlabMode.MIP:
            return np.asarray(stack.max(axis=0))
        if self._mode is SlabMode.MINIP:
            return np.asarray(stack.min(axis=0))
        mean = stack.mean(axis=0, dtype=np.float32)
        if np.issubdtype(stack.dtype, np.integer):
            return np.rint(mean).astype(stack.dtype)
        return mean.astype(stack.dtype, copy=False)
