"""PNG export (atomic, pixel-exact), window grabs, and the shortcuts table."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from cbctviewer.app.shortcuts import SHORTCUTS

pytestmark = pytest.mark.gui


def read_png(path: Path) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable picture"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_export_view_png_reads_back_the_same_pixels(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.export import export_view_png

    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd width: rows are not 4-byte aligned
    written = export_view_png(image, tmp_path / "view.png")
    assert written == tmp_path / "view.png"
    assert np.array_equal(read_png(written), image)
    # A non-contiguous view (e.g. a crop) is written as shown.
    crop = image[5:30, 10:40]
    assert np.array_equal(read_png(export_view_png(crop, tmp_path / "crop")), crop)
    assert (tmp_path / "crop.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crop.png", "view.png"]


def test_export_view_png_rejects_other_arrays(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.export import export_view_png

    for bad in (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)):
        with pytest.raises(ValueError):
            export_view_png(bad, tmp_path / "bad.png")
    assert list(tmp_path.iterdir()) == []


def test_export_is_atomic(tmp_path: Path, qapp, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.export import export_view_png

    target = tmp_path / "view.png"
    old = np.full((8, 8, 3), 200, np.uint8)
    export_view_png(old, target)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            export_view_png(np.zeros((8, 8, 3), np.uint8), target)
    assert np.array_equal(read_png(target), old)
    assert [p.name for p in tmp_path.iterdir()] == ["view.png"]


def test_grab_window_png_captures_what_is_on_screen(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QGuiApplication, QPalette
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from cbctviewer.app.export import _screen_grab, grab_window_png

    window = QWidget()
    qtbot.addWidget(window)
    child = QWidget(window)
    palette = child.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(200, 30, 40))
    child.setPalette(palette)
    child.setAutoFillBackground(True)
    child.setFixedSize(120, 80)
    QVBoxLayout(window).addWidget(child)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    if QGuiApplication.platformName() == "xcb":  # Xvfb: the screen itself is read
        assert _screen_grab(child) is not None
    written = grab_window_png(child, tmp_path / "child.png")
    pixels = read_png(written)
    ratio = child.devicePixelRatioF()
    assert pixels.shape[:2] == (round(80 * ratio), round(120 * ratio))
    assert np.abs(pixels[pixels.shape[0] // 2, pixels.shape[1] // 2].astype(int) - [200, 30, 40]).max() <= 2
    # The child was not turned into a native window by asking for its window id.
    assert not child.testAttribute(Qt.WidgetAttribute.WA_NativeWindow)
    # A hidden widget cannot be read from the screen: it is rendered instead.
    window.hide()
    hidden = read_png(grab_window_png(child, tmp_path / "hidden.png"))
    assert np.abs(hidden[10, 10].astype(int) - [200, 30, 40]).max() <= 2


def test_shortcuts_cover_the_conventions() -> None:
    keys = [k for k, _ in SHORTCUTS]
    assert len(keys) == len(set(keys)), "a key is listed twice"
    for expected in ("R", "O", "1", "2", "3", "4", "A", "H", "Ctrl+O", "Ctrl+Shift+O", "Ctrl+E", "F1"):
        assert expected in keys
    text = " ".join(keys).lower()
    for gesture in (
        "wheel",
        "pageup",
        "pagedown",
        "shift+wheel",
        "ctrl+wheel",
        "middle-drag",
        "right-drag",
        "left-drag",
        "ctrl+left-drag",
        "double-click",
    ):
        assert gesture in text, gesture
    assert all(description and description[0].isupper() for _, description in SHORTCUTS)


def test_keyboard_entries_are_valid_qt_key_sequences(qapp) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QKeySequence

    single = re.compile(r"((Ctrl|Shift|Alt|Meta)\+)*([A-Z0-9]|F\d{1,2})")
    for keys, _ in SHORTCUTS:
        if single.fullmatch(keys):
            sequence = QKeySequence.fromString(keys)
            assert sequence.count() == 1 and sequence.toString() == keys


def test_shortcuts_dialog_lists_every_shortcut(qtbot) -> None:  # type: ignore[no-untyped-def]
    from cbctviewer.app.dialogs.shortcuts import ShortcutsDialog

    dialog = ShortcutsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert table.rowCount() == len(SHORTCUTS)
    assert [table.item(r, 1).text() for r in range(table.rowCount())] == [d for _, d in SHORTCUTS]
    assert table.item(0, 0).text() == SHORTCUTS[0][0]
    # Every row is visible without scrolling on a 1000-pixel-high screen.
    assert not table.verticalScrollBar().isVisible()
