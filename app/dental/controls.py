"""The dental workspace's control column: arch, panoramic, cross-section and tool settings.

A thin binder: every control writes the :class:`~cbctviewer.core.dental_state.DentalState`
(or the axial view's height/slab) and follows it back when it changes elsewhere (a
restored case, an undo).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from .workspace import DentalWorkspace


def _spin(
    low: float, high: float, value: float, *, step: float = 1.0, decimals: int = 1, suffix: str = " mm"
) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(False)
    return spin


class DentalControls(QWidget):
    """Tool buttons and the settings of the axial slab, the panoramic and the cross-sections."""

    def __init__(self, workspace: DentalWorkspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dental_controls")
        self.ws = workspace
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)

        tools = QGroupBox("Tools")
        grid = QVBoxLayout(tools)
        buttons = QGridLayout()
        self.tool_buttons: dict[str, QToolButton] = {}
        for i, name in enumerate(("navigate", "arch", "canal_left", "canal_right", "implant")):
            button = QToolButton()
            button.setDefaultAction(workspace.tool_actions[name])
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.tool_buttons[name] = button
            buttons.addWidget(button, i // 2, i % 2)
        grid.addLayout(buttons)
        arch_row = QHBoxLayout()
        self.propose = QPushButton("Propose arch")
        self.propose.setObjectName("propose_arch")
        self.propose.clicked.connect(workspace.propose_arch)
        self.clear = QPushButton("Clear arch")
        self.clear.clicked.connect(workspace.clear_arch)
        arch_row.addWidget(self.propose)
        arch_row.addWidget(self.clear)
        grid.addLayout(arch_row)
        column.addWidget(tools)

        axial = QGroupBox("Axial")
        form = QFormLayout(axial)
        self.axial_height = _spin(-2000.0, 2000.0, 0.0, step=1.0)
        self.axial_slab = _spin(0.0, 30.0, workspace.axial.slab_mm)
        form.addRow("Height", self.axial_height)
        form.addRow("MIP slab", self.axial_slab)
        self.axial_height.valueChanged.connect(workspace.set_axial_height)
        self.axial_slab.valueChanged.connect(workspace.axial.set_slab)
        column.addWidget(axial)

        pano = QGroupBox("Panoramic")
        form = QFormLayout(pano)
        spec = workspace.dental.panoramic
        self.pano_height = _spin(5.0, 120.0, spec.height_mm)
        self.pano_centre = _spin(-60.0, 60.0, spec.centre_height_mm)
        self.pano_slab = _spin(0.0, 30.0, spec.slab_mm)
        self.pano_mode = QComboBox()
        self.pano_mode.addItem("Mean", "mean")
        self.pano_mode.addItem("MIP", "mip")
        self.pano_offset = _spin(-20.0, 20.0, spec.offset_mm, step=0.5)
        self.pano_offset.setToolTip("Shift of the panoramic surface: + buccal, − lingual")
        form.addRow("Height", self.pano_height)
        form.addRow("Centre", self.pano_centre)
        form.addRow("Slab", self.pano_slab)
        form.addRow("Slab mode", self.pano_mode)
        form.addRow("Offset (B+/L−)", self.pano_offset)
        for spin in (self.pano_height, self.pano_centre, self.pano_slab, self.pano_offset):
            spin.valueChanged.connect(self._spec_edited)
        self.pano_mode.currentIndexChanged.connect(self._spec_edited)
        column.addWidget(pano)

        cross = QGroupBox("Cross-sections")
        form = QFormLayout(cross)
        self.interval = _spin(0.1, 20.0, workspace.dental.cross_section_interval_mm, step=0.5)
        self.count = QSpinBox()
        self.count.setRange(1, 9)
        self.count.setValue(workspace.dental.cross_section_count)
        self.width_ = _spin(5.0, 100.0, workspace.dental.cross_section_width_mm)
        form.addRow("Interval", self.interval)
        form.addRow("Count", self.count)
        form.addRow("Width", self.width_)
        self.interval.valueChanged.connect(
            lambda v: setattr(workspace.dental, "cross_section_interval_mm", v)
        )
        self.count.valueChanged.connect(lambda v: setattr(workspace.dental, "cross_section_count", int(v)))
        self.width_.valueChanged.connect(lambda v: setattr(workspace.dental, "cross_section_width_mm", v))
        column.addWidget(cross)

        self.hint = QLabel("On the panoramic, lengths follow the arch.")
        self.hint.setWordWrap(True)
        column.addWidget(self.hint)
        self.panels = QVBoxLayout()
        column.addLayout(self.panels)
        column.addStretch(1)

    def _spec_edited(self) -> None:
        spec = self.ws.dental.panoramic
        try:
            self.ws.dental.panoramic = dataclasses.replace(
                spec,
                height_mm=self.pano_height.value(),
                centre_height_mm=self.pano_centre.value(),
                slab_mm=self.pano_slab.value(),
                slab_mode=self.pano_mode.currentData(),
                offset_mm=self.pano_offset.value(),
            )
        except ValueError as exc:
            self.ws.hint_message.emit(f"Panoramic settings not used: {exc}")
            self.follow_state()

    def follow_state(self) -> None:
        """Show the model's values (after a restore or an edit elsewhere)."""
        dental = self.ws.dental
        spec = dental.panoramic
        pairs = (
            (self.pano_height, spec.height_mm),
            (self.pano_centre, spec.centre_height_mm),
            (self.pano_slab, spec.slab_mm),
            (self.pano_offset, spec.offset_mm),
            (self.interval, dental.cross_section_interval_mm),
            (self.width_, dental.cross_section_width_mm),
            (self.axial_height, self.ws.axial.height_mm),
        )
        for spin, value in pairs:
            with QSignalBlocker(spin):
                spin.setValue(value)
        with QSignalBlocker(self.count):
            self.count.setValue(dental.cross_section_count)
        with QSignalBlocker(self.pano_mode):
            self.pano_mode.setCurrentIndex(max(0, self.pano_mode.findData(spec.slab_mode)))
