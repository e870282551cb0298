"""Canal tracing controls: side, diameter, the Trace tool, point count and length, undo a point.

A thin binder over :class:`~cbctviewer.core.dental_state.DentalState`: the side choice is
``state.active_side``; the diameter applies to the active side's canal (and to the next one
traced). The Trace button only reports its state (:attr:`CanalPanel.trace_toggled`): the
workspace routes clicks on the panoramic and cross-sections to
``state.add_canal_point(state.active_side, point)`` while it is on.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from cbctviewer.core.dental_state import DentalState

SIDE_NAMES = {"right": "Right canal", "left": "Left canal"}


class CanalPanel(QGroupBox):
    """Controls of the mandibular canals."""

    #: The Trace tool was switched on (True) or off.
    trace_toggled = Signal(bool)

    def __init__(self, state: DentalState, parent: QWidget | None = None) -> None:
        super().__init__("Mandibular canal", parent)
        self.state = state
        self.side = QComboBox(self)
        self.side.setObjectName("canal_side")
        for side, name in SIDE_NAMES.items():
            self.side.addItem(name, side)
        self.diameter = QDoubleSpinBox(self)
        self.diameter.setObjectName("canal_diameter")
        self.diameter.setRange(0.5, 6.0)
        self.diameter.setSingleStep(0.1)
        self.diameter.setDecimals(1)
        self.diameter.setSuffix(" mm")
        self.diameter.setToolTip("Diameter of the canal tube")
        self.trace = QPushButton("Trace", self)
        self.trace.setObjectName("canal_trace")
        self.trace.setCheckable(True)
        self.trace.setToolTip("Click points along the canal on the panoramic or the cross-sections")
        self.delete_last = QPushButton("Delete last point", self)
        self.clear = QPushButton("Clear", self)
        self.clear.setToolTip("Remove this side's canal")
        self.info = QLabel(self)
        self.info.setObjectName("canal_info")
        layout = QGridLayout(self)
        layout.addWidget(self.side, 0, 0)
        layout.addWidget(self.diameter, 0, 1)
        layout.addWidget(self.trace, 1, 0, 1, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_last)
        buttons.addWidget(self.clear)
        layout.addLayout(buttons, 2, 0, 1, 2)
        layout.addWidget(self.info, 3, 0, 1, 2)
        self.side.currentIndexChanged.connect(self._side_edited)
        self.diameter.valueChanged.connect(self._diameter_edited)
        self.trace.toggled.connect(self.trace_toggled.emit)
        self.delete_last.clicked.connect(self._delete_last)
        self.clear.clicked.connect(self._clear)
        state.events.canals.connect(self._show)
        state.events.selection.connect(self._show)
        self._show()

    @property
    def tracing(self) -> bool:
        """Whether the Trace tool is on."""
        return self.trace.isChecked()

    def unbind(self) -> None:
        """Stop following the model (before the panel is deleted)."""
        self.state.events.canals.disconnect(self._show)
        self.state.events.selection.disconnect(self._show)

    def _side_edited(self, index: int) -> None:
        self.state.active_side = self.side.itemData(index)

    def _diameter_edited(self, value: float) -> None:
        self.state.default_canal_diameter_mm = value
        if self.state.active_side in self.state.canals:
            self.state.set_canal_diameter(self.state.active_side, value)

    def _delete_last(self) -> None:
        side = self.state.active_side
        if side in self.state.canals:
            self.state.remove_canal_point(side, -1)

    def _clear(self) -> None:
        self.state.set_canal(self.state.active_side, None)

    def _show(self, *_: object) -> None:
        side = self.state.active_side
        canal = self.state.canals.get(side)
        with QSignalBlocker(self.side), QSignalBlocker(self.diameter):
            self.side.setCurrentIndex(self.side.findData(side))
            self.diameter.setValue(canal.diameter_mm if canal else self.state.default_canal_diameter_mm)
        self.delete_last.setEnabled(canal is not None)
        self.clear.setEnabled(canal is not None)
        if canal is None:
            self.info.setText("Not traced: switch on Trace and click along the canal")
        else:
            n = len(canal.points)
            self.info.setText(f"{n} point{'s' if n != 1 else ''}, length {canal.length_mm:.1f} mm")
