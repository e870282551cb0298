"""The panoramic view: the volume straightened along the arch, calibrated in mm.

Columns are arc length along the curve (``PanoramicImage.s_mm``), rows height along ``up``;
the widget keeps that aspect, so the picture is undistorted. A click moves the linked
position (the cross-section strip and the axial marker follow). Distances, polylines and
angles drawn here follow the curved surface (see :mod:`.panoramic_measure`): the view
collects their clicks and shows the rubber band; the other tools get the point on the
surface and the plane touching it. Measurement handles, canal points and implant ends
drawn here can be dragged (:class:`~.handles.HandleEditing`), along the surface at their
own buccal/lingual depth; a right click deletes a canal point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from cbctviewer.core.geometry import Plane
from cbctviewer.core.measurements import ROI_KINDS, Measurement, MeasurementKind, roi_outline

from .handles import Handle, HandleEditing
from .image_view import CalibratedImageView
from .overlay_paint import (
    CANAL_COLOURS,
    IMPLANT_COLOUR,
    MEASURE_COLOUR,
    draw_label,
    measure_label,
    paint_rubber_band,
    polyline_path,
)
from .panoramic_measure import (
    ANGLE_HINT,
    PANORAMIC_NOTE,
    SURFACE_TOOLS,
    Pixel,
    angle_pixels,
    angle_points,
    is_single_segment,
    path_length,
    pixel_size,
    project_onto,
    surface_polyline,
    to_arc,
    to_pixel,
)

if TYPE_CHECKING:
    from cbctviewer.core.panoramic import PanoramicImage

    from .workspace import DentalWorkspace

FloatArray = NDArray[np.float64]

MARKER_COLOUR = QColor(60, 255, 120)
TICK_COLOUR = QColor(90, 200, 255)
PANORAMIC_HINT = "On the panoramic, lengths follow the arch (true length along the curved surface)"
_NEEDED = {MeasurementKind.DISTANCE: 2, MeasurementKind.ANGLE: 3}
pixel_spacing = pixel_size  # the name other modules know
_REGION_HINT = "A region on the panoramic is measured in the plane touching the arch at its first point"
_PLANE_HINTS = {
    MeasurementKind.PROFILE: "Click its end. A profile samples the straight line between its ends "
    "(exact for vertical lines on the panoramic)",
    MeasurementKind.ELLIPSE: _REGION_HINT,
    MeasurementKind.POLYGON: _REGION_HINT,
}

__all__ = ["PanoramicView", "pixel_spacing", "project_onto"]


class PanoramicView(HandleEditing, CalibratedImageView):
    """Shows a :class:`PanoramicImage` with position marker, section ticks, canals, implants, measurements."""

    def __init__(self, workspace: DentalWorkspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dental_panoramic")
        self.ws = workspace
        self.hint = "The panoramic appears once the arch has two points"
        self.image: PanoramicImage | None = None
        self.preview = False
        #: Clicks so far of a distance, polyline or angle drawn here (pixels), and the cursor.
        self.clicks: list[Pixel] = []
        self.hover_pixel: Pixel | None = None
        #: Drawn vertices ``(s, h)`` of the surface measurements made here, by id.
        self.vertices: dict[str, list[Pixel]] = {}
        #: A surface measurement's vertices while one of them is dragged: ``(id, pixels)``.
        self._reshaping: tuple[str, list[Pixel]] | None = None
        self._navigating = False
        self._cache: dict[object, NDArray[np.float64]] = {}
        self._straight: dict[object, bool] = {}

    def set_panoramic(self, image: PanoramicImage | None, *, preview: bool = False) -> None:
        """Show a new panoramic (None: no arch)."""
        self.image, self.preview = image, preview
        self._cache, self._straight = {}, {}
        if image is None:
            self.drop_clicks()
            self.set_image(None, pixel_mm=(1.0, 1.0))
            return
        self.set_image(image.pixels, pixel_mm=pixel_size(image))

    @property
    def pending(self) -> Pixel | None:
        """The first click of a line being drawn (None when not drawing)."""
        return self.clicks[0] if self.clicks else None

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

    def pixels_of(self, points: NDArray[np.float64], key: object | None = None) -> NDArray[np.float64]:
        """``(row, col)`` of patient points on the panoramic (cached by ``key``)."""
        assert self.image is not None
        if key is not None and key in self._cache:
            return self._cache[key]
        rows, cols, _ = project_onto(self.image, points)
        rc = np.column_stack([rows, cols])
        if key is not None:
            self._cache[key] = rc
        return rc

    def _to_widget(self, rc: Any) -> list[QPointF]:
        return [self.image_to_widget(float(r), float(c)) for r, c in np.asarray(rc).reshape(-1, 2)]

    def _on_image(self, rc: FloatArray) -> NDArray[np.bool_]:
        rows, cols = self.image.shape if self.image is not None else (0, 0)
        r, c = np.asarray(rc).reshape(-1, 2).T
        return (r >= -0.5) & (r <= rows - 0.5) & (c >= -0.5) & (c <= cols - 0.5)

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
            self._surface_click(row, col)
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

    def _surface_click(self, row: float, col: float) -> None:
        tool = self.ws.main.measure.tool
        self.clicks.append((row, col))
        self.hover_pixel = None
        needed = _NEEDED.get(tool)  # type: ignore[arg-type]
        if needed is not None and len(self.clicks) >= needed:
            self._commit_clicks()
            return
        if tool == MeasurementKind.ANGLE:
            text = ("Click the vertex", "Click the second arm's end")[len(self.clicks) - 1]
            self.hint_message.emit(f"{text}. {ANGLE_HINT}")
        elif tool == MeasurementKind.POLYLINE:
            self.hint_message.emit(f"Click the next point (double-click or Enter ends). {PANORAMIC_HINT}")
        else:
            self.hint_message.emit(f"Click the end of the distance. {PANORAMIC_HINT}")
        self.update()

    def _commit_clicks(self) -> None:
        clicks, tool = list(self.clicks), self.ws.main.measure.tool
        self.drop_clicks()
        mset = self.ws.main.measure.measurements
        if self.image is None or mset is None:
            return
        kind = MeasurementKind.ANGLE if tool == MeasurementKind.ANGLE else MeasurementKind.POLYLINE
        measurement = Measurement.create(kind, self._surface_points(kind, clicks), note=PANORAMIC_NOTE)
        measurement = mset.add(measurement)
        self.vertices[measurement.id] = [to_arc(self.image, p) for p in clicks]
        self.hint_message.emit(self._describe(measurement))

    def _surface_points(self, kind: MeasurementKind, pixels: list[Pixel]) -> FloatArray:
        assert self.image is not None
        if kind == MeasurementKind.ANGLE:
            return angle_points(self.image, pixels)
        return surface_polyline(self.image, pixels)

    def _describe(self, m: Measurement) -> str:
        if m.kind == MeasurementKind.ANGLE:
            a, v, b = m.array
            cos = np.dot(a - v, b - v) / max(np.linalg.norm(a - v) * np.linalg.norm(b - v), 1e-12)
            return f"{m.label}: {np.degrees(np.arccos(np.clip(cos, -1, 1))):.1f}°. {ANGLE_HINT}"
        return f"{m.label}: {path_length(m.array):.1f} mm along the arch"

    def drop_clicks(self) -> None:
        """Forget a line being drawn (tool changed, Esc, new panoramic)."""
        if self.clicks:
            self.clicks, self.hover_pixel = [], None
            self.update()

    def finish_drawing(self) -> bool:
        if self.clicks and self.ws.main.measure.tool == MeasurementKind.POLYLINE:
            if len(self.clicks) >= 2:
                self._commit_clicks()
            return True
        return super().finish_drawing()

    def cancel_drawing(self) -> bool:
        if self.clicks:
            self.drop_clicks()
            return True
        return super().cancel_drawing()

    def handle_at(self, position: QPointF) -> Handle | None:
        return None if self.clicks else super().handle_at(position)

    def hover_point(self, position: QPointF) -> FloatArray | None:
        if self.image is None:
            return None
        row, col = self.widget_to_image(position)
        return np.asarray(self.image.pixel_to_patient(row, col), dtype=float)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._navigating and self.image is not None:
            _, col = self.widget_to_image(event.position())
            self.ws.set_position(self.s_of(col))
        elif self.clicks:
            self.hover_pixel = self.widget_to_image(event.position())
            self.update()
        else:
            self.move_handle(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._navigating = False
        self.release_handle()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self.finish_drawing():
            super().mouseDoubleClickEvent(event)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not self.editing_key(event):
            super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if self.takes_escape(event):
            event.accept()
            return True
        return super().event(event)

    def wheel_notches(self, notches: float, event: QWheelEvent) -> None:
        self.ws.step_position(notches)

    # -- handles --------------------------------------------------------------------------
    def collect_handles(self) -> list[Handle]:
        if self.image is None:
            return []
        handles: list[Handle] = []
        mset = self.ws.main.measure.measurements
        for m in mset if mset is not None else ():
            drawn = self._measure_pixels(m)
            if drawn is None:
                continue
            rc, vertex_pixels = drawn
            if vertex_pixels is not None:
                for i, p in enumerate(vertex_pixels):
                    handles.append(Handle("surface", m.id, i, self.image_to_widget(*p), m.array[0]))
            else:
                for i, (p, w) in enumerate(zip(m.array, self._to_widget(rc), strict=True)):
                    handles.append(Handle("measure", m.id, i, w, p))
        for side, canal in self.ws.dental.canals.items():
            points = np.asarray(canal.points)
            rc = self.pixels_of(points, ("canal-points", side, points.tobytes()))
            for i, (p, w, inside) in enumerate(
                zip(points, self._to_widget(rc), self._on_image(rc), strict=True)
            ):
                if inside:
                    handles.append(Handle("canal", side, i, w, p))
        for implant in self.ws.dental.implants.values():
            ends = implant.axis_points()
            for i, (p, w) in enumerate(zip(ends, self._to_widget(self.pixels_of(ends)), strict=True)):
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
        if handle.kind != "surface":
            super().apply_drag(handle, target, drag)
            return
        mset = self.ws.main.measure.measurements
        drawn = (
            self._measure_pixels(mset.get(handle.key)) if mset is not None and handle.key in mset else None
        )
        if drawn is None or drawn[1] is None:
            return
        pixels = list(self._reshaping[1]) if self._reshaping else list(drawn[1])
        pixels[handle.index] = self._drag_pixel
        self._reshaping = (handle.key, pixels)
        self.update()

    def finish_drag(self, drag: Any) -> None:
        reshaped, self._reshaping = self._reshaping, None
        if drag.handle.kind != "surface":
            super().finish_drag(drag)
            return
        mset = self.ws.main.measure.measurements
        if reshaped is None or mset is None or reshaped[0] not in mset or self.image is None:
            return
        old = mset.get(reshaped[0])
        points = self._surface_points(old.kind, reshaped[1])
        new = mset.replace(old.id, Measurement.create(old.kind, points, note=PANORAMIC_NOTE))  # one undo step
        self.vertices[new.id] = [to_arc(self.image, p) for p in reshaped[1]]
        self.ws.main.measure.select(new.id)
        self.hint_message.emit(self._describe(new))

    def _measure_pixels(self, m: Measurement) -> tuple[FloatArray, list[Pixel] | None] | None:
        """``(row, col)`` of a measurement drawn here and its drawn vertices (surface kinds),
        or None when it does not lie on the panoramic's surface."""
        image = self.image
        assert image is not None
        points = m.array
        key = ("m", m.id, points.tobytes())
        surface = m.note == PANORAMIC_NOTE and m.kind in (MeasurementKind.POLYLINE, MeasurementKind.ANGLE)
        probe = (
            points[1:2]
            if surface and m.kind == MeasurementKind.ANGLE
            else points[:: max(1, len(points) // 8)]
        )
        if key not in self._cache:
            offsets = project_onto(image, probe)[2]
            if np.max(np.abs(offsets - image.spec.offset_mm)) > image.spec.slab_mm / 2 + 1.0:
                self._cache[key] = np.zeros((0, 2))
        rc = self.pixels_of(points, key)
        if len(rc) == 0:
            return None
        if not surface:
            return rc, None
        known = self.vertices.get(m.id)
        if m.kind == MeasurementKind.ANGLE:
            vertex = to_pixel(image, known[1]) if known else (float(rc[1, 0]), float(rc[1, 1]))
            return rc, angle_pixels(image, points, vertex)
        if known is not None:
            return rc, [to_pixel(image, p) for p in known]
        ends = [(float(rc[0, 0]), float(rc[0, 1])), (float(rc[-1, 0]), float(rc[-1, 1]))]
        straight = self._straight.get(key)
        if straight is None:  # a path saved before: draggable by its ends if drawn in one stroke
            straight = self._straight[key] = is_single_segment(image, points, ends)
        return rc, ends if straight else None

    # -- overlays -------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter) -> None:
        image = self.image
        if image is None:
            return
        rows = image.pixels.shape[0]
        self._paint_ruler(painter, image)
        for s in self.ws.section_positions():
            col = self.col_of(s)
            top, bottom = self.image_to_widget(-0.5, col), self.image_to_widget(rows - 0.5, col)
            painter.setPen(QPen(TICK_COLOUR, 1.0))
            painter.drawLine(top, top + QPointF(0, 10))
            painter.drawLine(bottom, bottom - QPointF(0, 10))
        col = self.col_of(self.ws.dental.position_mm)
        painter.setPen(QPen(MARKER_COLOUR, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(self.image_to_widget(-0.5, col), self.image_to_widget(rows - 0.5, col))
        self._paint_canals(painter)
        self._paint_implants(painter)
        self._paint_measurements(painter)
        if self.clicks:
            band = [*self.clicks, *([self.hover_pixel] if self.hover_pixel is not None else [])]
            paint_rubber_band(painter, self._to_widget(band))
        elif self.drawing_here():
            paint_rubber_band(painter, self._to_widget(self.pixels_of(self.ws.main.measure.rubber_band())))
        self.paint_scale_bar(painter, top_right=True)
        painter.setPen(QColor(220, 220, 220))
        spec = image.spec
        text = f"Panoramic  slab {spec.slab_mm:g} mm {spec.slab_mode}  offset {spec.offset_mm:+g} mm"
        painter.drawText(QPointF(8, 16), text + ("  (preview)" if self.preview else ""))

    def _paint_ruler(self, painter: QPainter, image: PanoramicImage) -> None:
        """Arc-length ticks every 10 mm along the bottom edge."""
        rows = image.pixels.shape[0]
        painter.setPen(QPen(QColor(200, 200, 200), 1.0))
        for s in np.arange(0.0, float(image.s_mm[-1]) + 1e-6, 10.0):
            p = self.image_to_widget(rows - 0.5, self.col_of(float(s)))
            painter.drawLine(p, p - QPointF(0, 6))
            painter.drawText(p + QPointF(2, -8), f"{s:.0f}")

    def _paint_runs(self, painter: QPainter, rc: FloatArray) -> None:
        """A polyline, leaving out its parts off the image (above, below, beyond the ends)."""
        inside = self._on_image(rc)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            painter.drawPath(polyline_path(self._to_widget(rc[start:stop])))

    def _paint_canals(self, painter: QPainter) -> None:
        for side, canal in self.ws.dental.canals.items():
            points = np.asarray(canal.points)
            line = canal.centreline(0.5) if len(points) >= 2 else points
            rc = self.pixels_of(line, ("canal", side, points.tobytes()))
            painter.setPen(QPen(CANAL_COLOURS.get(side, QColor(255, 80, 80)), 2.0))
            self._paint_runs(painter, rc)
            handles = self.pixels_of(points, ("canal-points", side, points.tobytes()))
            for p in self._to_widget(handles[self._on_image(handles)]):
                painter.drawEllipse(p, 3.0, 3.0)

    def _paint_implants(self, painter: QPainter) -> None:
        assert self.image is not None
        per_mm_col = 1.0 / pixel_size(self.image)[0]
        painter.setPen(QPen(IMPLANT_COLOUR, 2.0))
        for implant in self.ws.dental.implants.values():
            ends = np.array([implant.shoulder, implant.apex], dtype=float)
            rc = self.pixels_of(ends, ("implant", implant.id, ends.tobytes(), implant.diameter_mm))
            half = implant.radius_mm * per_mm_col
            (r0, c0), (r1, c1) = rc
            corners = [(r0, c0 - half), (r0, c0 + half), (r1, c1 + half), (r1, c1 - half)]
            painter.drawPath(polyline_path(self._to_widget(np.array(corners)), closed=True))

    def _paint_measurements(self, painter: QPainter) -> None:
        """Measurements drawn on the panoramic (they lie on its surface)."""
        mset = self.ws.main.measure.measurements
        if mset is None or self.image is None:
            return
        painter.setPen(QPen(MEASURE_COLOUR, 2.0))
        for m in mset:
            drawn = self._measure_pixels(m)
            if drawn is None:
                continue
            rc, vertex_pixels = drawn
            reshaping = self._reshaping is not None and self._reshaping[0] == m.id
            if reshaping and self._reshaping is not None:
                vertex_pixels = self._reshaping[1]
            if vertex_pixels is not None and (reshaping or m.kind == MeasurementKind.ANGLE):
                rc = np.asarray(vertex_pixels, dtype=float)  # straight on the panoramic
            closed = m.kind in ROI_KINDS
            rc_line = rc
            if closed and m.plane is not None:
                uv = roi_outline(m, n=64)
                outline = m.plane.to_patient(np.column_stack([uv, np.zeros(len(uv))]))
                rc_line = self.pixels_of(outline, ("roi", m.id, m.array.tobytes()))
            widget = self._to_widget(rc_line)
            painter.drawPath(polyline_path(widget, closed=closed))
            ends = self._to_widget(vertex_pixels) if vertex_pixels is not None else self._to_widget(rc)
            for p in ends if vertex_pixels is not None or len(ends) <= 8 else (ends[0], ends[-1]):
                painter.drawEllipse(p, 3.0, 3.0)
            if m.label:
                draw_label(painter, widget[-1], measure_label(m))
                painter.setPen(QPen(MEASURE_COLOUR, 2.0))
