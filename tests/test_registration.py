"""core.registration: rigid registration of the follow-up phantom onto the baseline, checked
against the phantom's known motion; landmark fitting; cancel; region; resampling; storage.

The phantom pair (0.4 mm, written as DICOM and loaded like a user's scan) differs by a known
rotation of 6.5° and a translation of several mm, a different crop and independent noise.
Errors are the largest displacement over the whole baseline field of view (its 8 corners,
which bound the error of a rigid map over the box, so this is stricter than the overlap) and
the angle of the residual rotation.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import numpy as np
import pytest
import SimpleITK as sitk

from cbctviewer.core.geometry import rotation_about
from cbctviewer.core.registration import (
    RegistrationCancelled,
    RegistrationResult,
    RigidTransform,
    box_corners,
    coverage_mask,
    landmark_residuals,
    landmark_transform,
    register_rigid,
    resample_followup,
    transform_error,
)
from cbctviewer.core.tasks import Cancelled
from cbctviewer.core.volume import Volume

MAX_DISPLACEMENT_MM = 0.2
MAX_ANGLE_DEG = 0.2


@pytest.fixture(scope="module")
def pair(loaded_phantoms: dict[str, Any]) -> dict[str, Any]:
    baseline, followup = loaded_phantoms["baseline"], loaded_phantoms["followup"]
    truth_b, truth_f = loaded_phantoms["truth_b"], loaded_phantoms["truth_f"]
    lo = np.asarray(baseline.origin)
    hi = lo + (np.asarray(baseline.size) - 1) * np.asarray(baseline.spacing)
    return {
        "baseline": baseline,
        "followup": followup,
        "truth_b": truth_b,
        "truth_f": truth_f,
        "truth": RigidTransform(np.asarray(truth_b["registration"]["baseline_to_followup"])),
        "corners": box_corners(lo, hi),
    }


@pytest.fixture(scope="module")
def registered(pair: dict[str, Any]) -> tuple[RegistrationResult, list[tuple[float, str]]]:
    calls: list[tuple[float, str]] = []
    result = register_rigid(pair["baseline"], pair["followup"], progress=lambda f, m: calls.append((f, m)))
    return result, calls


def moved(volume: Volume, motion: RigidTransform) -> Volume:
    """The same voxels with the patient frame moved by ``motion`` (new = motion(old))."""
    image = sitk.Image(volume.image)
    image.SetOrigin(tuple(motion.apply(np.asarray(image.GetOrigin()))))
    direction = motion.rotation @ np.asarray(image.GetDirection()).reshape(3, 3)
    image.SetDirection(tuple(direction.ravel()))
    return Volume(image, volume.metadata)


# ---------------------------------------------------------------------------- truth convention


def test_truth_matrix_follows_our_convention(pair: dict[str, Any]):
    """``registration.baseline_to_followup`` maps baseline landmarks onto the follow-up's."""
    truth: RigidTransform = pair["truth"]
    base = pair["truth_b"]["landmarks"]
    follow = pair["truth_f"]["landmarks"]
    for name, point in base.items():
        assert np.allclose(truth.apply(point), follow[name], atol=1e-5), name
        assert np.allclose(truth.apply_inverse(follow[name]), point, atol=1e-5), name
    assert truth.angle_deg == pytest.approx(pair["truth_b"]["registration"]["rotation_angle_deg"], abs=1e-9)


# ---------------------------------------------------------------------------- automatic registration


def test_phantom_pair_is_registered_within_tolerance(pair: dict[str, Any], registered):
    result, _ = registered
    start_error = transform_error(result.initial, pair["truth"], points=pair["corners"])
    error = transform_error(result.transform, pair["truth"], points=pair["corners"])
    assert start_error[0] > 3.0  # the test is not won by the initialisation
    assert error[0] <= MAX_DISPLACEMENT_MM, error
    assert error[1] <= MAX_ANGLE_DEG, error
    assert result.landmark_residual_mm is None
    assert np.isfinite(result.metric) and result.metric < 0.0  # ITK's Mattes MI is negated
    assert result.stop_reason


def test_levels_go_coarse_to_fine_and_report_themselves(pair: dict[str, Any], registered):
    result, calls = registered
    levels = result.levels
    assert len(levels) >= 2
    assert [lv.level for lv in levels] == list(range(len(levels)))
    assert all(a.spacing_mm > b.spacing_mm for a, b in itertools.pairwise(levels))
    assert levels[-1].spacing_mm == pytest.approx(pair["baseline"].spacing[0])
    assert all(lv.iterations > 0 and lv.seconds > 0.0 and np.isfinite(lv.metric) for lv in levels)
    assert levels[-1].metric == result.metric
    assert levels[-1].transform.matrix.tolist() == result.transform.matrix.tolist()
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in calls)


def test_large_motion_of_an_oblique_follow_up(pair: dict[str, Any]):
    """10° and 10 mm in total, with a follow-up whose axes are not the scanner's.

    The follow-up's patient frame is moved (origin and direction, voxels unchanged) so that
    the total baseline → follow-up motion is a chosen one.
    """
    followup: Volume = pair["followup"]
    centre = pair["corners"].mean(axis=0)
    rotation = rotation_about((1.0, 0.4, -0.3), 10.0)
    displacement = np.array((6.0, -6.0, 5.3))
    assert np.linalg.norm(displacement) == pytest.approx(10.0, abs=0.1)
    truth = RigidTransform.from_rotation_translation(rotation, centre + displacement - rotation @ centre)
    extra = truth.compose(pair["truth"].inverse())
    result = register_rigid(pair["baseline"], moved(followup, extra))
    error = transform_error(result.transform, truth, points=pair["corners"])
    assert error[0] <= MAX_DISPLACEMENT_MM and error[1] <= MAX_ANGLE_DEG, error


def test_region_keeps_unrelated_anatomy_out_of_the_fit(pair: dict[str, Any]):
    """Half the follow-up is replaced by a shifted copy (anatomy that moved differently):
    the whole-image fit is pulled off, a box around the implant side is not."""
    followup: Volume = pair["followup"]
    array = sitk.GetArrayFromImage(followup.image)
    half = array.shape[2] // 2  # patient right (low x) half
    array[:, :, :half] = np.roll(array, 12, axis=1)[:, :, :half]
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(followup.image)
    damaged = Volume(image, followup.metadata)
    shoulder = np.asarray(pair["truth_b"]["implant"]["shoulder"])
    region = (shoulder + np.array((-5.0, -15.0, -22.0)), shoulder + np.array((22.0, 15.0, 8.0)))
    corners = box_corners(*region)
    inside = register_rigid(pair["baseline"], damaged, region=region)
    error = transform_error(inside.transform, pair["truth"], points=corners)
    assert error[0] <= MAX_DISPLACEMENT_MM and error[1] <= MAX_ANGLE_DEG, error
    whole = register_rigid(pair["baseline"], damaged)
    assert transform_error(whole.transform, pair["truth"], points=corners)[0] > 1.0


def test_region_outside_the_baseline_is_refused(pair: dict[str, Any]):
    with pytest.raises(ValueError, match="region"):
        register_rigid(
            pair["baseline"], pair["followup"], region=((500.0, 500.0, 500.0), (520.0, 520.0, 520.0))
        )


# ---------------------------------------------------------------------------- landmarks


def test_landmarks_start_the_fit_and_report_their_residual(pair: dict[str, Any]):
    rng = np.random.default_rng(7)
    names = ["implant_shoulder", "mental_foramen_left", "mental_foramen_right", "canine_tip_33", "site_crest"]
    base = np.array([pair["truth_b"]["landmarks"][n] for n in names])
    follow = np.array([pair["truth_f"]["landmarks"][n] for n in names]) + rng.normal(
        0.0, 0.4, (len(names), 3)
    )
    start = landmark_transform(base, follow)
    assert transform_error(start, pair["truth"], points=pair["corners"])[0] > MAX_DISPLACEMENT_MM
    result = register_rigid(pair["baseline"], pair["followup"], landmarks=(base, follow))
    assert np.allclose(result.initial.matrix, start.matrix)
    error = transform_error(result.transform, pair["truth"], points=pair["corners"])
    assert error[0] <= MAX_DISPLACEMENT_MM and error[1] <= MAX_ANGLE_DEG, error
    # After registration the residual is the clicking noise, no longer the fit's error.
    expected = np.sqrt(np.mean(landmark_residuals(pair["truth"], base, follow) ** 2))
    assert result.landmark_residual_mm == pytest.approx(expected, abs=0.1)
    assert all(lv.landmark_residual_mm is not None for lv in result.levels)


def _random_motion(rng: np.random.Generator) -> RigidTransform:
    return RigidTransform.from_rotation_translation(
        rotation_about(rng.normal(size=3), rng.uniform(-30.0, 30.0)), rng.uniform(-20.0, 20.0, 3)
    )


def test_landmark_fit_is_exact_without_noise_and_least_squares_with_it():
    rng = np.random.default_rng(3)
    for _ in range(5):
        truth = _random_motion(rng)
        points = rng.uniform(-40.0, 40.0, (6, 3))
        fit = landmark_transform(points, truth.apply(points))
        assert np.allclose(fit.matrix, truth.matrix, atol=1e-9)
        noisy = truth.apply(points) + rng.normal(0.0, 0.2, points.shape)
        fit = landmark_transform(points, noisy)
        residual = landmark_residuals(fit, points, noisy)
        # Least squares: no worse than the truth on the clicked points, and close to it.
        assert np.sum(residual**2) <= np.sum(landmark_residuals(truth, points, noisy) ** 2) + 1e-12
        assert transform_error(fit, truth, points=points)[0] < 0.5


@pytest.mark.parametrize(
    ("base", "follow", "words"),
    [
        ([[0, 0, 0], [10, 0, 0]], [[0, 0, 0], [10, 0, 0]], "at least 3"),
        (
            [[0, 0, 0], [10, 0, 0], [20, 0.1, 0], [30, 0, 0]],
            [[0, 0, 0], [10, 0, 0], [20, 0, 0], [30, 0, 0]],
            "line",
        ),
        ([[0, 0, 0], [10, 0, 0], [0, 10, 0]], [[0, 0, 0], [10, 0, 0]], "pairs"),
        ([[0, 0, 0], [10, 0, 0], [0, np.nan, 0]], [[0, 0, 0], [10, 0, 0], [0, 10, 0]], "valid"),
    ],
)
def test_too_few_or_collinear_landmarks_are_refused(base, follow, words):
    with pytest.raises(ValueError, match=words):
        landmark_transform(base, follow)


# ---------------------------------------------------------------------------- cancel


def test_cancel_stops_promptly_with_a_core_exception(pair: dict[str, Any]):
    iterations = 0

    def progress(fraction: float, message: str) -> None:
        nonlocal iterations
        iterations += 1

    with pytest.raises(RegistrationCancelled) as info:
        register_rigid(pair["baseline"], pair["followup"], progress=progress, cancel=lambda: iterations >= 3)
    assert isinstance(info.value, Cancelled)
    assert iterations <= 4
    with pytest.raises(RegistrationCancelled):
        register_rigid(pair["baseline"], pair["followup"], cancel=lambda: True)


def test_cancel_from_another_thread(pair: dict[str, Any]):
    stop = threading.Event()
    outcome: list[BaseException | RegistrationResult] = []

    def work() -> None:
        try:
            outcome.append(register_rigid(pair["baseline"], pair["followup"], cancel=stop.is_set))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    stop.set()
    thread.join(timeout=30.0)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], RegistrationCancelled)


# ---------------------------------------------------------------------------- resampling


def test_resampled_followup_matches_the_baseline_where_covered(pair: dict[str, Any], registered):
    baseline: Volume = pair["baseline"]
    followup: Volume = pair["followup"]
    result, _ = registered
    on_grid = resample_followup(baseline, followup, result.transform)
    assert on_grid.size == baseline.size and on_grid.origin == baseline.origin
    assert on_grid.array.dtype == followup.array.dtype
    covered = coverage_mask(baseline, followup, result.transform)
    assert covered.shape == baseline.array.shape
    assert 0.3 < covered.mean() < 0.95  # the follow-up is cropped differently
    assert np.all(on_grid.array[~covered] == followup.array.min())
    # Aligned images differ by noise only (sigma 40, two scans) away from edges; unaligned by far more.
    diff = np.abs(on_grid.array.astype(float) - baseline.array)[covered]
    unaligned = resample_followup(baseline, followup, RigidTransform.identity())
    raw = np.abs(unaligned.array.astype(float) - baseline.array)[
        coverage_mask(baseline, followup, RigidTransform.identity())
    ]
    assert np.median(diff) < 60.0 < np.median(raw) or np.mean(diff) < 0.5 * np.mean(raw)
    # A truth landmark shows the same grey value in both (the implant is titanium, very bright).
    centre = baseline.patient_to_index(pair["truth_b"]["landmarks"]["implant_center"])
    i, j, k = (round(v) for v in centre)
    assert covered[k, j, i] and on_grid.array[k, j, i] > 2500
    # The coverage mask agrees with the follow-up's field of view at the baseline corners.
    for corner in pair["corners"]:
        inside = np.all(followup.patient_to_index(result.transform.apply(corner)) >= -0.5)
        inside &= np.all(
            followup.patient_to_index(result.transform.apply(corner)) <= np.asarray(followup.size) - 0.5
        )
        ci, cj, ck = (round(v) for v in baseline.patient_to_index(corner))
        assert bool(covered[ck, cj, ci]) == bool(inside)


# ---------------------------------------------------------------------------- the transform type


def test_transform_algebra_and_sitk_agree():
    rng = np.random.default_rng(11)
    t = _random_motion(rng)
    points = rng.uniform(-50.0, 50.0, (20, 3))
    assert np.allclose(t.apply_inverse(t.apply(points)), points, atol=1e-9)
    assert np.allclose(t.inverse().apply(t.apply(points)), points, atol=1e-9)
    assert np.allclose(t.apply(points[0]), t.apply(points)[0])
    for center in (None, (5.0, -3.0, 40.0)):
        itk = t.to_sitk(center=center)
        assert np.allclose([itk.TransformPoint(tuple(p)) for p in points], t.apply(points), atol=1e-9)
        assert np.allclose(RigidTransform.from_sitk(itk).matrix, t.matrix, atol=1e-9)
    assert transform_error(t, t, points=points) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert RigidTransform.identity().angle_deg == 0.0


def test_to_dict_round_trip_and_validation():
    t = _random_motion(np.random.default_rng(5))
    data = json.loads(json.dumps(t.to_dict()))
    assert np.array_equal(RigidTransform.from_dict(data).matrix, t.matrix)
    scaled = json.loads(json.dumps(t.to_dict()))
    scaled["matrix"][0][0] *= 1.1
    flipped = RigidTransform.identity().to_dict()
    flipped["matrix"][2][2] = -1.0
    nan = RigidTransform.identity().to_dict()
    nan["matrix"][0][3] = float("nan")
    for bad in (scaled, flipped, nan, {"kind": "affine", "matrix": flipped["matrix"]}, {}, None, []):
        with pytest.raises(ValueError):
            RigidTransform.from_dict(bad)
    with pytest.raises(ValueError):
        RigidTransform(np.eye(3))


def _noise_volume(shape_zyx: tuple[int, int, int], *, seed: int) -> Volume:
    values = np.random.default_rng(seed).integers(0, 1000, shape_zyx).astype(np.int16)
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.5, 0.5, 0.5))
    return Volume(image)


@pytest.mark.parametrize("flat", [(1, 40, 40), (40, 40, 3)])
def test_a_scan_that_is_not_3d_is_refused_in_plain_words(flat: tuple[int, int, int]) -> None:
    volume, other = _noise_volume(flat, seed=1), _noise_volume((40, 40, 40), seed=2)
    for baseline, followup in ((volume, other), (other, volume)):
        with pytest.raises(ValueError, match="not a 3D scan"):
            register_rigid(baseline, followup)


def test_a_region_thinner_than_the_coarsest_bin_fails_only_in_plain_words() -> None:
    # At 0.1 mm voxels the 1.6 mm level bins by 16; a 1 mm thick box is ~11 voxels thick, so
    # binning blindly along that axis made SimpleITK itself throw (BinShrink, then the Gaussian).
    image = sitk.Cast(_noise_volume((96, 96, 96), seed=3).image, sitk.sitkFloat32)
    image.SetSpacing((0.1, 0.1, 0.1))
    volume = Volume(image)
    corners = (np.array([1.0, 1.0, 4.0]), np.array([8.5, 8.5, 5.0]))
    try:
        result = register_rigid(volume, volume, region=corners, initial=RigidTransform.identity())
    except ValueError as exc:  # what the viewer shows as it is
        assert "registered" in str(exc) or "region" in str(exc)
    else:
        assert np.isfinite(result.metric)


def _thick_slices(volume: Volume, slice_mm: float, slices: int) -> Volume:
    """``slices`` slices ``slice_mm`` apart through the middle of the volume (in-plane kept)."""
    spacing = np.asarray(volume.spacing)
    size = np.asarray(volume.size)
    extent = (size[2] - 1) * spacing[2]
    first = volume.index_to_patient((0.0, 0.0, (extent - (slices - 1) * slice_mm) / 2 / spacing[2]))
    image = sitk.Resample(
        volume.image, [int(size[0]), int(size[1]), slices], sitk.Transform(), sitk.sitkLinear,
        tuple(first), (spacing[0], spacing[1], slice_mm), volume.direction, 0.0, volume.image.GetPixelID(),
    )  # fmt: skip
    return Volume(image, volume.metadata)


def test_scans_with_thick_slices_register(pair: dict[str, Any]):
    # 16 slices 2 mm apart (like a real MR in the sample corpus): the pyramid must not bin along
    # the slice axis as it does in plane, or the coarse levels keep 4 slices 8 mm apart and the
    # metric finds no overlap.
    baseline = _thick_slices(pair["baseline"], 2.0, 16)
    followup = _thick_slices(pair["followup"], 2.0, 16)
    result = register_rigid(baseline, followup)
    error = transform_error(result.transform, pair["truth"], points=pair["corners"])
    assert error[0] <= 0.5 and error[1] <= 0.5, error  # 5× coarser slices: a looser bound
