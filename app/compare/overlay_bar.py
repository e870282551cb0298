"""The compare workspace's tool bar: which view, what is shown, and the chosen overlay's option.

:class:`OverlayBar` sets the options of its :class:`~.views.OverlayWidget` directly
(blend opacity, checkerboard square, difference limit and its colour legend, flicker
rate) and asks the workspace for a new view kind or overlay mode through its signals.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget

from cbctviewer.core.view_state import ViewKind
from cbctviewer.rendering.compare_overlay import OverlayMode, legend_rgb

from .views import OverlayWidget

__all__ = ["FOLLOW_TITLES", "OverlayBar"]

#: The follow-up pane's title in each mode (says how to read the overlay).
FOLLOW_TITLES = {
    OverlayMode.SIDE_BY_SIDE: "Follow-up",
    OverlayMode.BLEND: "Blend: baseline grey, follow-up orange",
    OverlayMode.CHECKERBOARD: "Checkerboard: baseline and follow-up squares",
    OverlayMode.DIFFERENCE: "Difference: follow-up − baseline (red: denser now, blue: less dense)",
    OverlayMode.FLICKER: "Flicker: baseline and follow-up alternate",
}


class OverlayBar(QWidget):
    """View kind and overlay mode choices, and the option of the overlay shown."""

    #: The user chose a view kind (:class:`ViewKind`).
    kind_chosen = Signal(object)
    #: The user chose an overlay mode (:class:`OverlayMode`).
    mode_chosen = Signal(object)

    def __init__(self, overlay: OverlayWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = overlay
        self.view_choice = QComboBox(self)
        self.view_choice.setObjectName("compare_view_kind")
        self.view_choice.addItems([k.value.capitalize() for k in ViewKind])
        self.mode_choice = QComboBox(self)
        self.mode_choice.setObjectName("compare_mode")
        self.mode_choice.addItems([m.value.capitalize() for m in OverlayMode])
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setObjectName("compare_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setMaximumWidth(140)
        self.square = QDoubleSpinBox(self)
        self.square.setRange(1.0, 50.0)
        self.square.setValue(5.0)
        self.square.setSuffix(" mm squares")
        self.limit = QDoubleSpinBox(self)
        self.limit.setRange(10.0, 5000.0)
        self.limit.setValue(1000.0)
        self.limit.setSingleStep(100.0)
        self.limit.setPrefix("± ")
        self.limit.setToolTip("Grey-value difference shown at full colour")
        self.rate = QDoubleSpinBox(self)
        self.rate.setRange(0.5, 10.0)
        self.rate.setValue(2.0)
        self.rate.setSuffix(" Hz")
        self.legend = QLabel(self)
        self.legend.setObjectName("compare_legend")
        self.legend_low = QLabel(self)
        self.legend_high = QLabel(self)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(QLabel("View:", self))
        row.addWidget(self.view_choice)
        row.addWidget(QLabel("Show:", self))
        row.addWidget(self.mode_choice)
        for widget in (
            self.opacity,
            self.square,
            self.limit,
            self.legend_low,
            self.legend,
            self.legend_high,
            self.rate,
        ):
            row.addWidget(widget)
        row.addStretch(1)

        self.view_choice.currentIndexChanged.connect(lambda i: self.kind_chosen.emit(list(ViewKind)[i]))
        self.mode_choice.currentIndexChanged.connect(lambda i: self.mode_chosen.emit(list(OverlayMode)[i]))
        self.opacity.valueChanged.connect(lambda v: overlay.set_option("opacity", v / 100.0))
        self.square.valueChanged.connect(lambda v: overlay.set_option("square_mm", v))
        self.limit.valueChanged.connect(self._set_limit)
        self.rate.valueChanged.connect(overlay.set_flicker_rate)

    def show_kind(self, kind: ViewKind) -> None:
        """Show ``kind`` as chosen (without asking for it again)."""
        index = list(ViewKind).index(kind)
        if self.view_choice.currentIndex() != index:
            self.view_choice.setCurrentIndex(index)

    def show_mode(self, mode: OverlayMode) -> None:
        """Show ``mode`` as chosen, with only its option visible."""
        self.opacity.setVisible(mode is OverlayMode.BLEND)
        self.square.setVisible(mode is OverlayMode.CHECKERBOARD)
        self.limit.setVisible(mode is OverlayMode.DIFFERENCE)
        for widget in (self.legend, self.legend_low, self.legend_high):
            widget.setVisible(mode is OverlayMode.DIFFERENCE)
        self.rate.setVisible(mode is OverlayMode.FLICKER)
        self._set_limit(self.limit.value())
        index = list(OverlayMode).index(mode)
        if self.mode_choice.currentIndex() != index:
            self.mode_choice.setCurrentIndex(index)

    def _set_limit(self, value: float) -> None:
        self.overlay.set_option("difference_limit", value)
        legend = np.ascontiguousarray(legend_rgb(width=120, height=12))
        image = QImage(
            legend.data, legend.shape[1], legend.shape[0], 3 * legend.shape[1], QImage.Format.Format_RGB888
        )
        self.legend.setPixmap(QPixmap.fromImage(image.copy()))
        self.legend_low.setText(f"−{value:g}")
        self.legend_high.setText(f"+{value:g} grey values")
        self.legend.setToolTip(f"−{value:g} … 0 … +{value:g} grey values (follow-up − baseline)")
