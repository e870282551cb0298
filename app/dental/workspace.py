"""The dental workspace page: axial view with the arch, panoramic and cross-section strip, linked.

:class:`DentalWorkspace` binds the views to one :class:`~cbctviewer.core.dental_state.DentalState`
and the window's :class:`~cbctviewer.core.view_state.ViewerState` (volume, window/level):

- the arch edited on the axial view regenerates the panoramic on a worker thread (preview
  quality while dragging, full quality on release; the latest request wins);
- ``DentalState.position_mm`` is the linked marker: the panoramic's dashed line, the green
  tick and dot on the axial view and the framed (middle) section of the strip;
- the dental tools and the routing of clicks are :mod:`.dental_tools`; an arch proposal
  runs on a worker thread (:mod:`.arch_proposal`).

What the case file keeps is the ``DentalState`` (see :func:`cbctviewer.app.dental.install`);
:meth:`DentalWorkspace.restore` puts a saved one back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QSplitter, QWidget

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.dental_outlines import Outline, dental_outlines_on_plane
from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.geometry import Plane
from cbctviewer.core.volume import Volume
from cbctviewer.core.window_level import WindowLevel
from cbctviewer.rendering.vtk_image import VolumeImage

from .arch_proposal import ArchProposer
from .arch_view import ArchAxialView
from .canal_panel import CanalPanel
from .controls import DentalControls
from .dental_tools import DentalTools, tool_actions
from .fit import fitted_spec
from .implant_panel import ImplantPanel
from .panoramic_runner import PanoramicRunner
from .panoramic_view import PanoramicView
from .section_strip import SectionStrip

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow
    from cbctviewer.core.panoramic import PanoramicImage

__all__ = ["DentalWorkspace"]


class DentalWorkspace(QWidget, DentalTools):
    """The dental page of the main window."""

    #: A transient hint for the status bar.
    hint_message = Signal(str)
    #: A panoramic was shown (``preview``).
    panoramic_shown = Signal(bool)
    #: An arch proposal finished (``ArchCurve`` or None, message).
    proposal_finished = Signal(object, str)
    #: The Dental menu's workspace switch (set by :func:`cbctviewer.app.dental.install`).
    toggle_action: QAction

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("dental_workspace")
        self.window_ = window
        self.viewer = window.state
        self.dental = DentalState()
        self.panoramic_image: PanoramicImage | None = None
        self.runner = PanoramicRunner(self)
        self.runner.ready.connect(self._panoramic_ready)
        self.runner.failed.connect(lambda text: self.hint_message.emit(f"No panoramic: {text}"))
        self.proposer = ArchProposer(self)
        self.proposer.finished.connect(self._proposal_done)
        self.tool_group, self.tool_actions = tool_actions(self, self.set_dental_tool)
        self.dental_tool = None
        self.axial = ArchAxialView(self)
        self.panoramic_view = PanoramicView(self)
        self.strip = SectionStrip(self)
        self.controls = DentalControls(self)
        self.canal_panel = CanalPanel(self.dental)
        self.implant_panel = ImplantPanel(self.dental)
        self.controls.panels.addWidget(self.canal_panel)
        self.controls.panels.addWidget(self.implant_panel)
        self.bind_tool_panels()
        self._panels_bound = True
        self._layout()
        for view in (self.axial, self.panoramic_view):
            view.hint_message.connect(self.hint_message)
        self._strip_timer = QTimer(self, singleShot=True, interval=0)
        self._strip_timer.timeout.connect(self.strip.refresh)
        events = self.dental.events
        events.arch.connect(self._arch_changed)
        events.panoramic.connect(lambda _: self._request_panoramic(preview=False))
        events.panoramic.connect(lambda _: self.controls.follow_state())
        events.cross_sections.connect(self.controls.follow_state)
        events.position.connect(lambda _: self._position_changed())
        events.cross_sections.connect(self._position_changed)
        events.canals.connect(lambda *_: self.repaint_overlays())
        events.implants.connect(lambda *_: self.repaint_overlays())
        self.viewer.events.volume.connect(self._volume_changed)
        self.viewer.events.window_level.connect(self._window_changed)
        self._preview = False
        self._had_arch = self._restoring = False
        self._volume_changed(self.viewer.volume)

    @property
    def main(self) -> MainWindow:
        """The main window (measuring controller, status bar)."""
        return self.window_

    def _layout(self) -> None:
        # A dental suite's usual arrangement: the wide panoramic on top, the axial view with
        # the arch and the cross-section strip below it.
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.axial)
        bottom.addWidget(self.strip)
        bottom.setSizes([2000, 3000])
        views = QSplitter(Qt.Orientation.Vertical)
        views.addWidget(self.panoramic_view)
        views.addWidget(bottom)
        views.setSizes([2000, 3000])
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(self.controls.sizeHint().width() + 16)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(views, 1)
        row.addWidget(scroll)

    # -- position -------------------------------------------------------------------------
    def set_position(self, s_mm: float) -> None:
        """Move the linked position (clamped to the arch)."""
        arch = self.dental.arch
        if arch is None:
            return
        self.dental.position_mm = float(np.clip(s_mm, 0.0, arch.length_mm))

    def move_position_to(self, point: ArrayLike) -> None:
        """Move the linked position to the arch point nearest to a patient point."""
        arch = self.dental.arch
        if arch is not None:
            self.set_position(arch.locate(point)[0])

    def step_position(self, notches: float) -> None:
        """Step the strip by ``notches`` intervals (wheel forward = along the arch)."""
        self.set_position(self.dental.position_mm + round(notches) * self.dental.cross_section_interval_mm)

    def section_positions(self) -> list[float]:
        """Arc positions of the strip's sections, one of them exactly at the linked position.

        The run is centred on the position and shifted by whole intervals near the ends of
        the arch (so the marked section is always the one at the linked position).
        """
        arch = self.dental.arch
        if arch is None:
            return []
        d = self.dental
        count, step = d.cross_section_count, d.cross_section_interval_mm
        s = float(np.clip(d.position_mm, 0.0, arch.length_mm))
        before = count // 2
        before = min(before, int(np.floor(s / step + 1e-9)))
        before = max(before, count - 1 - int(np.floor((arch.length_mm - s) / step + 1e-9)))
        before = int(np.clip(before, 0, count - 1))
        raw = s + step * (np.arange(count) - before)
        return [float(v) for v in np.clip(raw, 0.0, arch.length_mm)]

    def current_section_position(self) -> float:
        """The strip position nearest to the linked position (the framed section)."""
        positions = self.section_positions()
        if not positions:
            return self.dental.position_mm
        return min(positions, key=lambda s: abs(s - self.dental.position_mm))

    def outlines_on(self, plane: Plane, *, tolerance_mm: float) -> list[Outline]:
        """Canal and implant outlines where they meet ``plane`` (plane mm polylines)."""
        return dental_outlines_on_plane(self.dental, plane, tolerance_mm=tolerance_mm)

    # -- arch -----------------------------------------------------------------------------
    def set_arch(self, curve: ArchCurve | None, *, preview: bool = False) -> None:
        """Store an edited arch; ``preview`` while dragging (one undo step, coarse panoramic)."""
        self._preview = preview
        try:
            self.dental.set_arch(curve, merge=preview)
        finally:
            self._preview = False

    def arch_edit_finished(self) -> None:
        """A drag ended: one undo step, full-quality panoramic."""
        self.dental.end_drag()
        self._request_panoramic(preview=False)

    def clear_arch(self) -> None:
        """Remove the arch (and a first point clicked for a new one)."""
        self.axial.pending = None
        self.dental.arch = None

    def propose_arch(self) -> None:
        """Propose an arch from the grey values (on a worker thread)."""
        volume = self.viewer.volume
        if volume is None:
            return
        self.hint_message.emit("Looking for the dental arch…")
        self.proposer.start(volume)

    def _proposal_done(self, curve: ArchCurve | None, message: str) -> None:
        if curve is not None and self.viewer.volume is not None:
            self.dental.arch = curve
            self.set_axial_height(curve.plane_height)
            self.hint_message.emit("Arch proposed: drag its points to adjust it")
        elif message:
            self.hint_message.emit(f"No arch proposed: {message}")
        self.proposal_finished.emit(curve, message)

    def _arch_changed(self, curve: ArchCurve | None) -> None:
        first, self._had_arch = not self._had_arch, curve is not None
        volume = self.viewer.volume
        if curve is not None and first and not self._restoring and volume is not None:
            self.dental.panoramic = fitted_spec(self.dental.panoramic, volume, curve)
        if curve is None:
            self.runner.cancel()
            self.panoramic_image = None
            self.panoramic_view.set_panoramic(None)
        else:
            if self.dental.position_mm > curve.length_mm:
                self.dental.position_mm = curve.length_mm
            self._request_panoramic(preview=self._preview)
        self._strip_timer.start()
        self.axial.update()

    def set_axial_height(self, height_mm: float) -> None:
        """Move the axial view's plane (patient height along ``up``)."""
        self.axial.set_height(height_mm)
        self.controls.follow_state()

    # -- updates --------------------------------------------------------------------------
    def _request_panoramic(self, *, preview: bool) -> None:
        volume, arch = self.viewer.volume, self.dental.arch
        if volume is None or arch is None or self.dental.panoramic is None:
            return
        self.runner.request(volume, arch, self.dental.panoramic, preview=preview)

    def _panoramic_ready(self, image: PanoramicImage, preview: bool) -> None:
        if image.curve != self.dental.arch and not self.runner.busy:
            return  # a stale result after the arch was cleared or replaced
        self.panoramic_image = image
        self.panoramic_view.set_panoramic(image, preview=preview)
        self.panoramic_shown.emit(preview)

    def _position_changed(self) -> None:
        self._strip_timer.start()
        self.panoramic_view.update()
        self.axial.update()

    def repaint_overlays(self) -> None:
        """Redraw the overlays of all dental views (canals, implants, measurements)."""
        self.panoramic_view.update()
        self.axial.update()
        self.strip.repaint_overlays()

    def _window_changed(self, window: WindowLevel) -> None:
        for view in (self.axial, self.panoramic_view):
            view.set_window(window)
        self.strip.set_window(window)

    def _volume_changed(self, volume: Volume | None) -> None:
        self.runner.cancel()
        source: VolumeImage | None = None
        if volume is None:
            self.dental.restore(None)
        else:  # its dental data comes with the case file's "dental" section, once the case opens
            # The grid's VTK wrapping of the same volume: no second copy for VTK.
            grid_source = self.main.grid.source
            shared = isinstance(grid_source, VolumeImage) and grid_source.volume is volume
            source = grid_source if shared else VolumeImage.from_volume(volume)
        self.panoramic_image = None
        self.panoramic_view.set_panoramic(None)
        self.strip.set_source(source)
        if volume is not None:
            self.axial.height_mm = float(self.viewer.volume_centre() @ self.axial.up)
        self.axial.set_source(source)
        self._window_changed(self.viewer.window_level)
        self.controls.follow_state()
        self.implant_panel.set_volume(volume)
        self._strip_timer.start()

    def restore(self, data: dict[str, Any] | None) -> None:
        """Restore a saved dental section (arch, canals, implants, settings)."""
        self._restoring = True
        try:
            self.dental.restore(data)
        finally:
            self._restoring = False
        arch = self.dental.arch
        if arch is not None:
            self.set_axial_height(arch.plane_height)
        self.controls.follow_state()

    def close_workspace(self) -> None:
        """Stop the workers (window closing)."""
        self.runner.cancel()
        self.runner.wait(5000)
        self.proposer.wait(5000)
        if self._panels_bound:  # the window may be closed more than once
            self._panels_bound = False
            self.canal_panel.unbind()
            self.implant_panel.unbind()
