"""The overlay pixel maths of the compare workspace (headless: numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from cbctviewer.rendering.compare_overlay import (
    blend_rgb,
    checkerboard_mask,
    checkerboard_rgb,
    difference_rgb,
    diverging_colours,
    flicker_rgb,
    legend_rgb,
)

RNG = np.random.default_rng(7)
BASE = RNG.integers(0, 256, (40, 60), dtype=np.uint8)
FOLLOW = RNG.integers(0, 256, (40, 60), dtype=np.uint8)


def test_blend_goes_from_baseline_to_tinted_followup() -> None:
    only_base = blend_rgb(BASE, FOLLOW, opacity=0.0)
    assert np.array_equal(only_base, np.repeat(BASE[:, :, None], 3, axis=2))
    only_follow = blend_rgb(BASE, FOLLOW, opacity=1.0).astype(int)
    # The follow-up's layer is warm: its red channel is its grey, blue is darker.
    assert np.abs(only_follow[:, :, 0] - FOLLOW.astype(int)).max() <= 1
    assert np.all(only_follow[:, :, 2] <= only_follow[:, :, 0])
    half = blend_rgb(BASE, FOLLOW, opacity=0.5).astype(int)
    expected_red = 0.5 * BASE.astype(float) + 0.5 * FOLLOW.astype(float)
    assert np.abs(half[:, :, 0] - expected_red).max() <= 1


def test_checkerboard_squares_have_the_asked_size_in_mm() -> None:
    # 0.25 mm per pixel, 2 mm squares: 8 pixels a side.
    mask = checkerboard_mask((40, 60), pixel_size_mm=0.25, square_mm=2.0)
    assert not mask[0, 0] and mask[0, 8] and mask[8, 0] and not mask[8, 8]
    assert mask[:8, 8:16].all() and not mask[:8, :8].any()
    image = checkerboard_rgb(BASE, FOLLOW, pixel_size_mm=0.25, square_mm=2.0)
    assert np.array_equal(image[:8, :8, 0], BASE[:8, :8])
    assert np.array_equal(image[:8, 8:16, 1], FOLLOW[:8, 8:16])
    # Half the pixels of a whole number of squares come from each scan.
    assert mask[:32, :56].mean() == pytest.approx(0.5)


def test_difference_is_black_where_equal_and_coloured_by_sign() -> None:
    values = RNG.normal(500.0, 300.0, (30, 30)).astype(np.float32)
    same = difference_rgb(values, values, limit=1000.0)
    assert same.max() == 0
    denser = difference_rgb(values, values + 1000.0, limit=1000.0)
    assert np.all(denser[:, :, 0] == 255) and np.all(denser[:, :, 2] == 0)
    lighter = difference_rgb(values, values - 500.0, limit=1000.0)
    assert np.all(lighter[:, :, 2] > 200) and np.all(lighter[:, :, 0] < 60)
    # A larger limit makes the same change fainter.
    faint = difference_rgb(values, values - 500.0, limit=5000.0)
    assert faint[:, :, 2].mean() < lighter[:, :, 2].mean()


def test_difference_marks_pixels_without_followup_data() -> None:
    values = np.zeros((4, 4), np.float32)
    valid = np.ones((4, 4), bool)
    valid[0] = False
    image = difference_rgb(values, values + 800.0, limit=1000.0, valid=valid)
    assert np.all(image[0] == 40)
    assert np.all(image[1:, :, 0] > 200)


def test_flicker_phases_show_each_scan() -> None:
    assert np.array_equal(flicker_rgb(BASE, FOLLOW, show_followup=False)[:, :, 1], BASE)
    assert np.array_equal(flicker_rgb(BASE, FOLLOW, show_followup=True)[:, :, 1], FOLLOW)


def test_legend_runs_from_blue_through_black_to_red() -> None:
    bar = legend_rgb(width=101, height=5).astype(int)
    assert bar.shape == (5, 101, 3)
    left, middle, right = bar[0, 0], bar[0, 50], bar[0, 100]
    assert left[2] > 200 and left[0] < 100
    assert middle.max() == 0
    assert right[0] == 255 and right[2] == 0
    # Monotone: brightness grows away from zero on both sides.
    brightness = bar[0].sum(axis=1)
    assert np.all(np.diff(brightness[50:]) >= 0) and np.all(np.diff(brightness[:51]) <= 0)
    assert np.array_equal(diverging_colours([0.0])[0], [0, 0, 0])


def test_mismatched_images_are_refused() -> None:
    with pytest.raises(ValueError, match="same size"):
        blend_rgb(BASE, FOLLOW[:10], opacity=0.5)
    with pytest.raises(ValueError, match="positive"):
        difference_rgb(BASE, FOLLOW, limit=0.0)
