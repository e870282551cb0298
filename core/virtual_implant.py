"""A virtual implant: a cylinder of a chosen size placed on a cross-section.

The implant is a capped cylinder from its ``shoulder`` (the coronal end, at the crest)
along the unit ``direction`` (shoulder → apex) for ``length_mm``, of ``diameter_mm``.
``lateral`` remembers the in-plane direction across the ridge of the cross-section it was
placed on (the plane's x axis: buccal ↔ lingual); tilting uses it to tell a bucco-lingual
from a mesio-distal tilt. Values are immutable; editing returns new ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cbctviewer.core.geometry import Plane, Vec3, rotation_about, vec3
from cbctviewer.core.sampling import last_exit, sample_ray

if TYPE_CHECKING:
    from cbctviewer.core.canal import CanalPath
    from cbctviewer.core.volume import Volume

FloatArray = NDArray[np.float64]

#: Common implant diameters and lengths (mm) offered in the size list; any size is allowed.
COMMON_DIAMETERS_MM: tuple[float, ...] = (3.3, 3.5, 4.0, 4.1, 4.3, 4.8, 5.0)
COMMON_LENGTHS_MM: tuple[float, ...] = (8.0, 10.0, 11.5, 12.0, 13.0, 14.0)
#: Every (diameter, length) combination of the two lists above.
COMMON_SIZES: tuple[tuple[float, float], ...] = tuple(
    (d, length) for d in COMMON_DIAMETERS_MM for length in COMMON_LENGTHS_MM
)
#: Distance to keep between an implant's apex and the canal (mm); shown in red below.
SAFETY_MARGIN_MM = 2.0


#: Depth below the shoulder of the "crest" level of :meth:`VirtualImplant.bone_around` (mm).
BONE_CREST_DEPTH_MM = 2.0
#: How far each bone profile is followed from the implant surface (mm).
BONE_PROFILE_MM = 10.0


@dataclass(frozen=True, slots=True)
class BoneAround:
    """Result of :meth:`VirtualImplant.bone_around`.

    ``depths_mm`` maps each level (``"crest"``, ``"mid"``, ``"apex"``) to its depth below
    the shoulder; ``thickness_mm`` maps ``(level, side)`` to the bone wall thickness (mm),
    ``side`` being ``"buccal"`` (along the implant's ``lateral``: the placement
    cross-section's x axis, which :func:`core.cross_sections.cross_section_plane` makes
    the buccal normal, screen right) or ``"lingual"`` (``-lateral``).
    """

    threshold: float
    threshold_estimated: bool
    depths_mm: dict[str, float]
    thickness_mm: dict[tuple[str, str], float]

    @property
    def minimum_mm(self) -> float:
        """The thinnest wall over all levels and sides."""
        return min(self.thickness_mm.values())


def _estimate_bone_threshold(profiles: list[tuple[FloatArray, FloatArray]]) -> float:
    outside, cortical = [], []
    for t, v in profiles:
        far = v[t >= t[-1] - 2.0] if t.size else v
        if far.size:
            outside.append(float(np.median(far)))
        inner = v[t >= 1.0]
        k = 10  # 1 mm at 0.1 mm steps
        if inner.size >= k:
            cortical.append(float(np.max(np.convolve(inner, np.ones(k) / k, mode="valid"))))
    if not outside or not cortical:
        raise ValueError("the implant is too close to the edge of the volume to measure the bone around it")
    return 0.5 * (float(np.median(outside)) + float(np.median(cortical)))


def _unit(v: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(v, dtype=float).reshape(-1)
    n = float(np.linalg.norm(a)) if a.shape == (3,) else 0.0
    if not (np.isfinite(n) and n > 1e-9):
        raise ValueError(f"{name} must be a non-zero vector of three finite numbers, got {v!r}")
    return a / n


def _perpendicular(direction: FloatArray, hint: ArrayLike | None) -> FloatArray:
    """A unit vector ⟂ ``direction``, as close to ``hint`` as possible."""
    candidates = [] if hint is None else [np.asarray(hint, dtype=float).reshape(3)]
    candidates += [np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])]
    for c in candidates:
        p = c - float(c @ direction) * direction
        n = float(np.linalg.norm(p))
        if n > 1e-6:
            return p / n
    raise ValueError("cannot find a direction perpendicular to the implant axis")


@dataclass(frozen=True, slots=True)
class VirtualImplant:
    """A planned implant (patient LPS mm).

    Parameters
    ----------
    id
        Unique id within a case.
    diameter_mm, length_mm
        Size of the cylinder.
    shoulder
        Centre of the coronal end.
    direction
        Unit vector shoulder → apex (normalised on construction).
    label
        Free text shown in the list (e.g. the tooth number).
    lateral
        Unit vector ⟂ ``direction`` across the ridge (the placement cross-section's
        x axis); made perpendicular to ``direction`` on construction.
    """

    id: str
    diameter_mm: float
    length_mm: float
    shoulder: Vec3
    direction: Vec3 = (0.0, 0.0, -1.0)
    label: str = ""
    lateral: Vec3 = (1.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("an implant needs an id")
        for name in ("diameter_mm", "length_mm"):
            value = float(getattr(self, name))
            if not (np.isfinite(value) and value > 0.0):
                raise ValueError(f"implant {name.removesuffix('_mm')} must be positive, got {value}")
            object.__setattr__(self, name, value)
        d = _unit(self.direction, "implant direction")
        object.__setattr__(self, "shoulder", vec3(self.shoulder))
        object.__setattr__(self, "direction", vec3(d))
        object.__setattr__(self, "lateral", vec3(_perpendicular(d, self.lateral)))
        object.__setattr__(self, "label", str(self.label))

    # ---------------------------------------------------------------- construction
    @classmethod
    def placed_on(
        cls,
        plane: Plane,
        point: ArrayLike,
        diameter_mm: float,
        length_mm: float,
        *,
        implant_id: str | None = None,
        label: str = "",
    ) -> VirtualImplant:
        """An implant clicked on a cross-section: shoulder at ``point``, axis down the view.

        The axis is ``-plane.y_axis`` (down the cross-section, into the bone) and
        ``lateral`` the plane's x axis.
        """
        return cls(
            id=implant_id or uuid.uuid4().hex[:12],
            diameter_mm=diameter_mm,
            length_mm=length_mm,
            shoulder=vec3(point),
            direction=vec3(0.0 - np.asarray(plane.y_axis)),
            label=label,
            lateral=plane.x_axis,
        )

    # ---------------------------------------------------------------- geometry
    @property
    def radius_mm(self) -> float:
        """Half the diameter (mm)."""
        return 0.5 * self.diameter_mm

    @property
    def apex(self) -> Vec3:
        """Centre of the apical end: ``shoulder + length * direction``."""
        return vec3(np.add(self.shoulder, self.length_mm * np.asarray(self.direction)))

    @property
    def mesio_distal(self) -> Vec3:
        """Unit ``direction × lateral``: ⟂ the placement cross-section (along the arch)."""
        return vec3(np.cross(self.direction, self.lateral))

    def axis_points(self) -> FloatArray:
        """Shoulder and apex as a ``(2, 3)`` array."""
        return np.array([self.shoulder, self.apex], dtype=float)

    def contains(self, points: ArrayLike) -> NDArray[np.bool_]:
        """True where patient points lie inside the cylinder."""
        rel = np.asarray(points, dtype=float) - np.asarray(self.shoulder)
        t = rel @ np.asarray(self.direction)
        radial = np.linalg.norm(rel - t[..., np.newaxis] * np.asarray(self.direction), axis=-1)
        return np.asarray((t >= 0) & (t <= self.length_mm) & (radial <= self.radius_mm))

    # ---------------------------------------------------------------- editing
    def moved(self, offset: ArrayLike | None = None, *, along_axis_mm: float = 0.0) -> VirtualImplant:
        """A copy translated by ``offset`` (mm) and/or ``along_axis_mm`` along the axis
        (positive = deeper, towards the apex)."""
        shift = np.asarray(self.direction) * float(along_axis_mm)
        if offset is not None:
            shift = shift + np.asarray(vec3(offset))
        return replace(self, shoulder=vec3(np.add(self.shoulder, shift)))

    def tilted(self, axis: ArrayLike, degrees: float) -> VirtualImplant:
        """A copy turned by ``degrees`` about ``axis`` through the shoulder (which stays)."""
        turn = rotation_about(axis, degrees)
        return replace(
            self,
            direction=vec3(turn @ np.asarray(self.direction)),
            lateral=vec3(turn @ np.asarray(self.lateral)),
        )

    def tilted_bucco_lingual(self, degrees: float) -> VirtualImplant:
        """Tilt within the placement cross-section (about the mesio-distal direction)."""
        return self.tilted(self.mesio_distal, degrees)

    def tilted_mesio_distal(self, degrees: float) -> VirtualImplant:
        """Tilt along the arch (about the bucco-lingual ``lateral`` direction)."""
        return self.tilted(self.lateral, degrees)

    def resized(self, *, diameter_mm: float | None = None, length_mm: float | None = None) -> VirtualImplant:
        """A copy with another diameter and/or length (shoulder and axis kept)."""
        return replace(
            self,
            diameter_mm=self.diameter_mm if diameter_mm is None else diameter_mm,
            length_mm=self.length_mm if length_mm is None else length_mm,
        )

    # ---------------------------------------------------------------- measurements
    def apex_to_canal_mm(self, canal: CanalPath) -> float:
        """Distance (mm) from the apex to the canal's tube surface (negative inside)."""
        return canal.distance_to(self.apex)

    def bone_around(self, volume: Volume, *, threshold: float | None = None) -> BoneAround:
        """Bone wall thickness on either side of the implant across the ridge.

        At three levels below the shoulder — ``crest`` (2 mm, below the usual marginal
        remodelling zone), ``mid`` (half the length) and ``apex`` (1 mm above the apex) —
        grey profiles are sampled from the implant surface outwards along ``+lateral``
        (buccal) and ``-lateral`` (lingual) (trilinear, every 0.1 mm, up to 10 mm). The thickness is the
        distance from the implant surface to where bone ends for good (the last fall
        below ``threshold``, so marrow dips are crossed): the buccal/lingual wall as
        read on a cross-section, 0 where no bone is found. Mesial and distal are not
        measured (neighbouring roots would be counted as bone).

        ``threshold`` separates bone from soft tissue; when ``None`` it is half-way between
        the level outside the bone (median of the profiles' last 2 mm) and the cortical
        level (median over the profiles of their highest 1 mm running mean, ignoring the
        first mm next to the metal).
        """
        d, lat = np.asarray(self.direction), np.asarray(self.lateral)
        levels = {
            "crest": min(BONE_CREST_DEPTH_MM, 0.5 * self.length_mm),
            "mid": 0.5 * self.length_mm,
            "apex": max(self.length_mm - 1.0, 0.5 * self.length_mm),
        }
        profiles: dict[tuple[str, str], tuple[FloatArray, FloatArray]] = {}
        for level, depth in levels.items():
            centre = np.asarray(self.shoulder) + depth * d
            for side, sign in (("buccal", 1.0), ("lingual", -1.0)):
                start = centre + sign * self.radius_mm * lat
                profiles[level, side] = sample_ray(
                    volume, start, sign * lat, length_mm=BONE_PROFILE_MM, step_mm=0.1
                )
        estimated = threshold is None
        thr = _estimate_bone_threshold(list(profiles.values())) if threshold is None else float(threshold)
        thickness: dict[tuple[str, str], float] = {}
        for key, (t, v) in profiles.items():
            if v.size < 2 or not np.any(v >= thr):
                thickness[key] = 0.0
            else:
                thickness[key] = last_exit(t, v, thr)[0]
        return BoneAround(thr, estimated, levels, thickness)

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "label": self.label,
            "diameter_mm": self.diameter_mm,
            "length_mm": self.length_mm,
            "shoulder": list(self.shoulder),
            "direction": list(self.direction),
            "lateral": list(self.lateral),
        }

    @classmethod
    def from_dict(cls, d: Any) -> VirtualImplant:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on malformed data."""
        if not isinstance(d, dict):
            raise ValueError("an implant must be a JSON object")
        try:
            return cls(
                id=str(d["id"]),
                diameter_mm=float(d["diameter_mm"]),
                length_mm=float(d["length_mm"]),
                shoulder=vec3(d["shoulder"]),
                direction=vec3(d["direction"]),
                label=str(d.get("label", "")),
                lateral=vec3(d.get("lateral", (1.0, 0.0, 0.0))),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed implant: {exc}") from None
