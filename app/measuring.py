"""The measuring tool and the open series' measurements, saved to its case file after each change.

:class:`MeasureController` holds the current tool (``None``: navigate), collects the
clicked patient points until a measurement is complete (polylines and polygons until
:meth:`~MeasureController.finish`), the selected measurement and the handle being
dragged. It owns the :class:`~cbctviewer.core.measure_set.MeasurementSet` of the open
series and saves it with :func:`cbctviewer.io.case_file.save_case` (in the user's data
folder, never on the scan's media) after each change, together with the view state and
the sections other features register (:meth:`~MeasureController.register_section`);
view changes are saved after a quiet moment (:data:`SAVE_DELAY_MS`). Problems are
reported through :attr:`~MeasureController.message`.

Its parts: the tools' clicks and hints (:mod:`.measuring_tools`), the implant-site tool
(:mod:`.measuring_site`), selecting and editing (:mod:`.measuring_edit`) and the case
file's other sections (:mod:`.measuring_case`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import QObject, QTimer, Signal

from cbctviewer.core.geometry import Plane
from cbctviewer.core.implant_site import Canal
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measurements import ROI_KINDS, Measurement, MeasurementKind
from cbctviewer.core.volume import Volume
from cbctviewer.io.case_file import CaseFileError, load_case, save_case

from .measuring_case import CaseSections, SectionDump, SectionRestore
from .measuring_edit import MeasurementEditing
from .measuring_site import measure_site_down, site_axes
from .measuring_tools import NEXT_HINT, OPEN_ENDED, TOOL_POINTS
from .panels.measure_site import site_parameters

__all__ = ["OPEN_ENDED", "SAVE_DELAY_MS", "TOOL_POINTS", "MeasureController"]

log = logging.getLogger(__name__)

#: How long the view state waits for the user to stop moving before it is saved (ms).
SAVE_DELAY_MS = 2000


class MeasureController(QObject, MeasurementEditing):
    """The measuring tool state and the measurements of the open series."""

    #: The tool changed (``None``: back to navigating).
    tool_changed = Signal(object)
    #: The set changed identity (a series opened or closed); the new set or ``None``.
    set_changed = Signal(object)
    #: A message for the user (status bar): hints and problems.
    message = Signal(str)
    #: A problem that needs more than a transient hint (e.g. a damaged case file).
    problem = Signal(str)
    #: The measurement being drawn changed (see :meth:`rubber_band`).
    pending_changed = Signal()
    #: The selected measurement's id, or ``None``.
    selection_changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tool: MeasurementKind | None = None
        self.pending: list[np.ndarray] = []
        self.hover: np.ndarray | None = None
        self._pending_plane: Plane | None = None
        #: The view (any tag the caller passes) the measurement being drawn was started in.
        self.drawing_view: object = None
        self.measurements: MeasurementSet | None = None
        self.volume: Volume | None = None
        self.source: Path | None = None
        self.case_file: Path | None = None
        self.selected_id: str | None = None
        self._dragging: tuple[str, int] | None = None
        #: The view state and the other features' sections saved with the measurements.
        self.sections = CaseSections()
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        #: Implant-site tool: distance to keep from the limiting structure (mm).
        self.safety_margin_mm = 2.0
        #: Implant-site tool: the planned implant length (mm), ``None`` when not planned.
        self.planned_length_mm: float | None = None
        #: Implant-site tool: bone threshold (grey value), ``None`` to estimate it per site.
        self.threshold: float | None = None
        #: The traced nerve canal nearest a patient point, if any (set by the dental feature).
        self.canal_provider: Callable[[np.ndarray], Canal | None] | None = None

    # -- tool ---------------------------------------------------------------------------
    def set_tool(self, tool: MeasurementKind | str | None) -> None:
        """Choose a tool (``None``: navigate); any half-drawn measurement is dropped."""
        self.tool = MeasurementKind(tool) if tool else None
        self._clear_pending()
        self.tool_changed.emit(self.tool)
        if self.tool is not None:
            self.message.emit(NEXT_HINT[self.tool][0])

    def click(
        self, point: ArrayLike, plane: Plane | None = None, *, view: object = None
    ) -> Measurement | None:
        """A click of the current tool at a patient point; returns the measurement once complete.

        ``plane`` is the clicked view's plane: ROIs lie in the plane of their first click
        and the implant-site tool measures down it. ``view`` names the clicked view
        (kept in :attr:`drawing_view` while a measurement is being drawn).
        """
        if self.tool is None or self.measurements is None:
            return None
        if self.tool == MeasurementKind.IMPLANT_SITE:
            return self._implant_site(point, plane)
        if self.tool in ROI_KINDS and plane is None and self._pending_plane is None:
            self.message.emit("Draw a region in a 2D view")
            return None
        if not self.pending:
            self._pending_plane, self.drawing_view = plane, view
        self.pending.append(np.asarray(point, dtype=float).reshape(3))
        self.hover = None
        needed = TOOL_POINTS.get(self.tool)
        if needed is None or len(self.pending) < needed:
            hints = NEXT_HINT[self.tool]
            self.message.emit(hints[min(len(self.pending), len(hints) - 1)])
            self.pending_changed.emit()
            return None
        return self._complete()

    def finish(self) -> Measurement | None:
        """End a polyline or polygon (double-click, Enter); too few points: keep drawing."""
        if self.tool not in OPEN_ENDED or not self.pending:
            return None
        if len(self.pending) < OPEN_ENDED[self.tool]:
            self.message.emit(f"A {self.tool.value} needs at least {OPEN_ENDED[self.tool]} points")
            return None
        return self._complete()

    def cancel(self) -> bool:
        """Drop the measurement being drawn; ``False`` when there was none (Esc leaves the tool)."""
        if not self.pending:
            return False
        self._clear_pending()
        if self.tool is not None:
            self.message.emit(f"Cancelled. {NEXT_HINT[self.tool][0]}")
        return True

    def hover_at(self, point: ArrayLike | None) -> None:
        """The cursor moved (patient point on the view's plane): stretch the rubber band."""
        if not self.pending:
            return
        self.hover = None if point is None else np.asarray(point, dtype=float).reshape(3)
        self.pending_changed.emit()

    def rubber_band(self) -> np.ndarray:
        """The clicks so far and the cursor, ``(n, 3)`` patient mm (empty when not drawing)."""
        points = [*self.pending, *([self.hover] if self.hover is not None and self.pending else [])]
        return np.asarray(points, dtype=float).reshape(-1, 3)

    def _complete(self) -> Measurement:
        assert self.tool is not None and self.measurements is not None
        points, plane = self.pending, self._pending_plane
        self._clear_pending()
        created = Measurement.create(self.tool, points, plane=plane if self.tool in ROI_KINDS else None)
        added = self.measurements.add(created)
        self.message.emit(f"{added.label} added")
        return added

    def _clear_pending(self) -> None:
        had = bool(self.pending)
        self.pending, self.hover, self._pending_plane, self.drawing_view = [], None, None, None
        if had:
            self.pending_changed.emit()

    # -- implant site -------------------------------------------------------------------
    def _implant_site(self, point: ArrayLike, plane: Plane | None) -> Measurement | None:
        assert self.measurements is not None
        if plane is None or self.volume is None:
            self.message.emit("Click the crest in a 2D view")
            return None
        measured = self._measure_site(point, *site_axes(plane))
        if measured is None:
            return None
        added = self.measurements.add(measured)
        self.message.emit(f"{added.label}: {added.note}")
        return added

    def _measure_site(self, crest: ArrayLike, axis: ArrayLike, across: ArrayLike) -> Measurement | None:
        assert self.volume is not None
        try:
            return measure_site_down(self.volume, crest, axis, across, self)
        except ValueError as exc:
            self.message.emit(f"No implant site measured here: {exc}")
            return None

    def remeasure_site(self, measurement_id: str | None) -> Measurement | None:
        """Measure an implant site again with the current threshold, margin, length and canal."""
        mset = self.measurements
        if mset is None or self.volume is None or not measurement_id or measurement_id not in mset:
            return None
        try:
            params = site_parameters(mset.get(measurement_id))
        except ValueError as exc:
            self.message.emit(f"This measurement cannot be measured again: {exc}")
            return None
        measured = self._measure_site(params.crest, params.axis, params.width_direction)
        if measured is None:
            return None
        new = mset.replace(measurement_id, measured)
        self.message.emit(f"{new.label} measured again: {new.note}")
        return new

    # -- the series' set ----------------------------------------------------------------
    def open(self, volume: Volume, source: Path | None = None) -> MeasurementSet:
        """A series opened: load its saved case (if any), restore what it kept, start saving."""
        self.close()
        self.volume, self.source = volume, source
        identity = volume.metadata.identity
        try:
            case = load_case(identity) if identity.series_instance_uid else None
        except CaseFileError as exc:
            log.warning("case file not used: %s", type(exc).__name__)
            self.problem.emit(str(exc))
            case = None
        self.sections.load(case)
        saved: Sequence[Measurement] = case.measurements if case is not None else ()
        self.measurements = MeasurementSet(identity, saved)
        events = self.measurements.events
        for signal in (events.added, events.removed, events.changed):
            signal.connect(self._autosave)
        events.removed.connect(self._forget_removed)
        self.set_changed.emit(self.measurements)
        self.sections.restore()
        return self.measurements

    def close(self) -> None:
        """The series closed: save what is pending, stop drawing and saving its measurements."""
        self.flush()
        self._clear_pending()
        self.select(None)
        self._dragging = None
        if self.measurements is not None:
            events = self.measurements.events
            for signal in (events.added, events.removed, events.changed):
                signal.disconnect(self._autosave, missing_ok=True)
            events.removed.disconnect(self._forget_removed, missing_ok=True)
            self.measurements = None
            self.set_changed.emit(None)
        self.volume = self.source = None
        self.sections.clear()

    def _autosave(self, *_: object) -> None:
        self.save()

    # -- what else the case file keeps (see measuring_case) -------------------------------
    def set_view_state_hooks(self, dump: SectionDump, restore: SectionRestore) -> None:
        """How to read the viewer's state (``None`` when it is not this series') and restore it."""
        self.sections.set_view_state_hooks(dump, restore)

    def note_view_change(self, *_: object) -> None:
        """The view changed: remember it now, write it after a quiet moment."""
        if self.measurements is not None and self.sections.capture_view_state():
            self.request_save()

    def register_section(self, name: str, dump: SectionDump, restore: SectionRestore) -> None:
        """Keep another feature's data in the case file under ``sections[name]``.

        ``dump`` is called at each save (``None``: nothing to keep); ``restore`` when a
        series opens, with what was saved (``None`` when nothing was).
        """
        self.sections.register(name, dump, restore)

    def unregister_section(self, name: str) -> None:
        """Stop keeping a section (what was saved stays in the file until the next save)."""
        self.sections.unregister(name)

    def request_save(self) -> None:
        """Save soon (after :data:`SAVE_DELAY_MS` without another request)."""
        if self.measurements is not None:
            self._save_timer.start()

    def flush(self) -> None:
        """Write a requested save now (before closing)."""
        if self._save_timer.isActive():
            self._save_timer.stop()
            self.save()

    def save(self) -> Path | None:
        """Write the case file now; ``None`` (and a message) when it could not be written."""
        self._save_timer.stop()
        mset = self.measurements
        if mset is None or not mset.identity.series_instance_uid:
            return None
        try:
            self.case_file = save_case(self.sections.case(mset), source=self.source)
        except (OSError, ValueError) as exc:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.message.emit(f"The measurements could not be saved: {text}")
            return None
        return self.case_file
