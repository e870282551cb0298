"""The four views of the viewer in a 2×2 or 1+3 layout, any one of them maximisable.

:class:`ViewGrid` builds the rendering adapters (three off-screen
:class:`~cbctviewer.rendering.slice_view.SliceView` and the threaded 3D view), wraps each
loaded volume for VTK once and shares it with all four, and lays out their widgets.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.slice_view import SliceView
from cbctviewer.rendering.volume_render import MapperChoice
from cbctviewer.rendering.vtk_image import VolumeImage

from .frame import FrameWidget
from .render_thread import VolumeRenderThread
from .slice_widget import SliceViewWidget
from .volume_widget import VolumeViewWidget

#: Name of the 3D view next to the :class:`ViewKind` values.
VIEW_3D = "3d"
VIEW_NAMES = (ViewKind.AXIAL.value, ViewKind.CORONAL.value, ViewKind.SAGITTAL.value, VIEW_3D)


class Layout(StrEnum):
    """How the four views share the window."""

    GRID = "2x2"  #: axial, coronal / sagittal, 3D
    ONE_PLUS_THREE = "1+3"  #: the active view large on the left, the others stacked right


class ViewGrid(QWidget):
    """Axial, coronal, sagittal and 3D views bound to one :class:`ViewerState`."""

    #: The active view changed (its name: ``"axial"``, ``"coronal"``, ``"sagittal"``, ``"3d"``).
    active_changed = Signal(str)
    #: Layout or maximised view changed.
    layout_changed = Signal()
    #: Emitted with the view's name each time one of them paints a new frame.
    frame_drawn = Signal(str)

    def __init__(
        self, state: ViewerState, parent: QWidget | None = None, *, mapper: MapperChoice = "auto"
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.slice_views = {kind: SliceView(state, kind) for kind in ViewKind}
        self.renderer = VolumeRenderThread(state, mapper=mapper)
        self.slices = {kind: SliceViewWidget(state, view, self) for kind, view in self.slice_views.items()}
        self.volume = VolumeViewWidget(state, self.renderer, self)
        self.widgets: dict[str, FrameWidget] = {kind.value: w for kind, w in self.slices.items()}
        self.widgets[VIEW_3D] = self.volume
        for name, widget in self.widgets.items():
            widget.maximise_toggled.connect(lambda name=name: self.toggle_maximised(name))
            widget.activated.connect(lambda name=name: self.set_active(name))
            widget.frame_drawn.connect(lambda name=name: self.frame_drawn.emit(name))
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.layout_mode = Layout.GRID
        self.maximised: str | None = None
        self.active = ViewKind.AXIAL.value
        self.widgets[self.active].active = True
        self._source: VolumeImage | None = None
        state.events.volume.connect(self._share)
        self._share(state.volume)
        self._arrange()

    @property
    def source(self) -> VolumeImage | None:
        """The VTK wrapping of the open volume that all views share (``None``: none open)."""
        return self._source

    def close_views(self) -> None:
        """Stop the 3D thread and release every render window (call once, on close)."""
        self.state.events.volume.disconnect(self._share)
        for widget in self.slices.values():
            widget.close_view()
        self.volume.close_view()
        self.renderer.close()
        for view in self.slice_views.values():
            view.close()
        self._source = None

    def _share(self, volume: Volume | None) -> None:
        """Wrap a new volume for VTK once (no copy) and hand it to all four views."""
        self._source = VolumeImage.from_volume(volume) if volume is not None else None
        for view in self.slice_views.values():
            view.set_source(self._source)
        self.renderer.set_source(self._source)

    # -- active view ----------------------------------------------------------------------
    def set_active(self, name: str) -> None:
        """Make a view the active one (target of Export view, the 1+3 layout's large view)."""
        if name not in self.widgets or name == self.active:
            return
        self.widgets[self.active].active = False
        self.widgets[name].active = True
        self.active = name
        if self.layout_mode is Layout.ONE_PLUS_THREE and self.maximised is None:
            self._arrange()
        self.active_changed.emit(name)

    # -- layout ---------------------------------------------------------------------------
    def set_layout(self, layout: Layout | str) -> None:
        """Switch to ``"2x2"`` or ``"1+3"`` (also restores a maximised view)."""
        self.layout_mode = Layout(layout)
        self.maximised = None
        self._arrange()

    def toggle_maximised(self, name: str | None = None) -> None:
        """Maximise a view (default: the active one), or restore the layout if one is."""
        if self.maximised is not None:
            self.maximised = None
        else:
            self.maximised = name or self.active
            self.set_active(self.maximised)
        self._arrange()

    def maximise(self, name: str | None) -> None:
        """Show only view ``name`` (None: back to the layout)."""
        self.maximised = name
        if name is not None:
            self.set_active(name)
        self._arrange()

    def visible_views(self) -> list[str]:
        """Names of the views shown now."""
        return [name for name, widget in self.widgets.items() if widget.isVisibleTo(self)]

    def _arrange(self) -> None:
        for widget in self.widgets.values():
            self._layout.removeWidget(widget)
        for i in range(3):
            self._layout.setRowStretch(i, 0)
            self._layout.setColumnStretch(i, 0)
        if self.maximised is not None:
            shown = {self.maximised: (0, 0, 1, 1)}
        elif self.layout_mode is Layout.GRID:
            positions = [(0, 0), (0, 1), (1, 0), (1, 1)]
            shown = {name: (r, c, 1, 1) for name, (r, c) in zip(VIEW_NAMES, positions, strict=True)}
            for i in range(2):
                self._layout.setRowStretch(i, 1)
                self._layout.setColumnStretch(i, 1)
        else:
            others = [name for name in VIEW_NAMES if name != self.active]
            shown = {self.active: (0, 0, 3, 1)} | {name: (i, 1, 1, 1) for i, name in enumerate(others)}
            self._layout.setColumnStretch(0, 3)
            self._layout.setColumnStretch(1, 1)
            for i in range(3):
                self._layout.setRowStretch(i, 1)
        for name, widget in self.widgets.items():
            if name in shown:
                self._layout.addWidget(widget, *shown[name])
                widget.show()
            else:
                widget.hide()
        self.layout_changed.emit()
