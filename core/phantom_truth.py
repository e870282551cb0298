"""Ground truth of the dental phantom as a JSON-ready dict (schema ``TRUTH_SCHEMA`` v1).

Every point is in the patient frame (LPS, mm) of the series the truth belongs to (key
``frame``); analytic definitions are stated in the baseline (anatomical) frame and mapped
with ``registration.baseline_to_followup`` for the follow-up. Top-level keys:

- ``voxel_size``, ``size`` (nx, ny, nz), ``origin`` (centre of the first voxel), ``spacing``,
  ``direction`` (9 cosines, SimpleITK order) of the series' grid.
- ``image``: array order, value range, noise sigma and seed, blur, nominal grey levels.
- ``registration``: the baseline → follow-up rigid transform (4×4 both ways, axis, angle,
  centre, displacement, translation); present in both variants.
- ``arch``: the parabola ``y = y0 + a*x²`` (parameter ``u = x``), a polyline at the crest
  height sampled every 0.5 mm of arc length between ``u_start`` and ``u_end``, and its
  exact ``arc_length_mm``.
- ``bone``: crest/inferior heights, half-widths, taper and cortical thickness.
- ``teeth``: FDI number, presence, arc length, CEJ centre, occlusal centre, apices, sizes.
- ``canals``: radius, wall, definition, and per side the centreline points inside the FOV
  (0.25 mm steps from the mental foramen backwards), length, foramen and mental canal.
- ``implant``: shoulder, apex, unit direction (shoulder → apex), diameter, length, distance
  from the apex to the canal surface.
- ``marginal_defect``: depth, radius, marginal bone level (shoulder to first bone contact
  along the axis), extra bone loss versus baseline.
- ``implant_site``: the edentulous site 46: crest point, axis, buccal direction, canal top,
  bone height crest → canal, widths at 1/3/5 mm below the crest with their end points.
- ``landmarks``, ``distance_pairs`` (two landmarks and their exact distance),
  ``tissue_probes`` (a point per tissue class), and for the follow-up
  ``landmarks_baseline_frame``. ``io.sample`` adds ``dicom`` (UIDs, storage).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from cbctviewer.core.phantom_anatomy import PhantomModel
from cbctviewer.core.phantom_geometry import apply_matrix
from cbctviewer.core.phantom_teeth import (
    MOLAR_ROOT_SPLAY,
    ROOT_APEX_RADIUS,
    TOOTH_TYPES,
    molar_root_separation,
    tooth_center_arc_length,
)

if TYPE_CHECKING:
    from cbctviewer.core.phantom import PhantomGrid, RigidTransform

TRUTH_SCHEMA = "cbct-viewer/phantom-truth"
TRUTH_VERSION = 1
#: Arch-length range of the recorded arch polyline: distal ends of the second molars.
ARCH_END_S = 53.0
WIDTH_DEPTHS = (1.0, 3.0, 5.0)


def _r(value: Any) -> Any:
    """Round floats (recursively) to 1e-6 mm so the JSON is compact and stable."""
    if isinstance(value, dict):
        return {k: _r(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_r(v) for v in value]
    if isinstance(value, np.ndarray):
        return _r(value.tolist())
    if isinstance(value, float | np.floating):
        return round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


class _Frame:
    """Maps baseline points and directions into the series' frame."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    def p(self, point: Any) -> np.ndarray:
        return apply_matrix(self.matrix, np.asarray(point, dtype=float))

    def v(self, vector: Any) -> np.ndarray:
        return np.asarray(vector, dtype=float) @ self.matrix[:3, :3].T


def _arch_point(model: PhantomModel, s: Any, d: float, z: float) -> np.ndarray:
    """Baseline point(s) at arch coordinates (arc length, buccal offset, height); (3,) or (n, 3)."""
    u = model.arch.u_at_arc_length(s)
    xy = model.arch.point(u) + d * model.arch.normal(u)
    return np.concatenate([xy, np.full((*xy.shape[:-1], 1), z)], axis=-1)


def build_truth(
    model: PhantomModel,
    *,
    grid: PhantomGrid,
    followup: bool,
    baseline_to_this: np.ndarray,
    registration: RigidTransform,
    seed: int,
    noise_sigma: float,
    blur_mm: float,
    value_range: tuple[int, int],
    extra_bone_loss: float,
    baseline_defect_depth: float,
) -> dict[str, Any]:
    """Assemble the ground-truth dict of one rendered phantom (see the module docstring).

    ``baseline_to_this`` maps anatomical points into the series' frame; ``registration``
    is the baseline → follow-up motion, recorded in both variants.
    """
    p = model.params
    arch = model.arch
    f = _Frame(baseline_to_this)
    down = np.array([0.0, 0.0, -1.0])

    def inside(point: np.ndarray) -> bool:
        return grid.contains(point)

    # Arch polyline (crest height), uniform in arc length.
    s_arch = np.linspace(-ARCH_END_S, ARCH_END_S, int(2 * ARCH_END_S / 0.5) + 1)
    u_arch = arch.u_at_arc_length(s_arch)
    arch_pts = np.column_stack([arch.point(u_arch), np.full(s_arch.size, p.crest_z)])

    teeth = []
    for quadrant in (3, 4):
        for t in TOOTH_TYPES:
            fdi = quadrant * 10 + t.kind
            s = tooth_center_arc_length(fdi)
            cej = _arch_point(model, s, 0.0, p.cej_z)
            md = t.slot - p.interdental_gap
            if t.two_roots:
                off = float(molar_root_separation(0.5 * md, t.root_md_half)) + MOLAR_ROOT_SPLAY
                root_s = [s - off, s + off]
            else:
                root_s = [s]
            tip_z = p.cej_z - t.root_length - ROOT_APEX_RADIUS
            teeth.append(
                {
                    "fdi": fdi,
                    "type": t.name,
                    "present": fdi not in p.missing_fdi,
                    "arc_length": s,
                    "cej_center": f.p(cej),
                    "occlusal_center": f.p(cej + (t.crown_height - t.fossa_depth) * -down),
                    "axis_occlusal": f.v(-down),
                    "apices": [f.p(_arch_point(model, rs, 0.0, tip_z)) for rs in root_s],
                    "crown_height_mm": t.crown_height,
                    "root_length_mm": t.root_length + ROOT_APEX_RADIUS,
                    "mesiodistal_mm": md,
                    "buccolingual_mm": t.crown_bl,
                }
            )

    canals = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s_vals = p.foramen_arc_length + 0.25 * np.arange(int(80 / 0.25))
        pts = f.p(_arch_point(model, sign * s_vals, p.canal_offset, p.canal_z))
        n_in = 0
        while n_in < len(pts) and inside(pts[n_in]):
            n_in += 1
        start, end, foramen = model.mental[side]
        canals[side] = {
            "arc_length_start": sign * p.foramen_arc_length,
            "arc_length_end": sign * float(s_vals[max(n_in - 1, 0)]),
            "length_mm": float(s_vals[max(n_in - 1, 0)] - p.foramen_arc_length),
            "points": pts[:n_in],
            "points_step_mm": 0.25,
            "mental_foramen": f.p(foramen),
            "mental_canal": {"start": f.p(start), "end": f.p(end), "radius": p.mental_radius},
        }

    shoulder = model.implant_shoulder
    apex = shoulder + p.implant_length * model.implant_direction
    u_ap, d_ap = arch.project(apex[0], apex[1])
    apex_to_axis = float(np.hypot(float(d_ap) - p.canal_offset, apex[2] - p.canal_z))
    canal_below_apex = _arch_point(model, float(arch.arc_length(u_ap)), p.canal_offset, p.canal_z)

    s_site = tooth_center_arc_length(p.site_fdi)
    u_site = float(arch.u_at_arc_length(s_site))
    n_site = np.array([*arch.normal(u_site), 0.0])
    t_site = np.array([*arch.tangent(u_site), 0.0])
    crest = _arch_point(model, s_site, 0.0, p.crest_z)
    canal_top = _arch_point(model, s_site, p.canal_offset, p.canal_z + p.canal_radius)
    widths = []
    for h in WIDTH_DEPTHS:
        w = model.half_width_at_depth(s_site, h)
        centre = crest + h * down
        widths.append(
            {
                "depth_mm": h,
                "width_mm": 2.0 * w,
                "buccal_point": f.p(centre + w * n_site),
                "lingual_point": f.p(centre - w * n_site),
            }
        )

    landmarks_baseline = {
        "implant_shoulder": shoulder,
        "implant_apex": apex,
        "implant_center": shoulder + 0.5 * p.implant_length * model.implant_direction,
        "site_crest": crest,
        "site_canal_top": canal_top,
        "mental_foramen_left": model.mental["left"][2],
        "mental_foramen_right": model.mental["right"][2],
        "canine_tip_33": _arch_point(
            model, tooth_center_arc_length(33), 0.0, p.cej_z + TOOTH_TYPES[2].crown_height
        ),
        "canine_tip_43": _arch_point(
            model, tooth_center_arc_length(43), 0.0, p.cej_z + TOOTH_TYPES[2].crown_height
        ),
    }
    landmarks = {k: f.p(v) for k, v in landmarks_baseline.items()}
    pairs = [
        ("implant_shoulder", "implant_apex"),
        ("mental_foramen_left", "mental_foramen_right"),
        ("canine_tip_33", "canine_tip_43"),
        ("implant_shoulder", "site_crest"),
        ("site_crest", "site_canal_top"),
        ("canine_tip_43", "implant_shoulder"),
    ]
    distance_pairs = [
        {
            "a": a,
            "b": b,
            "point_a": landmarks[a],
            "point_b": landmarks[b],
            "distance_mm": float(np.linalg.norm(landmarks_baseline[a] - landmarks_baseline[b])),
        }
        for a, b in pairs
    ]

    probes_baseline = {
        "titanium": landmarks_baseline["implant_center"],
        "canal_lumen_left": _arch_point(model, 40.0, p.canal_offset, p.canal_z),
        "canal_lumen_right": _arch_point(model, -40.0, p.canal_offset, p.canal_z),
        "trabecular": crest + 9.0 * down,
        "cortical": _arch_point(model, s_site, 0.0, p.inferior_z + 0.5 * p.cortical),
        "enamel": _arch_point(
            model, tooth_center_arc_length(43), 0.0, p.cej_z + TOOTH_TYPES[2].crown_height - 0.8
        ),
        "dentin": _arch_point(model, tooth_center_arc_length(43), 1.5, p.cej_z - 5.0),
        "soft_tissue": np.array([0.0, p.arch_y0 + 20.0, p.crest_z + 5.0]),
        "air": np.array([0.0, p.arch_y0 + 20.0, p.crest_z + 14.0]),
    }
    probes = [
        {"tissue": k, "point": f.p(v), "point_baseline": v, "in_fov": inside(f.p(v))}
        for k, v in probes_baseline.items()
    ]

    reg = registration
    m = reg.matrix
    mbl = p.defect_depth  # vertical implant, flat defect floor: contact starts at the floor
    truth: dict[str, Any] = {
        "schema": TRUTH_SCHEMA,
        "version": TRUTH_VERSION,
        "variant": "followup" if followup else "baseline",
        "frame": "followup" if followup else "baseline",
        "units": "mm; points in DICOM patient coordinates (LPS) of this series",
        "voxel_size": grid.spacing[0],
        "size": list(grid.size),
        "origin": list(grid.origin),
        "spacing": list(grid.spacing),
        "direction": list(grid.direction),
        "image": {
            "array_order": "zyx",
            "value_range": list(value_range),
            "noise_sigma": noise_sigma,
            "noise_seed": seed,
            "blur_mm": blur_mm,
            "grey_levels": asdict(p.grey),
        },
        "registration": None,  # filled in below at full precision
        "arch": {
            "definition": "baseline frame: x = u, y = y0 + a*u**2 (any z; the mandible is this "
            "curve's extrusion); buccal normal (2*a*u, -1)/sqrt(1 + 4*a**2*u**2)",
            "a": p.arch_a,
            "y0": p.arch_y0,
            "arc_length_formula": "s(u) = u/2*sqrt(1 + 4*a**2*u**2) + asinh(2*a*u)/(4*a)",
            "u_start": float(u_arch[0]),
            "u_end": float(u_arch[-1]),
            "arc_length_mm": 2.0 * ARCH_END_S,
            "polyline_z_baseline": p.crest_z,
            "polyline_step_mm": 0.5,
            "polyline": f.p(arch_pts),
        },
        "bone": {
            "crest_z_baseline": p.crest_z,
            "inferior_border_z_baseline": p.inferior_z,
            "height_mm": p.bone_height,
            "crest_half_width_mm": p.crest_half_width,
            "resorbed_site_crest_half_width_mm": p.site_crest_half_width,
            "taper_per_mm": p.taper,
            "basal_half_width_mm": p.basal_half_width,
            "cortical_thickness_mm": p.cortical,
            "width_formula": "2*min(w_c(s) + taper*h, basal_half_width), h = depth below the crest, "
            "measured along the buccal normal in the plane normal to the arch",
        },
        "teeth": teeth,
        "canals": {
            "radius_mm": p.canal_radius,
            "wall_thickness_mm": p.canal_wall,
            "definition": "baseline frame: tube about (s, d, z) = (s, offset, z_axis) for |s| >= "
            "foramen arc length, s = signed arc length along the arch (+ left)",
            "offset_mm": p.canal_offset,
            "z_axis_baseline": p.canal_z,
            "height_above_inferior_border_mm": p.canal_height,
            **canals,
        },
        "implant": {
            "site_fdi": p.implant_fdi,
            "shoulder": landmarks["implant_shoulder"],
            "apex": landmarks["implant_apex"],
            "direction": f.v(model.implant_direction),
            "diameter_mm": p.implant_diameter,
            "length_mm": p.implant_length,
            "apex_to_canal_mm": apex_to_axis - p.canal_radius,
            "canal_axis_point_below_apex": f.p(canal_below_apex),
        },
        "marginal_defect": {
            "depth_mm": p.defect_depth,
            "radius_mm": p.defect_radius,
            "region": "bone removed inside a cylinder of this radius about the implant axis, "
            "from depth_mm below the shoulder upwards",
            "marginal_bone_level_mm": mbl,
            "bone_level_point": f.p(shoulder + mbl * model.implant_direction),
            "baseline_depth_mm": baseline_defect_depth,
            "extra_bone_loss_mm": extra_bone_loss,
        },
        "implant_site": {
            "fdi": p.site_fdi,
            "crest_point": landmarks["site_crest"],
            "axis_direction": f.v(down),
            "buccal_direction": f.v(n_site),
            "mesiodistal_direction": f.v(t_site),
            "canal_top_point": landmarks["site_canal_top"],
            "bone_height_to_canal_mm": p.crest_z - (p.canal_z + p.canal_radius),
            "crest_width_mm": 2.0 * model.half_width_at_depth(s_site, 0.0),
            "widths": widths,
        },
        "landmarks": landmarks,
        "distance_pairs": distance_pairs,
        "tissue_probes": probes,
    }
    if followup:
        truth["landmarks_baseline_frame"] = landmarks_baseline
    truth = _r(truth)
    # Full precision: rounding would make the matrices measurably non-orthogonal.
    truth["registration"] = {
        "baseline_to_followup": m.tolist(),
        "followup_to_baseline": reg.inverse.tolist(),
        "convention": "4x4 row-major, column vectors: [x', y', z', 1] = M @ [x, y, z, 1]",
        "rotation_axis": [float(v) for v in reg.axis],
        "rotation_angle_deg": reg.angle_deg,
        "rotation_center_baseline": list(reg.center),
        "center_displacement": list(reg.displacement),
        "translation": m[:3, 3].tolist(),
    }
    return truth
