"""core.volume: the one-copy voxel buffer and its views."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.volume import Volume, writable_view


def _image() -> sitk.Image:
    img = sitk.Image([5, 4, 3], sitk.sitkInt16)
    img.SetSpacing((0.5, 0.25, 2.0))
    img.SetOrigin((10.0, -5.0, 3.0))
    img.SetDirection((0, 1, 0, -1, 0, 0, 0, 0, 1))
    return img


def test_writable_view_writes_into_the_image_buffer() -> None:
    img = _image()
    view = writable_view(img)
    view[2, 3, 4] = 1234
    assert img[4, 3, 2] == 1234
    assert Volume(img).array[2, 3, 4] == 1234
    assert not Volume(img).array.flags.writeable


def test_views_keep_the_image_alive() -> None:
    img = _image()
    writable_view(img)[1, 1, 1] = 77
    array = Volume(img).array  # the Volume is a temporary
    del img
    gc.collect()
    filler = [np.full(1000, 5, np.int16) for _ in range(200)]  # reuse freed memory if any
    assert array[1, 1, 1] == 77 and array.sum() == 77
    sub = array[1]
    del array
    gc.collect()
    assert sub[1, 1] == 77
    del filler


def test_index_patient_mapping_round_trips_with_direction() -> None:
    vol = Volume(_image())
    p = vol.index_to_patient((1.0, 2.0, 1.5))
    # i runs along direction column 0 = (0, -1, 0), j along (1, 0, 0), k along z.
    assert p == pytest.approx([10.0 + 2 * 0.25, -5.0 - 1 * 0.5, 3.0 + 1.5 * 2.0])
    assert vol.patient_to_index(tuple(p)) == pytest.approx([1.0, 2.0, 1.5])
    expected = vol.image.TransformContinuousIndexToPhysicalPoint((1.0, 2.0, 1.5))
    assert p == pytest.approx(expected)
    assert vol.size == (5, 4, 3) and vol.nbytes == 5 * 4 * 3 * 2
