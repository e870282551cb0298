"""The analytic anatomy of the dental phantom: parameters and grey-value evaluation.

The mandible is an extrusion of a convex cross-section along a parabolic arch, so most
shapes are evaluated in arch coordinates: ``s`` (signed arc length from the midline,
positive on the patient's left), ``d`` (signed distance to the arch curve, buccal
positive) and ``z``. In any plane normal to the arch these are exact Euclidean
coordinates, which is what the measurement tests rely on. The implant, its defect and the
mental canals are evaluated in plain Euclidean coordinates.

All coordinates here are *anatomical*: the patient frame (LPS, mm) of the baseline scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cbctviewer.core.phantom_geometry import (
    FloatArray,
    ParabolicArch,
    apply_matrix,
    axis_frame,
    ramp,
    sd_capped_cylinder,
    sd_segment,
    smooth_min,
)
from cbctviewer.core.phantom_teeth import (
    TOOTH_TYPES,
    slot_bounds,
    tooth_center_arc_length,
    tooth_sdfs,
    tooth_table,
)


@dataclass(frozen=True, slots=True)
class GreyLevels:
    """Nominal grey values (HU-like; CBCT values are not calibrated HU)."""

    air: float = -1000.0
    soft: float = 40.0
    marrow: float = 300.0
    trabecula: float = 700.0
    cortical: float = 1450.0
    canal_wall: float = 1150.0
    lamina_dura: float = 1150.0
    dentin: float = 1750.0
    enamel: float = 2700.0
    titanium: float = 3400.0


@dataclass(frozen=True, slots=True)
class PhantomParams:
    """Every number that defines the anatomy (baseline frame, LPS, mm)."""

    arch_a: float = 0.05  # 1/mm; y = y0 + a*x²
    arch_y0: float = -38.0
    crest_z: float = -42.0
    bone_height: float = 27.0
    crest_half_width: float = 4.5
    taper: float = 0.35  # half-width gained per mm below the crest, each side
    basal_half_width: float = 6.5
    cortical: float = 1.6
    # Healed, resorbed ridge at the edentulous site: narrower crest over its slot.
    site_fdi: int = 46
    site_crest_half_width: float = 3.25
    cej_above_crest: float = 1.5
    interdental_gap: float = 0.6
    canal_height: float = 8.0  # canal axis above the inferior border
    canal_offset: float = 0.0  # buccal offset of the canal axis from the arch curve
    canal_radius: float = 1.25  # lumen
    canal_wall: float = 0.6
    foramen_arc_length: float = 26.0  # |s| where the canal turns buccally to the mental foramen
    mental_radius: float = 1.1
    mental_rise: float = 3.0  # the mental canal climbs this much from the canal to the outside
    implant_fdi: int = 36
    implant_diameter: float = 4.0
    implant_length: float = 10.0
    defect_radius: float = 3.5  # from the implant axis
    defect_depth: float = 1.5
    missing_fdi: tuple[int, ...] = (36, 46)
    pdl: float = 0.25
    lamina: float = 0.6  # lamina dura outer offset from the root surface
    # Soft tissue envelope (arch coordinates).
    skin_offset: float = 14.0
    cheek_offset: float = 8.5
    tongue_offset: float = 6.5
    gum_above_crest: float = 2.5
    tongue_above_crest: float = 12.0
    grey: GreyLevels = field(default_factory=GreyLevels)

    @property
    def inferior_z(self) -> float:
        """z of the inferior border of the mandible."""
        return self.crest_z - self.bone_height

    @property
    def canal_z(self) -> float:
        """z of the canal axis."""
        return self.inferior_z + self.canal_height

    @property
    def cej_z(self) -> float:
        """z of the cemento-enamel junction of every tooth."""
        return self.crest_z + self.cej_above_crest


Arr = np.ndarray

# Fixed texture of the trabecular bone (part of the anatomy, independent of the noise seed).
_TEXTURE_RNG = np.random.default_rng(20240917)
_TEX_DIRS = _TEXTURE_RNG.normal(size=(10, 3))
_TEX_DIRS /= np.linalg.norm(_TEX_DIRS, axis=1, keepdims=True)
_TEX_K = (2.0 * np.pi / _TEXTURE_RNG.uniform(2.2, 3.2, size=(10, 1))) * _TEX_DIRS
_TEX_PHASE = _TEXTURE_RNG.uniform(0.0, 2.0 * np.pi, size=10)


class PhantomModel:
    """The analytic phantom; grey values at any anatomical point.

    Parameters
    ----------
    params
        Anatomy parameters (defaults: the built-in sample).
    to_anatomy
        4×4 matrix from the patient frame of the series being modelled to the anatomical
        (baseline) frame; used by :meth:`evaluate`. Identity by default.
    """

    def __init__(self, params: PhantomParams | None = None, *, to_anatomy: np.ndarray | None = None) -> None:
        self.params = params or PhantomParams()
        self.to_anatomy = np.eye(4) if to_anatomy is None else np.asarray(to_anatomy, dtype=float)
        p = self.params
        self.arch = ParabolicArch(p.arch_a, p.arch_y0)
        self._bounds = slot_bounds()
        self._site_s = tooth_center_arc_length(p.site_fdi)
        implant_s = tooth_center_arc_length(p.implant_fdi)
        u = float(self.arch.u_at_arc_length(implant_s))
        self.implant_shoulder = np.array([*self.arch.point(u), p.crest_z])
        self.implant_direction = np.array([0.0, 0.0, -1.0])
        self._teeth = tooth_table(
            interdental_gap=self.params.interdental_gap, missing=self.params.missing_fdi
        )
        self._build_mental_canals()

    # ----- derived landmarks -------------------------------------------------------------
    def _build_mental_canals(self) -> None:
        p = self.params
        self.mental: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for side, sign in (("left", 1.0), ("right", -1.0)):
            u = float(self.arch.u_at_arc_length(sign * p.foramen_arc_length))
            c = self.arch.point(u)
            n = self.arch.normal(u)
            start = np.array([*(c + p.canal_offset * n), p.canal_z])
            reach = p.basal_half_width + 1.5
            end = np.array([*(c + reach * n), p.canal_z + p.mental_rise])
            # Where the mental canal's axis crosses the buccal surface (vertical there).
            frac = (p.basal_half_width - p.canal_offset) / (reach - p.canal_offset)
            foramen = start + frac * (end - start)
            self.mental[side] = (start, end, foramen)

    def crest_half_width(self, s: FloatArray) -> FloatArray:
        """Crest half-width along the arch (narrowed smoothly over the edentulous slot)."""
        p = self.params
        half_slot = 0.5 * TOOTH_TYPES[p.site_fdi % 10 - 1].slot
        x = np.clip(np.abs(s - self._site_s) / half_slot, 0.0, 1.0)
        bump = np.cos(0.5 * np.pi * x) ** 2
        return p.crest_half_width - (p.crest_half_width - p.site_crest_half_width) * bump

    def half_width_at_depth(self, s: float, depth: float) -> float:
        """Bone half-width (each side of the arch curve) ``depth`` mm below the crest at ``s``."""
        p = self.params
        wc = float(self.crest_half_width(np.asarray(s)))
        return min(wc + p.taper * depth, p.basal_half_width)

    # ----- SDFs in arch coordinates --------------------------------------------------------
    def outline_sdf(self, s: FloatArray, d: FloatArray, z: FloatArray) -> FloatArray:
        """Cross-section of the mandible (before sockets and defect); exact in the normal plane."""
        p = self.params
        wc = self.crest_half_width(s)
        inv = 1.0 / np.sqrt(1.0 + p.taper**2)
        dz = z - p.crest_z
        side = (np.abs(d) + p.taper * dz - wc) * inv
        zb = p.inferior_z + p.basal_half_width
        capsule = np.sqrt(d * d + np.minimum(z - zb, 0.0) ** 2) - p.basal_half_width
        return np.maximum(np.maximum(dz, side), capsule)

    def canal_sdf(self, s: FloatArray, d: FloatArray, z: FloatArray) -> FloatArray:
        """Main canal lumen: a tube about the offset curve ``(s, d=offset, z=canal_z)``, |s| >= s_f."""
        p = self.params
        ds = np.maximum(p.foramen_arc_length - np.abs(s), 0.0)
        dd = d - p.canal_offset
        dz = z - p.canal_z
        return np.sqrt(ds * ds + dd * dd + dz * dz) - p.canal_radius

    # ----- evaluation -------------------------------------------------------------------
    def evaluate(self, points_lps: FloatArray, *, width: float = 0.3) -> np.ndarray:
        """Noise-free grey values (float32) at points of shape (n, 3) in the series' frame.

        Parameters
        ----------
        points_lps
            Patient coordinates (LPS, mm) in the frame of the series this model renders.
        width
            Partial-volume ramp width in mm (0.3: a blurred, fine sampling).
        """
        pts = apply_matrix(self.to_anatomy, np.asarray(points_lps, dtype=float).reshape(-1, 3))
        return self.grey(pts[:, 0], pts[:, 1], pts[:, 2], width=width)

    def grey(self, x: FloatArray, y: FloatArray, z: FloatArray, *, width: float) -> np.ndarray:
        """Grey values (float32) at anatomical points given as flat arrays; see :meth:`grey_arch`."""
        u, d = self.arch.project(x, y)
        s = self.arch.arc_length(u)
        return self.grey_arch(x, y, z, s, d, width=width)

    def grey_arch(
        self, x: FloatArray, y: FloatArray, z: FloatArray, s: FloatArray, d: FloatArray, *, width: float
    ) -> np.ndarray:
        """Grey values at points with precomputed arch coordinates (flat arrays, same length).

        ``width`` is the partial-volume ramp width (mm): about one voxel plus the blur.
        """
        p = self.params
        g = p.grey
        f32 = np.float32
        x, y, z, s, d = (np.asarray(a, dtype=f32).ravel() for a in (x, y, z, s, d))
        n = z.size
        # Soft tissue: inside the skin surface, minus the oral cavity (vestibule and above tongue).
        # Rounded corners (smooth min/max) keep the cavity from looking machined.
        tongue = smooth_min(-d - p.tongue_offset, p.crest_z + p.tongue_above_crest - z, 4.0)
        gum = -smooth_min(z - p.crest_z - p.gum_above_crest, p.cheek_offset - d, 2.0)
        pocket = -smooth_min(-gum, -tongue, 2.0)
        soft_sdf = np.maximum(d - p.skin_offset, -pocket)
        v = f32(g.air) + f32(g.soft - g.air) * ramp(soft_sdf, width)

        alpha_bone = np.zeros(n, dtype=f32)
        reach = width + 1.0
        sel = np.flatnonzero(
            (np.abs(d) < p.basal_half_width + reach) & (z > p.inferior_z - reach) & (z < p.crest_z + reach)
        )
        if sel.size:
            self._paint_bone(v, alpha_bone, sel, x, y, z, s, d, width)
            self._paint_canals(v, alpha_bone, sel, x, y, z, s, d, width)
        self._paint_teeth(v, alpha_bone, x, y, z, s, d, width)
        self._paint_implant(v, x, y, z, width)
        return v

    def _paint_bone(
        self, v: Arr, alpha_bone: Arr, sel: Arr, x: Arr, y: Arr, z: Arr, s: Arr, d: Arr, width: float
    ) -> None:
        p = self.params
        g = p.grey
        bs, bd, bz = s[sel], d[sel], z[sel]
        sdf = self.outline_sdf(bs, bd, bz)
        # Marginal defect: the crest is lowered inside a cylinder about the implant axis.
        near = np.flatnonzero(
            (np.abs(x[sel] - self.implant_shoulder[0]) < p.defect_radius + width + 1.0)
            & (np.abs(y[sel] - self.implant_shoulder[1]) < p.defect_radius + width + 1.0)
        )
        if near.size:
            pts = np.stack([x[sel][near], y[sel][near], bz[near]], axis=1).astype(np.float64)
            t, radial = axis_frame(pts, self.implant_shoulder, self.implant_direction)
            crater = np.maximum(radial - p.defect_radius, t - p.defect_depth)
            sdf[near] = np.maximum(sdf[near], -crater.astype(np.float32))
        a = ramp(sdf, width)
        alpha_bone[sel] = a
        inner = ramp(sdf + p.cortical, width)
        grey = np.full(sel.size, g.cortical, dtype=np.float32)
        deep = np.flatnonzero(inner > 0.0)
        if deep.size:
            k = sel[deep]
            pts = np.stack([x[k], y[k], z[k]], axis=1)
            tex = np.cos(pts @ _TEX_K.T.astype(np.float32) + _TEX_PHASE.astype(np.float32)).sum(axis=1)
            tex *= np.float32(np.sqrt(2.0 / _TEX_K.shape[0]))
            trab = np.clip(1.0 - np.abs(tex) / 0.9, 0.0, 1.0)
            trab_grey = g.marrow + (g.trabecula - g.marrow) * trab
            grey[deep] += (trab_grey - g.cortical) * inner[deep]
        v[sel] += (grey - v[sel]) * a

    def _paint_canals(
        self, v: Arr, alpha_bone: Arr, sel: Arr, x: Arr, y: Arr, z: Arr, s: Arr, d: Arr, width: float
    ) -> None:
        p = self.params
        g = p.grey
        outer = p.canal_radius + p.canal_wall + width
        near = sel[
            (np.abs(d[sel] - p.canal_offset) < max(outer, p.basal_half_width + 2.0))
            & (np.abs(z[sel] - p.canal_z) < outer + p.mental_rise)
            & (np.abs(s[sel]) > p.foramen_arc_length - outer - 1.0)
        ]
        if not near.size:
            return
        sdf = self.canal_sdf(s[near], d[near], z[near])
        pts = np.stack([x[near], y[near], z[near]], axis=1).astype(np.float64)
        for start, end, _ in self.mental.values():
            mental = sd_segment(pts, start, end, p.mental_radius).astype(np.float32)
            sdf = np.minimum(sdf, mental)
        wall = ramp(sdf - p.canal_wall, width) * alpha_bone[near]
        v[near] += (g.canal_wall - v[near]) * wall
        lumen = ramp(sdf, width)
        v[near] += (g.soft - v[near]) * lumen
        # The lumen is soft tissue, not bone: keep later painting (sockets) from seeing bone here.
        alpha_bone[near] *= 1.0 - lumen

    def _paint_teeth(
        self, v: Arr, alpha_bone: Arr, x: Arr, y: Arr, z: Arr, s: Arr, d: Arr, width: float
    ) -> None:
        p = self.params
        g = p.grey
        tb = self._teeth
        margin = width + p.lamina + 0.5
        top = p.cej_z + max(t.crown_height for t in TOOTH_TYPES) + margin
        bottom = p.cej_z - max(t.root_length for t in TOOTH_TYPES) - margin
        abs_s = np.abs(s)
        cand = np.flatnonzero(
            (np.abs(d) < 0.5 * max(t.crown_bl for t in TOOTH_TYPES) + margin)
            & (z > bottom)
            & (z < top)
            & (abs_s < self._bounds[-1])
        )
        if not cand.size:
            return
        kind = np.searchsorted(self._bounds, abs_s[cand], side="right") - 1  # 0..6
        idx = kind + np.where(s[cand] < 0.0, 7, 0)
        prm = tb[idx].astype(np.float32)
        zz = z[cand] - np.float32(p.cej_z)
        # Tighten to the tooth's own box: crowns are wider than roots.
        bound = np.where(zz > -1.0, prm[:, 3], prm[:, 7]) + margin
        keep = (
            (prm[:, 1] > 0.0) & (np.abs(d[cand]) < bound) & (np.abs(s[cand] - prm[:, 0]) < prm[:, 2] + margin)
        )
        cand, prm = cand[keep], prm[keep]
        if not cand.size:
            return
        tooth, enamel, pulp = tooth_sdfs(s[cand] - prm[:, 0], d[cand], zz[keep], prm)
        ab = alpha_bone[cand]
        vv = v[cand]
        vv += (g.lamina_dura - vv) * ramp(tooth - p.lamina, width) * ab
        vv += (g.soft - vv) * ramp(tooth - p.pdl, width) * ab
        vv += (g.dentin - vv) * ramp(tooth, width)
        vv += (g.enamel - vv) * ramp(enamel, width)
        vv += (g.soft - vv) * ramp(pulp, width)
        v[cand] = vv

    def _paint_implant(self, v: Arr, x: Arr, y: Arr, z: Arr, width: float) -> None:
        p = self.params
        sh = self.implant_shoulder
        apex = sh + p.implant_length * self.implant_direction
        r = 0.5 * p.implant_diameter + width + 0.5
        lo = np.minimum(sh, apex) - r
        hi = np.maximum(sh, apex) + r
        near = np.flatnonzero(
            (x > lo[0]) & (x < hi[0]) & (y > lo[1]) & (y < hi[1]) & (z > lo[2]) & (z < hi[2])
        )
        if not near.size:
            return
        pts = np.stack([x[near], y[near], z[near]], axis=1).astype(np.float64)
        t, radial = axis_frame(pts, sh, self.implant_direction)
        sdf = sd_capped_cylinder(t, radial, 0.5 * p.implant_diameter, p.implant_length).astype(np.float32)
        v[near] += (p.grey.titanium - v[near]) * ramp(sdf, width)
