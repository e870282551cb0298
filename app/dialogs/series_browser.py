"""The study/series browser: what a folder, disc or zip holds, and which series to open.

A tree grouped patient → study → series with a thumbnail, kind, modality, size, voxel
size, number of files and warnings of each series, followed by the other files the scan
found (PDF reports, screenshots, viewer programs...) and the files that could not be
read. The rows come from :func:`~cbctviewer.app.dialogs.series_rows.browser_rows`; this
widget only shows them.

Thumbnails are made off the GUI thread (a small QThreadPool) by
:func:`cbctviewer.io.thumbnails.thumbnail`; results travel back through a thread-safe
queue that a GUI-thread timer drains, so no Qt object is touched from a worker and
closing the dialog never waits for a decode.
"""

from __future__ import annotations

import functools
import queue
import threading

import numpy as np
import shiboken6
from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QPalette, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.app.dialogs.series_rows import (
    BrowserRow,
    RowKind,
    browser_rows,
    is_openable,
    preferred_candidate,
)
from cbctviewer.io.errors import MediaError
from cbctviewer.io.report import ScanReport, SeriesCandidate
from cbctviewer.io.thumbnails import thumbnail

#: Thumbnail side in pixels as computed (shown at ICON_SIZE; the extra is for HiDPI screens).
THUMBNAIL_SIZE = 128
ICON_SIZE = 64
#: Icons of headings, files and warnings.
SMALL_ICON_SIZE = 16
#: Groups with more rows than this start collapsed (a disc's viewer program has hundreds of files).
_COLLAPSE_ABOVE = 12
COLUMNS = ["Series", "Kind", "Modality", "Size", "Voxel size", "Files", "Warnings and notes"]
_ROLE_ROW = Qt.ItemDataRole.UserRole + 1
_ROLE_THUMBNAIL_ROW = Qt.ItemDataRole.UserRole + 2

_pool: QThreadPool | None = None


def thumbnail_pool() -> QThreadPool:
    """The thread pool making thumbnails (two threads: the codecs hold the GIL anyway).

    It belongs to the application, not to a dialog, so that closing a dialog does not
    wait for a thumbnail being decoded.
    """
    global _pool
    if _pool is None or not shiboken6.isValid(_pool):  # a new QApplication since the last call
        _pool = QThreadPool(QCoreApplication.instance())
        _pool.setMaxThreadCount(2)
    return _pool


def _make_thumbnail(
    key: str,
    candidate: SeriesCandidate,
    results: queue.SimpleQueue[tuple[str, np.ndarray | None, str]],
    cancelled: threading.Event,
) -> None:
    """Worker thread: one thumbnail into ``results`` as (key, image or None, error)."""
    if cancelled.is_set():
        return
    try:
        results.put((key, thumbnail(candidate, size=THUMBNAIL_SIZE), ""))
    except MediaError as exc:
        results.put((key, None, str(exc)))
    except Exception as exc:  # never let a worker die silently; no header values in the text
        results.put((key, None, f"The preview could not be made ({type(exc).__name__})."))


class _IconSizeDelegate(QStyledItemDelegate):
    """Thumbnail-sized icons in series rows, small icons everywhere else."""

    def initStyleOption(  # noqa: N802 (Qt's name)
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        big = index.column() == 0 and bool(index.data(_ROLE_THUMBNAIL_ROW))
        side = ICON_SIZE if big else SMALL_ICON_SIZE
        option.decorationSize = QSize(side, side)


def _pixmap(image: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(image)
    height, width = rgb.shape[:2]
    qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage)


class SeriesBrowserDialog(QDialog):
    """Choose the series to open from a scan report.

    Parameters
    ----------
    report : ScanReport
        What :func:`cbctviewer.io.scan.scan` found.
    parent : QWidget, optional
        The main window.

    Double-click or "Open" accepts; :meth:`selected_candidate` is then the series to
    load. Rows that cannot be opened (DICOM without images, other files, unreadable
    files, headings) cannot be selected. The largest volume is preselected.
    """

    #: Emitted (GUI thread) with a candidate's key when its thumbnail or error arrived.
    thumbnail_ready = Signal(str)

    def __init__(self, report: ScanReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        self.setWindowTitle("Choose the series to open")
        self._items: dict[str, QTreeWidgetItem] = {}
        self._pending: set[str] = set()
        self._results: queue.SimpleQueue[tuple[str, np.ndarray | None, str]] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._placeholder = _placeholder()
        self._shown = False

        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.tree.setItemDelegate(_IconSizeDelegate(self.tree))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)  # notes wrap within the thumbnail's height
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.buttons = QDialogButtonBox(self)
        self.open_button: QPushButton = self.buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.open_button.setDefault(True)
        self.buttons.accepted.connect(self._accept_if_openable)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._drain)

        self._fill()
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self._preselect()
        self._selection_changed()
        self._start_thumbnails()
        self.resize(1100, 600)

    # ----------------------------------------------------------------- public

    def selected_candidate(self) -> SeriesCandidate | None:
        """The selected series if it can be opened, else None."""
        for item in self.tree.selectedItems():
            row: BrowserRow | None = item.data(0, _ROLE_ROW)
            if row is not None and row.openable:
                return row.candidate
        return None

    def pending_thumbnails(self) -> int:
        """Thumbnails still being made."""
        return len(self._pending)

    def thumbnail_pixmap(self, candidate: SeriesCandidate) -> QPixmap | None:
        """The thumbnail shown for ``candidate`` (None while pending or when it failed)."""
        item = self._items.get(candidate.key or candidate.series_instance_uid)
        if item is None or item.data(0, Qt.ItemDataRole.UserRole) is None:
            return None
        pixmap = item.data(0, Qt.ItemDataRole.UserRole)
        return pixmap if isinstance(pixmap, QPixmap) else None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        """Show the top of the list, and the preselected series."""
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self.tree.scrollToTop()
            current = self.tree.currentItem()
            if current is not None:
                self.tree.scrollToItem(current, QAbstractItemView.ScrollHint.EnsureVisible)

    def done(self, result: int) -> None:
        """Close; pending thumbnails are dropped (running ones finish unseen)."""
        self._stop_thumbnails()
        super().done(result)

    # ----------------------------------------------------------------- building

    def _fill(self) -> None:
        rows = browser_rows(self.report)
        for row in rows:
            item = self._add(row, None)
            if row.kind is RowKind.PATIENT:
                item.setExpanded(True)
                for k in range(item.childCount()):
                    study = item.child(k)
                    if study is not None:
                        study.setExpanded(True)
            else:
                item.setExpanded(len(row.children) <= _COLLAPSE_ABOVE)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(column)
        self.tree.setColumnWidth(0, min(max(self.tree.columnWidth(0), 260), 420))
        self.summary.setText(self._summary_text())

    def _add(self, row: BrowserRow, parent: QTreeWidgetItem | None) -> QTreeWidgetItem:
        texts = [row.title, row.type_text, row.modality, row.size, row.voxel_size, row.files, _notes(row)]
        item = QTreeWidgetItem(texts)
        item.setData(0, _ROLE_ROW, row)
        flags = Qt.ItemFlag.ItemIsEnabled
        if row.openable:
            flags |= Qt.ItemFlag.ItemIsSelectable
        item.setFlags(flags)
        for column in (5,):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if row.notes:
            item.setToolTip(6, "\n".join(f"• {n}" for n in row.notes))
        if row.warn:
            item.setIcon(6, self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
        if row.kind in (RowKind.PATIENT, RowKind.STUDY, RowKind.ITEMS, RowKind.PROBLEMS):
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
            if row.kind is RowKind.PATIENT:
                item.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon))
            elif row.kind is RowKind.STUDY:
                item.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon))
        elif row.kind is RowKind.SERIES and row.candidate is not None:
            item.setData(0, _ROLE_THUMBNAIL_ROW, True)
            if row.openable:
                item.setIcon(0, self._placeholder)
                item.setToolTip(0, row.candidate.summary)
            else:
                item.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
                item.setToolTip(0, "This series holds no image; it cannot be opened here.")
            self._items[row.candidate.key or row.candidate.series_instance_uid] = item
        else:
            icon = QStyle.StandardPixmap.SP_FileIcon
            if row.kind is RowKind.PROBLEM:
                icon = QStyle.StandardPixmap.SP_MessageBoxWarning
            item.setIcon(0, self.style().standardIcon(icon))
            if row.path is not None:
                item.setToolTip(0, str(row.path))
        if not row.openable and row.kind in (RowKind.SERIES, RowKind.ITEM, RowKind.PROBLEM):
            grey = QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            for column in range(len(COLUMNS) - 1):
                item.setForeground(column, grey)
        if parent is None:
            self.tree.addTopLevelItem(item)
        else:
            parent.addChild(item)
        for child in row.children:
            self._add(child, item)
        return item

    def _summary_text(self) -> str:
        report = self.report
        openable = [c for c in report.series if is_openable(c)]
        volumes = [c for c in openable if c.is_volume]
        parts = [
            f"{_plural(len(volumes), '3D scan')} and {_plural(len(openable) - len(volumes), 'other image')}"
            " that can be opened"
        ]
        if report.items:
            parts.append(_plural(len(report.items), "other file"))
        if report.problems:
            parts.append(_plural(len(report.problems), "unreadable file"))
        text = "Found " + ", ".join(parts) + "."
        if report.cancelled:
            text += " The search was stopped before the end: the list may be incomplete."
        for warning in report.warnings:
            text += "\n⚠ " + warning
        return text

    def _preselect(self) -> None:
        best = preferred_candidate(self.report)
        if best is None:
            return
        item = self._items.get(best.key or best.series_instance_uid)
        if item is not None:
            self.tree.setCurrentItem(item)
            item.setSelected(True)
            self.tree.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)

    # ----------------------------------------------------------------- interaction

    def _selection_changed(self) -> None:
        self.open_button.setEnabled(self.selected_candidate() is not None)

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        row: BrowserRow | None = item.data(0, _ROLE_ROW)
        if row is not None and row.openable:
            self.tree.setCurrentItem(item)
            item.setSelected(True)
            self.accept()

    def _accept_if_openable(self) -> None:
        if self.selected_candidate() is not None:
            self.accept()

    # ----------------------------------------------------------------- thumbnails

    def _start_thumbnails(self) -> None:
        pool = thumbnail_pool()
        for key, item in self._items.items():
            row: BrowserRow = item.data(0, _ROLE_ROW)
            if row.candidate is None or not row.openable:
                continue
            self._pending.add(key)
            job = functools.partial(_make_thumbnail, key, row.candidate, self._results, self._cancelled)
            pool.start(job)
        if self._pending:
            self._timer.start()

    def _stop_thumbnails(self) -> None:
        self._cancelled.set()
        self._timer.stop()

    def _drain(self) -> None:
        while True:
            try:
                key, image, error = self._results.get_nowait()
            except queue.Empty:
                break
            self._pending.discard(key)
            item = self._items.get(key)
            if item is None:
                continue
            if image is not None:
                pixmap = _pixmap(image)
                item.setIcon(0, QIcon(pixmap))
                item.setData(0, Qt.ItemDataRole.UserRole, pixmap)
            else:
                # Usually the series will not open either: say why, where warnings are read.
                warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
                item.setIcon(0, warning)
                row: BrowserRow = item.data(0, _ROLE_ROW)
                row.notes = [f"No preview: {error}", *row.notes]
                row.warn = True
                item.setText(6, _notes(row))
                item.setToolTip(6, "\n".join(f"• {n}" for n in row.notes))
                item.setIcon(6, warning)
                summary = row.candidate.summary if row.candidate is not None else ""
                item.setToolTip(0, f"{summary}\nNo preview: {error}".strip())
            self.thumbnail_ready.emit(key)
        if not self._pending:
            self._timer.stop()


def _placeholder() -> QIcon:
    """A transparent icon, so that rows keep their height until the thumbnail arrives."""
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(QColor(0, 0, 0, 0))
    return QIcon(pixmap)


def _notes(row: BrowserRow) -> str:
    if not row.notes:
        return ""
    if len(row.notes) == 1:
        return row.notes[0]
    return f"{row.notes[0]} (+{len(row.notes) - 1} more)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
