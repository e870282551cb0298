"""Mouse and keyboard shortcuts, following RadiAnt, Horos/OsiriX and 3D Slicer.

:data:`SHORTCUTS` is the one list the window's actions and the F1 help dialog share.
Keyboard entries are spelled as Qt key sequences ("Ctrl+Shift+O"), so an action can
use them directly; mouse gestures are in words.
"""

from __future__ import annotations

#: (keys, what it does), in the order the help dialog lists them.
SHORTCUTS: list[tuple[str, str]] = [
    # Slices
    ("Mouse wheel, PageUp / PageDown, Up / Down", "Scroll through the slices, one at a time"),
    ("Shift+wheel, Shift+PageUp / Shift+PageDown", "Scroll fast, 10 slices at a time"),
    # Looking around
    ("Ctrl+wheel", "Zoom in and out"),
    ("Middle-drag", "Pan: move the image"),
    ("Right-drag", "Window/level: drag sideways for contrast, up/down for brightness"),
    ("Left-click, left-drag", "Move the crosshair (the other views follow)"),
    ("Ctrl+left-drag", "Rotate the crosshair axes (oblique slices)"),
    ("Double-click", "Maximise a view / restore the layout"),
    ("R", "Reset the view (zoom and pan)"),
    ("O", "Reset the oblique axes to straight"),
    # Grey values
    ("1", "Window preset: bone"),
    ("2", "Window preset: teeth"),
    ("3", "Window preset: soft tissue"),
    ("4", "Window preset: full range"),
    ("A", "Automatic window (from the image's grey values)"),
    ("H", "Hide / show the patient information"),
    # Files
    ("Ctrl+O", "Open a folder (disc, USB stick, DICOMDIR folder)"),
    ("Ctrl+Shift+O", "Open a file (DICOM file, DICOMDIR or zip)"),
    ("Ctrl+E", "Export the view as a picture"),
    # Measurements
    ("Del", "Delete the selected measurement"),
    ("Ctrl+Z", "Undo the last measurement change"),
    ("Ctrl+Shift+Z", "Redo"),
    ("Enter", "Finish a polyline or polygon (or double-click its last point)"),
    ("Left-drag on a measurement's handle", "Select the measurement and move that point"),
    ("Esc", "Cancel loading; drop the measurement being drawn, else leave the tool (back to the crosshair)"),
    ("Ctrl+Shift+D", "Dental workspace: arch, panoramic, cross-sections (again: back to the four views)"),
    ("Ctrl+Alt+Z", "Undo the last dental edit (arch, canal, implant)"),
    ("Ctrl+Alt+Y", "Redo the last dental edit"),
    ("Ctrl+Shift+C", "Compare workspace: baseline and follow-up side by side (again: back)"),
    ("F1", "Show these shortcuts"),
]
