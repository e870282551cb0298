"""The side panel: display, measurements, window/level, slab and 3D controls in a scrollable column."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from cbctviewer.app.views.grid import ViewGrid
from cbctviewer.core.view_state import ViewerState

from .display_panel import DisplayPanel
from .measure_panel import MeasurePanel
from .slab_panel import SlabPanel
from .volume_panel import VolumePanel
from .window_panel import WindowPanel

PANEL_WIDTH = 300


class SidePanel(QScrollArea):
    """All control groups; scrolls instead of cutting anything off on small screens."""

    def __init__(
        self,
        state: ViewerState,
        grid: ViewGrid,
        *,
        overlays: QAction,
        hide_patient: QAction,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("side_panel")
        self.setWidgetResizable(True)
        self.setMinimumWidth(PANEL_WIDTH)
        body = QWidget(self)
        column = QVBoxLayout(body)
        self.display = DisplayPanel(grid, overlays=overlays, hide_patient=hide_patient, parent=body)
        self.window_level = WindowPanel(state, body)
        self.slab = SlabPanel(state, body)
        self.volume = VolumePanel(state, body)
        self.measure = MeasurePanel(body)
        for group in (self.display, self.measure, self.window_level, self.slab, self.volume):
            column.addWidget(group)
        column.addStretch(1)
        self.setWidget(body)

    def unbind(self) -> None:
        """Disconnect every control from the model (before the window goes)."""
        self.window_level.unbind()
        self.slab.unbind()
        self.volume.unbind()
        self.measure.unbind()
