"""Status bar content: what is under the cursor, and progress with a Cancel button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStatusBar, QWidget


class TaskProgress(QWidget):
    """A progress bar, its message and a Cancel button; hidden while idle."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.message = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("task_progress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(180)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setObjectName("task_cancel")
        self.cancel.setToolTip("Stop reading the media (Esc)")
        self.cancel.clicked.connect(self.cancel_requested)
        row.addWidget(self.message)
        row.addWidget(self.bar)
        row.addWidget(self.cancel)
        self.hide()

    def start(self, message: str) -> None:
        self.message.setText(message)
        self.bar.setValue(0)
        self.cancel.setEnabled(True)
        self.show()

    def set_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
        if message:
            self.message.setText(message)

    def stop(self) -> None:
        self.hide()


class StatusPanel:
    """Fills a ``QStatusBar``: the cursor read-out on the left, task progress on the right."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.cursor = QLabel(bar)
        self.cursor.setObjectName("cursor_info")
        self.progress = TaskProgress(bar)
        bar.addWidget(self.cursor, 1)
        bar.addPermanentWidget(self.progress)

    def show_cursor(self, text: str) -> None:
        self.cursor.setText(text)

    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        self.bar.showMessage(text, timeout_ms)
