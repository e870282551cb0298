"""Layout and overlay switches (mirrors of the View menu's checkable actions)."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QWidget

from cbctviewer.app.views.grid import Layout, ViewGrid

LAYOUT_NAMES = {Layout.GRID: "2 × 2", Layout.ONE_PLUS_THREE: "1 + 3"}


class DisplayPanel(QGroupBox):
    """Layout choice plus check boxes tied to the View menu's toggle actions."""

    def __init__(
        self, grid: ViewGrid, *, overlays: QAction, hide_patient: QAction, parent: QWidget | None = None
    ) -> None:
        super().__init__("Display", parent)
        self.grid = grid
        form = QFormLayout(self)
        self.layout_box = QComboBox(self)
        self.layout_box.setObjectName("layout")
        for layout, name in LAYOUT_NAMES.items():
            self.layout_box.addItem(name, layout.value)
        form.addRow("Layout", self.layout_box)
        self.overlays = _mirror(QCheckBox("Show labels, scale and crosshair", self), overlays)
        self.hide_patient = _mirror(QCheckBox("Hide patient info (screen sharing)", self), hide_patient)
        form.addRow(self.overlays)
        form.addRow(self.hide_patient)
        self.layout_box.currentIndexChanged.connect(lambda i: grid.set_layout(self.layout_box.itemData(i)))
        grid.layout_changed.connect(self._show)
        self._show()

    def _show(self) -> None:
        with QSignalBlocker(self.layout_box):
            self.layout_box.setCurrentIndex(self.layout_box.findData(self.grid.layout_mode.value))


def _mirror(check: QCheckBox, action: QAction) -> QCheckBox:
    """A check box that shows and drives a checkable action."""
    check.setChecked(action.isChecked())
    check.setToolTip(action.toolTip())
    check.toggled.connect(action.setChecked)
    action.toggled.connect(check.setChecked)
    return check
