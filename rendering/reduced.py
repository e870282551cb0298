"""A reduced-resolution copy of a large volume for the 3D view.

The CPU ray caster builds gradient and shading tables of about 3 bytes per voxel and
its first frame costs seconds on a full CBCT scan, while a 512² view cannot show more
detail than a few million voxels anyway. So above a voxel budget the 3D view renders a
block-mean copy (SimpleITK ``BinShrink``: each output voxel is the mean of an integer
block of input voxels, which is also its anti-aliasing filter). The 2D views keep the
full-resolution buffer.

Geometry: a block's voxel sits at the centre of the block it averages, i.e. at input
index ``f * m + (f - 1) / 2`` with spacing ``f * spacing`` along an axis shrunk by ``f``,
with the same direction. Trailing voxels that do not fill a whole block (fewer than ``f``
per axis) are dropped, so anatomy keeps its patient position exactly and the rendered
extent shrinks by less than one reduced voxel at the far faces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import SimpleITK as sitk

from cbctviewer.core.volume import Volume

from .vtk_image import VolumeImage

#: Default voxel budget of the 3D view's copy: 16 Mi voxels (32 MiB of int16), which the CPU
#: ray caster draws within its frame-time targets in a 512² view.
DEFAULT_MAX_VOXELS = 16 * 1024 * 1024


def shrink_factors(
    size: Sequence[int], spacing: Sequence[float], max_voxels: int | None
) -> tuple[int, int, int]:
    """Integer shrink factors per axis that bring ``size`` within ``max_voxels``.

    Parameters
    ----------
    size
        Voxel counts ``(nx, ny, nz)``.
    spacing
        Voxel spacing in mm ``(sx, sy, sz)``.
    max_voxels
        Voxel budget; ``None`` means no limit.

    Returns
    -------
    tuple of int
        ``(fx, fy, fz)``, all 1 when the volume already fits. Otherwise the axes whose
        reduced spacing is finest grow first, tied axes together, so that the copy of
        an isotropic scan stays isotropic (2, 2, 2 rather than 2, 2, 1) and that of an
        anisotropic one becomes as isotropic as the budget allows.
    """
    factors = [1, 1, 1]
    if max_voxels is None:
        return (1, 1, 1)
    if max_voxels < 1:
        raise ValueError(f"max_voxels must be positive, not {max_voxels}")

    def count() -> int:
        return math.prod(max(n // f, 1) for n, f in zip(size, factors, strict=True))

    while count() > max_voxels:
        growable = [axis for axis in range(3) if size[axis] // factors[axis] > 1]
        finest = min(factors[a] * spacing[a] for a in growable)
        for axis in growable:
            if factors[axis] * spacing[axis] <= finest * (1.0 + 1e-6):
                factors[axis] += 1
    return (factors[0], factors[1], factors[2])


def reduced_image(source: VolumeImage, max_voxels: int | None = DEFAULT_MAX_VOXELS) -> VolumeImage:
    """``source`` itself when it fits ``max_voxels``, else a block-mean copy that does.

    Parameters
    ----------
    source
        The wrapped full-resolution volume.
    max_voxels
        Voxel budget of the copy; ``None`` never reduces.

    Returns
    -------
    VolumeImage
        Same patient geometry (origin at the first block's centre, direction unchanged,
        spacing times the factors), same pixel type. Its ``volume`` is a new
        :class:`~cbctviewer.core.volume.Volume` that owns the copy's buffer.
    """
    volume = source.volume
    factors = shrink_factors(volume.size, volume.spacing, max_voxels)
    if factors == (1, 1, 1):
        return source
    image = volume.image
    if image.GetDimension() == 2:  # pragma: no cover - a single slice never exceeds a budget
        return source
    shrunk = sitk.BinShrink(image, list(factors))
    return VolumeImage.from_volume(Volume(shrunk, volume.metadata))
