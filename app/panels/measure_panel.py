"""The measurement list (label, kind, value, notes) and the implant-site tool's settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measure_text import value_text
from cbctviewer.core.volume import Volume

COLUMNS = ("Label", "Kind", "Value", "Notes")


class MeasurePanel(QGroupBox):
    """A read-only table that follows a :class:`MeasurementSet`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Measurements", parent)
        self.setObjectName("measure_panel")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("measure_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(140)
        # Implant-site tool: safety margin and planned length (0 = none).
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
        form = QFormLayout()
        form.addRow("Implant safety margin", self.safety_margin)
        form.addRow("Planned implant length", self.planned_length)
        column = QVBoxLayout(self)
        column.addWidget(self.table)
        column.addLayout(form)
        self.measurements: MeasurementSet | None = None
        self.volume: Volume | None = None

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
        self.table.setRowCount(len(items))
        for row, m in enumerate(items):
            cells = (m.label, m.kind.value.replace("_", " "), value_text(m, self.volume), m.note)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setData(Qt.ItemDataRole.UserRole, m.id)
                self.table.setItem(row, col, item)
            if m.id == keep:
                self.table.selectRow(row)

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

    def selected_id(self) -> str | None:
        """The id of the selected measurement, if any."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
