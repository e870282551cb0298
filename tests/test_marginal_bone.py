"""core.marginal_bone: marginal bone level at the phantom's implant, baseline vs follow-up.

The follow-up phantom has 1.0 mm more marginal bone loss. Its implant is found the way a
user would find it: the baseline's implant points mapped through the truth transform, and
through the transform recovered by :func:`register_rigid` (the real workflow).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cbctviewer.core.marginal_bone import estimate_implant_radius, marginal_bone_level
from cbctviewer.core.registration import RigidTransform, register_rigid

TOLERANCE_MM = 0.2


@pytest.fixture(scope="module")
def scans(loaded_phantoms: dict[str, Any]) -> dict[str, Any]:
    baseline, followup = loaded_phantoms["baseline"], loaded_phantoms["followup"]
    truth_b, truth_f = loaded_phantoms["truth_b"], loaded_phantoms["truth_f"]
    return {
        "baseline": baseline,
        "followup": followup,
        "truth_b": truth_b,
        "truth_f": truth_f,
        "shoulder": np.asarray(truth_b["implant"]["shoulder"]),
        "apex": np.asarray(truth_b["implant"]["apex"]),
        "truth": RigidTransform(np.asarray(truth_b["registration"]["baseline_to_followup"])),
    }


def test_baseline_level_matches_the_truth(scans: dict[str, Any]):
    level = marginal_bone_level(scans["baseline"], scans["shoulder"], scans["apex"])
    expected = scans["truth_b"]["marginal_defect"]["marginal_bone_level_mm"]
    assert level == pytest.approx(expected, abs=TOLERANCE_MM)


def test_implant_radius_is_found_in_the_image(scans: dict[str, Any]):
    radius = estimate_implant_radius(scans["baseline"], scans["shoulder"], scans["apex"])
    assert radius == pytest.approx(0.5 * scans["truth_b"]["implant"]["diameter_mm"], abs=0.15)


@pytest.mark.parametrize("through", ["truth", "recovered"])
def test_followup_shows_the_known_extra_bone_loss(scans: dict[str, Any], through: str):
    if through == "truth":
        transform = scans["truth"]
    else:
        transform = register_rigid(scans["baseline"], scans["followup"]).transform
    shoulder_f, apex_f = transform.apply(np.stack([scans["shoulder"], scans["apex"]]))
    base = marginal_bone_level(scans["baseline"], scans["shoulder"], scans["apex"])
    follow = marginal_bone_level(scans["followup"], shoulder_f, apex_f)
    defect = scans["truth_f"]["marginal_defect"]
    assert follow == pytest.approx(defect["marginal_bone_level_mm"], abs=TOLERANCE_MM)
    assert follow - base == pytest.approx(defect["extra_bone_loss_mm"], abs=TOLERANCE_MM)
    assert defect["extra_bone_loss_mm"] == 1.0


def test_explicit_threshold_and_radius(scans: dict[str, Any]):
    # Half-way between soft tissue (40) and cortical bone (1450) of the phantom's grey scale.
    level = marginal_bone_level(
        scans["baseline"], scans["shoulder"], scans["apex"], threshold=745.0, implant_radius=2.0
    )
    assert level == pytest.approx(
        scans["truth_b"]["marginal_defect"]["marginal_bone_level_mm"], abs=TOLERANCE_MM
    )
    with pytest.raises(ValueError, match="no bone"):
        marginal_bone_level(scans["baseline"], scans["shoulder"], scans["apex"], threshold=10_000.0)


def test_bad_input_is_refused_in_plain_words(scans: dict[str, Any]):
    baseline = scans["baseline"]
    with pytest.raises(ValueError, match="apart"):
        marginal_bone_level(baseline, scans["shoulder"], scans["shoulder"])
    far = scans["shoulder"] + np.array((500.0, 0.0, 0.0))
    with pytest.raises(ValueError):
        marginal_bone_level(baseline, far, far + np.array((0.0, 0.0, -10.0)))
    # A "shoulder" in plain bone, far from the implant: no metal on the axis.
    crest = np.asarray(scans["truth_b"]["implant_site"]["crest_point"])
    with pytest.raises(ValueError, match="implant"):
        estimate_implant_radius(baseline, crest, crest + np.array((0.0, 0.0, -10.0)))
