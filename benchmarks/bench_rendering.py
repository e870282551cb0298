"""Rendering benchmark: 2D view updates, slabs and the 3D view on a 512×512×400 volume.

Run: ``.venv/bin/python benchmarks/bench_rendering.py [--frames N] [--size 512 512 400]``.
Prints medians in ms next to two baselines measured in the same run (a numpy copy of one
axial slice and a bare ``vtkImageReslice`` of one axial slice, no rendering), so ratios
stay comparable on noisy or shared machines. Targets (software OpenGL, 512×512 views):
2D update ≤ 20 ms, 10 mm slab MIP ≤ 60 ms, 3D ≤ 150 ms still and ≤ 60 ms interacting.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import SimpleITK as sitk

from cbctviewer.core.view_state import SlabMode, ViewerState, ViewKind
from cbctviewer.core.volume import Volume
from cbctviewer.rendering.capabilities import default_gl_info
from cbctviewer.rendering.reslice import SliceResampler
from cbctviewer.rendering.slice_view import SliceView
from cbctviewer.rendering.volume_render import VolumeView
from cbctviewer.rendering.vtk_image import VolumeImage

#: Target median (ms) by the prefix of an operation's name.
TARGETS_MS = {"2d:": 20.0, "slab:": 60.0, "3d: still": 150.0, "3d: interacting": 60.0}


def synthetic_head(nx: int, ny: int, nz: int, spacing: float = 0.3) -> Volume:
    """A CBCT-like int16 volume: soft-tissue ellipsoid, bone shell, a tooth row, a metal pin.

    Built on a coarse grid and resampled (linear) so edges are smooth like real scans.
    """
    coarse = (max(nz // 4, 2), max(ny // 4, 2), max(nx // 4, 2))
    z, y, x = np.meshgrid(*(np.linspace(-1.0, 1.0, n) for n in coarse), indexing="ij")
    head = x**2 / 0.8 + y**2 / 0.9 + z**2 / 0.95
    grey = np.where(head < 1.0, 40.0, -1000.0)
    grey[(head > 0.75) & (head < 0.9)] = 1200.0  # bone shell
    arch = (np.abs(np.sqrt(x**2 + (y - 0.2) ** 2) - 0.5) < 0.06) & (np.abs(z + 0.3) < 0.12) & (y < 0.3)
    grey[arch] = 2400.0  # teeth
    grey[(np.abs(x - 0.3) < 0.03) & (np.abs(y + 0.1) < 0.03) & (np.abs(z + 0.4) < 0.15)] = 3500.0
    image = sitk.GetImageFromArray(grey.astype(np.float32))
    image.SetSpacing(tuple(spacing * n / c for n, c in zip((nx, ny, nz), coarse[::-1], strict=True)))
    reference = sitk.Image(nx, ny, nz, sitk.sitkInt16)
    reference.SetSpacing((spacing,) * 3)
    fine = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkLinear, -1000.0, sitk.sitkInt16)
    return Volume(fine)


def median_ms(step: Callable[[int], object], frames: int, *, warmup: int = 2) -> float:
    for i in range(warmup):
        step(-1 - i)
    times = []
    for i in range(frames):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", type=int, nargs=3, default=(512, 512, 400), metavar=("NX", "NY", "NZ"))
    parser.add_argument("--viewport", type=int, default=512)
    args = parser.parse_args()
    frames, vp = args.frames, (args.viewport, args.viewport)

    start = time.perf_counter()
    volume = synthetic_head(*args.size)
    print(f"volume {volume.size} int16, built in {time.perf_counter() - start:.1f} s")
    info = default_gl_info()
    print(f"OpenGL: {info.renderer} via {info.window_class} (software: {info.is_software})")

    array = volume.array
    results: dict[str, float] = {}
    results["baseline: numpy copy of one axial slice"] = median_ms(
        lambda i: array[array.shape[0] // 2 + i % 2].copy(), frames * 3
    )
    state = ViewerState(volume, viewport=vp)
    source = VolumeImage.from_volume(volume)
    bare = SliceResampler(source)
    geometry = state.slice_geometry(ViewKind.AXIAL)
    step = state.slice_step(ViewKind.AXIAL)

    def bare_reslice(i: int) -> None:
        bare.configure(geometry, step=step)
        bare.reslice.Modified()
        bare.update()

    results["baseline: vtkImageReslice axial, no render"] = median_ms(bare_reslice, frames * 3)
    base = results["baseline: vtkImageReslice axial, no render"]

    views = {kind: SliceView(state, kind, source=source) for kind in ViewKind}
    axial = views[ViewKind.AXIAL]

    def scroll(i: int) -> None:
        state.scroll(ViewKind.AXIAL, 1 if i % 20 < 10 else -1)
        axial.render()

    results["2d: axial scroll (re-slice + render + read-back)"] = median_ms(scroll, frames)

    def scroll_coronal(i: int) -> None:
        state.scroll(ViewKind.CORONAL, 1 if i % 20 < 10 else -1)
        views[ViewKind.CORONAL].render()

    results["2d: coronal scroll"] = median_ms(scroll_coronal, frames)

    def rotate(i: int) -> None:
        state.rotate(ViewKind.AXIAL, 1.0)
        views[ViewKind.CORONAL].render()

    results["2d: coronal while rotating in axial (oblique), still quality"] = median_ms(rotate, frames)
    state.interacting = True
    results["2d: coronal while rotating in axial (oblique), interacting"] = median_ms(rotate, frames)
    state.interacting = False
    state.reset_axes()

    view_state = state.views[ViewKind.AXIAL]
    view_state.slab_thickness, view_state.slab_mode = 10.0, SlabMode.MIP
    results["slab: axial MIP 10 mm scroll, still quality"] = median_ms(scroll, frames)
    state.interacting = True
    results["slab: axial MIP 10 mm scroll, interacting"] = median_ms(scroll, frames)
    state.interacting = False
    state.rotate(ViewKind.CORONAL, 30.0)
    results["slab: oblique 30° MIP 10 mm scroll, still quality"] = median_ms(scroll, frames)
    state.interacting = True
    results["slab: oblique 30° MIP 10 mm scroll, interacting"] = median_ms(scroll, frames)
    state.interacting = False
    state.reset_axes()
    view_state.slab_thickness = 0.0

    volume_view = VolumeView(state, source=source)
    state.volume_render.viewport = vp
    start = time.perf_counter()
    volume_view.render()
    first = 1000.0 * (time.perf_counter() - start)
    camera = volume_view.renderer.GetActiveCamera()

    def turn(i: int) -> None:
        camera.Azimuth(3.0)
        volume_view.render()

    results["3d: still (full quality)"] = median_ms(turn, max(5, frames // 3))
    state.interacting = True
    results["3d: interacting"] = median_ms(turn, frames, warmup=5)
    state.interacting = False

    print(f"3d mapper: {volume_view.mapper_name}; first frame (builds gradients) {first:.0f} ms")
    print(f"{'operation':66s} {'median ms':>10s} {'× reslice':>10s} {'target':>8s}")
    for name, ms in results.items():
        target = next((t for key, t in TARGETS_MS.items() if name.startswith(key)), None)
        mark = "" if target is None else f"{target:6.0f} {'ok' if ms <= target else 'MISS'}"
        print(f"{name:66s} {ms:10.2f} {ms / base:10.1f} {mark}")


if __name__ == "__main__":
    main()
