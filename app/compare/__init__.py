"""The compare workspace: a follow-up scan registered to the open one, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow


def install(window: MainWindow) -> None:
    """Add the compare workspace to ``window`` (menu entries and a workspace page)."""
