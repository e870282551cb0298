"""One 2D view of the MPR rendered by VTK: re-slice → window/level → textured quad + overlays.

:class:`SliceView` subscribes to a :class:`~cbctviewer.core.view_state.ViewerState`;
model changes only mark it dirty and emit :attr:`SliceView.needs_render`, so several
changes cost one update. :meth:`SliceView.render` brings the pipeline up to date, renders
(off-screen by default) and returns the frame as numpy RGB. A widget can instead embed
:attr:`SliceView.render_window` and call ``Render()`` on ``needs_render``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from psygnal import Signal
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkFiltersSources import vtkPlaneSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkRenderWindow, vtkTexture

from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.geometry import SliceGeometry
from cbctviewer.core.measure_crossing import crossing_tolerance
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.view_state import ViewerState, ViewKind

from .dental_overlay import DentalOverlay
from .grey import GreyMapper
from .measure_overlay import MeasureOverlay
from .offscreen import grab_rgb, new_render_window
from .overlays import SliceOverlays
from .reslice import SliceResampler
from .vtk_image import VolumeImage

_CAMERA_DISTANCE = 1000.0


@dataclass(frozen=True, slots=True)
class SliceProbe:
    """What a view shows at a patient point.

    ``row``/``col`` are the (fractional) pixel coordinates of the point's projection;
    ``depth`` its distance from the plane (mm, towards the viewer). ``value`` is the
    re-sliced grey value (after the slab) and ``grey`` the 8-bit windowed value displayed
    at the nearest pixel (overlays excluded); ``nan`` and -1 outside the viewport.
    """

    row: float
    col: float
    depth: float
    inside: bool
    value: float
    grey: int


class SliceView:
    """The axial, coronal or sagittal view of ``state``, rendered with VTK."""

    #: Emitted when the model changed and the view should be rendered again.
    needs_render = Signal()

    def __init__(
        self,
        state: ViewerState,
        kind: ViewKind,
        *,
        source: VolumeImage | None = None,
        render_window: vtkRenderWindow | None = None,
        offscreen: bool = True,
        overlays: bool = True,
    ) -> None:
        self.state = state
        self.kind = ViewKind(kind)
        self._show_overlays = overlays
        self.resampler = SliceResampler()
        self._source = source
        self._grey_mapper = GreyMapper()
        #: Display grey (uint8, VTK row order: bottom row first), shared with ``_display``.
        self._grey = np.zeros((0, 0), np.uint8)
        self._display = vtkImageData()
        self._grey_valid = False
        # A textured quad rather than vtkImageActor: the grey image goes to the GPU as is
        # (vtkImageActor converts it to RGBA first), ~3 ms less per frame on llvmpipe.
        self._quad = vtkPlaneSource()
        self._texture = vtkTexture()
        self._texture.SetInputData(self._display)
        self._texture.SetColorModeToDirectScalars()
        quad_mapper = vtkPolyDataMapper()
        quad_mapper.SetInputConnection(self._quad.GetOutputPort())
        self.actor = vtkActor()
        self.actor.SetMapper(quad_mapper)
        self.actor.SetTexture(self._texture)
        self.actor.GetProperty().LightingOff()
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        self.renderer.AddViewProp(self.actor)
        self.renderer.GetActiveCamera().ParallelProjectionOn()
        self.overlays = SliceOverlays(self.renderer, self.kind)
        self.measures = MeasureOverlay(self.renderer, self._on_change)
        self.dental = DentalOverlay(self.renderer, self._on_change)
        width, height = state.views[self.kind].viewport
        self.render_window = render_window or new_render_window(width, height, offscreen=offscreen)
        self.render_window.AddRenderer(self.renderer)
        self.geometry: SliceGeometry | None = None
        self._dirty = True
        state.events.all.connect(self._on_change)
        state.views[self.kind].events.all.connect(self._on_change)

    def _on_change(self, *_: object) -> None:
        self._dirty = True
        self.needs_render.emit()

    def set_measurements(self, measurements: MeasurementSet | None) -> None:
        """Draw (and follow) these measurements; ``None`` draws none."""
        self.measures.bind(measurements)

    def set_dental(self, state: DentalState | None) -> None:
        """Draw (and follow) the canals and implants of this dental state; ``None``: none."""
        self.dental.bind(state)

    def set_source(self, source: VolumeImage | None) -> None:
        """Share an already wrapped volume (e.g. one per scene instead of one per view)."""
        self._source = source
        self._on_change()

    @property
    def show_overlays(self) -> bool:
        """Whether crosshair, labels, scale bar and texts are drawn."""
        return self._show_overlays

    @show_overlays.setter
    def show_overlays(self, value: bool) -> None:
        self._show_overlays = bool(value)
        self._on_change()

    def close(self) -> None:
        """Stop listening to the model and release the window's GL resources."""
        self.state.events.all.disconnect(self._on_change)
        self.state.views[self.kind].events.all.disconnect(self._on_change)
        self.measures.bind(None)
        self.dental.bind(None)
        self.render_window.Finalize()

    # -- pipeline ---------------------------------------------------------------------
    def update(self) -> None:
        """Bring the VTK pipeline up to date with the model (no rendering)."""
        if not self._dirty:
            return
        self._dirty = False
        state, view = self.state, self.state.views[self.kind]
        width, height = view.viewport
        if tuple(self.render_window.GetSize()) != (width, height):
            self.render_window.SetSize(width, height)
        volume = state.volume
        self.actor.SetVisibility(volume is not None)
        self.geometry = geometry = state.slice_geometry(self.kind)
        if volume is None:
            self.overlays.update(state, geometry, slab=self.resampler.slab, visible=False)
            self.measures.update(geometry, tolerance=0.0, volume=None, visible=False)
            self.dental.update(geometry, tolerance=0.0, visible=False)
            return
        if self._source is None or self._source.volume is not volume:
            self._source = VolumeImage.from_volume(volume)
        if self.resampler.source is not self._source:
            self.resampler.set_source(self._source)
        step = state.slice_step(self.kind)
        grid_normal = self._source.patient_to_grid[:3, :3] @ state.normal(self.kind)
        oblique = float(np.max(np.abs(grid_normal))) < 1.0 - 1e-9
        thick = view.slab_thickness >= 2 * step
        # While the user drags a thick slab it gets a preview at every other pixel; an
        # oblique one (each sample interpolates 8 voxels in 2 slices, several times slower
        # than along the grid) also half as dense in depth and nearest-neighbour. Full
        # quality returns with the next still frame. Thin slices are cheap enough as is
        # (a half-resolution thin slice saved nothing: the magnified texture costs more).
        preview = state.interacting and thick
        self.resampler.configure(
            geometry,
            step=2 * step if preview and oblique and thick else step,
            slab_thickness=view.slab_thickness,
            slab_mode=view.slab_mode,
            downsample=2 if preview else 1,
            nearest=preview and oblique and thick,
        )
        self._grey_valid = False
        self._place_image(geometry)
        self.overlays.update(state, geometry, slab=self.resampler.slab, visible=self._show_overlays)
        tolerance = crossing_tolerance(slab_mm=view.slab_thickness, slice_step_mm=step)
        self.measures.update(geometry, tolerance=tolerance, volume=volume)
        self.dental.update(geometry, tolerance=tolerance)

    def _place_image(self, geometry: SliceGeometry) -> None:
        """Lay the texture on a quad and set a parallel camera: one sample = one screen pixel.

        World coordinates are plane mm from the bottom-left pixel centre, so the quad starts
        half a pixel before it. With ``f``× downsampling each texel covers f×f pixels.
        """
        px = geometry.pixel_size
        f = self.resampler.downsample
        cols, rows = math.ceil(geometry.width / f), math.ceil(geometry.height / f)
        edge = -px / 2.0
        self._quad.SetOrigin(edge, edge, 0.0)
        self._quad.SetPoint1(edge + cols * f * px, edge, 0.0)
        self._quad.SetPoint2(edge, edge + rows * f * px, 0.0)
        self._texture.SetInterpolate(f > 1)  # blocky 2× pixels would look wrong while dragging
        camera = self.renderer.GetActiveCamera()
        centre = ((geometry.width - 1) / 2.0 * px, (geometry.height - 1) / 2.0 * px)
        camera.SetFocalPoint(centre[0], centre[1], 0.0)
        camera.SetPosition(centre[0], centre[1], _CAMERA_DISTANCE)
        camera.SetViewUp(0.0, 1.0, 0.0)
        camera.SetParallelScale(geometry.height * px / 2.0)
        camera.SetClippingRange(1.0, 2.0 * _CAMERA_DISTANCE)

    def resliced(self) -> NDArray[np.generic]:
        """The re-sliced grey values ``(rows, cols)`` without rendering (a view, row 0 on top)."""
        self.update()
        if self.state.volume is None:
            width, height = self.state.views[self.kind].viewport
            return np.zeros((height, width), np.float32)
        return self.resampler.update()

    def grey(self) -> NDArray[np.uint8]:
        """The windowed 8-bit image shown under the overlays (a view, row 0 on top)."""
        self.update()
        if not self._grey_valid and self.state.volume is not None:
            raw = self.resampler.update()[::-1]  # back to VTK's bottom-first row order
            if self._grey.shape != raw.shape:
                self._grey = np.zeros(raw.shape, np.uint8)
                rows, cols = raw.shape
                self._display.SetDimensions(cols, rows, 1)
                self._display.GetPointData().SetScalars(
                    numpy_support.numpy_to_vtk(self._grey.reshape(-1), deep=False)
                )
            self._grey_mapper.map(raw, self.state.window_level, self._grey)
            self._display.Modified()
            self._grey_valid = True
        return self._grey[::-1]

    def render(self) -> NDArray[np.uint8]:
        """Render the view and return the frame, ``(height, width, 3)`` uint8."""
        self.grey()
        self.render_window.Render()
        return grab_rgb(self.render_window)

    # -- queries ----------------------------------------------------------------------
    def probe(self, point: ArrayLike) -> SliceProbe:
        """Where a patient point appears in this view and what is displayed there."""
        self.update()
        geometry = self.geometry
        assert geometry is not None
        row, col = (float(v) for v in geometry.patient_to_pixel(point))
        depth = float(geometry.depth(point))
        r, c = round(row), round(col)
        inside = 0 <= r < geometry.height and 0 <= c < geometry.width
        if not inside or self.state.volume is None:
            return SliceProbe(row, col, depth, inside, math.nan, -1)
        i, j = self.resampler.sample_index(r, c)
        grey = int(self.grey()[i, j])
        value = float(self.resampler.update()[i, j])
        return SliceProbe(row, col, depth, inside, value, grey)

    def label_texts(self) -> dict[str, str]:
        """Orientation labels at the view's edges (``right``, ``left``, ``top``, ``bottom``)."""
        self.update()
        return self.overlays.label_texts()
