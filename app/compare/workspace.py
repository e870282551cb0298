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
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cbctviewer.core.measurements import Measurement
from cbctviewer.core.view_state import ViewKind
from cbctviewer.rendering.compare_overlay import OverlayMode, legend_rgb
from cbctviewer.rendering.slice_view import SliceView

from ..measuring import TOOL_POINTS
from .panel import ComparePanel
from .views import LANDMARK_COLOUR, PENDING_COLOUR, CompareSliceWidget, Marker, OverlayWidget

if TYPE_CHECKING:
    from cbctviewer.app.main_window import MainWindow

    from .controller import CompareController

NOTICE_STYLE = "#compare_notice {{ background: {bg}; color: #1d1d1d; padding: 4px 8px; }}"


class CompareWorkspace(QWidget):
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

        self.view_choice = QComboBox(self)
        self.view_choice.setObjectName("compare_view_kind")
        self.view_choice.addItems([k.value.capitalize() for k in ViewKind])
        self.mode_choice = QComboBox(self)
        self.mode_choice.setObjectName("compare_mode")
        self.mode_choice.addItems([m.value.capitalize() for m in OverlayMode])
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setObjectName("compare_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setMaximumWidth(140)
        self.square = QDoubleSpinBox(self)
        self.square.setRange(1.0, 50.0)
        self.square.setValue(5.0)
        self.square.setSuffix(" mm squares")
        self.limit = QDoubleSpinBox(self)
        self.limit.setRange(10.0, 5000.0)
        self.limit.setValue(1000.0)
        self.limit.setSingleStep(100.0)
        self.limit.setPrefix("± ")
        self.rate = QDoubleSpinBox(self)
        self.rate.setRange(0.5, 10.0)
        self.rate.setValue(2.0)
        self.rate.setSuffix(" Hz")
        self.legend = QLabel(self)
        self.legend.setObjectName("compare_legend")
        self.legend_low = QLabel(self)
        self.legend_high = QLabel(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.addWidget(QLabel("View:", self))
        bar.addWidget(self.view_choice)
        bar.addWidget(QLabel("Show:", self))
        bar.addWidget(self.mode_choice)
        for widget in (
            self.opacity,
            self.square,
            self.limit,
            self.legend_low,
            self.legend,
            self.legend_high,
            self.rate,
        ):
            bar.addWidget(widget)
        bar.addStretch(1)

        self.notice = QLabel(self)
        self.notice.setObjectName("compare_notice")
        self.notice.setWordWrap(True)
        self.base_stack = QStackedWidget(self)
        self.follow_stack = QStackedWidget(self)
        self.overlay = OverlayWidget(self)
        self.follow_stack.addWidget(self.overlay)
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
        views.addLayout(bar)
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
        self.view_choice.currentIndexChanged.connect(lambda i: self.show_kind(list(ViewKind)[i]))
        self.mode_choice.currentIndexChanged.connect(lambda i: self.set_mode(list(OverlayMode)[i]))
        self.opacity.valueChanged.connect(lambda v: self.overlay.set_option("opacity", v / 100.0))
        self.square.valueChanged.connect(lambda v: self.overlay.set_option("square_mm", v))
        self.limit.valueChanged.connect(self._set_limit)
        self.rate.valueChanged.connect(self.overlay.set_flicker_rate)
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
        if self.view_choice.currentIndex() != list(ViewKind).index(self.kind):
            self.view_choice.setCurrentIndex(list(ViewKind).index(self.kind))

    def set_mode(self, mode: OverlayMode | str) -> None:
        self.mode = OverlayMode(mode)
        self.overlay.set_mode(self.mode)
        self._show_follow_page()
        self.opacity.setVisible(self.mode is OverlayMode.BLEND)
        self.square.setVisible(self.mode is OverlayMode.CHECKERBOARD)
        self.limit.setVisible(self.mode is OverlayMode.DIFFERENCE)
        for widget in (self.legend, self.legend_low, self.legend_high):
            widget.setVisible(self.mode is OverlayMode.DIFFERENCE)
        self.rate.setVisible(self.mode is OverlayMode.FLICKER)
        self._set_limit(self.limit.value())
        titles = {
            OverlayMode.SIDE_BY_SIDE: "Follow-up",
            OverlayMode.BLEND: "Blend: baseline grey, follow-up orange",
            OverlayMode.CHECKERBOARD: "Checkerboard: baseline and follow-up squares",
            OverlayMode.DIFFERENCE: "Difference: follow-up − baseline (red: denser now, blue: less dense)",
            OverlayMode.FLICKER: "Flicker: baseline and follow-up alternate",
        }
        self.follow_title.setText(titles[self.mode])
        if self.mode_choice.currentIndex() != list(OverlayMode).index(self.mode):
            self.mode_choice.setCurrentIndex(list(OverlayMode).index(self.mode))

    def _show_follow_page(self) -> None:
        if self.kind not in self.follow_widgets:
            return
        if self.mode is OverlayMode.SIDE_BY_SIDE:
            self.follow_stack.setCurrentWidget(self.follow_widgets[self.kind])
        else:
            self.follow_stack.setCurrentWidget(self.overlay)

    def _set_limit(self, value: float) -> None:
        self.overlay.set_option("difference_limit", value)
        legend = np.ascontiguousarray(legend_rgb(width=120, height=12))
        image = QImage(
            legend.data, legend.shape[1], legend.shape[0], 3 * legend.shape[1], QImage.Format.Format_RGB888
        )
        self.legend.setPixmap(QPixmap.fromImage(image.copy()))
        self.legend_low.setText(f"−{value:g}")
        self.legend_high.setText(f"+{value:g} grey values")
        self.legend.setToolTip(f"−{value:g} … 0 … +{value:g} grey values (follow-up − baseline)")
        self.limit.setToolTip("Grey-value difference shown at full colour")

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

    # -- click tools --------------------------------------------------------------------
    def set_click_mode(self, mode: str | None) -> None:
        """``"landmark"``, ``"region"``, ``"remeasure"`` or None; the panel's toggles follow."""
        self.click_mode = mode
        self._clicks = []
        p = self.panel
        for button, name in (
            (p.landmark_button, "landmark"),
            (p.region_button, "region"),
            (p.remeasure_button, "remeasure"),
        ):
            if button.isChecked() != (mode == name):
                button.blockSignals(True)
                button.setChecked(mode == name)
                button.blockSignals(False)
        if mode != "remeasure":
            self._remeasure_id = None
        self._apply_tools()

    def _apply_tools(self) -> None:
        measuring = self.window_.measure.tool is not None
        for widget in (*self.base_widgets.values(), *self.follow_widgets.values()):
            # Handles are dragged only while navigating or measuring, not while placing tool points.
            widget.grab_handles = self.click_mode is None
        for widget in self.base_widgets.values():
            if self.click_mode == "region":
                widget.set_tool("region")
            elif self.click_mode == "landmark" or (measuring and self.click_mode is None):
                widget.set_tool("click")
            else:
                widget.set_tool(None)
        follow_click = self.click_mode in ("landmark", "remeasure") or (measuring and self.click_mode is None)
        for widget in self.follow_widgets.values():
            widget.set_tool("click" if follow_click else None)

    def _base_click(self, kind: ViewKind, point: NDArray[np.float64]) -> None:
        if self.click_mode == "landmark":
            self.controller.add_baseline_landmark(point)
        elif self.window_.measure.tool is not None:
            self.window_.measure.click(point, self.window_.state.plane(kind))

    def _follow_click(self, kind: ViewKind, point: NDArray[np.float64]) -> None:
        c = self.controller
        if c.followup is None or c.paired is None:
            return
        if self.click_mode == "landmark":
            c.add_followup_landmark(point)
            return
        remeasure_id = self._remeasure_id
        if self.click_mode == "remeasure" and remeasure_id is not None and remeasure_id in c.paired.followup:
            target = c.paired.followup.get(remeasure_id)
            self._clicks.append(c.transform.apply(point))
            if len(self._clicks) < len(target.points):
                c.message.emit(f"Point {len(self._clicks) + 1} of {len(target.points)} on the follow-up")
                return
            c.paired.remeasure(target.id, np.array(self._clicks))
            c.message.emit(f"{target.label} re-measured on the follow-up")
            self.set_click_mode(None)
            return
        tool = self.window_.measure.tool
        if tool is not None and tool in TOOL_POINTS and tool.value != "implant_site":
            self._clicks.append(c.transform.apply(point))
            if len(self._clicks) >= TOOL_POINTS[tool]:
                added = c.paired.followup.add(Measurement.create(tool, np.array(self._clicks)))
                self._clicks = []
                c.message.emit(f"{added.label} added on the follow-up")

    def _follow_handle_dragged(self, measurement_id: str, index: int, point: NDArray[np.float64]) -> None:
        """A follow-up measurement's handle dragged in the follow-up view (baseline frame → follow-up)."""
        c = self.controller
        if c.paired is not None and measurement_id in c.paired.followup:
            c.paired.followup.move_handle(measurement_id, index, c.transform.apply(point), merge=True)

    def _follow_handle_released(self) -> None:
        if self.controller.paired is not None:
            self.controller.paired.followup.end_drag()

    def _region_dragged(self, kind: ViewKind, a: NDArray[np.float64], b: NDArray[np.float64]) -> None:
        normal = self.window_.state.normal(kind)
        half = self.panel.region_depth.value() / 2.0
        corners = np.array([a - half * normal, a + half * normal, b - half * normal, b + half * normal])
        self.controller.set_region(corners.min(axis=0), corners.max(axis=0))
        self.panel.use_region.setEnabled(True)
        self.panel.use_region.setChecked(True)
        self.set_click_mode(None)

    def _remeasure_toggled(self, on: bool) -> None:
        followup_id = self.panel.selected_pair()
        if on and followup_id is None:
            self.controller.message.emit("Select a pair in the table first")
            self.set_click_mode(None)
            return
        self.set_click_mode("remeasure" if on else None)
        self._remeasure_id = followup_id if on else None
        if on:
            self.controller.message.emit("Click the measurement's points on the follow-up view")

    def _unpair(self) -> None:
        c = self.controller
        followup_id = self.panel.selected_pair()
        if followup_id is not None and c.paired is not None and followup_id in c.paired.followup:
            c.paired.followup.remove(followup_id)

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
