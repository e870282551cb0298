"""Dental benchmark: panoramic (curved reformation) and cross-section strip on a CBCT-size volume.

Run: ``.venv/bin/python benchmarks/bench_dental.py [--repeats N] [--size 512 512 400]``.
A 120 mm parabolic arch, 0.2 mm pixels, 40 mm high, 10 mm slab (mean and MIP) on an int16
volume of 0.2 mm voxels (512×512×400 by default); a strip of 5 cross-sections of 40×30 mm at
0.2 mm; the preview mode used while dragging. Medians in ms next to baselines measured in the
same run (a numpy copy of one axial slice, and the numpy mean of a 10 mm axial slab of the
same volume), so ratios stay comparable on noisy or shared machines. Targets: panoramic
≤ 150 ms, strip ≤ 100 ms. Results go to ``benchmarks/results/bench_dental.json``.

The sampler uses no BLAS, so no BLAS thread setting is needed (or assumed). "Rows between
slices" puts the curve plane 0.07 mm off a slice, so every row is interpolated along k (as
when the pixel size is not the slice spacing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from bench_rendering import synthetic_head

from cbctviewer.core.arch import ArchCurve
from cbctviewer.core.cross_sections import cross_section_positions, cross_section_strip
from cbctviewer.core.panoramic import PanoramicSpec, panoramic
from cbctviewer.core.volume import Volume

HERE = Path(__file__).resolve().parent
#: Target median (ms) by the prefix of an operation's name.
TARGETS_MS = {"panoramic:": 150.0, "strip:": 100.0}


def arch_of_length(volume: Volume, length_mm: float) -> ArchCurve:
    """A parabolic arch ``length_mm`` long, centred in the volume's axial plane, 9 control points."""
    size = np.asarray(volume.size) * np.asarray(volume.spacing)
    centre = np.asarray(volume.origin) + 0.5 * size
    a = 0.025
    for half_width in np.arange(10.0, 0.5 * size[0], 0.25):  # widen until long enough
        u = np.linspace(-half_width, half_width, 9)
        depth = a * half_width**2
        points = np.column_stack([centre[0] + u, centre[1] - depth / 2 + a * u**2, np.full(9, centre[2])])
        curve = ArchCurve(points)
        if curve.length_mm >= length_mm:
            return curve
    raise ValueError("the volume is too small for the arch")


def medians_ms(ops: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median time (ms) of each operation, run in turns (A, B, C, A, B, C, …) after a warm-up,
    so that load changes on a shared machine hit the baselines and the operations alike."""
    for op in ops.values():
        op()
    times: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(repeats):
        for name, op in ops.items():
            start = time.perf_counter()
            op()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size", type=int, nargs=3, default=(512, 512, 400))
    args = parser.parse_args()
    volume = synthetic_head(*args.size, spacing=0.2)
    arr = volume.array
    fov_mm = 0.2 * min(args.size[:2])
    curve = arch_of_length(volume, 120.0 if fov_mm >= 100.0 else 0.9 * fov_mm)  # --size smaller: shorter arch
    spec = PanoramicSpec(step_mm=0.2, height_mm=40.0, slab_mm=10.0)
    mip = PanoramicSpec(step_mm=0.2, height_mm=40.0, slab_mm=10.0, slab_mode="mip")
    thin = PanoramicSpec(step_mm=0.2, height_mm=40.0)
    between = {"centre_height_mm": 0.07}
    positions = cross_section_positions(curve.length_mm / 3, count=5, length_mm=curve.length_mm)
    middle = arr.shape[0] // 2
    r = args.repeats
    ops: dict[str, Callable[[], object]] = {
        "baseline: numpy copy of one axial slice": lambda: np.array(arr[middle]),
        "baseline: numpy mean of a 10 mm axial slab": lambda: arr[middle : middle + 51].mean(axis=0),
        "panoramic: 10 mm slab mean": lambda: panoramic(volume, curve, spec),
        "panoramic: 10 mm slab MIP": lambda: panoramic(volume, curve, mip),
        "panoramic: thin": lambda: panoramic(volume, curve, thin),
        "panoramic: 10 mm mean, rows between slices": lambda: panoramic(
            volume, curve, replace(spec, **between)
        ),
        "panoramic: 10 mm MIP, rows between slices": lambda: panoramic(
            volume, curve, replace(mip, **between)
        ),
        "thick: 30 mm slab mean (the UI's largest)": lambda: panoramic(
            volume, curve, replace(spec, slab_mm=30.0)
        ),
        "thick: 30 mm slab MIP": lambda: panoramic(volume, curve, replace(mip, slab_mm=30.0)),
        "preview: 10 mm slab mean": lambda: panoramic(volume, curve, spec, preview=True),
        "preview: 10 mm slab MIP": lambda: panoramic(volume, curve, mip, preview=True),
        "strip: 5 cross-sections 40×30 mm at 0.2 mm": lambda: cross_section_strip(
            volume, curve, positions, width_mm=40.0, height_mm=30.0, pixel_mm=0.2
        ),
    }
    results = medians_ms(ops, r)
    base = results["baseline: numpy mean of a 10 mm axial slab"]
    shape = panoramic(volume, curve, spec).shape
    arch = f"arch {curve.length_mm:.1f} mm; panoramic {shape[1]}×{shape[0]} px"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"volume {args.size} int16 at 0.2 mm; {arch}; load average {load} on {os.cpu_count()} cores")
    print(f"{'operation':<48} {'median ms':>10} {'× slab mean':>12} {'target':>8}")
    for name, ms in results.items():
        target = next((t for p, t in TARGETS_MS.items() if name.startswith(p)), None)
        verdict = "" if target is None else (f"≤{target:.0f} ok" if ms <= target else f"≤{target:.0f} MISS")
        print(f"{name:<48} {ms:10.1f} {ms / base:12.2f} {verdict:>8}")
    out = HERE / "results" / "bench_dental.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "size": list(args.size),
                "arch_mm": curve.length_mm,
                "load": os.getloadavg(),
                "median_ms": results,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
