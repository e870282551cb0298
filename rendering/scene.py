"""The four MPR views of one :class:`~cbctviewer.core.view_state.ViewerState` together.

The scene wraps each loaded volume for VTK once and hands the same ``vtkImageData`` (which
shares SimpleITK's buffer) to all views. It is what a script, a test or the main window
builds; a widget then embeds each view's ``render_window``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import Volume

from .slice_view import SliceView
from .volume_render import MapperChoice, VolumeView
from .vtk_image import VolumeImage


class MprScene:
    """Axial, coronal and sagittal :class:`SliceView` plus the 3D :class:`VolumeView`."""

    def __init__(
        self,
        state: ViewerState,
        *,
        offscreen: bool = True,
        overlays: bool = True,
        mapper: MapperChoice = "auto",
    ) -> None:
        self.state = state
        self.slices = {
            kind: SliceView(state, kind, offscreen=offscreen, overlays=overlays) for kind in ViewKind
        }
        self.volume_view = VolumeView(state, offscreen=offscreen, mapper=mapper)
        self._share(state.volume)
        state.events.volume.connect(self._share)

    @property
    def views(self) -> list[SliceView | VolumeView]:
        return [*self.slices.values(), self.volume_view]

    def _share(self, volume: Volume | None) -> None:
        source = VolumeImage.from_volume(volume) if volume is not None else None
        for view in self.views:
            view.set_source(source)

    def render(self) -> dict[str, NDArray[np.uint8]]:
        """Render every view; frames keyed ``"axial"``, ``"coronal"``, ``"sagittal"``, ``"3d"``."""
        frames = {kind.value: view.render() for kind, view in self.slices.items()}
        frames["3d"] = self.volume_view.render()
        return frames

    def close(self) -> None:
        """Disconnect from the model and release every window."""
        self.state.events.volume.disconnect(self._share)
        for view in self.views:
            view.close()
