"""The compare workspace's control column: follow-up, registration, landmarks, paired measurements."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.io.summary import describe_candidate

if TYPE_CHECKING:
    from .controller import CompareController

#: How the registration methods (:data:`cbctviewer.core.registration_record.METHODS`) read.
METHOD_WORDS = {"landmarks+automatic": "automatic from landmarks"}


def _button(text: str, name: str, parent: QWidget, *, checkable: bool = False) -> QPushButton:
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setCheckable(checkable)
    return button


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    return row


def format_mm(value: float | None, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


class ComparePanel(QWidget):
    """Buttons and read-outs of the compare workspace (the workspace wires them)."""

    def __init__(self, controller: CompareController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("compare_panel")
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)

        scans = QGroupBox("Follow-up", self)
        box = QVBoxLayout(scans)
        self.followup_label = QLabel("No follow-up open", scans)
        self.followup_label.setWordWrap(True)
        self.open_button = _button("Open follow-up…", "compare_open", scans)
        self.close_button = _button("Close", "compare_close", scans)
        box.addWidget(self.followup_label)
        box.addLayout(_row(self.open_button, self.close_button))
        column.addWidget(scans)

        reg = QGroupBox("Registration", self)
        box = QVBoxLayout(reg)
        self.register_button = _button("Register automatically", "compare_register", reg)
        self.cancel_button = _button("Cancel", "compare_cancel", reg)
        self.progress = QProgressBar(reg)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("", reg)
        self.progress_label.setWordWrap(True)
        self.region_button = _button("Draw region", "compare_region", reg, checkable=True)
        self.region_button.setToolTip("Drag a box on a baseline view; only anatomy inside it is registered")
        self.region_depth = QDoubleSpinBox(reg)
        self.region_depth.setRange(2.0, 200.0)
        self.region_depth.setValue(20.0)
        self.region_depth.setSuffix(" mm deep")
        self.region_depth.setToolTip("Depth of the region box across the view you drag it on")
        self.use_region = QCheckBox("Register only inside the region", reg)
        self.use_region.setEnabled(False)
        self.quality_label = QLabel("", reg)
        self.quality_label.setObjectName("compare_quality")
        self.quality_label.setWordWrap(True)
        self.reset_button = _button("Reset", "compare_reset", reg)
        box.addLayout(_row(self.register_button, self.cancel_button))
        box.addWidget(self.progress)
        box.addWidget(self.progress_label)
        box.addLayout(_row(self.region_button, self.region_depth))
        box.addWidget(self.use_region)
        box.addWidget(self.quality_label)
        box.addWidget(self.reset_button)
        column.addWidget(reg)

        marks = QGroupBox("Landmarks", self)
        box = QVBoxLayout(marks)
        self.landmark_button = _button("Place landmarks", "compare_landmarks", marks, checkable=True)
        self.landmark_button.setToolTip(
            "Click a point in the baseline view, then the same point in the follow-up view"
        )
        self.landmark_list = QListWidget(marks)
        self.landmark_list.setObjectName("compare_landmark_list")
        self.landmark_list.setMaximumHeight(110)
        self.use_landmarks_button = _button("Use landmarks", "compare_use_landmarks", marks)
        self.refine_button = _button("Refine automatically", "compare_refine", marks)
        self.accept_button = _button("Accept", "compare_accept", marks)
        self.remove_landmark_button = _button("Remove", "compare_remove_landmark", marks)
        self.clear_landmarks_button = _button("Clear", "compare_clear_landmarks", marks)
        box.addWidget(self.landmark_button)
        box.addWidget(self.landmark_list)
        box.addLayout(_row(self.use_landmarks_button, self.refine_button))
        box.addLayout(_row(self.accept_button, self.remove_landmark_button, self.clear_landmarks_button))
        column.addWidget(marks)

        pairs = QGroupBox("Paired measurements", self)
        box = QVBoxLayout(pairs)
        self.pair_table = QTableWidget(0, 4, pairs)
        self.pair_table.setObjectName("compare_pairs")
        self.pair_table.setHorizontalHeaderLabels(["Label", "Baseline", "Follow-up", "Change"])
        self.pair_table.verticalHeader().hide()
        self.pair_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pair_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.pair_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.pair_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.pair_table.setMinimumHeight(90)
        self.map_button = _button("Map to follow-up", "compare_map", pairs)
        self.map_button.setToolTip(
            "Copy the selected baseline measurement (or all unpaired ones) onto the follow-up"
        )
        self.remeasure_button = _button("Re-measure on follow-up", "compare_remeasure", pairs, checkable=True)
        self.remeasure_button.setToolTip("Click the measurement's points again in the follow-up view")
        self.unpair_button = _button("Remove pair", "compare_unpair", pairs)
        box.addWidget(self.pair_table)
        box.addLayout(_row(self.map_button, self.unpair_button))
        box.addWidget(self.remeasure_button)
        column.addWidget(pairs)
        column.addStretch(1)
        self.set_busy(False)

    # -- read-outs ----------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        has = self.controller.followup is not None
        for button in (
            self.register_button,
            self.refine_button,
            self.use_landmarks_button,
            self.reset_button,
        ):
            button.setEnabled(has and not busy)
        if not busy:
            self.progress.setValue(0)

    def set_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(1000 * max(0.0, min(1.0, fraction))))
        self.progress_label.setText(message)

    def show_followup(self) -> None:
        c = self.controller
        if c.followup is None or c.candidate is None:
            self.followup_label.setText("No follow-up open")
        else:
            self.followup_label.setText(describe_candidate(c.candidate))
        self.close_button.setEnabled(c.followup is not None)
        self.set_busy(c.busy)
        self.show_quality()

    def show_quality(self) -> None:
        """Final metric, landmark residual and the per-level report (or "not registered")."""
        c = self.controller
        if c.followup is None:
            self.quality_label.setText("")
            return
        if not c.is_registered:
            self.quality_label.setText("Not registered yet.")
            return
        q = c.quality
        method = q.get("method", "saved")
        lines = [f"Registered ({METHOD_WORDS.get(method, method)})."]
        metric = q.get("metric")
        if isinstance(metric, float) and math.isfinite(metric):
            lines.append(f"Final metric (Mattes MI, lower is better): {metric:.3f}")
        residual = q.get("landmark_residual_mm")
        if isinstance(residual, float):
            lines.append(f"Landmark residual (RMS): {residual:.2f} mm")
        for i, level in enumerate(q.get("levels", [])):
            lines.append(
                f"  level {i + 1}: {level['spacing_mm']:.2g} mm, {level['iterations']} it., "
                f"metric {level['metric']:.3f}, {level['seconds']:.1f} s"
            )
        self.quality_label.setText("\n".join(lines))

    def show_landmarks(self) -> None:
        c = self.controller
        residuals = c.landmark_residuals()
        self.landmark_list.clear()
        for i, r in enumerate(residuals):
            self.landmark_list.addItem(f"L{i + 1}: residual {r:.2f} mm")
        if c.pending_landmark is not None:
            self.landmark_list.addItem(f"L{len(residuals) + 1}: click it in the follow-up view…")
        enough = len(c.landmarks) >= 3 and c.followup is not None
        self.use_landmarks_button.setEnabled(enough and not c.busy)
        self.refine_button.setEnabled(enough and not c.busy)
        self.use_region.setEnabled(c.region is not None)
        if c.region is None:
            self.use_region.setChecked(False)

    def show_pairs(self) -> None:
        c = self.controller
        rows = c.paired.rows(c.window.measure.measurements) if c.paired is not None else []
        self.pair_table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            unit = f" {row.unit}" if row.unit else ""
            texts = [
                row.label,
                format_mm(row.baseline_value) + unit,
                format_mm(row.followup_value) + unit,
                format_mm(row.change, signed=True) + unit,
            ]
            for j, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setData(256, row.followup_id)  # Qt.UserRole
                self.pair_table.setItem(i, j, item)

    def selected_pair(self) -> str | None:
        """The follow-up measurement id of the selected table row."""
        items = self.pair_table.selectedItems()
        return str(items[0].data(256)) if items else None
