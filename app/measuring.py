"""The measuring tool and the open series' measurements, saved to its case file after each change.

:class:`MeasureController` holds the current tool (``None``: navigate), collects the
clicked patient points until a measurement is complete, owns the
:class:`~cbctviewer.core.measure_set.MeasurementSet` of the open series and autosaves it
with :func:`cbctviewer.io.case_file.save_case` (in the user's data folder, never on the
scan's media). Problems are reported through :attr:`message`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from PySide6.QtCore import QObject, Signal

from cbctviewer.core.geometry import Plane
from cbctviewer.core.implant_record import site_measurement
from cbctviewer.core.implant_site import measure_site
from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.core.measurements import Measurement, MeasurementKind
from cbctviewer.core.volume import Volume
from cbctviewer.io.case_file import Case, CaseFileError, load_case, save_case

log = logging.getLogger(__name__)

#: Tools of the 2D views and the clicks each needs.
TOOL_POINTS: dict[MeasurementKind, int] = {
    MeasurementKind.DISTANCE: 2,
    MeasurementKind.ANGLE: 3,
    MeasurementKind.POINT: 1,
    MeasurementKind.IMPLANT_SITE: 1,
}
_NEXT_HINT = {
    MeasurementKind.DISTANCE: ("Click the start of the distance", "Click its end"),
    MeasurementKind.ANGLE: ("Click the first arm's end", "Click the vertex", "Click the second arm's end"),
    MeasurementKind.POINT: ("Click a point to read its grey value",),
    MeasurementKind.IMPLANT_SITE: ("Click the alveolar crest (the implant goes down the view)",),
}


class MeasureController(QObject):
    """The measuring tool state and the measurements of the open series."""

    #: The tool changed (``None``: back to navigating).
    tool_changed = Signal(object)
    #: The set changed identity (a series opened or closed); the new set or ``None``.
    set_changed = Signal(object)
    #: A message for the user (status bar): hints and problems.
    message = Signal(str)
    #: A problem that needs more than a transient hint (e.g. a damaged case file).
    problem = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tool: MeasurementKind | None = None
        self.pending: list[np.ndarray] = []
        self.measurements: MeasurementSet | None = None
        self.volume: Volume | None = None
        self.source: Path | None = None
        self.case_file: Path | None = None
        self._view_state: dict[str, object] = {}
        #: Implant-site tool: distance to keep from the limiting structure (mm).
        self.safety_margin_mm = 2.0
        #: Implant-site tool: the planned implant length (mm), ``None`` when not planned.
        self.planned_length_mm: float | None = None

    # -- tool ---------------------------------------------------------------------------
    def set_tool(self, tool: MeasurementKind | str | None) -> None:
        """Choose a tool (``None``: navigate); any half-drawn measurement is dropped."""
        self.tool = MeasurementKind(tool) if tool else None
        self.pending = []
        self.tool_changed.emit(self.tool)
        if self.tool is not None:
            self.message.emit(_NEXT_HINT[self.tool][0])

    def click(self, point: ArrayLike, plane: Plane | None = None) -> Measurement | None:
        """A click of the current tool at a patient point; returns the measurement once complete.

        ``plane`` is the clicked view's plane (the implant-site tool measures down it).
        """
        if self.tool is None or self.measurements is None:
            return None
        if self.tool == MeasurementKind.IMPLANT_SITE:
            return self._implant_site(point, plane)
        self.pending.append(np.asarray(point, dtype=float).reshape(3))
        needed = TOOL_POINTS[self.tool]
        if len(self.pending) < needed:
            self.message.emit(_NEXT_HINT[self.tool][len(self.pending)])
            return None
        points, self.pending = self.pending, []
        added = self.measurements.add(Measurement.create(self.tool, points))
        self.message.emit(f"{added.label} added")
        return added

    def _implant_site(self, point: ArrayLike, plane: Plane | None) -> Measurement | None:
        assert self.measurements is not None
        if plane is None or self.volume is None:
            self.message.emit("Click the crest in a 2D view")
            return None
        try:
            result = measure_site(
                self.volume,
                point,
                -np.asarray(plane.y_axis),  # screen down: into the bone
                plane.x_axis,  # screen right: across the ridge
                canal=None,
                safety_margin_mm=self.safety_margin_mm,
                planned_length_mm=self.planned_length_mm,
            )
        except ValueError as exc:
            self.message.emit(f"No implant site measured here: {exc}")
            return None
        added = self.measurements.add(site_measurement(result, planned_length_mm=self.planned_length_mm))
        self.message.emit(f"{added.label}: {added.note}")
        return added

    # -- the series' set ----------------------------------------------------------------
    def open(self, volume: Volume, source: Path | None = None) -> MeasurementSet:
        """A series opened: load its saved measurements (if any) and start autosaving."""
        self.close()
        self.volume, self.source = volume, source
        identity = volume.metadata.identity
        saved: Sequence[Measurement] = ()
        try:
            case = load_case(identity) if identity.series_instance_uid else None
        except CaseFileError as exc:
            log.warning("case file not used: %s", type(exc).__name__)
            self.problem.emit(str(exc))
            case = None
        if case is not None:
            saved, self._view_state = case.measurements, dict(case.view_state)
        self.measurements = MeasurementSet(identity, saved)
        events = self.measurements.events
        for signal in (events.added, events.removed, events.changed):
            signal.connect(self._autosave)
        self.set_changed.emit(self.measurements)
        return self.measurements

    def close(self) -> None:
        """The series closed: stop drawing and saving its measurements."""
        self.pending = []
        if self.measurements is not None:
            events = self.measurements.events
            for signal in (events.added, events.removed, events.changed):
                signal.disconnect(self._autosave, missing_ok=True)
            self.measurements = None
            self.set_changed.emit(None)
        self.volume = self.source = None
        self._view_state = {}

    def _autosave(self, *_: object) -> None:
        self.save()

    def save(self) -> Path | None:
        """Write the case file now; ``None`` (and a message) when it could not be written."""
        mset = self.measurements
        if mset is None or not mset.identity.series_instance_uid:
            return None
        try:
            self.case_file = save_case(
                Case(mset.identity, list(mset), dict(self._view_state)), source=self.source
            )
        except (OSError, ValueError) as exc:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.message.emit(f"The measurements could not be saved: {text}")
            return None
        return self.case_file

    # -- editing ------------------------------------------------------------------------
    def undo(self) -> None:
        if self.measurements is not None:
            self.measurements.undo()

    def redo(self) -> None:
        if self.measurements is not None:
            self.measurements.redo()

    def remove(self, measurement_id: str | None) -> None:
        if self.measurements is not None and measurement_id and measurement_id in self.measurements:
            self.measurements.remove(measurement_id)
