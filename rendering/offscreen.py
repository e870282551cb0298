"""Off-screen render windows and reading their pixels back as numpy RGB images.

VTK 9.7 wheels pick the OpenGL window at run time: GLX on an X display (``xvfb-run`` in
CI), EGL when there is no display, OSMesa when asked for. All three work with Mesa's
llvmpipe. Without a display we ask for EGL directly, which skips VTK's failing attempt
to open X (and its warning); ``VTK_DEFAULT_OPENGL_WINDOW`` set by the user always wins.
"""

from __future__ import annotations

import os
import sys

# The three vtkRendering*OpenGL2/FreeType imports register the OpenGL implementations
# behind VTK's abstract classes (windows, mappers, text): imported for that side effect.
import numpy as np
import vtkmodules.vtkRenderingFreeType
import vtkmodules.vtkRenderingOpenGL2
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
from numpy.typing import NDArray
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkRenderWindow

_WINDOW_ENV = "VTK_DEFAULT_OPENGL_WINDOW"


def _prefer_egl_without_display() -> None:
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless and _WINDOW_ENV not in os.environ:
        os.environ[_WINDOW_ENV] = "vtkEGLRenderWindow"


def new_render_window(width: int, height: int, *, offscreen: bool = True) -> vtkRenderWindow:
    """A render window of ``width × height`` pixels, off-screen by default.

    Multi-sampling is off so that every pixel is exactly one image sample.
    """
    if offscreen:
        _prefer_egl_without_display()
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1 if offscreen else 0)
    window.SetMultiSamples(0)
    window.SetSize(int(width), int(height))
    return window


def grab_rgb(window: vtkRenderWindow) -> NDArray[np.uint8]:
    """The last rendered frame as an ``(height, width, 3)`` uint8 array, row 0 at the top."""
    width, height = window.GetSize()
    pixels = vtkUnsignedCharArray()
    window.GetPixelData(0, 0, width - 1, height - 1, 0, pixels, 0)
    rgb = numpy_support.vtk_to_numpy(pixels).reshape(height, width, 3)
    return np.ascontiguousarray(rgb[::-1])  # OpenGL rows start at the bottom
