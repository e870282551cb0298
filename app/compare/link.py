"""Two :class:`ViewerState` objects that move together (the baseline's and the follow-up's).

The follow-up is resampled onto the baseline's grid, so "the same anatomy" is simply the
same patient point and plane in both states: crosshair, MPR axes and rolls, window/level,
the interacting flag and every 2D view's zoom, pan and slab are copied across, both ways.
A flag stops the copy from echoing back (a change copied to the other state emits there
and would otherwise be copied back, possibly rounded, forever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cbctviewer.core.view_state import ViewerState, ViewKind
from cbctviewer.core.volume import Volume


class LinkedStates:
    """Keeps ``follower`` in step with ``leader`` and the other way round until :meth:`close`."""

    def __init__(self, leader: ViewerState, follower: ViewerState, *, window_level: bool = True) -> None:
        self.leader = leader
        self.follower = follower
        self.link_window_level = window_level
        self._busy = False
        self._connections: list[tuple[object, Callable[..., None]]] = []
        for source, target in ((leader, follower), (follower, leader)):
            self._connect(source.events.crosshair, lambda *_, s=source, t=target: self._copy_crosshair(s, t))
            self._connect(source.events.axes, lambda *_, s=source, t=target: self._copy_axes(s, t))
            self._connect(source.events.window_level, lambda *_, s=source, t=target: self._copy_window(s, t))
            self._connect(
                source.events.interacting, lambda *_, s=source, t=target: self._copy_interacting(s, t)
            )
            for kind in ViewKind:
                self._connect(
                    source.views[kind].events.all,
                    lambda *_, s=source, t=target, k=kind: self._copy_view(s, t, k),
                )
        self.copy_all()

    def _connect(self, signal: object, slot: Callable[..., None]) -> None:
        signal.connect(slot)  # type: ignore[attr-defined]
        self._connections.append((signal, slot))

    def close(self) -> None:
        """Stop linking (the states keep their current values)."""
        for signal, slot in self._connections:
            signal.disconnect(slot)  # type: ignore[attr-defined]
        self._connections.clear()

    @contextmanager
    def _guard(self) -> Iterator[bool]:
        if self._busy:
            yield False
            return
        self._busy = True
        try:
            yield True
        finally:
            self._busy = False

    def replace_follower_volume(self, volume: Volume | None) -> None:
        """Show another volume in the follower without its reset (centred crosshair…) reaching the leader."""
        self._busy = True
        try:
            self.follower.volume = volume
        finally:
            self._busy = False
        self.copy_all()

    def copy_all(self) -> None:
        """Make the follower show exactly what the leader shows now."""
        self._copy_axes(self.leader, self.follower)
        self._copy_crosshair(self.leader, self.follower)
        self._copy_window(self.leader, self.follower)
        for kind in ViewKind:
            self._copy_view(self.leader, self.follower, kind)

    def _copy_crosshair(self, source: ViewerState, target: ViewerState) -> None:
        with self._guard() as ok:
            if ok:
                target.crosshair = source.crosshair

    def _copy_axes(self, source: ViewerState, target: ViewerState) -> None:
        with self._guard() as ok:
            if not ok:
                return
            target.axes = source.axes
            for kind in ViewKind:
                if target.roll(kind) != source.roll(kind):
                    target.set_roll(kind, source.roll(kind))

    def _copy_window(self, source: ViewerState, target: ViewerState) -> None:
        if not self.link_window_level:
            return
        with self._guard() as ok:
            if ok:
                target.window_level = source.window_level

    def _copy_interacting(self, source: ViewerState, target: ViewerState) -> None:
        with self._guard() as ok:
            if ok:
                target.interacting = source.interacting

    def _copy_view(self, source: ViewerState, target: ViewerState, kind: ViewKind) -> None:
        with self._guard() as ok:
            if not ok:
                return
            a, b = source.views[kind], target.views[kind]
            b.zoom, b.pan = a.zoom, a.pan
            b.slab_thickness, b.slab_mode = a.slab_thickness, a.slab_mode
