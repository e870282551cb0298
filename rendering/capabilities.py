"""What the OpenGL implementation behind a render window is, and what that implies.

Volume ray casting is the one place where the choice matters: on software OpenGL (Mesa
llvmpipe and friends) VTK's CPU ``vtkFixedPointVolumeRayCastMapper`` is about an order of
magnitude faster than the GPU ray caster running on the emulated GPU.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow

from .offscreen import new_render_window

#: Substrings (lower case) of GL_RENDERER strings of software rasterisers.
SOFTWARE_RENDERERS = (
    "llvmpipe",
    "softpipe",
    "lavapipe",
    "swrast",
    "swiftshader",
    "gdi generic",
    "microsoft basic render",
)


@dataclass(frozen=True, slots=True)
class GlInfo:
    """Strings reported by OpenGL plus the VTK window class that produced them."""

    window_class: str
    vendor: str
    renderer: str
    version: str

    @property
    def is_software(self) -> bool:
        """True for a CPU rasteriser (no GPU), or when the renderer is unknown."""
        return is_software_renderer(self.renderer)


def is_software_renderer(renderer: str) -> bool:
    """Whether a GL_RENDERER string names a software rasteriser (unknown counts as one)."""
    name = renderer.lower()
    return not name or any(s in name for s in SOFTWARE_RENDERERS)


def _field(report: str, label: str) -> str:
    match = re.search(rf"OpenGL {label} string:\s*(.*)", report)
    return match.group(1).strip() if match else ""


def gl_info(window: vtkRenderWindow) -> GlInfo:
    """Query ``window``'s OpenGL strings (renders it once if it has no context yet)."""
    if not window.GetRenderers().GetNumberOfItems():
        window.AddRenderer(vtkRenderer())
    window.Render()
    report = window.ReportCapabilities() or ""
    return GlInfo(
        window.GetClassName(), _field(report, "vendor"), _field(report, "renderer"), _field(report, "version")
    )


@functools.cache
def default_gl_info() -> GlInfo:
    """GL strings of this process's default off-screen window (probed once)."""
    window = new_render_window(8, 8)
    try:
        return gl_info(window)
    finally:
        window.Finalize()
