"""3D view controls: preset, opacity, threshold, crop box, cut planes, camera reset."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from cbctviewer.core.view_state import ClipBox, ViewerState, ViewKind, VolumePreset
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.volume_presets import PRESETS

PRESET_NAMES = {
    VolumePreset.BONE: "Bone",
    VolumePreset.TEETH: "Teeth",
    VolumePreset.SOFT_TISSUE: "Soft tissue",
}
#: Threshold slider range without a volume (CBCT grey values).
_DEFAULT_RANGE = (-1000, 4000)
_AXES = (("x", "R → L"), ("y", "A → P"), ("z", "I → S"))


def patient_bounds(volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper patient corner (LPS mm) of the box around a volume's voxel centres."""
    nx, ny, nz = volume.size
    corners = np.array(
        [volume.index_to_patient((i, j, k)) for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)]
    )
    return corners.min(axis=0), corners.max(axis=0)


class VolumePanel(QGroupBox):
    """Binds the 3D view's settings (``state.volume_render``) to a few controls."""

    def __init__(self, state: ViewerState, parent: QWidget | None = None) -> None:
        super().__init__("3D view", parent)
        self.state = state
        self.settings = state.volume_render
        form = QFormLayout(self)
        self.preset = QComboBox(self)
        self.preset.setObjectName("volume_preset")
        for preset, name in PRESET_NAMES.items():
            self.preset.addItem(name, preset.value)
        form.addRow("Preset", self.preset)
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setObjectName("volume_opacity")
        self.opacity.setRange(0, 100)
        form.addRow("Opacity", self.opacity)
        self.custom_threshold = QCheckBox("Own threshold", self)
        self.custom_threshold.setObjectName("volume_custom_threshold")
        self.custom_threshold.setToolTip("Show only what is denser than this grey value")
        self.threshold = QSlider(Qt.Orientation.Horizontal, self)
        self.threshold.setObjectName("volume_threshold")
        self.threshold.setRange(*_DEFAULT_RANGE)
        self.threshold_value = QLabel(self)
        self.threshold_value.setMinimumWidth(40)
        row = QHBoxLayout()
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_value)
        form.addRow(self.custom_threshold, row)
        self.crop = QCheckBox("Crop to a box (mm, patient axes)", self)
        self.crop.setObjectName("volume_crop")
        form.addRow(self.crop)
        box = QGridLayout()
        self.box_spins: list[tuple[QDoubleSpinBox, QDoubleSpinBox]] = []
        for i, (axis, words) in enumerate(_AXES):
            lower, upper = self._spin(f"crop_{axis}_from"), self._spin(f"crop_{axis}_to")
            box.addWidget(QLabel(f"{axis} ({words})", self), i, 0)
            box.addWidget(lower, i, 1)
            box.addWidget(upper, i, 2)
            self.box_spins.append((lower, upper))
        form.addRow(box)
        self.cut = {kind: QCheckBox(kind.value.title(), self) for kind in ViewKind}
        cuts = QHBoxLayout()
        for kind, check in self.cut.items():
            check.setObjectName(f"volume_cut_{kind.value}")
            check.setToolTip(f"Cut the 3D view at the {kind.value} plane (removes the side facing you there)")
            cuts.addWidget(check)
        form.addRow("Cut at", cuts)
        self.reset_camera = QPushButton("Reset 3D camera", self)
        self.reset_camera.setObjectName("volume_reset_camera")
        form.addRow(self.reset_camera)

        self.preset.currentIndexChanged.connect(self._preset_edited)
        self.opacity.valueChanged.connect(lambda v: setattr(self.settings, "opacity", v / 100.0))
        self.custom_threshold.toggled.connect(self._threshold_edited)
        self.threshold.valueChanged.connect(self._threshold_edited)
        self.crop.toggled.connect(self._box_edited)
        for lower, upper in self.box_spins:
            lower.valueChanged.connect(self._box_edited)
            upper.valueChanged.connect(self._box_edited)
        for check in self.cut.values():
            check.toggled.connect(self._cut_edited)
        self.reset_camera.clicked.connect(self.settings.reset_camera)
        self.settings.events.all.connect(self._show)
        state.events.volume.connect(self._on_volume)
        self._on_volume(state.volume)

    def _spin(self, name: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(-10_000.0, 10_000.0)
        spin.setDecimals(1)
        spin.setSuffix(" mm")
        spin.setKeyboardTracking(False)
        return spin

    def unbind(self) -> None:
        self.settings.events.all.disconnect(self._show)
        self.state.events.volume.disconnect(self._on_volume)

    # -- widgets → model ------------------------------------------------------------------
    def _preset_edited(self, index: int) -> None:
        self.settings.preset = VolumePreset(self.preset.itemData(index))

    def _threshold_edited(self, *_: object) -> None:
        self.settings.threshold = float(self.threshold.value()) if self.custom_threshold.isChecked() else None

    def _box_edited(self, *_: object) -> None:
        if not self.crop.isChecked():
            self.settings.clip_box = None
            return
        lower = tuple(spins[0].value() for spins in self.box_spins)
        upper = tuple(spins[1].value() for spins in self.box_spins)
        if all(lo < hi for lo, hi in zip(lower, upper, strict=True)):
            self.settings.clip_box = ClipBox(lower, upper)  # type: ignore[arg-type]

    def _cut_edited(self, *_: object) -> None:
        self.settings.clip_planes = {kind for kind, check in self.cut.items() if check.isChecked()}

    # -- model → widgets ------------------------------------------------------------------
    def _on_volume(self, volume: Volume | None) -> None:
        low, high = _DEFAULT_RANGE
        if volume is not None:
            lower, upper = patient_bounds(volume)
            with_blockers = [QSignalBlocker(s) for pair in self.box_spins for s in pair]
            for (lo_spin, hi_spin), lo, hi in zip(self.box_spins, lower, upper, strict=True):
                lo_spin.setValue(float(lo))
                hi_spin.setValue(float(hi))
            del with_blockers
            array = volume.array
            low, high = int(np.min(array[::4, ::4, ::4])), int(np.max(array[::4, ::4, ::4]))
        with QSignalBlocker(self.threshold):
            self.threshold.setRange(low, max(high, low + 1))
        self.setEnabled(volume is not None)
        self._show()

    def _show(self, *_: object) -> None:
        s = self.settings
        controls = (self.preset, self.opacity, self.custom_threshold, self.threshold)
        blockers = [QSignalBlocker(w) for w in controls]
        self.preset.setCurrentIndex(self.preset.findData(s.preset.value))
        self.opacity.setValue(round(s.opacity * 100))
        self.custom_threshold.setChecked(s.threshold is not None)
        threshold = s.threshold if s.threshold is not None else PRESETS[s.preset].threshold
        self.threshold.setValue(round(threshold))
        self.threshold.setEnabled(s.threshold is not None)
        self.threshold_value.setText(f"{self.threshold.value()}")
        with QSignalBlocker(self.crop):
            self.crop.setChecked(s.clip_box is not None)
        for pair in self.box_spins:
            for spin in pair:
                spin.setEnabled(s.clip_box is not None)
        for kind, check in self.cut.items():
            with QSignalBlocker(check):
                check.setChecked(kind in s.clip_planes)
        del blockers
