"""Thick-slab controls: thickness (0–30 mm) and MIP / mean / MinIP for each 2D view."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QWidget

from cbctviewer.core.view_state import MAX_SLAB_MM, SlabMode, SliceViewState, ViewerState, ViewKind
from cbctviewer.rendering.overlays import VIEW_COLOURS

MODE_NAMES = {SlabMode.MIP: "MIP (brightest)", SlabMode.MEAN: "Mean", SlabMode.MINIP: "MinIP (darkest)"}


class SlabRow:
    """Thickness spin box and mode combo of one view, bound to its :class:`SliceViewState`."""

    def __init__(self, view: SliceViewState, parent: QWidget) -> None:
        self.view = view
        self.thickness = QDoubleSpinBox(parent)
        self.thickness.setObjectName(f"slab_thickness_{view.kind.value}")
        self.thickness.setRange(0.0, MAX_SLAB_MM)
        self.thickness.setSingleStep(1.0)
        self.thickness.setDecimals(1)
        self.thickness.setSuffix(" mm")
        self.thickness.setSpecialValueText("thin slice")
        self.thickness.setToolTip("Slab thickness: 0 shows a thin slice; up to 30 mm")
        self.mode = QComboBox(parent)
        self.mode.setObjectName(f"slab_mode_{view.kind.value}")
        for mode, name in MODE_NAMES.items():
            self.mode.addItem(name, mode.value)
        self.mode.setToolTip("How the slab is shown: brightest (implants, teeth), mean, or darkest (canal)")
        self.thickness.valueChanged.connect(self._thickness_edited)
        self.mode.currentIndexChanged.connect(self._mode_edited)
        view.events.slab_thickness.connect(self._show)
        view.events.slab_mode.connect(self._show)
        self._show()

    def unbind(self) -> None:
        self.view.events.slab_thickness.disconnect(self._show)
        self.view.events.slab_mode.disconnect(self._show)

    def _thickness_edited(self, value: float) -> None:
        self.view.slab_thickness = value

    def _mode_edited(self, index: int) -> None:
        self.view.slab_mode = SlabMode(self.mode.itemData(index))

    def _show(self, *_: object) -> None:
        with QSignalBlocker(self.thickness), QSignalBlocker(self.mode):
            self.thickness.setValue(self.view.slab_thickness)
            self.mode.setCurrentIndex(self.mode.findData(self.view.slab_mode.value))


class SlabPanel(QGroupBox):
    """One row per 2D view, labelled in the view's crosshair colour."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__("Thick slab", parent)
        layout = QGridLayout(self)
        self.rows: dict[ViewKind, SlabRow] = {}
        for i, kind in enumerate(ViewKind):
            label = QLabel(kind.value.title(), self)
            colour = QColor.fromRgbF(*VIEW_COLOURS[kind]).darker(130).name()
            label.setStyleSheet(f"QLabel {{ border-left: 4px solid {colour}; padding-left: 4px; }}")
            row = SlabRow(state.views[kind], self)
            layout.addWidget(label, i, 0)
            layout.addWidget(row.thickness, i, 1)
            layout.addWidget(row.mode, i, 2)
            self.rows[kind] = row
        layout.setColumnStretch(1, 1)
        layout.setColumnStretch(2, 1)

    def unbind(self) -> None:
        for row in self.rows.values():
            row.unbind()
