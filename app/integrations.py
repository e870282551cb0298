"""The window's calls into dialogs, the recent-cases store and PNG export.

Kept apart from :mod:`.main_window` so that the window only says *what* to ask and this
module says *how*: file choosers, the series browser, the tag browser, the shortcuts
table (``app/dialogs/*``), the recent list (``app/recent.py``) and PNG writing
(``app/export.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from cbctviewer.app.dialogs.series_browser import SeriesBrowserDialog
from cbctviewer.app.dialogs.shortcuts import ShortcutsDialog
from cbctviewer.app.dialogs.tag_browser import TagBrowserDialog
from cbctviewer.app.export import export_view_png, grab_window_png
from cbctviewer.app.recent import RecentCases
from cbctviewer.core.measurements import Measurement
from cbctviewer.core.volume import Volume
from cbctviewer.io.case_file import export_csv
from cbctviewer.io.report import ScanReport, SeriesCandidate


def choose_series_dialog(
    report: ScanReport, choices: Sequence[SeriesCandidate], parent: QWidget
) -> SeriesCandidate | None:
    """Ask which series to open (the series browser preselects the largest volume)."""
    dialog = SeriesBrowserDialog(report, parent)
    try:
        if not dialog.exec():
            return None
        return dialog.selected_candidate()
    finally:
        dialog.deleteLater()


def ask_folder(parent: QWidget) -> Path | None:
    name = QFileDialog.getExistingDirectory(parent, "Open a folder, disc or USB stick")
    return Path(name) if name else None


def ask_file(parent: QWidget) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(
        parent, "Open a DICOMDIR, zip archive or DICOM file", "", "All files (*);;Zip archives (*.zip)"
    )
    return Path(name) if name else None


def fill_recent_menu(menu: QMenu, recent: RecentCases | None, open_path: Callable[[Path], None]) -> None:
    """List the recent cases (missing ones greyed out: a disc may not be inserted) and Clear."""
    menu.clear()
    entries = recent.entries() if recent is not None else []
    for entry in entries:
        action = menu.addAction(str(entry.path))
        action.setEnabled(entry.exists)
        action.triggered.connect(lambda _=False, path=entry.path: open_path(path))
    if not entries:
        menu.addAction("No recent scans").setEnabled(False)
    elif recent is not None:
        menu.addSeparator()
        menu.addAction("Clear the list").triggered.connect(lambda _=False: recent.clear())


def _ask_png(parent: QWidget, title: str, name: str) -> Path | None:
    # Suggest the home folder, never the scan's own folder (often a read-only disc).
    suggested = str(Path.home() / name)
    chosen, _ = QFileDialog.getSaveFileName(parent, title, suggested, "PNG pictures (*.png)")
    return Path(chosen) if chosen else None


def export_view(parent: QWidget, frame: np.ndarray | None, name: str) -> None:
    """File › Export view…: save the active view's frame as PNG."""
    if frame is None:
        QMessageBox.information(parent, "Export view", "There is no picture in this view yet.")
        return
    path = _ask_png(parent, "Export the view as a PNG picture", f"{name}.png")
    if path is None:
        return
    try:
        export_view_png(frame, path)
    except OSError as exc:
        QMessageBox.warning(parent, "Export view", f"The picture could not be saved: {exc.strerror or exc}")


def export_window(parent: QWidget) -> None:
    """File › Export window…: save the whole window as it is on screen."""
    path = _ask_png(parent, "Export the window as a PNG picture", "cbct-viewer.png")
    if path is None:
        return
    try:
        grab_window_png(parent.window(), path)
    except OSError as exc:
        QMessageBox.warning(parent, "Export window", f"The picture could not be saved: {exc.strerror or exc}")


def export_measurements(parent: QWidget, measurements: Sequence[Measurement], volume: Volume | None) -> None:
    """File › Export measurements (CSV)…: the measurement table as a CSV file."""
    if not measurements:
        QMessageBox.information(parent, "Export measurements", "There are no measurements to export.")
        return
    # Suggest the home folder, never the scan's own folder (often a read-only disc).
    suggested = str(Path.home() / "measurements.csv")
    chosen, _ = QFileDialog.getSaveFileName(
        parent, "Export the measurements as CSV", suggested, "CSV files (*.csv)"
    )
    if not chosen:
        return
    path = Path(chosen) if chosen.lower().endswith(".csv") else Path(chosen + ".csv")
    try:
        export_csv(measurements, path, volume=volume)
    except OSError as exc:
        QMessageBox.warning(
            parent, "Export measurements", f"The table could not be saved: {exc.strerror or exc}"
        )


def show_tags(candidate: SeriesCandidate, parent: QWidget) -> QWidget:
    """Tools › DICOM tags: a non-modal tag browser (with its filter box) for the open series."""
    dialog = TagBrowserDialog(candidate, parent)
    dialog.show()
    return dialog


def show_shortcuts(parent: QWidget) -> QWidget:
    """Help › Shortcuts: the table of :data:`cbctviewer.app.shortcuts.SHORTCUTS`."""
    dialog = ShortcutsDialog(parent)
    dialog.show()
    return dialog


def show_about(parent: QWidget) -> None:
    try:
        number = version("cbct-viewer")
    except PackageNotFoundError:
        number = "development"
    QMessageBox.about(
        parent,
        "About cbct-viewer",
        f"cbct-viewer {number}\n\nAn open-source viewer for dental cone-beam CT (CBCT) scans.",
    )
