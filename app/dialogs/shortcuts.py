"""The F1 help: a table of the mouse and keyboard shortcuts."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.app.shortcuts import SHORTCUTS

_KEY_SEQUENCE = re.compile(r"((Ctrl|Shift|Alt|Meta)\+)*([A-Z0-9]|F\d{1,2})")


def display_keys(keys: str) -> str:
    """The keys as this platform writes them (e.g. ⌘O on macOS for "Ctrl+O")."""
    if not _KEY_SEQUENCE.fullmatch(keys):  # mouse gestures and lists stay in words
        return keys
    sequence = QKeySequence.fromString(keys, QKeySequence.SequenceFormat.PortableText)
    text = sequence.toString(QKeySequence.SequenceFormat.NativeText)
    return text or keys


class ShortcutsDialog(QDialog):
    """A read-only table of :data:`~cbctviewer.app.shortcuts.SHORTCUTS`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Mouse and keyboard shortcuts")
        self.table = QTableWidget(len(SHORTCUTS), 2, self)
        self.table.setHorizontalHeaderLabels(["Keys / mouse", "What it does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        for row, (keys, action) in enumerate(SHORTCUTS):
            key_item = QTableWidgetItem(display_keys(keys))
            font = key_item.font()
            font.setBold(True)
            key_item.setFont(font)
            self.table.setItem(row, 0, key_item)
            self.table.setItem(row, 1, QTableWidgetItem(action))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(len(SHORTCUTS)))
        frame = 2 * self.table.frameWidth()
        self.table.setMinimumHeight(min(rows + header.sizeHint().height() + frame, 700))
        width = sum(self.table.columnWidth(c) for c in range(2)) + frame + 40
        self.resize(max(640, width), self.sizeHint().height())
        self.setWindowModality(Qt.WindowModality.NonModal)
