"""Virtual implant controls: size, the Place tool, the list, tilt and depth, safety figures.

A thin binder over :class:`~cbctviewer.core.dental_state.DentalState`. The Place button
only reports its state (:attr:`ImplantPanel.place_toggled`): the workspace turns a click on
a cross-section into ``state.add_implant(VirtualImplant.placed_on(plane, point,
*panel.chosen_size()))``. Tilts turn the selected implant about its shoulder by
:data:`TILT_STEP_DEG` within its cross-section (bucco-lingual) or along the arch
(mesio-distal); depth moves it along its axis. The apex-to-canal distance (to the nearest
traced canal's surface) turns red below the safety margin; the bone around is measured
with :meth:`VirtualImplant.bone_around` when a volume is set.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from cbctviewer.core.dental_state import DentalState
from cbctviewer.core.virtual_implant import COMMON_SIZES, SAFETY_MARGIN_MM, VirtualImplant
from cbctviewer.core.volume import Volume

TILT_STEP_DEG = 5.0
DEPTH_STEP_MM = 0.5
WARNING_COLOUR = "#ff4040"
_CUSTOM = "Custom size"


def size_name(diameter_mm: float, length_mm: float) -> str:
    """``"Ø4.0 × 10 mm"``."""
    return f"Ø{diameter_mm:g} × {length_mm:g} mm"


class ImplantPanel(QGroupBox):
    """Controls of the virtual implants."""

    #: The Place tool was switched on (True) or off.
    place_toggled = Signal(bool)

    def __init__(self, state: DentalState, parent: QWidget | None = None) -> None:
        super().__init__("Virtual implant", parent)
        self.state = state
        self.volume: Volume | None = None
        self.preset = QComboBox(self)
        self.preset.setObjectName("implant_size")
        self.preset.addItem(_CUSTOM, -1)
        for i, (d, length) in enumerate(COMMON_SIZES):
            self.preset.addItem(size_name(d, length), i)
        self.diameter = self._spin("implant_diameter", 2.0, 8.0, 4.0, "Implant diameter")
        self.length = self._spin("implant_length", 4.0, 20.0, 10.0, "Implant length")
        self.place = QPushButton("Place", self)
        self.place.setObjectName("implant_place")
        self.place.setCheckable(True)
        self.place.setToolTip("Click the crest on a cross-section to place an implant of this size")
        self.list = QListWidget(self)
        self.list.setObjectName("implant_list")
        self.list.setMaximumHeight(90)
        self.buttons = {
            name: QPushButton(text, self)
            for name, text in (
                ("bl_minus", f"↶ {TILT_STEP_DEG:g}° B-L"),
                ("bl_plus", f"↷ {TILT_STEP_DEG:g}° B-L"),
                ("md_minus", f"↶ {TILT_STEP_DEG:g}° M-D"),
                ("md_plus", f"↷ {TILT_STEP_DEG:g}° M-D"),
                ("up", f"↑ {DEPTH_STEP_MM:g} mm"),
                ("down", f"↓ {DEPTH_STEP_MM:g} mm"),
                ("resize", "Apply size"),
                ("delete", "Delete"),
            )
        }
        self.buttons["bl_minus"].setToolTip(
            "Tilt bucco-lingually (within the cross-section) about the shoulder"
        )
        self.buttons["md_minus"].setToolTip("Tilt mesio-distally (along the arch) about the shoulder")
        self.distance = QLabel(self)
        self.distance.setObjectName("implant_canal_distance")
        self.bone = QLabel(self)
        self.bone.setObjectName("implant_bone")
        self.bone.setWordWrap(True)
        layout = QGridLayout(self)
        layout.addWidget(self.preset, 0, 0, 1, 2)
        layout.addWidget(self.diameter, 1, 0)
        layout.addWidget(self.length, 1, 1)
        layout.addWidget(self.place, 2, 0, 1, 2)
        layout.addWidget(self.list, 3, 0, 1, 2)
        for i, name in enumerate(self.buttons):
            layout.addWidget(self.buttons[name], 4 + i // 2, i % 2)
        layout.addWidget(self.distance, 8, 0, 1, 2)
        layout.addWidget(self.bone, 9, 0, 1, 2)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self.diameter.valueChanged.connect(self._size_edited)
        self.length.valueChanged.connect(self._size_edited)
        self.place.toggled.connect(self.place_toggled.emit)
        self.list.currentItemChanged.connect(self._list_selected)
        actions = {
            "bl_minus": lambda i: i.tilted_bucco_lingual(-TILT_STEP_DEG),
            "bl_plus": lambda i: i.tilted_bucco_lingual(TILT_STEP_DEG),
            "md_minus": lambda i: i.tilted_mesio_distal(-TILT_STEP_DEG),
            "md_plus": lambda i: i.tilted_mesio_distal(TILT_STEP_DEG),
            "up": lambda i: i.moved(along_axis_mm=-DEPTH_STEP_MM),
            "down": lambda i: i.moved(along_axis_mm=DEPTH_STEP_MM),
            "resize": lambda i: i.resized(diameter_mm=self.diameter.value(), length_mm=self.length.value()),
        }
        for name, action in actions.items():
            self.buttons[name].clicked.connect(lambda _=False, a=action: self._edit(a))
        self.buttons["delete"].clicked.connect(self._delete)
        state.events.implants.connect(self._show)
        state.events.canals.connect(self._show)
        state.events.selection.connect(self._show)
        self._size_edited()
        self._show()

    def _spin(self, name: str, low: float, high: float, value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setDecimals(1)
        spin.setSingleStep(0.5)
        spin.setValue(value)
        spin.setPrefix("Ø " if "diameter" in name else "L ")
        spin.setSuffix(" mm")
        spin.setToolTip(tip)
        return spin

    def chosen_size(self) -> tuple[float, float]:
        """``(diameter_mm, length_mm)`` for the next implant placed."""
        return self.diameter.value(), self.length.value()

    def set_volume(self, volume: Volume | None) -> None:
        """The scan the bone around the implants is measured in (``None``: not measured)."""
        self.volume = volume
        self._show()

    def unbind(self) -> None:
        """Stop following the model (before the panel is deleted)."""
        for signal in (self.state.events.implants, self.state.events.canals, self.state.events.selection):
            signal.disconnect(self._show)

    # ---------------------------------------------------------------- edits
    def _preset_chosen(self, index: int) -> None:
        i = int(self.preset.itemData(index))
        if i >= 0:
            with QSignalBlocker(self.diameter), QSignalBlocker(self.length):
                self.diameter.setValue(COMMON_SIZES[i][0])
                self.length.setValue(COMMON_SIZES[i][1])

    def _size_edited(self, *_: object) -> None:
        size = (round(self.diameter.value(), 1), round(self.length.value(), 1))
        i = COMMON_SIZES.index(size) if size in COMMON_SIZES else -1
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(self.preset.findData(i))

    def _selected(self) -> VirtualImplant | None:
        chosen = self.state.selected_implant
        return None if chosen is None else self.state.implants.get(chosen)

    def _edit(self, action: object) -> None:
        implant = self._selected()
        if implant is not None:
            self.state.replace_implant(action(implant))  # type: ignore[operator]

    def _delete(self) -> None:
        implant = self._selected()
        if implant is not None:
            self.state.remove_implant(implant.id)

    def _list_selected(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is not None:
            self.state.selected_implant = item.data(Qt.ItemDataRole.UserRole)

    # ---------------------------------------------------------------- display
    def _show(self, *_: object) -> None:
        implants = self.state.implants
        with QSignalBlocker(self.list):
            self.list.clear()
            for implant in implants.values():
                item = QListWidgetItem(
                    f"{implant.label}: {size_name(implant.diameter_mm, implant.length_mm)}"
                )
                item.setData(Qt.ItemDataRole.UserRole, implant.id)
                self.list.addItem(item)
                if implant.id == self.state.selected_implant:
                    self.list.setCurrentItem(item)
        selected = self._selected()
        for button in self.buttons.values():
            button.setEnabled(selected is not None)
        self.distance.setText(self.distance_text(selected))
        self.bone.setText(self.bone_text(selected))

    def distance_text(self, implant: VirtualImplant | None) -> str:
        """Rich text of the apex-to-canal distance (red below the safety margin)."""
        if implant is None:
            return "No implant selected"
        canal = self.state.nearest_canal(implant.apex)
        if canal is None:
            return "Apex to canal: no canal traced"
        mm = implant.apex_to_canal_mm(canal)
        text = f"Apex to {canal.side} canal: {mm:.1f} mm"
        if mm < SAFETY_MARGIN_MM:
            return (
                f'<span style="color:{WARNING_COLOUR}"><b>{text} (margin {SAFETY_MARGIN_MM:g} mm)</b></span>'
            )
        return text

    def bone_text(self, implant: VirtualImplant | None) -> str:
        """Bone wall thickness either side at the crest, mid and apical levels."""
        if implant is None or self.volume is None:
            return ""
        try:
            bone = implant.bone_around(self.volume)
        except ValueError as exc:
            return f"Bone around: {exc}"
        rows = [
            f"{level} {bone.thickness_mm[level, 'buccal']:.1f} / {bone.thickness_mm[level, 'lingual']:.1f}"
            for level in bone.depths_mm
        ]
        return "Bone buccal / lingual (mm): " + ", ".join(rows)
