"""The axial view of the dental workspace: an axial slab with the arch curve drawn and edited on it.

With the arch tool on, a left click adds a control point (at the end of the curve it is
nearest to, or between two control points when it lands on the curve), a left drag on a
control point moves it and a right click removes it. Without a dental tool a click on the
curve moves the linked position (the current cross-section). Otherwise a canal's control
points can be dragged (in the axial plane, their height kept) and right-clicked away. The
wheel moves the axial plane up and down, Ctrl+wheel zooms.

The image is re-sliced from the volume with :class:`~cbctviewer.rendering.reslice.SliceResampler`
on the scan-aligned axial plane (screen right = patient left, screen up = anterior, as in
the four views), optionally as a MIP slab so that the whole crown height shows.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.geometry import Plane, SliceGeometry, scan_aligned_axes
from cbctviewer.core.measure_crossing import measurement_crossing
from cbctviewer.core.view_state import SlabMode
from cbctviewer.rendering.reslice import SliceResampler
from cbctviewer.rendering.vtk_image import VolumeImage

from .handles import Handle, HandleEditing
from .image_view import CalibratedImageView
from .overlay_paint import (
    CANAL_COLOURS,
    MARKER_COLOUR,
    TICK_COLOUR,
    paint_outlines,
    paint_plane_measurements,
    paint_rubber_band,
    polyline_path,
)

if TYPE_CHECKING:
    from .workspace import DentalWorkspace

#: How close (widget pixels) a press must be to grab a control point or hit the curve.
GRAB_PX = 9.0
CURVE_COLOUR = QColor(255, 140, 40)
HANDLE_COLOUR = QColor(255, 100, 20)


def axial_geometry(source: VolumeImage, height_mm: float) -> SliceGeometry:
    """The scan-aligned axial plane at patient height ``height_mm`` covering the whole scan."""
    volume = source.volume
    axes = scan_aligned_axes(np.asarray(volume.direction).reshape(3, 3))
    x_axis, y_axis, up = axes[:, 0], -axes[:, 1], axes[:, 2]
    spacing = np.asarray(volume.spacing, dtype=float)
    pixel = float(min(spacing[0], spacing[1]))
    corners = np.array(
        [
            volume.index_to_patient((i, j, k))
            for i in (0, volume.size[0] - 1)
            for j in (0, volume.size[1] - 1)
            for k in (0,)
        ]
    )
    centre = corners.mean(axis=0)
    centre = centre + (height_mm - float(centre @ up)) * up
    extent_x = float(np.ptp(corners @ x_axis)) + pixel
    extent_y = float(np.ptp(corners @ y_axis)) + pixel
    plane = Plane.from_axes(centre, x_axis, y_axis)
    return SliceGeometry(plane, pixel, max(1, round(extent_x / pixel)), max(1, round(extent_y / pixel)))


class ArchAxialView(HandleEditing, CalibratedImageView):
    """Axial slab with the arch, its control points, cross-section ticks and the position marker."""

    #: The arch was dragged (True while dragging, False on release).
    arch_dragging = Signal(bool)

    def __init__(self, workspace: DentalWorkspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dental_axial")
        self.ws = workspace
        self.hint = "Open a scan, then click points along the dental arch (Dental › Arch points)"
        self.geometry_: SliceGeometry | None = None
        self.resampler: SliceResampler | None = None
        self.height_mm = 0.0
        self.slab_mm = 6.0
        #: The first clicked point while the arch has fewer than two.
        self.pending: NDArray[np.float64] | None = None
        self._drag_index: int | None = None
        self._navigating = False

    # -- image ----------------------------------------------------------------------------
    def set_source(self, source: VolumeImage | None) -> None:
        """A new volume (None: nothing to show)."""
        self.pending = None
        if source is None:
            self.resampler = self.geometry_ = None
            self.set_image(None, pixel_mm=(1.0, 1.0))
            return
        self.resampler = SliceResampler(source)
        self.reset_zoom()
        self.resample()

    @property
    def up(self) -> NDArray[np.float64]:
        """Patient direction of the axial plane's normal towards the head."""
        if self.geometry_ is None:
            return np.array([0.0, 0.0, 1.0])
        plane = self.geometry_.plane
        return -np.asarray(plane.normal)

    def set_height(self, height_mm: float) -> None:
        """Move the axial plane to ``height_mm`` along ``up`` (patient mm)."""
        self.height_mm = float(height_mm)
        self.resample()

    def set_slab(self, slab_mm: float) -> None:
        """Thickness of the axial MIP slab (0: a thin slice)."""
        self.slab_mm = max(0.0, float(slab_mm))
        self.resample()

    def resample(self) -> None:
        """Re-slice the axial image at the current height and slab."""
        if self.resampler is None or self.resampler.source is None:
            return
        geometry = axial_geometry(self.resampler.source, self.height_mm)
        self.geometry_ = geometry
        step = float(min(self.resampler.source.volume.spacing))
        self.resampler.configure(geometry, step=step, slab_thickness=self.slab_mm, slab_mode=SlabMode.MIP)
        pixels = np.array(self.resampler.update(), dtype=np.float32)
        self.set_image(pixels, pixel_mm=(geometry.pixel_size, geometry.pixel_size))

    # -- mapping --------------------------------------------------------------------------
    def patient_at(self, position: QPointF) -> NDArray[np.float64] | None:
        """Patient point on the axial plane under a widget position."""
        if self.geometry_ is None:
            return None
        row, col = self.widget_to_image(position)
        return np.asarray(self.geometry_.pixel_to_patient((row, col)), dtype=float)

    def widget_point(self, point: NDArray[np.float64]) -> QPointF:
        """Widget position of the projection of a patient point."""
        assert self.geometry_ is not None
        row, col = self.geometry_.patient_to_pixel(point)
        return self.image_to_widget(float(row), float(col))

    def widget_points(self, points: NDArray[np.float64]) -> list[QPointF]:
        """Widget positions of many patient points (projected)."""
        assert self.geometry_ is not None
        pixels = self.geometry_.patient_to_pixel(points)
        return [self.image_to_widget(float(r), float(c)) for r, c in pixels]

    def _nearest_handle(self, position: QPointF) -> int | None:
        arch = self.ws.dental.arch
        if arch is None or self.geometry_ is None:
            return None
        handles = self.widget_points(arch.control_points)
        distances = [math.hypot(h.x() - position.x(), h.y() - position.y()) for h in handles]
        best = int(np.argmin(distances))
        return best if distances[best] <= GRAB_PX else None

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        point = self.patient_at(event.position())
        if point is None:
            return
        button = event.button()
        if self.ws.dental_tool != "arch" and self.press_handle(event):
            event.accept()
            return
        if self.ws.dental_tool == "arch":
            try:
                self._arch_press(point, event)
            except ValueError as exc:  # e.g. two clicks on one spot: no curve through them
                self.hint_message.emit(f"That point does not make an arch: {exc}")
        elif button == Qt.MouseButton.LeftButton:
            plane = self.geometry_.plane if self.geometry_ is not None else None
            if not self.ws.route_click(point, plane, "axial", source=self):
                self._navigating = True
                self.ws.move_position_to(point)
        event.accept()

    def _arch_press(self, point: NDArray[np.float64], event: QMouseEvent) -> None:
        arch = self.ws.dental.arch
        handle = self._nearest_handle(event.position())
        if event.button() == Qt.MouseButton.RightButton:
            if handle is not None and arch is not None:
                if len(arch.control_points) > 2:
                    self.ws.set_arch(arch.removed(handle))
                else:
                    self.pending = arch.control_points[1 - handle].copy()
                    self.ws.set_arch(None)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if handle is not None:
            self._drag_index = handle
            self.arch_dragging.emit(True)
            return
        if arch is None:
            if self.pending is None:
                self.pending = point
                self.update()
            else:
                new = ArchCurve(np.vstack([self.pending, point]), self.up)
                self.pending = None
                self.ws.set_arch(new)
            return
        self.ws.set_arch(arch.inserted(self._insert_index(arch, point, event.position()), point))

    def _insert_index(self, arch: ArchCurve, point: NDArray[np.float64], position: QPointF) -> int:
        """On the curve: between its control points; off it: at the nearer end."""
        s, offset, _ = arch.locate(point)
        if abs(offset) * self.widget_per_mm() <= GRAB_PX and 0.0 < s < arch.length_mm:
            return arch.insert_index(point)
        first, last = arch.control_points[0], arch.control_points[-1]
        return 0 if np.linalg.norm(point - first) < np.linalg.norm(point - last) else len(arch.control_points)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point = self.patient_at(event.position())
        if point is None:
            return
        arch = self.ws.dental.arch
        if self.dragging:
            self.move_handle(event)
        elif self._drag_index is not None and arch is not None:
            with contextlib.suppress(ValueError):  # dragged onto the other end of a 2-point arch
                self.ws.set_arch(arch.moved(self._drag_index, point), preview=True)
        elif self._navigating:
            self.ws.move_position_to(point)
        elif self.ws.dental_tool == "arch":
            on_handle = self._nearest_handle(event.position()) is not None
            self.setCursor(Qt.CursorShape.OpenHandCursor if on_handle else Qt.CursorShape.CrossCursor)
        else:
            self.move_handle(event)  # not dragging: the cursor shows what is grabbable

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.release_handle()
        if self._drag_index is not None:
            self._drag_index = None
            self.arch_dragging.emit(False)
            self.ws.arch_edit_finished()
        self._navigating = False
        event.accept()

    def wheel_notches(self, notches: float, event: QWheelEvent) -> None:
        if self.resampler is None or self.resampler.source is None:
            return
        step = float(min(self.resampler.source.volume.spacing))
        fast = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        self.ws.set_axial_height(self.height_mm + notches * step * fast)

    # -- canal handles ------------------------------------------------------------------
    def measure_tolerance_mm(self) -> float:
        """How near the axial plane a measurement must lie to be drawn (and grabbed) here."""
        return max(self.slab_mm / 2, 1.0)

    def collect_handles(self) -> list[Handle]:
        if self.geometry_ is None:
            return []
        handles = []
        mset = self.ws.main.measure.measurements
        plane, tolerance = self.geometry_.plane, self.measure_tolerance_mm()
        for m in mset if mset is not None else ():
            if measurement_crossing(m, plane, tolerance=tolerance).in_plane:
                handles += [
                    Handle("measure", m.id, i, self.widget_point(p), p) for i, p in enumerate(m.array)
                ]
        for side, canal in self.ws.dental.canals.items():
            points = np.asarray(canal.points, dtype=float)
            for i, (p, w) in enumerate(zip(points, self.widget_points(points), strict=True)):
                handles.append(Handle("canal", side, i, w, p))
        return handles

    def hover_point(self, position: QPointF) -> NDArray[np.float64] | None:
        return self.patient_at(position)

    def drag_target(self, handle: Handle, press: QPointF, now: QPointF) -> NDArray[np.float64] | None:
        pressed, moved = self.patient_at(press), self.patient_at(now)
        if pressed is None or moved is None:
            return None
        return np.asarray(handle.point, dtype=float) + (moved - pressed)  # in the axial plane

    # -- overlays -------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter) -> None:
        if self.geometry_ is None:
            return
        dental = self.ws.dental
        arch = dental.arch
        paint_outlines(
            painter,
            self.ws.outlines_on(self.geometry_.plane, tolerance_mm=self.measure_tolerance_mm()),
            self._plane_to_widget,
        )
        mset = self.ws.main.measure.measurements
        if mset is not None:  # under the arch and the canals, which stay visible
            plane, tolerance = self.geometry_.plane, self.measure_tolerance_mm()
            paint_plane_measurements(painter, mset, plane, self._plane_to_widget, tolerance=tolerance)
        if arch is not None:
            painter.setPen(QPen(CURVE_COLOUR, 2.0))
            painter.drawPath(polyline_path(self.widget_points(arch.frames(0.5).points)))
            self._paint_ticks(painter, arch)
            painter.setPen(QPen(QColor(0, 0, 0), 1.0))
            painter.setBrush(HANDLE_COLOUR)
            for handle in self.widget_points(arch.control_points):
                painter.drawEllipse(handle, 5.0, 5.0)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        self._paint_canals(painter)  # over the arch: the canal runs right below it
        if self.pending is not None:
            painter.setPen(QPen(QColor(0, 0, 0), 1.0))
            painter.setBrush(HANDLE_COLOUR)
            painter.drawEllipse(self.widget_point(self.pending), 5.0, 5.0)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.drawing_here():
            paint_rubber_band(painter, self.widget_points(self.ws.main.measure.rubber_band()))
        self.paint_scale_bar(painter)
        painter.setPen(QColor(220, 220, 220))
        painter.drawText(QPointF(8, 16), f"Axial  z {self.height_mm:.1f} mm  MIP {self.slab_mm:g} mm")

    def _plane_to_widget(self, uv: NDArray[np.float64]) -> list[QPointF]:
        assert self.geometry_ is not None
        pixels = self.geometry_.plane_to_pixel(uv)
        return [self.image_to_widget(float(r), float(c)) for r, c in np.atleast_2d(pixels)]

    def _paint_ticks(self, painter: QPainter, arch: ArchCurve) -> None:
        positions = self.ws.section_positions()
        half = self.ws.dental.cross_section_width_mm / 2.0
        current = self.ws.dental.position_mm
        for s in positions:
            point, _, normal = arch.frame_at(s)
            ends = self.widget_points(np.array([point - half * normal, point + half * normal]))
            is_current = abs(s - current) < 1e-6
            painter.setPen(QPen(MARKER_COLOUR if is_current else TICK_COLOUR, 2.0 if is_current else 1.0))
            painter.drawLine(ends[0], ends[1])
        point, _, _ = arch.frame_at(current)
        painter.setPen(QPen(QColor(0, 0, 0), 1.0))
        painter.setBrush(MARKER_COLOUR)
        painter.drawEllipse(self.widget_point(point), 4.0, 4.0)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_canals(self, painter: QPainter) -> None:
        """Canals projected onto the axial plane (they run below it), dashed."""
        for side, canal in self.ws.dental.canals.items():
            pen = QPen(CANAL_COLOURS.get(side, QColor(255, 80, 80)), 2.0, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            line = canal.centreline(0.5)
            if len(line) >= 2:
                painter.drawPath(polyline_path(self.widget_points(line)))
            for p in self.widget_points(np.asarray(canal.points)):
                painter.drawEllipse(p, 3.0, 3.0)


__all__ = ["ArchAxialView", "axial_geometry"]
