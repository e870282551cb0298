"""The panoramic view: the volume straightened along the arch, calibrated in mm.

Columns are arc length along the curve (``PanoramicImage.s_mm``), rows height along ``up``;
the widget keeps that aspect, so the picture is undistorted. A click moves the linked
position (the cross-section strip and the axial marker follow). Distances, polylines and
angles drawn here follow the curved surface (:mod:`.panoramic_surface` collects their
clicks and shows the rubber band; :mod:`.panoramic_measure` has the geometry); the other
tools get the point on the surface and the plane touching it. Measurement handles, canal
points and implant ends drawn here can be dragged (:class:`~.handles.HandleEditing`), along
the surface at their own buccal/lingual depth; a right click deletes a canal point. The
overlays are drawn by :func:`~.panoramic_paint.paint_panoramic`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QWidget

from cbctviewer.core.geometry import Plane
from cbctviewer.core.measurements import MeasurementKind

from .handles import Handle, HandleEditing
from .image_view import CalibratedImageView
from .panoramic_measure import SURFACE_TOOLS, Pixel, pixel_size, project_onto, to_arc
from .panoramic_paint import paint_panoramic
from .panoramic_surface import SurfaceDrawing

if TYPE_CHECKING:
    from cbctviewer.core.panoramic import PanoramicImage

    from .workspace import DentalWorkspace

FloatArray = NDArray[np.float64]

_REGION_HINT = "A region on the panoramic is measured in the plane touching the arch at its first point"
#: Hints after the first click of the tools measured in the plane touching the surface.
_PLANE_HINTS = {
    MeasurementKind.PROFILE: "Click its end. A profile samples the straight line between its ends "
    "(exact for vertical lines on the panoramic)",
    MeasurementKind.ELLIPSE: _REGION_HINT,
    MeasurementKind.POLYGON: _REGION_HINT,
}

__all__ = ["PanoramicView"]


class PanoramicView(HandleEditing, CalibratedImageView):
    """Shows a :class:`PanoramicImage` with position marker, section ticks, canals, implants, measurements."""

    def __init__(self, workspace: DentalWorkspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dental_panoramic")
        self.ws = workspace
        self.hint = "The panoramic appears once the arch has two points"
        self.image: PanoramicImage | None = None
        self.preview = False
        #: Distances, polylines and angles being drawn here, and the drawn vertices of those made.
        self.surface = SurfaceDrawing(self)
        self._navigating = False
        #: Pixel a dragged handle is at (set by :meth:`drag_target`).
        self._drag_pixel: Pixel = (0.0, 0.0)
        self._cache: dict[object, FloatArray] = {}

    def set_panoramic(self, image: PanoramicImage | None, *, preview: bool = False) -> None:
        """Show a new panoramic (None: no arch)."""
        self.image, self.preview = image, preview
        self._cache = {}
        self.surface.new_image()
        if image is None:
            self.drop_clicks()
            self.set_image(None, pixel_mm=(1.0, 1.0))
            return
        self.set_image(image.pixels, pixel_mm=pixel_size(image))

    @property
    def vertices(self) -> dict[str, list[Pixel]]:
        """Drawn vertices ``(s, h)`` of the surface measurements made here, by id."""
        return self.surface.vertices

    def drop_clicks(self) -> None:
        """Forget a line being drawn (tool changed, Esc, new panoramic)."""
        self.surface.drop()

    # -- mapping --------------------------------------------------------------------------
    def col_of(self, s_mm: float) -> float:
        """Fractional column of arc position ``s_mm``."""
        assert self.image is not None
        s = self.image.s_mm
        return float(np.interp(s_mm, s, np.arange(len(s), dtype=float)))

    def s_of(self, col: float) -> float:
        """Arc position (mm) of a fractional column."""
        assert self.image is not None
        s = self.image.s_mm
        return float(np.interp(col, np.arange(len(s), dtype=float), s))

    def pixels_of(self, points: ArrayLike, key: object | None = None) -> FloatArray:
        """``(row, col)`` of patient points on the panoramic (cached by ``key``)."""
        assert self.image is not None
        if key is not None and key in self._cache:
            return self._cache[key]
        rows, cols, _ = project_onto(self.image, points)
        rc = np.column_stack([rows, cols])
        if key is not None:
            self._cache[key] = rc
        return rc

    def pixels_to_widget(self, rc: ArrayLike) -> list[QPointF]:
        """Widget positions of fractional pixels ``(row, col)``."""
        return [self.image_to_widget(float(r), float(c)) for r, c in np.asarray(rc).reshape(-1, 2)]

    def pixels_on_image(self, rc: ArrayLike) -> NDArray[np.bool_]:
        """Which fractional pixels ``(row, col)`` lie on the picture."""
        rows, cols = self.image.shape if self.image is not None else (0, 0)
        r, c = np.asarray(rc).reshape(-1, 2).T
        return np.asarray((r >= -0.5) & (r <= rows - 0.5) & (c >= -0.5) & (c <= cols - 0.5))

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.image is None or self.press_handle(event):
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        row, col = self.widget_to_image(event.position())
        if not self.contains_pixel(row, col):
            return
        image = self.image
        point = np.asarray(image.pixel_to_patient(row, col), dtype=float)
        measure = self.ws.main.measure
        if measure.tool in SURFACE_TOOLS and measure.measurements is not None:
            self.surface.click(row, col)
        elif measure.tool is not None:
            _, tangent, _ = image.curve.frame_at(self.s_of(col))
            plane = Plane.from_axes(point, tangent, image.curve.up)
            self.ws.route_click(point, plane, "panoramic", source=self)
            if measure.tool in _PLANE_HINTS and measure.pending:
                self.hint_message.emit(_PLANE_HINTS[measure.tool])
        elif not self.ws.route_click(point, None, "panoramic", source=self):
            self._navigating = True
            self.ws.set_position(self.s_of(col))
        event.accept()

    def finish_drawing(self) -> bool:
        return self.surface.finish() or super().finish_drawing()

    def cancel_drawing(self) -> bool:
        if self.surface.clicks:
            self.surface.drop()
            return True
        return super().cancel_drawing()

    def handle_at(self, position: QPointF) -> Handle | None:
        return None if self.surface.clicks else super().handle_at(position)

    def hover_point(self, position: QPointF) -> FloatArray | None:
        if self.image is None:
            return None
        row, col = self.widget_to_image(position)
        return np.asarray(self.image.pixel_to_patient(row, col), dtype=float)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._navigating and self.image is not None:
            _, col = self.widget_to_image(event.position())
            self.ws.set_position(self.s_of(col))
        elif self.surface.clicks:
            self.surface.hover(self.widget_to_image(event.position()))
        else:
            self.move_handle(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._navigating = False
        self.release_handle()
        event.accept()

    def wheel_notches(self, notches: float, event: QWheelEvent) -> None:
        self.ws.step_position(notches)

    # -- handles --------------------------------------------------------------------------
    def collect_handles(self) -> list[Handle]:
        if self.image is None:
            return []
        handles: list[Handle] = []
        mset = self.ws.main.measure.measurements
        for m in mset if mset is not None else ():
            drawn = self.surface.drawn(m)
            if drawn is None:
                continue
            rc, vertex_pixels = drawn
            if vertex_pixels is not None:
                for i, p in enumerate(vertex_pixels):
                    handles.append(Handle("surface", m.id, i, self.image_to_widget(*p), m.array[0]))
            else:
                for i, (p, w) in enumerate(zip(m.array, self.pixels_to_widget(rc), strict=True)):
                    handles.append(Handle("measure", m.id, i, w, p))
        for side, canal in self.ws.dental.canals.items():
            points = np.asarray(canal.points)
            rc = self.pixels_of(points, ("canal-points", side, points.tobytes()))
            for i, (p, w, inside) in enumerate(
                zip(points, self.pixels_to_widget(rc), self.pixels_on_image(rc), strict=True)
            ):
                if inside:
                    handles.append(Handle("canal", side, i, w, p))
        for implant in self.ws.dental.implants.values():
            ends = implant.axis_points()
            for i, (p, w) in enumerate(zip(ends, self.pixels_to_widget(self.pixels_of(ends)), strict=True)):
                handles.append(Handle("implant", implant.id, i, w, p))
        return handles

    def drag_target(self, handle: Handle, press: QPointF, now: QPointF) -> FloatArray | None:
        image = self.image
        if image is None:
            return None
        start, pressed, moved = (self.widget_to_image(p) for p in (handle.position, press, now))
        rows, cols = image.shape
        row = float(np.clip(start[0] + moved[0] - pressed[0], 0.0, rows - 1.0))
        col = float(np.clip(start[1] + moved[1] - pressed[1], 0.0, cols - 1.0))
        self._drag_pixel = (row, col)
        s, h = to_arc(image, (row, col))
        depth = image.spec.offset_mm  # measurements lie on the surface; canals and implants keep theirs
        if handle.kind in ("canal", "implant"):
            depth = float(project_onto(image, handle.point)[2][0])
        return np.asarray(image.curve.point_at(s, depth, h), dtype=float)

    def apply_drag(self, handle: Handle, target: FloatArray, drag: Any) -> None:
        if handle.kind == "surface":
            self.surface.reshape(handle, self._drag_pixel)
        else:
            super().apply_drag(handle, target, drag)

    def finish_drag(self, drag: Any) -> None:
        if drag.handle.kind == "surface":
            self.surface.finish_reshape()
        else:
            super().finish_drag(drag)

    # -- overlays -------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter) -> None:
        paint_panoramic(self, painter)
