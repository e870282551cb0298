"""The measuring tools' vocabulary: how many clicks each tool takes and what to click next.

Shared by :class:`~cbctviewer.app.measuring.MeasureController` and the views that collect
clicks of their own (the compare workspace's follow-up view).
"""

from __future__ import annotations

from cbctviewer.core.measurements import MeasurementKind

__all__ = ["NEXT_HINT", "OPEN_ENDED", "TOOL_POINTS"]

#: Tools of the 2D views and the clicks each needs.
TOOL_POINTS: dict[MeasurementKind, int] = {
    MeasurementKind.DISTANCE: 2,
    MeasurementKind.ANGLE: 3,
    MeasurementKind.POINT: 1,
    MeasurementKind.IMPLANT_SITE: 1,
    MeasurementKind.PROFILE: 2,
    MeasurementKind.ELLIPSE: 3,
}
#: Tools that take clicks until finished (double-click or Enter), and the fewest they need.
OPEN_ENDED: dict[MeasurementKind, int] = {MeasurementKind.POLYLINE: 2, MeasurementKind.POLYGON: 3}
_FINISH = "double-click or Enter to finish, Esc to cancel"
#: The hint shown before each click of a tool (the last one repeats for open-ended tools).
NEXT_HINT: dict[MeasurementKind, tuple[str, ...]] = {
    MeasurementKind.DISTANCE: ("Click the start of the distance", "Click its end"),
    MeasurementKind.ANGLE: ("Click the first arm's end", "Click the vertex", "Click the second arm's end"),
    MeasurementKind.POINT: ("Click a point to read its grey value",),
    MeasurementKind.IMPLANT_SITE: ("Click the alveolar crest (the implant goes down the view)",),
    MeasurementKind.PROFILE: ("Click the start of the line profile", "Click its end"),
    MeasurementKind.ELLIPSE: (
        "Click the centre of the ellipse",
        "Click the end of its first axis",
        "Click a point setting its second axis",
    ),
    MeasurementKind.POLYLINE: ("Click the first point of the line", f"Click the next point ({_FINISH})"),
    MeasurementKind.POLYGON: ("Click the first corner of the region", f"Click the next corner ({_FINISH})"),
}
