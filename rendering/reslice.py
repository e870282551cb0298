"""Re-slicing a volume onto a view's pixel grid, thin or as a thick slab (no rendering).

One ``vtkImageReslice`` per view samples the volume directly at the view's pixels: the
output is exactly ``width × height`` samples at the view's pixel size, so its cost does
not depend on zoom and a pixel of the output *is* a pixel of the screen.

A thick slab at full quality goes through a :class:`~.slab.SlabStack` instead: its thin
planes are kept between frames, so scrolling re-slices one plane, not the whole slab. The
coarser preview while dragging keeps ``vtkImageReslice``'s own slab mode.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkSMPTools
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonExecutionModel import vtkAlgorithmOutput
from vtkmodules.vtkImagingCore import vtkImageReslice

from cbctviewer.core.geometry import SliceGeometry
from cbctviewer.core.view_state import SlabMode

from .slab import SlabStack
from .vtk_image import VolumeImage, to_vtk_matrix

#: More slab samples than this are spread out (a 30 mm slab of a 0.1 mm scan would
#: otherwise take 300 samples per pixel); linear interpolation keeps thin objects visible.
MAX_SLAB_SAMPLES = 101


@dataclass(frozen=True, slots=True)
class SlabSampling:
    """How a slab of a given thickness is sampled along the view normal."""

    samples: int
    spacing: float

    @property
    def thickness(self) -> float:
        """Thickness actually covered (each sample stands for ``spacing`` mm)."""
        return self.samples * self.spacing


def use_threaded_smp() -> str:
    """Run VTK's SMP tools (``vtkImageReslice`` with SMP on) on threads; the backend in use.

    The VTK wheels default to the ``Sequential`` backend, i.e. one core. Switches to
    ``STDThread`` (about 2× on two cores) unless ``VTK_SMP_BACKEND_IN_USE`` chose one.
    The backend is process-wide.
    """
    if "VTK_SMP_BACKEND_IN_USE" not in os.environ and vtkSMPTools.GetBackend() == "Sequential":
        vtkSMPTools.SetBackend("STDThread")
    return str(vtkSMPTools.GetBackend())


def lattice_sampling(thickness: float, step: float) -> SlabSampling:
    """Odd sample count for a slab whose samples are a whole number of ``step`` apart.

    Used by the cached slab (:class:`~.slab.SlabStack`): with the spacing a multiple of the
    scroll step, a scrolled slab shares its planes with the previous one. The spacing is
    ``step`` (``k * step`` when more than :data:`MAX_SLAB_SAMPLES` would be needed) and the
    thickness covered is ``samples * spacing``, within one spacing of ``thickness``.
    """
    if step <= 0:
        raise ValueError(f"slab step must be positive, got {step}")
    spacing = step * max(1, math.ceil(thickness / step / MAX_SLAB_SAMPLES - 1e-9))
    count = round(thickness / spacing)
    if count <= 1:
        return SlabSampling(1, step)
    return SlabSampling(min(count if count % 2 else count + 1, MAX_SLAB_SAMPLES), spacing)


def slab_sampling(thickness: float, step: float) -> SlabSampling:
    """Samples covering ``thickness`` mm about ``step`` apart (1 sample for a thin slice).

    The count is odd, so one sample lies on the plane itself, and the spacing is
    ``thickness / count`` (within a few % of ``step``) so the slab is exactly as thick
    as asked. Each sample stands for one spacing of thickness (midpoint rule), which is
    why VTK's trapezoid integration stays off.
    """
    if step <= 0:
        raise ValueError(f"slab step must be positive, got {step}")
    count = round(thickness / step)
    if count <= 1:
        return SlabSampling(1, step)
    count = min(count if count % 2 else count + 1, MAX_SLAB_SAMPLES)
    return SlabSampling(count, thickness / count)


class SliceResampler:
    """``vtkImageReslice`` configured from a :class:`SliceGeometry` and a slab.

    ``downsample`` > 1 samples every n-th pixel in both directions (used while the user
    drags a thick slab); the output then covers the same area with fewer, larger pixels.
    A thick slab at full resolution is sampled by :attr:`stack` (see :mod:`.slab`).
    """

    def __init__(self, source: VolumeImage | None = None) -> None:
        use_threaded_smp()
        self.stack = SlabStack()
        self.use_stack = False
        self.reslice = vtkImageReslice()
        self.reslice.SetInterpolationModeToLinear()
        # VTK's SMP tools split the output better than the classic threader (~25 % faster
        # oblique slices on two cores).
        self.reslice.SetEnableSMP(True)
        self.reslice.SetOutputDimensionality(2)
        self.reslice.AutoCropOutputOff()
        self.reslice.TransformInputSamplingOff()
        self.reslice.SlabTrapezoidIntegrationOff()
        self.source: VolumeImage | None = None
        self.geometry: SliceGeometry | None = None
        self.slab = SlabSampling(1, 1.0)
        self.downsample = 1
        if source is not None:
            self.set_source(source)

    def set_source(self, source: VolumeImage) -> None:
        self.source = source
        self.reslice.SetInputData(source.image)
        # Outside the scan shows as its darkest value (air), also for MinIP slabs.
        self.reslice.SetBackgroundLevel(source.scalar_range[0])
        self.stack.set_source(source)

    def output_port(self) -> vtkAlgorithmOutput:
        return self.reslice.GetOutputPort()

    def configure(
        self,
        geometry: SliceGeometry,
        *,
        step: float,
        slab_thickness: float = 0.0,
        slab_mode: SlabMode = SlabMode.MIP,
        downsample: int = 1,
        nearest: bool = False,
    ) -> None:
        """Point the re-slice at ``geometry``; ``step`` is the scroll step along the normal.

        ``nearest`` trades linear for nearest-neighbour interpolation (a preview while
        dragging an oblique slab, where it is about 4× faster). A thick slab without
        downsampling goes through :attr:`stack`, sampled every ``step`` mm (see
        :func:`lattice_sampling`); otherwise through ``vtkImageReslice``'s slab mode,
        sampled per :func:`slab_sampling`.
        """
        if self.source is None:
            raise RuntimeError("no volume to re-slice")
        f = max(1, int(downsample))
        if nearest:
            self.reslice.SetInterpolationModeToNearestNeighbor()
        else:
            self.reslice.SetInterpolationModeToLinear()
        plane = geometry.plane
        px = geometry.pixel_size
        # Output sample (i, j) sits at corner + (i * f + (f-1)/2) * px * x + (same) * y:
        # the centre of the f×f block of full-resolution pixels it replaces.
        diagonal = np.asarray(plane.x_axis) + np.asarray(plane.y_axis)
        corner = geometry.corner() + (f - 1) / 2.0 * px * diagonal
        axes = np.eye(4)
        axes[:3, :3] = plane.rotation
        axes[:3, 3] = corner
        cols, rows = math.ceil(geometry.width / f), math.ceil(geometry.height / f)
        self.geometry = geometry
        self.downsample = f
        lattice = lattice_sampling(slab_thickness, step)
        self.use_stack = f == 1 and lattice.samples > 1
        if self.use_stack:
            self.slab = lattice
            self.stack.configure(
                plane.rotation,
                corner,
                pixel_spacing=px,
                cols=cols,
                rows=rows,
                samples=lattice.samples,
                spacing=lattice.spacing,
                mode=SlabMode(slab_mode),
                nearest=nearest,
            )
            return
        self.reslice.SetResliceAxes(to_vtk_matrix(self.source.patient_to_grid @ axes))
        self.slab = slab_sampling(slab_thickness, step)
        self.reslice.SetSlabNumberOfSlices(self.slab.samples)
        {
            SlabMode.MIP: self.reslice.SetSlabModeToMax,
            SlabMode.MEAN: self.reslice.SetSlabModeToMean,
            SlabMode.MINIP: self.reslice.SetSlabModeToMin,
        }[SlabMode(slab_mode)]()
        self.reslice.SetOutputSpacing(px * f, px * f, self.slab.spacing)
        self.reslice.SetOutputOrigin(0.0, 0.0, 0.0)
        self.reslice.SetOutputExtent(0, cols - 1, 0, rows - 1, 0, 0)

    def update(self) -> NDArray[np.generic]:
        """Run the re-slice; the output as ``(rows, cols)`` with row 0 at the top (a view)."""
        if self.use_stack:
            return self.stack.update()[::-1]
        self.reslice.Update()
        return output_array(self.reslice.GetOutput())

    def sample_index(self, row: int, col: int) -> tuple[int, int]:
        """Index into :meth:`update`'s array of the full-resolution pixel ``(row, col)``."""
        assert self.geometry is not None
        f = self.downsample
        rows = math.ceil(self.geometry.height / f)
        return rows - 1 - (self.geometry.height - 1 - row) // f, col // f


def output_array(image: vtkImageData) -> NDArray[np.generic]:
    """A 2D ``vtkImageData``'s scalars as ``(rows, cols[, components])``, row 0 at the top."""
    dims = image.GetDimensions()
    scalars = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    shape = (dims[1], dims[0]) if scalars.ndim == 1 else (dims[1], dims[0], scalars.shape[1])
    return scalars.reshape(shape)[::-1]
