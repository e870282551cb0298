"""The dental workspace: arch curve on an axial view, panoramic, cross-sections, canal, implants."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow


def install(window: MainWindow) -> None:
    """Add the dental workspace to ``window`` (menu entries and a workspace page)."""
