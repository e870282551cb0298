"""The DICOM tag browser: every header element of one image of the current series.

Shows :func:`cbctviewer.io.tags.read_tags` as a tree (sequences fold open), with a
spin box choosing the image (file, or frame of a multi-frame file), a filter box
(:func:`~cbctviewer.io.tags.filter_tags`) and copying to the clipboard
(:func:`~cbctviewer.io.tags.tags_to_text`). The rows hold patient data: they are
shown, never logged.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.io.errors import MediaError
from cbctviewer.io.report import SeriesCandidate
from cbctviewer.io.tags import TagRow, filter_tags, read_tags, tags_to_text

COLUMNS = ["Tag", "Name", "VR", "Value"]


class TagBrowserDialog(QDialog):
    """Browse the DICOM header of the images of one series.

    Parameters
    ----------
    candidate : SeriesCandidate
        The series; its frames (files, or frames of a multi-frame file) are offered
        one at a time.
    parent : QWidget, optional
        The main window.
    """

    def __init__(self, candidate: SeriesCandidate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.candidate = candidate
        self.rows: list[TagRow] = []
        self._items: list[QTreeWidgetItem] = []
        title = candidate.series_description.strip() or candidate.modality or "series"
        self.setWindowTitle(f"DICOM tags — {title}")

        count = max(len(candidate.frames), 1)
        self.image_spin = QSpinBox(self)
        self.image_spin.setRange(1, count)
        self.image_spin.setEnabled(len(candidate.frames) > 1)
        self.image_spin.setAccelerated(True)
        self.image_spin.setToolTip("Which image of the series to show the header of")
        self.file_label = QLabel(self)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter: tag, keyword, name or value")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(f"Image (of {count}):", self))
        top.addWidget(self.image_spin)
        top.addWidget(self.file_label, 1)
        search = QHBoxLayout()
        search.addWidget(self.filter_edit, 1)
        search.addWidget(self.count_label)

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(16)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self._mono = mono
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.hide()

        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the selected rows (or all shown rows) as text")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(search)
        layout.addWidget(self.message)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

        self.copy_button.clicked.connect(self.copy_to_clipboard)
        QShortcut(QKeySequence.StandardKey.Copy, self.tree, self.copy_to_clipboard)
        self.image_spin.valueChanged.connect(self._load)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.resize(960, 700)
        self._load()

    # ----------------------------------------------------------------- public

    def set_image(self, index: int) -> None:
        """Show the header of image ``index`` (0-based) of the series."""
        self.image_spin.setValue(index + 1)

    def set_filter(self, text: str) -> None:
        """Show only the rows matching ``text`` (see :func:`~cbctviewer.io.tags.filter_tags`)."""
        self.filter_edit.setText(text)

    def visible_rows(self) -> list[TagRow]:
        """The rows the filter lets through, in order."""
        return [row for row, item in zip(self.rows, self._items, strict=True) if not item.isHidden()]

    def copy_to_clipboard(self) -> str:
        """Copy the selected rows, or all shown rows when none is selected; return the text."""
        chosen = {id(item) for item in self.tree.selectedItems()}
        pairs = zip(self.rows, self._items, strict=True)
        rows = [row for row, item in pairs if id(item) in chosen and not item.isHidden()]
        text = tags_to_text(rows or self.visible_rows())
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(text)
        return text

    # ----------------------------------------------------------------- internals

    def _load(self) -> None:
        self.tree.clear()
        self._items = []
        self.rows = []
        self.message.hide()
        if not self.candidate.frames:
            self._show_message("This series lists no files.")
            return
        ref = self.candidate.frames[self.image_spin.value() - 1]
        name = Path(ref.path).name
        frame = f", frame {ref.frame_index + 1}" if self.candidate.files < len(self.candidate.frames) else ""
        self.file_label.setText(f"File: {name}{frame}")
        self.file_label.setToolTip(str(ref.path))
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.rows = read_tags(Path(ref.path), frame_index=ref.frame_index)
        except MediaError as exc:
            self._show_message(f"The header of this file could not be read. {exc}")
        finally:
            QApplication.restoreOverrideCursor()
        self._fill()
        self._apply_filter()

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _fill(self) -> None:
        parents: list[tuple[int, QTreeWidgetItem]] = []
        top: list[QTreeWidgetItem] = []
        for row in self.rows:
            item = QTreeWidgetItem([row.tag, row.name, row.vr, row.value])
            item.setFont(0, self._mono)
            if row.keyword:
                item.setToolTip(1, row.keyword)
            if len(row.value) > 60:
                item.setToolTip(3, row.value)
            if not row.tag:  # a note: the file is damaged, rows left out...
                font = QFont(item.font(3))
                font.setItalic(True)
                item.setFont(3, font)
            while parents and parents[-1][0] >= row.depth:
                parents.pop()
            if parents:
                parents[-1][1].addChild(item)
            else:
                top.append(item)
            parents.append((row.depth, item))
            self._items.append(item)
        self.tree.addTopLevelItems(top)
        self.tree.expandAll()
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.tree.resizeColumnToContents(0)
        self.tree.resizeColumnToContents(2)
        self.tree.setColumnWidth(1, min(max(self.tree.sizeHintForColumn(1), 180), 320))

    def _apply_filter(self) -> None:
        shown = set(filter_tags(self.rows, self.filter_edit.text()))
        for index, item in enumerate(self._items):
            item.setHidden(index not in shown)
        tags = sum(1 for i in shown if self.rows[i].tag)
        total = sum(1 for row in self.rows if row.tag)
        self.count_label.setText(
            f"{tags} of {total} rows" if self.filter_edit.text().strip() else f"{total} rows"
        )
