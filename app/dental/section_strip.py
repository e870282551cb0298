"""The cross-section strip: several consecutive slices perpendicular to the arch.

Each section is re-sliced on the plane of :func:`cbctviewer.core.cross_sections.cross_section_plane`
(screen up = superior, screen right along the buccal normal) with the panoramic's height,
centred on the curve plane plus the panoramic's centre height. The current section (the
linked position) sits in the middle and is framed in green; the wheel steps the strip by
the interval; clicks route to the measuring tool (the implant-site tool measures down the
section), the canal trace or the implant placement, or else make that section current.
Measurement handles, canal points and implant ends lying in a section can be dragged in
its plane (the shoulder moves the implant, the apex turns its axis); a right click
deletes a canal point (:class:`~.handles.HandleEditing`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGridLayout, QWidget

from cbctviewer.core.cross_sections import cross_section_plane
from cbctviewer.core.geometry import SliceGeometry
from cbctviewer.core.measure_crossing import crossing_tolerance, measurement_crossing
from cbctviewer.rendering.reslice import SliceResampler
from cbctviewer.rendering.vtk_image import VolumeImage

from .handles import Handle, HandleEditing
from .image_view import CalibratedImageView
from .overlay_paint import paint_outlines, paint_plane_measurements, paint_rubber_band

if TYPE_CHECKING:
    from .workspace import DentalWorkspace

CURRENT_COLOUR = QColor(60, 255, 120)


class SectionView(HandleEditing, CalibratedImageView):
    """One cross-section at arc position :attr:`s_mm`."""

    def __init__(self, workspace: DentalWorkspace, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"dental_section_{index}")
        self.ws = workspace
        self.index = index
        self.s_mm = 0.0
        self.geometry_: SliceGeometry | None = None
        self.current = False

    def show_section(
        self, s_mm: float, geometry: SliceGeometry, pixels: NDArray[np.generic], *, current: bool
    ) -> None:
        """Show the re-sliced section at ``s_mm``."""
        self.s_mm, self.geometry_, self.current = s_mm, geometry, current
        self.set_image(pixels, pixel_mm=(geometry.pixel_size, geometry.pixel_size))

    def clear(self) -> None:
        """Show nothing."""
        self.geometry_ = None
        self.set_image(None, pixel_mm=(1.0, 1.0))

    def patient_at(self, position: QPointF) -> NDArray[np.float64] | None:
        """Patient point on the section under a widget position."""
        if self.geometry_ is None:
            return None
        row, col = self.widget_to_image(position)
        return np.asarray(self.geometry_.pixel_to_patient((row, col)), dtype=float)

    def widget_of(self, point: NDArray[np.float64]) -> QPointF:
        """Widget position of (the projection of) a patient point."""
        assert self.geometry_ is not None
        row, col = self.geometry_.patient_to_pixel(point)
        return self.image_to_widget(float(row), float(col))

    def _plane_to_widget(self, uv: NDArray[np.float64]) -> list[QPointF]:
        assert self.geometry_ is not None
        pixels = self.geometry_.plane_to_pixel(uv)
        return [self.image_to_widget(float(r), float(c)) for r, c in np.atleast_2d(pixels)]

    def tolerance_mm(self) -> float:
        """How near the section's plane something must lie to be drawn (and grabbed) in it."""
        return max(crossing_tolerance(slice_step_mm=self.ws.dental.cross_section_interval_mm), 0.5)

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.geometry_ is not None and self.press_handle(event):
            event.accept()
            return
        point = self.patient_at(event.position())
        if point is None or self.geometry_ is None or event.button() != Qt.MouseButton.LeftButton:
            return
        if not self.ws.route_click(point, self.geometry_.plane, "section", source=self):
            self.ws.set_position(self.s_mm)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.move_handle(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.release_handle()
        event.accept()

    def wheel_notches(self, notches: float, event: QWheelEvent) -> None:
        self.ws.step_position(notches)

    # -- handles --------------------------------------------------------------------------
    def collect_handles(self) -> list[Handle]:
        if self.geometry_ is None:
            return []
        plane, tolerance = self.geometry_.plane, self.tolerance_mm()
        handles: list[Handle] = []

        def near(points: NDArray[np.float64], limit: float) -> NDArray[np.bool_]:
            return np.asarray(np.abs(plane.to_plane(points)[:, 2]) <= limit)

        mset = self.ws.main.measure.measurements
        for m in mset if mset is not None else ():
            if measurement_crossing(m, plane, tolerance=tolerance).in_plane:
                handles += [Handle("measure", m.id, i, self.widget_of(p), p) for i, p in enumerate(m.array)]
        for side, canal in self.ws.dental.canals.items():
            points = np.asarray(canal.points, dtype=float)
            for i in np.flatnonzero(near(points, tolerance)):
                handles.append(Handle("canal", side, int(i), self.widget_of(points[i]), points[i]))
        for implant in self.ws.dental.implants.values():
            ends = implant.axis_points()
            for i in np.flatnonzero(near(ends, max(tolerance, implant.radius_mm))):
                handles.append(Handle("implant", implant.id, int(i), self.widget_of(ends[i]), ends[i]))
        return handles

    def drag_target(self, handle: Handle, press: QPointF, now: QPointF) -> NDArray[np.float64] | None:
        pressed, moved = self.patient_at(press), self.patient_at(now)
        if pressed is None or moved is None:
            return None
        return np.asarray(handle.point, dtype=float) + (moved - pressed)  # in-plane: depth kept

    def hover_point(self, position: QPointF) -> NDArray[np.float64] | None:
        return self.patient_at(position)

    # -- overlays -------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter) -> None:
        if self.geometry_ is None:
            return
        plane = self.geometry_.plane
        tolerance = self.tolerance_mm()
        paint_outlines(painter, self.ws.outlines_on(plane, tolerance_mm=tolerance), self._plane_to_widget)
        mset = self.ws.main.measure.measurements
        if mset is not None:
            paint_plane_measurements(painter, mset, plane, self._plane_to_widget, tolerance=tolerance)
        arch = self.ws.dental.arch
        if arch is not None:  # the arch's crossing: where the panoramic surface passes
            painter.setPen(QPen(QColor(255, 210, 60), 1.0, Qt.PenStyle.DotLine))
            point, _, _ = arch.frame_at(self.s_mm)
            centre = self.widget_of(point)
            painter.drawLine(centre - QPointF(6, 0), centre + QPointF(6, 0))
            painter.drawLine(centre - QPointF(0, 6), centre + QPointF(0, 6))
        if self.drawing_here():
            band = self.ws.main.measure.rubber_band()
            paint_rubber_band(painter, [self.widget_of(p) for p in band])
        self.paint_scale_bar(painter)
        painter.setPen(CURRENT_COLOUR if self.current else QColor(220, 220, 220))
        painter.drawText(QPointF(6, 14), f"{self.s_mm:.1f} mm")
        painter.setPen(QColor(160, 160, 160))
        painter.drawText(QPointF(self.width() - 14, self.height() / 2), "B")
        painter.drawText(QPointF(4, self.height() / 2), "L")
        if self.current:
            painter.setPen(QPen(CURRENT_COLOUR, 2.0))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))


class SectionStrip(QWidget):
    """A row of :class:`SectionView` s centred on the linked position."""

    def __init__(self, workspace: DentalWorkspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dental_sections")
        self.ws = workspace
        self.resampler: SliceResampler | None = None
        self.views: list[SectionView] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self._columns = 0

    def set_source(self, source: VolumeImage | None) -> None:
        """A new volume."""
        self.resampler = SliceResampler(source) if source is not None else None

    def _ensure_views(self, count: int) -> None:
        while len(self.views) < count:
            view = SectionView(self.ws, len(self.views), self)
            view.set_window(self.ws.viewer.window_level)
            view.hint_message.connect(self.ws.hint_message)
            self.views.append(view)
            self._columns = 0
        while len(self.views) > count:
            view = self.views.pop()
            self._grid.removeWidget(view)
            view.deleteLater()
            self._columns = 0
        self._arrange()

    def best_columns(self) -> int:
        """Columns of the grid that show the sections largest in the strip's rectangle."""
        n = max(1, len(self.views))
        spec = self.ws.dental.panoramic
        width_mm = self.ws.dental.cross_section_width_mm
        height_mm = spec.height_mm if spec is not None else width_mm

        def scale(columns: int) -> float:
            rows = math.ceil(n / columns)
            return min(self.width() / columns / width_mm, self.height() / rows / height_mm)

        return max(range(1, n + 1), key=lambda c: (scale(c), c))

    def _arrange(self) -> None:
        columns = self.best_columns()
        if columns == self._columns:
            return
        self._columns = columns
        for view in self.views:
            self._grid.removeWidget(view)
        for i, view in enumerate(self.views):
            self._grid.addWidget(view, i // columns, i % columns)
        for c in range(len(self.views) + 1):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)
        for r in range(len(self.views) + 1):
            self._grid.setRowStretch(r, 1 if r < math.ceil(len(self.views) / columns) else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._arrange()

    def section_geometry(self, s_mm: float) -> SliceGeometry | None:
        """The pixel grid of the section at ``s_mm`` (None without arch or volume)."""
        arch = self.ws.dental.arch
        if arch is None or self.resampler is None or self.resampler.source is None:
            return None
        volume = self.resampler.source.volume
        spec = self.ws.dental.panoramic
        pixel = max(float(min(volume.spacing)), 0.1)
        plane = cross_section_plane(arch, s_mm, offset_mm=0.0)
        origin = np.asarray(plane.origin) + spec.centre_height_mm * np.asarray(arch.up)
        width = max(2, math.ceil(self.ws.dental.cross_section_width_mm / pixel))
        height = max(2, math.ceil(spec.height_mm / pixel))
        return SliceGeometry(plane.moved_to(origin), pixel, width, height)

    def refresh(self) -> None:
        """Re-slice every section for the current position, interval and count."""
        positions = self.ws.section_positions()
        self._ensure_views(max(1, self.ws.dental.cross_section_count))
        current = self.ws.current_section_position()
        for i, view in enumerate(self.views):
            geometry = self.section_geometry(positions[i]) if i < len(positions) else None
            if geometry is None or self.resampler is None:
                view.clear()
                continue
            self.resampler.configure(geometry, step=geometry.pixel_size)
            pixels = np.array(self.resampler.update(), dtype=np.float32)
            view.show_section(positions[i], geometry, pixels, current=abs(positions[i] - current) < 1e-6)

    def set_window(self, window: object) -> None:
        for view in self.views:
            view.set_window(window)  # type: ignore[arg-type]

    def repaint_overlays(self) -> None:
        for view in self.views:
            view.update()
