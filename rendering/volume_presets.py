"""Transfer functions of the 3D presets for CBCT grey values.

CBCT grey values are roughly: air -1000, soft tissue 0–100, bone 300–1700, teeth (dentin
to enamel) 1600–2900, titanium implants 3000 and above. They are not calibrated, so the
user moves a preset's opacity ramp with a threshold; every preset keeps metal opaque and
blue-grey so implants stand out.
"""

from __future__ import annotations

from dataclasses import dataclass

from cbctviewer.core.view_state import VolumePreset

Point = tuple[float, float]
ColourPoint = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class TransferPreset:
    """Scalar opacity and colour points (grey value first) plus lighting."""

    #: Grey value where the opacity ramp starts; a user threshold shifts all points by
    #: ``threshold - self.threshold``.
    threshold: float
    opacity: tuple[Point, ...]
    colour: tuple[ColourPoint, ...]
    shade: bool = True
    #: A generous ambient term keeps faces cut by clipping (where the gradient, and so
    #: the diffuse light, vanishes) readable instead of black.
    ambient: float = 0.35
    diffuse: float = 0.7
    specular: float = 0.2

    def shifted_opacity(self, *, threshold: float | None, scale: float) -> list[Point]:
        """Opacity points moved to start at ``threshold`` and multiplied by ``scale``."""
        shift = 0.0 if threshold is None else threshold - self.threshold
        return [(x + shift, min(1.0, max(0.0, y * scale))) for x, y in self.opacity]

    def shifted_colour(self, *, threshold: float | None) -> list[ColourPoint]:
        shift = 0.0 if threshold is None else threshold - self.threshold
        return [(x + shift, r, g, b) for x, r, g, b in self.colour]


_METAL_COLOUR: ColourPoint = (3000.0, 0.75, 0.80, 0.95)

PRESETS: dict[VolumePreset, TransferPreset] = {
    VolumePreset.BONE: TransferPreset(
        threshold=300.0,
        opacity=((-1024.0, 0.0), (300.0, 0.0), (600.0, 0.25), (1200.0, 0.65), (1700.0, 0.85), (3000.0, 1.0)),
        colour=(
            (-1024.0, 0.0, 0.0, 0.0),
            (300.0, 0.70, 0.55, 0.40),
            (900.0, 0.90, 0.82, 0.68),
            (1700.0, 1.00, 0.97, 0.90),
            _METAL_COLOUR,
        ),
    ),
    VolumePreset.TEETH: TransferPreset(
        threshold=1400.0,
        opacity=((-1024.0, 0.0), (1400.0, 0.0), (1700.0, 0.5), (2300.0, 0.85), (2900.0, 0.95), (3000.0, 1.0)),
        colour=(
            (-1024.0, 0.0, 0.0, 0.0),
            (1400.0, 0.85, 0.75, 0.60),
            (2000.0, 0.97, 0.93, 0.82),
            (2900.0, 1.00, 1.00, 0.97),
            _METAL_COLOUR,
        ),
        specular=0.35,
    ),
    VolumePreset.SOFT_TISSUE: TransferPreset(
        threshold=-400.0,
        opacity=((-1024.0, 0.0), (-400.0, 0.0), (-100.0, 0.04), (100.0, 0.08), (400.0, 0.3), (1200.0, 0.8)),
        colour=(
            (-1024.0, 0.0, 0.0, 0.0),
            (-400.0, 0.55, 0.30, 0.25),
            (50.0, 0.90, 0.62, 0.52),
            (400.0, 0.95, 0.90, 0.80),
            (1200.0, 1.00, 1.00, 0.95),
            _METAL_COLOUR,
        ),
        specular=0.1,
    ),
}
