"""Teeth of the dental phantom: dimensions per type and their signed distance functions.

Teeth live in arch coordinates: ``a`` along the arch from the tooth centre (arc length),
``b`` buccal offset from the arch curve, ``zz`` height above the cemento-enamel junction.
Their shapes are plausible rather than exact (no test measures a tooth's outline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cbctviewer.core.phantom_geometry import FloatArray, sd_round_box, sd_round_cone_z, smooth_min


@dataclass(frozen=True, slots=True)
class ToothType:
    """Dimensions (mm) of one mandibular tooth type; FDI unit digit ``kind``."""

    kind: int
    name: str
    slot: float  # arch length allotted to the tooth (crown width + interdental gap)
    crown_bl: float
    crown_height: float
    root_length: float
    root_md_half: float
    root_bl_half: float
    two_roots: bool
    taper_bl: float  # fraction the crown narrows towards the occlusal/incisal end
    taper_md: float
    fossa_radius: float  # occlusal fossa (0: none)
    fossa_depth: float


TOOTH_TYPES: tuple[ToothType, ...] = (
    ToothType(1, "central incisor", 5.0, 6.0, 9.0, 12.5, 1.6, 2.9, False, 0.6, 0.0, 0.0, 0.0),
    ToothType(2, "lateral incisor", 5.5, 6.4, 9.0, 14.0, 1.7, 3.0, False, 0.6, 0.0, 0.0, 0.0),
    ToothType(3, "canine", 7.0, 7.5, 11.0, 16.0, 2.6, 3.5, False, 0.5, 0.45, 0.0, 0.0),
    ToothType(4, "first premolar", 7.0, 7.5, 8.5, 14.0, 2.4, 3.4, False, 0.3, 0.15, 2.5, 1.0),
    ToothType(5, "second premolar", 7.0, 8.0, 8.0, 14.5, 2.5, 3.5, False, 0.3, 0.15, 2.5, 1.0),
    ToothType(6, "first molar", 11.0, 10.3, 7.5, 14.0, 2.0, 3.5, True, 0.2, 0.1, 4.0, 1.5),
    ToothType(7, "second molar", 10.5, 10.0, 7.0, 13.0, 1.9, 3.4, True, 0.2, 0.1, 4.0, 1.5),
)


#: Radius of the sphere that rounds each root apex (the root tip is this far below its centre).
ROOT_APEX_RADIUS = 0.7
#: How far (mm, along the arch) each molar root apex moves outwards from its root's cervical axis.
MOLAR_ROOT_SPLAY = 0.8


def molar_root_separation(md_half: FloatArray | float, root_md_half: FloatArray | float) -> FloatArray:
    """Arch-length offset of each molar root's cervical axis from the tooth centre."""
    return 0.45 * np.asarray(md_half) - 0.2 * np.asarray(root_md_half)


def slot_bounds() -> np.ndarray:
    """Arc-length boundaries of the tooth slots from the midline: ``[0, 5, 10.5, ...]``."""
    return np.concatenate([[0.0], np.cumsum([t.slot for t in TOOTH_TYPES])])


def tooth_center_arc_length(fdi: int) -> float:
    """Signed arc length of a tooth's (or its slot's) centre; quadrant 3 is +s, 4 is -s."""
    bounds = slot_bounds()
    kind = fdi % 10
    s = 0.5 * (bounds[kind - 1] + bounds[kind])
    return float(s if fdi // 10 == 3 else -s)


#: Column order of the per-tooth parameter table (see :func:`tooth_table`).
TABLE_COLUMNS = (
    "center_s",
    "present",
    "md_half",
    "bl_half",
    "crown_height",
    "root_length",
    "root_md_half",
    "root_bl_half",
    "two_roots",
    "taper_bl",
    "taper_md",
    "fossa_radius",
    "fossa_depth",
)


def tooth_table(*, interdental_gap: float, missing: tuple[int, ...]) -> np.ndarray:
    """One row per tooth (quadrant 3 then 4, FDI unit 1..7) with :data:`TABLE_COLUMNS`."""
    rows = []
    for quadrant in (3, 4):
        for t in TOOTH_TYPES:
            fdi = quadrant * 10 + t.kind
            rows.append(
                [
                    tooth_center_arc_length(fdi),
                    float(fdi not in missing),
                    0.5 * (t.slot - interdental_gap),
                    0.5 * t.crown_bl,
                    t.crown_height,
                    t.root_length,
                    t.root_md_half,
                    t.root_bl_half,
                    float(t.two_roots),
                    t.taper_bl,
                    t.taper_md,
                    t.fossa_radius,
                    t.fossa_depth,
                ]
            )
    return np.asarray(rows, dtype=np.float64)


def tooth_sdfs(
    a: FloatArray, b: FloatArray, zz: FloatArray, prm: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """SDFs of the whole tooth, its enamel shell and its pulp at points with per-point parameters.

    Parameters
    ----------
    a, b, zz
        Tooth-local coordinates (mm), flat arrays.
    prm
        Rows of :func:`tooth_table` gathered per point, shape ``(n, 13)``, float32.

    Returns
    -------
    tuple
        ``(tooth, enamel, pulp)`` signed distances (negative inside).
    """
    mdh, blh, height, root_len = prm[:, 2], prm[:, 3], prm[:, 4], prm[:, 5]
    # Crown: rounded box over zz in [-0.5, H], narrowing towards the occlusal end.
    frac = np.clip(zz / height, 0.0, 1.0)
    sx = 1.0 - prm[:, 10] * frac * frac
    sy = 1.0 - prm[:, 9] * frac
    rnd = np.minimum(np.float32(2.5), 0.6 * np.minimum(mdh, blh))
    hz = 0.5 * (height + 0.5)
    crown = sd_round_box(a / sx, b / sy, zz - (hz - 0.5), mdh, blh, hz, rnd) * np.minimum(sx, sy)
    fossa_r, fossa_d = prm[:, 11], prm[:, 12]
    has_fossa = fossa_r > 0.0
    fz = zz - (height + fossa_r - fossa_d)
    fossa = np.sqrt(a * a + b * b + fz * fz) - fossa_r
    crown = np.where(has_fossa, np.maximum(crown, -fossa), crown)
    # Roots: one round cone, or two (mesial and distal) for molars; elliptical section.
    rmd, rbl = prm[:, 6], prm[:, 7]
    two = prm[:, 8] > 0.0
    sep = np.where(two, molar_root_separation(mdh, rmd), 0.0)
    splay = np.where(two, np.float32(MOLAR_ROOT_SPLAY), 0.0)
    bs = b * (rmd / rbl)
    apex_r = np.float32(ROOT_APEX_RADIUS)
    shear = splay * np.clip(-zz / root_len, 0.0, 1.0)  # molar roots splay apically
    root = np.minimum(
        sd_round_cone_z(a - sep - shear, bs, zz, 0.5, -root_len, rmd, apex_r),
        sd_round_cone_z(a + sep + shear, bs, zz, 0.5, -root_len, rmd, apex_r),
    )
    if np.any(two):
        trunk = sd_round_box(a, bs, zz + 1.0, sep + 0.5 * rmd, rmd, 1.5, 0.8)
        root = np.where(two, np.minimum(root, trunk), root)
    tooth = smooth_min(crown, root, 1.0)
    # Pulp: chamber in the crown, canals down the roots.
    chamber_top = 0.4 * height
    chz = 0.5 * (chamber_top + 1.5)
    chamber = sd_round_box(a, b, zz - (chamber_top - chz), 0.3 * mdh, 0.3 * blh, chz, 0.8)
    canal_sep = sep + shear
    pc = sd_round_cone_z(a - canal_sep, b, zz, 0.0, 1.0 - root_len, 0.6, 0.15)
    pc2 = sd_round_cone_z(a + canal_sep, b, zz, 0.0, 1.0 - root_len, 0.6, 0.15)
    pulp = np.minimum(chamber, np.minimum(pc, pc2))
    # Enamel: a shell of the crown above the CEJ, thin at the neck, thicker occlusally.
    t_enamel = 1.2 * np.clip(zz / 2.5, 0.0, 1.0) + 0.5 * np.clip(2.0 * frac - 1.0, 0.0, 1.0)
    enamel = np.where(t_enamel > 0.05, np.maximum(crown, -crown - t_enamel), np.float32(1e3))

    return tooth, enamel, pulp
