"""The change events of :class:`~cbctviewer.core.dental_state.DentalState` (psygnal)."""

from __future__ import annotations

from psygnal import Signal, SignalGroup

__all__ = ["DentalEvents"]


class DentalEvents(SignalGroup):
    """What the dental workspace and its renderers listen to."""

    #: The arch curve changed (new value, or ``None``).
    arch = Signal(object)
    #: The panoramic spec changed (new :class:`PanoramicSpec`).
    panoramic = Signal(object)
    #: The current cross-section's arc position changed (mm).
    position = Signal(float)
    #: Cross-section interval, count or width changed.
    cross_sections = Signal()
    #: ``(side, canal or None)``: a canal was traced, edited or removed.
    canals = Signal(str, object)
    #: ``(implant id, implant or None)``: an implant was added, changed or removed.
    implants = Signal(str, object)
    #: The active canal side or the selected implant changed.
    selection = Signal()
    #: ``(can_undo, can_redo)`` after every undoable change.
    history = Signal(bool, bool)
