"""The dental phantom: determinism, grey values, and ground truth checked on the voxels."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from cbctviewer.core.phantom import (
    PhantomParams,
    followup_transform,
    phantom_grid,
    phantom_model,
    render_phantom,
)
from cbctviewer.core.phantom_geometry import ParabolicArch, rotation_matrix

VOXEL = 0.4  # the fixtures' voxel size; measurement tolerance is one voxel
SOFT, CORTICAL, WALL = 40.0, 1450.0, 1150.0
BONE_EDGE = 0.5 * (SOFT + CORTICAL)


class Scan:
    """A series read back through SimpleITK (GDCM) plus its truth file."""

    def __init__(self, root: Path) -> None:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(root / "DICOM")))
        self.image = reader.Execute()
        self.array = sitk.GetArrayFromImage(self.image).astype(np.float64)
        self.truth: dict[str, Any] = json.loads((root / "phantom_truth.json").read_text())
        self.origin = np.asarray(self.image.GetOrigin())
        self.spacing = np.asarray(self.image.GetSpacing())
        self.direction = np.asarray(self.image.GetDirection()).reshape(3, 3)

    def sample(self, points: Any) -> np.ndarray:
        """Trilinear grey values at patient points (n, 3); -inf outside the volume."""
        pts = np.atleast_2d(np.asarray(points, dtype=float))
        idx = ((pts - self.origin) @ self.direction) / self.spacing  # (i, j, k)
        shape = np.array(self.array.shape[::-1])
        i0 = np.floor(idx).astype(int)
        frac = idx - i0
        out = np.zeros(len(pts))
        for corner in np.ndindex(2, 2, 2):
            c = np.array(corner)
            w = np.prod(np.where(c == 1, frac, 1.0 - frac), axis=1)
            ii = np.clip(i0 + c, 0, shape - 1)
            out += w * self.array[ii[:, 2], ii[:, 1], ii[:, 0]]
        inside = np.all((idx >= 0) & (idx <= shape - 1), axis=1)
        return np.where(inside, out, -np.inf)

    def mean_around(self, point: Any, radius: float = 1.0) -> float:
        """Mean grey value in a small cube (noise and texture averaged out)."""
        offs = np.stack(np.meshgrid(*[np.linspace(-radius, radius, 5)] * 3), axis=-1).reshape(-1, 3)
        return float(self.sample(np.asarray(point) + offs).mean())

    def profile(self, start: Any, direction: Any, t: np.ndarray) -> np.ndarray:
        return self.sample(np.asarray(start) + t[:, None] * np.asarray(direction))


def crossings(t: np.ndarray, values: np.ndarray, level: float) -> np.ndarray:
    """Sub-sample positions where the profile crosses ``level``."""
    above = values > level
    k = np.flatnonzero(above[:-1] != above[1:])
    return t[k] + (level - values[k]) / (values[k + 1] - values[k]) * (t[k + 1] - t[k])


@pytest.fixture(scope="module")
def baseline(phantom_dir: Path) -> Scan:
    return Scan(phantom_dir)


@pytest.fixture(scope="module")
def followup(phantom_followup_dir: Path) -> Scan:
    return Scan(phantom_followup_dir)


# ----- rendering -------------------------------------------------------------------------
def test_render_is_deterministic_and_seeded() -> None:
    a = render_phantom(voxel_size=0.8)
    b = render_phantom(voxel_size=0.8)
    c = render_phantom(voxel_size=0.8, seed=99)
    digest = [hashlib.sha256(x.array.tobytes()).hexdigest() for x in (a, b, c)]
    assert digest[0] == digest[1] != digest[2]
    assert a.array.dtype == np.int16 and a.array.shape == (75, 100, 100)
    assert a.truth == b.truth
    noise = c.array.astype(float) - a.array
    assert 25.0 < noise[a.array > -900].std() < 80.0  # correlated noise, sigma 40 per image


def test_render_matches_model_evaluation() -> None:
    """Noise-free voxels equal the analytic model at the voxel centres (both variants)."""
    for followup in (False, True):
        image = render_phantom(voxel_size=0.8, followup=followup, noise_sigma=0.0)
        nz, ny, nx = image.array.shape
        rng = np.random.default_rng(7)
        ijk = np.column_stack([rng.integers(0, n, 4000) for n in (nx, ny, nz)])
        points = np.asarray(image.origin) + ijk * np.asarray(image.spacing)
        expected = phantom_model(followup=followup).evaluate(points, width=float(np.hypot(0.8, 0.3)))
        got = image.array[ijk[:, 2], ijk[:, 1], ijk[:, 0]]
        assert np.abs(np.clip(np.rint(expected), -1000, 3095) - got).max() <= 1


def test_progress_is_reported() -> None:
    seen: list[float] = []
    render_phantom(voxel_size=1.0, progress=lambda f, _msg: seen.append(f))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


def test_arch_projection_is_exact() -> None:
    arch = ParabolicArch(PhantomParams().arch_a, PhantomParams().arch_y0)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-45, 45, 120), rng.uniform(-60, 30, 120)
    u, d = arch.project(x, y)
    dense = arch.point(np.linspace(-90, 90, 180_001))
    for xi, yi, di in zip(x, y, d, strict=True):
        assert abs(np.hypot(dense[:, 0] - xi, dense[:, 1] - yi).min() - abs(di)) < 1e-3
    foot = arch.point(u) + d[:, None] * arch.normal(u)
    assert np.allclose(foot, np.column_stack([x, y]), atol=1e-9)
    # Warm-started Newton gives the same answer, even from a guess on the wrong branch.
    for guess in (u + 0.01, -u, np.zeros_like(u)):
        u2, d2 = arch.project(x, y, guess=guess)
        assert np.allclose(u2, u, atol=1e-9) and np.allclose(d2, d, atol=1e-9)
    s = np.array([-53.0, -1.0, 0.0, 26.0, 53.0])
    assert np.allclose(arch.arc_length(arch.u_at_arc_length(s)), s, atol=1e-9)


# ----- the written series ----------------------------------------------------------------
def test_series_reads_back_with_the_rendered_values(baseline: Scan) -> None:
    image = render_phantom(voxel_size=VOXEL)
    info = baseline.truth
    assert np.allclose(baseline.origin, info["origin"], atol=1e-3)
    assert np.allclose(baseline.origin, image.origin, atol=1e-3)
    assert np.allclose(baseline.spacing, [VOXEL] * 3, atol=1e-3)
    assert np.allclose(baseline.direction, np.eye(3), atol=1e-6)
    assert list(baseline.image.GetSize()) == info["size"]
    assert np.array_equal(baseline.array, image.array)
    assert baseline.array.min() == -1000 and baseline.array.max() == 3095  # titanium saturates


def test_followup_series_geometry(followup: Scan) -> None:
    info = followup.truth
    grid = phantom_grid(voxel_size=VOXEL, followup=True)
    assert np.allclose(followup.origin, info["origin"], atol=1e-3)
    assert np.allclose(followup.origin, grid.origin, atol=1e-3)
    assert list(followup.image.GetSize()) == list(grid.size) == info["size"]


def test_dicom_headers(phantom_dir: Path, phantom_followup_dir: Path) -> None:
    base = pydicom.dcmread(sorted((phantom_dir / "DICOM").glob("IMG*.dcm"))[0])
    foll = pydicom.dcmread(sorted((phantom_followup_dir / "DICOM").glob("IMG*.dcm"))[0])
    assert base.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert base.SOPClassUID == pydicom.uid.CTImageStorage and base.Modality == "CT"
    assert (base.PixelRepresentation, base.BitsAllocated, base.BitsStored) == (0, 16, 12)
    assert float(base.RescaleIntercept) == -1000.0 and base.RescaleType == "US"
    assert base.Manufacturer == "cbct-viewer phantom"
    assert "baseline" in base.SeriesDescription and "follow-up" in foll.SeriesDescription
    assert base.PatientID == foll.PatientID and base.PatientName == foll.PatientName
    assert base.StudyDate != foll.StudyDate
    for key in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert base.get(key) != foll.get(key)
    assert (
        base.SeriesInstanceUID
        == json.loads((phantom_dir / "phantom_truth.json").read_text())["dicom"]["series_instance_uid"]
    )


def test_sample_is_byte_identical(tmp_path: Path) -> None:
    from cbctviewer.io.sample import write_sample

    first = write_sample(tmp_path / "a", voxel_size=1.0)
    second = write_sample(tmp_path / "b", voxel_size=1.0)
    assert [p.name for p in first.files][:2] == ["IMG0001.dcm", "IMG0002.dcm"]
    for p, q in zip([*first.files, first.truth_path], [*second.files, second.truth_path], strict=True):
        assert p.read_bytes() == q.read_bytes()


# ----- grey values -----------------------------------------------------------------------
EXPECTED = {
    "titanium": (3000, 3100),
    "canal_lumen_left": (-60, 200),
    "canal_lumen_right": (-60, 200),
    "trabecular": (300, 700),
    "cortical": (1200, 1700),
    "enamel": (2500, 2900),
    "dentin": (1600, 1900),
    "soft_tissue": (0, 100),
    "air": (-1000, -950),
}


@pytest.mark.parametrize("variant", ["baseline", "followup"])
def test_tissue_probes(variant: str, request: pytest.FixtureRequest) -> None:
    scan: Scan = request.getfixturevalue(variant)
    for probe in scan.truth["tissue_probes"]:
        assert probe["in_fov"]
        lo, hi = EXPECTED[probe["tissue"]]
        # Trabecular texture and noise average out over a 2 mm cube; edges need a point value.
        radius = 1.0 if probe["tissue"] in ("trabecular", "soft_tissue", "air") else 0.2
        value = scan.mean_around(probe["point"], radius)
        assert lo <= value <= hi, (probe["tissue"], value)


def test_enamel_is_brightest_tissue(baseline: Scan) -> None:
    probes = {p["tissue"]: baseline.mean_around(p["point"], 0.2) for p in baseline.truth["tissue_probes"]}
    order = ["enamel", "dentin", "cortical", "trabecular", "soft_tissue", "air"]
    values = [probes[k] for k in order]
    assert values == sorted(values, reverse=True), probes
    assert probes["titanium"] > probes["enamel"]


# ----- ground truth on the voxels ------------------------------------------------------------
@pytest.mark.parametrize("variant", ["baseline", "followup"])
def test_site_widths(variant: str, request: pytest.FixtureRequest) -> None:
    scan: Scan = request.getfixturevalue(variant)
    site = scan.truth["implant_site"]
    buccal = np.asarray(site["buccal_direction"])
    t = np.arange(-12.0, 12.0, 0.05)
    for w in site["widths"]:
        centre = 0.5 * (np.asarray(w["buccal_point"]) + np.asarray(w["lingual_point"]))
        edges = crossings(t, scan.profile(centre, buccal, t), BONE_EDGE)
        assert abs((edges[-1] - edges[0]) - w["width_mm"]) <= VOXEL, w
        assert abs(edges[-1] - 0.5 * w["width_mm"]) <= VOXEL  # buccal side where recorded


@pytest.mark.parametrize("variant", ["baseline", "followup"])
def test_site_crest_to_canal_height(variant: str, request: pytest.FixtureRequest) -> None:
    scan: Scan = request.getfixturevalue(variant)
    site = scan.truth["implant_site"]
    t = np.arange(-3.0, 25.0, 0.05)
    values = scan.profile(site["crest_point"], site["axis_direction"], t)
    crest = crossings(t, values, BONE_EDGE)[0]
    assert abs(crest) <= VOXEL
    below = t > crest + 2.0
    lumen = np.flatnonzero(below)[np.argmin(values[below])]  # darkest: the canal lumen
    top = crossings(t[: lumen + 1], values[: lumen + 1], 0.5 * (SOFT + WALL))[-1]
    assert abs((top - crest) - site["bone_height_to_canal_mm"]) <= VOXEL
    assert np.linalg.norm(np.asarray(site["canal_top_point"]) - site["crest_point"]) == pytest.approx(
        site["bone_height_to_canal_mm"]
    )


@pytest.mark.parametrize("variant", ["baseline", "followup"])
def test_implant_dimensions(variant: str, request: pytest.FixtureRequest) -> None:
    scan: Scan = request.getfixturevalue(variant)
    imp = scan.truth["implant"]
    axis = np.asarray(imp["direction"])
    shoulder = np.asarray(imp["shoulder"])
    level = 0.5 * (3095.0 + 500.0)
    t = np.arange(-3.0, imp["length_mm"] + 3.0, 0.05)
    ends = crossings(t, scan.profile(shoulder, axis, t), level)
    assert abs(ends[0]) <= VOXEL and abs(ends[-1] - imp["length_mm"]) <= VOXEL
    side = np.cross(axis, [1.0, 0.0, 0.0])
    for across in (side / np.linalg.norm(side), np.cross(axis, side / np.linalg.norm(side))):
        t = np.arange(-5.0, 5.0, 0.05)
        edges = crossings(t, scan.profile(shoulder + 5.0 * axis, across, t), level)
        assert abs((edges[-1] - edges[0]) - imp["diameter_mm"]) <= VOXEL
    # The apex sits the recorded distance above the canal (surface to surface).
    apex = np.asarray(imp["apex"])
    below = np.asarray(imp["canal_axis_point_below_apex"])
    gap = np.linalg.norm(below - apex) - scan.truth["canals"]["radius_mm"]
    assert gap == pytest.approx(imp["apex_to_canal_mm"], abs=1e-6)


def _marginal_bone_level(scan: Scan) -> float:
    imp = scan.truth["implant"]
    axis = np.asarray(imp["direction"])
    side = np.cross(axis, [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    # Just outside the implant, inside the defect: gum down to the (corticated) defect floor.
    start = np.asarray(imp["shoulder"]) + (0.5 * imp["diameter_mm"] + 0.7) * side
    t = np.arange(-1.0, 6.0, 0.05)
    return float(crossings(t, scan.profile(start, axis, t), BONE_EDGE)[0])


def test_marginal_bone_level(baseline: Scan, followup: Scan) -> None:
    mbl_b, mbl_f = _marginal_bone_level(baseline), _marginal_bone_level(followup)
    defect_b, defect_f = baseline.truth["marginal_defect"], followup.truth["marginal_defect"]
    assert abs(mbl_b - defect_b["marginal_bone_level_mm"]) <= VOXEL
    assert abs(mbl_f - defect_f["marginal_bone_level_mm"]) <= VOXEL
    assert defect_f["marginal_bone_level_mm"] - defect_b["marginal_bone_level_mm"] == pytest.approx(1.0)
    assert defect_f["extra_bone_loss_mm"] == 1.0
    assert abs((mbl_f - mbl_b) - 1.0) <= VOXEL


@pytest.mark.parametrize("variant", ["baseline", "followup"])
def test_canal_centreline_is_dark(variant: str, request: pytest.FixtureRequest) -> None:
    scan: Scan = request.getfixturevalue(variant)
    canals = scan.truth["canals"]
    for side in ("left", "right"):
        points = np.asarray(canals[side]["points"])
        assert len(points) > 100 and canals[side]["length_mm"] > 30
        values = scan.sample(points[::4])
        assert np.all(np.isfinite(values)) and values.max() < 300
        # Just outside the lumen, the wall is bright.
        offset = points[::20] + np.array([0.0, 0.0, canals["radius_mm"] + 0.3])
        assert np.median(scan.sample(offset)) > 800


# ----- the follow-up and its transform -------------------------------------------------------
def test_registration_record(baseline: Scan, followup: Scan) -> None:
    reg = followup.truth["registration"]
    m, inv = np.asarray(reg["baseline_to_followup"]), np.asarray(reg["followup_to_baseline"])
    assert np.allclose(m @ inv, np.eye(4), atol=1e-6)
    r = m[:3, :3]
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-6) and np.linalg.det(r) == pytest.approx(1.0)
    assert np.allclose(rotation_matrix(reg["rotation_axis"], reg["rotation_angle_deg"]), r, atol=1e-6)
    assert 5.0 <= reg["rotation_angle_deg"] <= 10.0
    assert min(abs(np.asarray(reg["rotation_axis"]))) > 0.1  # not about a coordinate axis
    c = np.asarray(reg["rotation_center_baseline"])
    assert np.allclose(r @ c + m[:3, 3], c + np.asarray(reg["center_displacement"]), atol=1e-6)
    assert np.linalg.norm(reg["center_displacement"]) <= 10.0 and np.linalg.norm(reg["translation"]) <= 10.0
    assert baseline.truth["registration"] == reg
    assert np.allclose(followup_transform().matrix, m, atol=1e-6)


def test_followup_landmarks_follow_the_transform(baseline: Scan, followup: Scan) -> None:
    m = np.asarray(followup.truth["registration"]["baseline_to_followup"])
    for name, point in baseline.truth["landmarks"].items():
        moved = m[:3, :3] @ np.asarray(point) + m[:3, 3]
        assert np.allclose(moved, followup.truth["landmarks"][name], atol=1e-5), name
    for pb, pf in zip(baseline.truth["tissue_probes"], followup.truth["tissue_probes"], strict=True):
        moved = m[:3, :3] @ np.asarray(pb["point"]) + m[:3, 3]
        assert np.allclose(moved, pf["point"], atol=1e-5)
    for a, b in zip(baseline.truth["distance_pairs"], followup.truth["distance_pairs"], strict=True):
        assert a["distance_mm"] == b["distance_mm"]
        assert np.linalg.norm(np.subtract(b["point_a"], b["point_b"])) == pytest.approx(
            b["distance_mm"], abs=1e-5
        )


def test_followup_voxels_match_baseline_through_the_transform(baseline: Scan, followup: Scan) -> None:
    """Same anatomy: a block around the implant and the site correlates across the scans."""
    m = np.asarray(followup.truth["registration"]["baseline_to_followup"])
    for name in ("site_crest", "implant_apex"):
        centre = np.asarray(baseline.truth["landmarks"][name])
        grid = np.stack(np.meshgrid(*[np.arange(-6.0, 6.01, 0.8)] * 3), axis=-1).reshape(-1, 3)
        points = centre + grid
        vb = baseline.sample(points)
        vf = followup.sample(points @ m[:3, :3].T + m[:3, 3])
        assert np.all(np.isfinite(vb)) and np.all(np.isfinite(vf))
        assert np.corrcoef(vb, vf)[0, 1] > 0.95, name
    # The FOVs overlap only partly: some baseline corners fall outside the follow-up scan.
    size = np.asarray(baseline.truth["size"]) - 1
    corners = baseline.origin + np.array(list(np.ndindex(2, 2, 2))) * size * VOXEL
    assert not np.all(np.isfinite(followup.sample(corners @ m[:3, :3].T + m[:3, 3])))


# ----- the truth file itself -----------------------------------------------------------------
def test_truth_schema(baseline: Scan, followup: Scan) -> None:
    for scan, variant in ((baseline, "baseline"), (followup, "followup")):
        truth = scan.truth
        assert truth["schema"] == "cbct-viewer/phantom-truth" and truth["version"] == 1
        assert truth["variant"] == truth["frame"] == variant
        assert truth["voxel_size"] == VOXEL and truth["spacing"] == [VOXEL] * 3
        assert len(truth["teeth"]) == 14
        missing = {t["fdi"] for t in truth["teeth"] if not t["present"]}
        assert missing == {36, 46}
        assert truth["implant"]["site_fdi"] == 36 and truth["implant_site"]["fdi"] == 46
        assert [w["depth_mm"] for w in truth["implant_site"]["widths"]] == [1.0, 3.0, 5.0]
    assert "landmarks_baseline_frame" in followup.truth


def test_arch_polyline_length(baseline: Scan) -> None:
    arch = baseline.truth["arch"]
    poly = np.asarray(arch["polyline"])
    length = np.linalg.norm(np.diff(poly, axis=0), axis=1).sum()
    assert length == pytest.approx(arch["arc_length_mm"], rel=1e-4)
    a, y0 = arch["a"], arch["y0"]
    assert np.allclose(poly[:, 1], y0 + a * poly[:, 0] ** 2)
    assert poly[0, 0] == pytest.approx(arch["u_start"]) and poly[-1, 0] == pytest.approx(arch["u_end"])
    k = 2 * a * arch["u_end"]
    closed = arch["u_end"] / 2 * np.sqrt(1 + k * k) + np.arcsinh(k) / (4 * a)
    assert 2 * closed == pytest.approx(arch["arc_length_mm"], abs=1e-5)


def test_to_volume() -> None:
    image = render_phantom(voxel_size=1.0, noise_sigma=0.0)
    volume = image.to_volume()
    assert volume.size == image.array.shape[::-1]
    assert np.allclose(volume.origin, image.origin) and np.array_equal(volume.array, image.array)
    centre = volume.patient_to_index(image.truth["landmarks"]["implant_center"])
    assert volume.array[tuple(np.rint(centre).astype(int)[::-1])] == 3095
