"""A dismissable notice above the views: scan warnings in plain words, never a traceback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

#: At most this many notes are listed; the rest are counted.
MAX_NOTES = 4


class NoticeBanner(QFrame):
    """Yellow strip with one or more notes and a close button; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice_banner")
        self.setStyleSheet(
            "#notice_banner { background: #fff4c2; border-bottom: 1px solid #d8c169; }"
            "#notice_banner QLabel { color: #3d3300; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Hide this notice")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        row.addWidget(self.text, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.notes: list[str] = []
        self.hide()

    def show_notes(self, notes: list[str]) -> None:
        """Show ``notes`` (plain sentences); hide the banner when there are none."""
        self.notes = list(notes)
        if not notes:
            self.hide()
            return
        shown = notes[:MAX_NOTES]
        lines = [f"• {note}" for note in shown]
        if len(notes) > MAX_NOTES:
            lines.append(f"• … and {len(notes) - MAX_NOTES} more.")
        self.text.setText("\n".join(lines))
        self.show()
