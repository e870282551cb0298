"""Window/level: CBCT presets, automatic from the histogram, and the exact width and level."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from cbctviewer.core.view_state import ViewerState
from cbctviewer.core.volume import Volume
from cbctviewer.core.window_level import WindowLevel

#: Button text and tooltip of each preset, in the order shown.
PRESET_LABELS: dict[str, tuple[str, str]] = {
    "bone": ("Bone", "Jaw bone and cortical plates"),
    "teeth": ("Teeth", "Enamel, dentin and roots"),
    "soft tissue": ("Soft tissue", "Gums, tongue and airway outlines"),
    "full range": ("Full range", "Every grey value from the darkest to the brightest"),
    "auto": ("Auto", "From this scan's histogram (0.5–99.5 %)"),
}


def value_unit(volume: Volume | None) -> str:
    """``"HU"`` when the scan's values are calibrated Hounsfield units, else ``"grey value"``."""
    return "HU" if volume is not None and volume.metadata.values_are_hu else "grey value"


class WindowPanel(QGroupBox):
    """Preset buttons plus width and level spin boxes bound to ``state.window_level``."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__("Window / level", parent)
        self.state = state
        layout = QFormLayout(self)
        buttons = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (name, (text, tip)) in enumerate(PRESET_LABELS.items()):
            button = QPushButton(text, self)
            button.setObjectName(f"window_preset_{name.replace(' ', '_')}")
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, name=name: self.apply(name))
            buttons.addWidget(button, i // 3, i % 3)
            self.buttons[name] = button
        layout.addRow(buttons)
        self.width_box = self._spin("window_width", 1.0)
        self.level_box = self._spin("window_level", -100_000.0)
        self.unit = QLabel(self)
        layout.addRow("Width", self.width_box)
        layout.addRow("Level", self.level_box)
        layout.addRow(self.unit)
        self.width_box.valueChanged.connect(self._edited)
        self.level_box.valueChanged.connect(self._edited)
        state.events.window_level.connect(self._show)
        state.events.volume.connect(self._on_volume)
        self._on_volume(state.volume)

    def _spin(self, name: str, minimum: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setObjectName(name)
        box.setRange(minimum, 100_000.0)
        box.setDecimals(0)
        box.setSingleStep(10.0)
        box.setKeyboardTracking(False)
        return box

    def unbind(self) -> None:
        self.state.events.window_level.disconnect(self._show)
        self.state.events.volume.disconnect(self._on_volume)

    def apply(self, name: str) -> None:
        """Apply a preset by name (a no-op for data presets without a volume)."""
        if self.state.volume is None and name in ("full range", "auto"):
            return
        self.state.apply_window_preset(name)  # type: ignore[arg-type]

    def _edited(self, *_: object) -> None:
        self.state.window_level = WindowLevel(self.level_box.value(), max(1.0, self.width_box.value()))

    def _on_volume(self, volume: Volume | None) -> None:
        unit = value_unit(volume)
        self.unit.setText(
            "Values are Hounsfield units (HU)."
            if unit == "HU"
            else "Values are the scanner's grey values (not calibrated Hounsfield units)."
        )
        self.unit.setWordWrap(True)
        for name in ("full range", "auto"):
            self.buttons[name].setEnabled(volume is not None)
        self._show()

    def _show(self, *_: object) -> None:
        wl = self.state.window_level
        with QSignalBlocker(self.width_box), QSignalBlocker(self.level_box):
            self.width_box.setValue(wl.width)
            self.level_box.setValue(wl.center)
