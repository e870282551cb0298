"""Entry point of the viewer window: the QApplication, the object graph, the window.

``cbct-viewer [PATH] [--series KEY]`` reaches :func:`run_viewer` through the command line
(:mod:`cbctviewer.app.cli`). The graph is small and explicit — no singletons: one
:class:`~cbctviewer.core.view_state.ViewerState` (the model), one
:class:`~.main_window.MainWindow` that builds the views, panels and workers around it,
and the recent-cases store.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from cbctviewer.core.view_state import ViewerState

from .main_window import MainWindow
from .recent import RecentCases

APP_NAME = "cbct-viewer"
#: Initial window size (logical pixels), shrunk to fit smaller screens.
DEFAULT_SIZE = (1400, 900)


def application(argv: list[str] | None = None) -> QApplication:
    """The process's QApplication (created on first use)."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName("cbct-viewer")
    return app


def build_window(*, recent: RecentCases | None = None, size: tuple[int, int] = DEFAULT_SIZE) -> MainWindow:
    """A ready (not yet shown) main window around a fresh model."""
    window = MainWindow(ViewerState(), recent=recent)
    screen = window.screen().availableGeometry()
    width, height = min(size[0], screen.width()), min(size[1], screen.height())
    window.resize(width, height)
    return window


def run_viewer(path: Path | None, *, series: str | None = None) -> int:
    """Open the viewer window (on ``path`` when given) and run until it is closed.

    Parameters
    ----------
    path : Path or None
        Folder, disc, DICOMDIR, zip archive or DICOM file to open; None shows an empty
        window with hints on how to open a scan.
    series : str, optional
        Series key or SeriesInstanceUID to open when the media holds several.

    Returns
    -------
    int
        The process exit code (0 after a normal close).
    """
    logging.basicConfig(level=os.environ.get("CBCT_VIEWER_LOG", "WARNING").upper())
    app = application()
    window = build_window(recent=RecentCases())
    window.show()
    if path is not None:
        # Start once the event loop runs, so the window is on screen while the scan reads.
        QTimer.singleShot(0, lambda: window.open_path(path, series=series))
    code = app.exec()
    return int(code)
