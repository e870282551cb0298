"""The measurement list (label, kind, value, notes), the selected one's values and profile plot,
and the implant-site tool's settings.

Labels are edited in place (double-click or F2 on the label); the panel only reports
what the user asked for through its signals, the controller changes the model.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measure_text import value_text
from cbctviewer.core.measure_values import line_profile
from cbctviewer.core.measurements import ROI_KINDS, Measurement, MeasurementKind, measurement_values
from cbctviewer.core.volume import Volume

from .measure_site import site_threshold
from .profile_plot import ProfilePlot

COLUMNS = ("Label", "Kind", "Value", "Notes")
_EDITABLE = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsEditable
_READ_ONLY = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled


def _grey(value: float) -> str:
    return f"{value:.0f}" if math.isfinite(value) else "—"


def roi_text(values: dict[str, float]) -> str:
    """``"mean 1234 ± 56 (SD), min 1000, max 1500"`` for an ROI's grey statistics."""
    return (
        f"mean {_grey(values['mean'])} ± {_grey(values['sd'])} (SD), "
        f"min {_grey(values['min'])}, max {_grey(values['max'])}"
    )


class MeasurePanel(QGroupBox):
    """A table that follows a :class:`MeasurementSet`, plus the selected measurement's details."""

    #: The user selected a row: the measurement's id, or ``None``.
    selected = Signal(object)
    #: The user edited a label: ``(id, new label)``.
    relabelled = Signal(str, str)
    #: "Measure again" pressed for the selected implant site (its id).
    remeasure_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Measurements", parent)
        self.setObjectName("measure_panel")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("measure_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(140)
        self.table.setToolTip("Double-click a label to rename the measurement")
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemChanged.connect(self._item_changed)
        self.details = QLabel(self)
        self.details.setObjectName("measure_details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.profile = ProfilePlot(self)
        self.profile.hide()
        self._build_site_settings()
        column = QVBoxLayout(self)
        column.addWidget(self.table)
        column.addWidget(self.details)
        column.addWidget(self.profile)
        column.addLayout(self.site_form)
        self.measurements: MeasurementSet | None = None
        self.volume: Volume | None = None
        self._refreshing = False

    def _build_site_settings(self) -> None:
        # Implant-site tool: safety margin, planned length (0 = none) and the bone threshold.
        self.safety_margin = QDoubleSpinBox(self)
        self.safety_margin.setObjectName("implant_safety_margin")
        self.safety_margin.setRange(0.0, 10.0)
        self.safety_margin.setSingleStep(0.5)
        self.safety_margin.setDecimals(1)
        self.safety_margin.setSuffix(" mm")
        self.safety_margin.setValue(2.0)
        self.safety_margin.setToolTip("Implant site: distance to keep from the canal or the cortex")
        self.planned_length = QDoubleSpinBox(self)
        self.planned_length.setObjectName("implant_planned_length")
        self.planned_length.setRange(0.0, 30.0)
        self.planned_length.setSingleStep(0.5)
        self.planned_length.setDecimals(1)
        self.planned_length.setSuffix(" mm")
        self.planned_length.setSpecialValueText("none")
        self.planned_length.setToolTip("Implant site: planned implant length, checked against the bone")
        self.threshold_auto = QCheckBox("auto", self)
        self.threshold_auto.setObjectName("implant_threshold_auto")
        self.threshold_auto.setChecked(True)
        self.threshold_auto.setToolTip("Estimate the bone threshold at each site from its grey profile")
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setObjectName("implant_threshold")
        self.threshold.setRange(-1000.0, 4000.0)
        self.threshold.setDecimals(0)
        self.threshold.setSingleStep(25.0)
        self.threshold.setEnabled(False)
        self.threshold.setToolTip(
            "Implant site: grey value separating bone from soft tissue (shows the selected site's)"
        )
        self.threshold_auto.toggled.connect(lambda auto: self.threshold.setEnabled(not auto))
        self.remeasure = QPushButton("Measure again", self)
        self.remeasure.setObjectName("implant_remeasure")
        self.remeasure.setToolTip("Measure the selected implant site again with these settings")
        self.remeasure.setEnabled(False)
        self.remeasure.clicked.connect(self._remeasure_clicked)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.threshold, 1)
        threshold_row.addWidget(self.threshold_auto)
        self.site_form = QFormLayout()
        self.site_form.addRow("Implant safety margin", self.safety_margin)
        self.site_form.addRow("Planned implant length", self.planned_length)
        self.site_form.addRow("Bone threshold", threshold_row)
        self.site_form.addRow("", self.remeasure)

    # -- following a set ----------------------------------------------------------------
    def bind(self, measurements: MeasurementSet | None, volume: Volume | None = None) -> None:
        """Show (and follow) another set; ``None`` empties the list."""
        self.unbind()
        self.measurements, self.volume = measurements, volume
        if measurements is not None:
            events = measurements.events
            for signal in (events.added, events.removed, events.changed, events.reset):
                signal.connect(self.refresh)
        self.refresh()

    def unbind(self) -> None:
        if self.measurements is not None:
            events = self.measurements.events
            for signal in (events.added, events.removed, events.changed, events.reset):
                signal.disconnect(self.refresh, missing_ok=True)
        self.measurements = None

    def refresh(self, *_: object) -> None:
        """Rebuild the rows (keeps the selected measurement selected)."""
        keep = self.selected_id()
        items = list(self.measurements) if self.measurements is not None else []
        self._refreshing = True
        try:
            self.table.setRowCount(len(items))
            for row, m in enumerate(items):
                cells = (m.label, m.kind.value.replace("_", " "), value_text(m, self.volume), self._note(m))
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    item.setToolTip(text)
                    item.setData(Qt.ItemDataRole.UserRole, m.id)
                    item.setFlags(_EDITABLE if col == 0 else _READ_ONLY)
                    self.table.setItem(row, col, item)
            self._select_row(keep)
        finally:
            self._refreshing = False
        self._show_details()

    def _note(self, m: Measurement) -> str:
        if m.kind in ROI_KINDS:
            return roi_text(measurement_values(m, self.volume))
        if m.kind == MeasurementKind.PROFILE and self.volume is not None:
            values = measurement_values(m, self.volume)
            return f"min {_grey(values['min'])}, max {_grey(values['max'])}"
        return m.note

    # -- selection ----------------------------------------------------------------------
    def select(self, measurement_id: str | None) -> None:
        """Select a measurement's row (from the views); no :attr:`selected` signal."""
        if measurement_id == self.selected_id():
            return
        self._refreshing = True
        try:
            self._select_row(measurement_id)
        finally:
            self._refreshing = False
        self._show_details()

    def _select_row(self, measurement_id: str | None) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == measurement_id:
                self.table.selectRow(row)
                return
        self.table.clearSelection()

    def _selection_changed(self) -> None:
        if self._refreshing:
            return
        self._show_details()
        self.selected.emit(self.selected_id())

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._refreshing or item.column() != 0:
            return
        self.relabelled.emit(str(item.data(Qt.ItemDataRole.UserRole)), item.text())

    def selected_measurement(self) -> Measurement | None:
        measurement_id = self.selected_id()
        if self.measurements is None or measurement_id is None or measurement_id not in self.measurements:
            return None
        return self.measurements.get(measurement_id)

    def _show_details(self) -> None:
        """The selected measurement's values, its profile plot and its implant-site threshold."""
        m = self.selected_measurement()
        self.remeasure.setEnabled(m is not None and m.kind == MeasurementKind.IMPLANT_SITE)
        if m is None:
            self.details.setText("")
            self.profile.hide()
            return
        values = measurement_values(m, self.volume)
        parts = [f"{m.label}: {value_text(m, self.volume)}"]
        if m.kind in ROI_KINDS:
            parts.append(roi_text(values))
        self.details.setText("; ".join(parts))
        if m.kind == MeasurementKind.PROFILE and self.volume is not None:
            profile = line_profile(self.volume, m.points[0], m.points[1])
            self.profile.set_profile(profile.positions, profile.values, title=f"{m.label}: grey value")
            self.profile.show()
        else:
            self.profile.hide()
        used = site_threshold(m) if m.kind == MeasurementKind.IMPLANT_SITE else None
        if used is not None and self.threshold_auto.isChecked():
            self.threshold.setValue(used[0])  # shows what the tool used; editable once "auto" is off

    def _remeasure_clicked(self) -> None:
        m = self.selected_measurement()
        if m is not None:
            self.remeasure_requested.emit(m.id)

    # -- reading ------------------------------------------------------------------------
    def rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (label, kind, value, notes)."""
        return [tuple(self._text(r, c) for c in range(len(COLUMNS))) for r in range(self.table.rowCount())]

    def _text(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""

    def planned_length_mm(self) -> float | None:
        """The planned implant length, ``None`` when set to "none"."""
        value = self.planned_length.value()
        return value if value > 0 else None

    def threshold_value(self) -> float | None:
        """The bone threshold the implant-site tool uses, ``None`` for "auto"."""
        return None if self.threshold_auto.isChecked() else self.threshold.value()

    def selected_id(self) -> str | None:
        """The id of the selected measurement, if any."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
