"""Measurement labels stay inside the view (rendering.measure_overlay.label_position)."""

from __future__ import annotations

from cbctviewer.rendering.measure_overlay import _GLYPH_WIDTH, HANDLE_PX, label_position


def test_label_sits_up_right_of_its_anchor_in_open_space() -> None:
    assert label_position(100, 100, "D1: 5.0 mm", 12, 512, 512) == (100 + 2 * HANDLE_PX, 100 + 2 * HANDLE_PX)


def test_label_near_the_right_and_top_edges_slides_back_inside() -> None:
    text = "Implant site 1: height 27.0 mm, width at 1/3/5 mm: 7.1 / 8.5 / 9.9 mm"
    x, y = label_position(680, 505, text, 12, 700, 512)
    assert x + _GLYPH_WIDTH * 12 * len(text) <= 700
    assert x < 680  # moved left of its anchor
    assert y + 12 <= 512
    assert x >= 0 and y >= 0


def test_label_wider_than_the_view_starts_at_the_left_margin() -> None:
    x, _ = label_position(10, 10, "x" * 200, 12, 300, 300)
    assert x == 4.0
