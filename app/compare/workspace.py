"""The compare workspace page: baseline and follow-up side by side (or overlaid), and its tools.

Both panes show the same view kind; the follow-up pane is the follow-up resampled onto the
baseline grid, in a :class:`ViewerState` linked to the window's, so the two move together.
Clicks are routed here: landmarks, re-measuring a follow-up measurement, the measuring
tools of the window (on the baseline) and the region box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.core.measurements import Measurement
from cbctviewer.core.view_state import ViewKind
from cbctviewer.rendering.compare_overlay import OverlayMode
from cbctviewer.rendering.slice_view import SliceView

from .click_tools import CompareClickTools
from .overlay_bar import FOLLOW_TITLES, OverlayBar
from .panel import ComparePanel
from .views import LANDMARK_COLOUR, PENDING_COLOUR, CompareSliceWidget, Marker, OverlayWidget

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

    from .controller import CompareController

NOTICE_STYLE = "#compare_notice {{ background: {bg}; color: #1d1d1d; padding: 4px 8px; }}"


class CompareWorkspace(QWidget, CompareClickTools):
    """Side-by-side / overlay views of the baseline and its follow-up, with the compare panel."""

    def __init__(self, window: MainWindow, controller: CompareController) -> None:
        super().__init__(window)
        self.setObjectName("compare_workspace")
        self.window_ = window
        self.controller = controller
        self.kind = ViewKind.AXIAL
        self.mode = OverlayMode.SIDE_BY_SIDE
        #: "landmark", "region", "remeasure" or None (navigate / the window's measuring tool).
        self.click_mode: str | None = None
        self._remeasure_id: str | None = None
        self._clicks: list[NDArray[np.float64]] = []
        self.base_views: dict[ViewKind, SliceView] = {}
        self.follow_views: dict[ViewKind, SliceView] = {}
        self.base_widgets: dict[ViewKind, CompareSliceWidget] = {}
        self.follow_widgets: dict[ViewKind, CompareSliceWidget] = {}

        self.notice = QLabel(self)
        self.notice.setObjectName("compare_notice")
        self.notice.setWordWrap(True)
        self.base_stack = QStackedWidget(self)
        self.follow_stack = QStackedWidget(self)
        self.overlay = OverlayWidget(self)
        self.follow_stack.addWidget(self.overlay)
        self.bar = OverlayBar(self.overlay, self)
        # The bar's controls, as tests and scripts reach them.
        self.opacity, self.square, self.limit, self.rate = (
            self.bar.opacity,
            self.bar.square,
            self.bar.limit,
            self.bar.rate,
        )
        self.base_title = QLabel("Baseline", self)
        self.follow_title = QLabel("Follow-up", self)
        for title in (self.base_title, self.follow_title):
            # Long titles must not widen one pane: both panes stay the same size (same geometry).
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        panes = QHBoxLayout()
        panes.setSpacing(4)
        for title, stack in ((self.base_title, self.base_stack), (self.follow_title, self.follow_stack)):
            pane = QVBoxLayout()
            pane.setSpacing(2)
            pane.addWidget(title)
            pane.addWidget(stack, 1)
            panes.addLayout(pane, 1)
        views = QVBoxLayout()
        views.setContentsMargins(0, 0, 0, 0)
        views.setSpacing(0)
        views.addWidget(self.bar)
        views.addWidget(self.notice)
        views.addLayout(panes, 1)

        self.panel = ComparePanel(controller, self)
        scroll = QScrollArea(self)
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(330)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(views, 1)
        layout.addWidget(scroll)

        self._wire()
        self.show_kind(ViewKind.AXIAL)
        self.set_mode(OverlayMode.SIDE_BY_SIDE)
        self.refresh()

    # -- building -----------------------------------------------------------------------
    def _wire(self) -> None:
        c, p, w = self.controller, self.panel, self.window_
        self.bar.kind_chosen.connect(self.show_kind)
        self.bar.mode_chosen.connect(self.set_mode)
        c.followup_changed.connect(self.refresh)
        c.transform_changed.connect(self.refresh)
        c.landmarks_changed.connect(self._landmarks_changed)
        c.busy_changed.connect(p.set_busy)
        c.progress.connect(p.set_progress)
        c.registered.connect(lambda _: p.show_quality())
        c.message.connect(p.progress_label.setText)
        p.register_button.clicked.connect(lambda: c.register(use_landmarks=False))
        p.cancel_button.clicked.connect(c.cancel)
        p.reset_button.clicked.connect(c.reset_registration)
        p.use_landmarks_button.clicked.connect(c.use_landmarks)
        p.refine_button.clicked.connect(lambda: c.register(use_landmarks=True))
        p.accept_button.clicked.connect(self.accept)
        p.remove_landmark_button.clicked.connect(lambda: c.remove_landmark(p.landmark_list.currentRow()))
        p.clear_landmarks_button.clicked.connect(c.clear_landmarks)
        p.landmark_button.toggled.connect(lambda on: self.set_click_mode("landmark" if on else None))
        p.region_button.toggled.connect(lambda on: self.set_click_mode("region" if on else None))
        p.use_region.toggled.connect(lambda on: None if on else c.clear_region())
        p.map_button.clicked.connect(self.map_to_followup)
        p.remeasure_button.toggled.connect(self._remeasure_toggled)
        p.unpair_button.clicked.connect(self._unpair)
        w.measure.set_changed.connect(self._baseline_set_changed)
        w.measure.tool_changed.connect(lambda _: self._apply_tools())

    def _pane(self, kind: ViewKind) -> None:
        """Build the baseline and follow-up views of ``kind`` on first use."""
        if kind in self.base_views:
            return
        c, w = self.controller, self.window_
        base = SliceView(w.state, kind)
        follow = SliceView(c.state, kind)
        base.set_measurements(w.measure.measurements)
        follow.set_measurements(c.display_set)
        self.base_views[kind], self.follow_views[kind] = base, follow
        bw, fw = CompareSliceWidget(w.state, base, self), CompareSliceWidget(c.state, follow, self)
        bw.setObjectName(f"compare_base_{kind.value}")
        fw.setObjectName(f"compare_followup_{kind.value}")
        fw.hint = "Compare › Open follow-up… shows a second scan here"
        bw.tool_click.connect(lambda p, k=kind: self._base_click(k, p))
        fw.tool_click.connect(lambda p, k=kind: self._follow_click(k, p))
        bw.region_dragged.connect(lambda a, b, k=kind: self._region_dragged(k, a, b))
        if hasattr(bw, "handle_grabbed"):  # handle dragging of the slice views (measure-ui)
            bw.handle_grabbed.connect(w.measure.grab)
            bw.handle_dragged.connect(w.measure.drag)
            bw.handle_released.connect(w.measure.release)
            fw.handle_dragged.connect(self._follow_handle_dragged)
            fw.handle_released.connect(self._follow_handle_released)
        for widget in (bw, fw):
            widget.cursor_info.connect(w.status.show_cursor)
            widget.measure_cancelled.connect(lambda: self.set_click_mode(None))
        self.base_widgets[kind], self.follow_widgets[kind] = bw, fw
        self.base_stack.addWidget(bw)
        self.follow_stack.addWidget(fw)

    def close_views(self) -> None:
        """Release the render windows (the main window is closing)."""
        self.overlay.bind(None, None)
        self.overlay.flicker_timer.stop()
        for widgets, views in (
            (self.base_widgets, self.base_views),
            (self.follow_widgets, self.follow_views),
        ):
            for kind, widget in widgets.items():
                widget.close_view()
                views[kind].close()
        self.base_widgets.clear()
        self.follow_widgets.clear()
        self.base_views.clear()
        self.follow_views.clear()

    # -- what is shown ------------------------------------------------------------------
    def show_kind(self, kind: ViewKind) -> None:
        self.kind = ViewKind(kind)
        self._pane(self.kind)
        self.base_stack.setCurrentWidget(self.base_widgets[self.kind])
        self._show_follow_page()
        self.overlay.bind(self.base_views[self.kind], self.follow_views[self.kind])
        self._apply_tools()
        self._landmarks_changed()
        self.bar.show_kind(self.kind)

    def set_mode(self, mode: OverlayMode | str) -> None:
        self.mode = OverlayMode(mode)
        self.overlay.set_mode(self.mode)
        self._show_follow_page()
        self.bar.show_mode(self.mode)
        self.follow_title.setText(FOLLOW_TITLES[self.mode])

    def _show_follow_page(self) -> None:
        if self.kind not in self.follow_widgets:
            return
        if self.mode is OverlayMode.SIDE_BY_SIDE:
            self.follow_stack.setCurrentWidget(self.follow_widgets[self.kind])
        else:
            self.follow_stack.setCurrentWidget(self.overlay)

    def refresh(self) -> None:
        """Follow-up opened/closed or the transform changed: notice, panel, markers."""
        c = self.controller
        self.overlay.no_data_below = c.no_data_below
        self.overlay.refresh()
        if c.followup is None:
            text, colour = "Open a follow-up scan of this patient: Compare › Open follow-up…", "#dde6f0"
        elif not c.is_registered:
            text, colour = (
                "Not registered yet: the follow-up is only roughly placed. Register it before comparing.",
                "#ffe2b8",
            )
        else:
            text, colour = "Registered: both views show the same anatomy.", "#d6f0d0"
        if c.identity_warning:
            text, colour = f"{c.identity_warning} {text}", "#ffc9c4"
        self.notice.setText(text)
        self.notice.setStyleSheet(NOTICE_STYLE.format(bg=colour))
        self.panel.show_followup()
        self._landmarks_changed()
        self.panel.show_pairs()
        if c.paired is not None:
            c.paired.followup.events.all.connect(self.panel.show_pairs, unique=True)
            c.paired.pairs_changed.connect(self.panel.show_pairs, unique=True)

    def _landmarks_changed(self) -> None:
        c = self.controller
        base: list[Marker] = [(b, LANDMARK_COLOUR, f"L{i + 1}") for i, (b, _) in enumerate(c.landmarks)]
        follow: list[Marker] = [
            (c.transform.apply_inverse(f), LANDMARK_COLOUR, f"L{i + 1}")
            for i, (_, f) in enumerate(c.landmarks)
        ]
        if c.pending_landmark is not None:
            base.append((c.pending_landmark, PENDING_COLOUR, f"L{len(c.landmarks) + 1}"))
        for widget in self.base_widgets.values():
            widget.set_markers(base)
            widget.set_region(c.region)
        for widget in self.follow_widgets.values():
            widget.set_markers(follow)
        self.panel.show_landmarks()

    def _baseline_set_changed(self, measurements: object) -> None:
        for view in self.base_views.values():
            view.set_measurements(self.window_.measure.measurements)
        mset = self.window_.measure.measurements
        if mset is not None:
            mset.events.all.connect(self.panel.show_pairs, unique=True)
        self.panel.show_pairs()

    # -- actions ------------------------------------------------------------------------
    def map_to_followup(self) -> list[Measurement]:
        """Copy the selected baseline measurement (or every unpaired one) onto the follow-up."""
        c, w = self.controller, self.window_
        mset = w.measure.measurements
        if c.paired is None or mset is None:
            c.message.emit("Open a follow-up and draw a measurement on the baseline first")
            return []
        selected = getattr(w.measure, "selected_id", None) or w.side.measure.selected_id()
        chosen = (
            [mset.get(selected)]
            if selected and selected in mset
            else [m for m in mset if c.paired.pair_of_baseline(m.id) is None]
        )
        mapped = [c.paired.map_to_followup(m, c.transform) for m in chosen]
        c.message.emit(
            f"{len(mapped)} measurement{'s' if len(mapped) != 1 else ''} mapped: adjust them on the "
            "follow-up (select the row, Re-measure on follow-up)"
        )
        return mapped

    def accept(self) -> None:
        c = self.controller
        if c.followup is None:
            return
        c.is_registered = True
        c.quality.setdefault("method", "landmarks")
        c.request_save()
        self.set_click_mode(None)
        self.refresh()
        c.message.emit("Registration accepted and saved with the case")
