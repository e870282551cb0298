"""Rigid registration benchmark: time, peak memory and accuracy per pyramid level.

    .venv/bin/python benchmarks/bench_registration.py [--voxel 0.2] [--runs 3] [--threads 2]

Data: the dental phantom pair (baseline and ``--followup``) rendered at ``--voxel`` mm and
cached as MetaImage in ``benchmarks/data/registration_<voxel>/`` (gitignored). At 0.2 mm the
baseline is 400 × 400 × 300 voxels and the follow-up 360 × 360 × 260 (int16), the size the
issue asks for. Every measurement is a fresh process (``harness.run_worker``), interleaved
so that noise on the shared machine hits all contenders alike; medians are reported:

* **load** (context): reading both volumes from the cache, what any use of them costs;
* **register**: :func:`cbctviewer.core.registration.register_rigid` with default settings,
  volumes already in memory; its peak is what it *added* on top of them (VmHWM);
* **sitk-pyramid** (context): a plain SimpleITK ``ImageRegistrationMethod`` with its own
  built-in pyramid (same metric, sampling count, optimizer and start) on float32 copies
  of both volumes — the textbook set-up our own binned pyramid replaces.

Accuracy against the phantom's known motion after each level: largest displacement over the
baseline field of view (its 8 corners) and residual rotation angle.
Targets (issue 5): ≤ 15 s on 2 cores; peak ≤ 3 × the two volumes' bytes; ≤ 0.2 mm / 0.2°.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import DATA, measure_in_process, run_worker  # noqa: E402

MIB = 1024 * 1024
TIME_BUDGET_S = 15.0
PEAK_FACTOR = 3.0


def data_dir(voxel: float) -> Path:
    return DATA / f"registration_{voxel:g}"


def prepare(voxel: float) -> Path:
    """Render and cache the phantom pair (once per voxel size)."""
    import SimpleITK as sitk

    from cbctviewer.core.phantom import render_phantom

    folder = data_dir(voxel)
    if (folder / "truth.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = {}
    for name, followup in (("baseline", False), ("followup", True)):
        image = render_phantom(voxel_size=voxel, followup=followup)
        sitk.WriteImage(image.to_sitk(), str(folder / f"{name}.mha"))
        truth[name] = {"registration": image.truth["registration"]}
    (folder / "truth.json").write_text(json.dumps(truth))
    return folder


# -- the measured processes -------------------------------------------------------------------
def _read(folder: Path) -> tuple[Any, Any]:
    import SimpleITK as sitk

    from cbctviewer.core.volume import Volume

    return tuple(Volume(sitk.ReadImage(str(folder / f"{n}.mha"))) for n in ("baseline", "followup"))


def _truth_and_corners(folder: Path, baseline: Any) -> tuple[Any, Any]:
    import numpy as np

    from cbctviewer.core.registration import RigidTransform, box_corners

    truth = json.loads((folder / "truth.json").read_text())["baseline"]["registration"]
    lo = np.asarray(baseline.origin)
    hi = lo + (np.asarray(baseline.size) - 1) * np.asarray(baseline.spacing)
    return RigidTransform(np.asarray(truth["baseline_to_followup"])), box_corners(lo, hi)


def worker(op: str, folder_arg: str, threads: str) -> dict[str, Any]:
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(threads))
    folder = Path(folder_arg)
    if op == "load":
        kept: list[Any] = []
        out: dict[str, Any] = measure_in_process(lambda: kept.extend(_read(folder)))
        out["volume_bytes"] = float(sum(v.nbytes for v in kept))
        return out
    baseline, followup = _read(folder)
    truth, corners = _truth_and_corners(folder, baseline)
    holder: dict[str, Any] = {}
    if op == "register":
        from cbctviewer.core.registration import register_rigid

        out = measure_in_process(lambda: holder.update(result=register_rigid(baseline, followup)))
        result = holder["result"]
        levels = [_level_row(lv, truth, corners) for lv in result.levels]
        final = result.transform
    elif op == "sitk-pyramid":
        out = measure_in_process(lambda: holder.update(result=_plain_sitk(baseline, followup)))
        final, levels = holder["result"]
    else:
        raise SystemExit(f"unknown op {op}")
    from cbctviewer.core.registration import transform_error

    error = transform_error(final, truth, points=corners)
    out.update(
        volume_bytes=float(baseline.nbytes + followup.nbytes),
        error_mm=error[0],
        error_deg=error[1],
        levels=levels,
    )
    return out


def _level_row(level: Any, truth: Any, corners: Any) -> dict[str, Any]:
    from cbctviewer.core.registration import transform_error

    mm, deg = transform_error(level.transform, truth, points=corners)
    return {
        "level": level.level,
        "spacing_mm": level.spacing_mm,
        "shrink": level.shrink,
        "iterations": level.iterations,
        "seconds": level.seconds,
        "metric": level.metric,
        "error_mm": mm,
        "error_deg": deg,
    }


def _plain_sitk(baseline: Any, followup: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Textbook SimpleITK set-up: float32 copies, built-in pyramid 8/4/2, same start and metric."""
    import numpy as np
    import SimpleITK as sitk

    from cbctviewer.core.registration import RegistrationSettings, RigidTransform
    from cbctviewer.core.registration_pyramid import centre_of_mass_start as start_of

    cfg = RegistrationSettings()
    fixed = sitk.Cast(baseline.image, sitk.sitkFloat32)
    moving = sitk.Cast(followup.image, sitk.sitkFloat32)
    start = start_of(sitk.BinShrink(fixed, [8] * 3), sitk.BinShrink(moving, [8] * 3))
    size = np.asarray(fixed.GetSize(), dtype=float)
    centre = fixed.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2.0))
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(cfg.histogram_bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    # Same number of samples at the finest level as ours (percentage of the full image).
    method.SetMetricSamplingPercentage(min(1.0, cfg.samples_per_level * 8 / size.prod()), cfg.seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(1.0, 0.001, cfg.max_iterations, 0.5, 1e-10)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([8, 4, 2])
    method.SetSmoothingSigmasPerLevel([0.8, 0.4, 0.0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(start.to_sitk(center=centre), inPlace=True)
    result = method.Execute(fixed, moving)
    return RigidTransform.from_sitk(result), []


# -- the driver -------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voxel", type=float, default=0.2, help="phantom voxel size, mm (0.2: 400×400×300)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="ITK threads (the target machine has 2 cores)")
    parser.add_argument("--no-sitk-pyramid", action="store_true", help="skip the plain SimpleITK contender")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_registration.json")
    args = parser.parse_args()
    folder = prepare(args.voxel)
    ops = ["load", "register"] + ([] if args.no_sitk_pyramid else ["sitk-pyramid"])
    samples: dict[str, list[dict[str, Any]]] = {op: [] for op in ops}
    for _ in range(args.runs):
        for op in ops:
            samples[op].append(run_worker("bench_registration", op, str(folder), str(args.threads)))
    report = summarise(samples, voxel=args.voxel, threads=args.threads)
    print(report["text"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({k: v for k, v in report.items() if k != "text"}, indent=2))
    return 0 if report["ok"] else 1


def summarise(samples: dict[str, list[dict[str, Any]]], *, voxel: float, threads: int) -> dict[str, Any]:
    def med(op: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in samples[op])

    reg = samples["register"]
    volume_bytes = reg[0]["volume_bytes"]
    peak = max(r["peak_added_bytes"] for r in reg)
    load_s = med("load", "seconds")
    reg_s = med("register", "seconds")
    lines = [
        f"Rigid registration, phantom pair at {voxel:g} mm, {threads} ITK threads, {len(reg)} runs (medians)",
        f"  volumes: {volume_bytes / MIB:.0f} MiB together (int16)",
        f"  load both (context):   {load_s:6.2f} s",
        f"  register_rigid:        {reg_s:6.2f} s = {reg_s / load_s:.1f} × load "
        f"(budget {TIME_BUDGET_S:.0f} s)",
        f"  peak added:            {peak / MIB:6.0f} MiB = {peak / volume_bytes:.2f} × volumes; "
        f"with the volumes {(peak + volume_bytes) / volume_bytes:.2f} × (budget {PEAK_FACTOR:.0f} ×)",
        f"  final error:           {med('register', 'error_mm'):.3f} mm, {med('register', 'error_deg'):.3f}°"
        " (budget 0.2 mm, 0.2°)",
        "  per level (last run): level  spacing  iters  seconds  metric    error mm  error °",
    ]
    for row in reg[-1]["levels"]:
        lines.append(
            f"                         {row['level']}    {row['spacing_mm']:.2f} mm  {row['iterations']:4d}  "
            f"{row['seconds']:6.2f}  {row['metric']:.4f}   {row['error_mm']:.3f}    {row['error_deg']:.3f}"
        )
    if "sitk-pyramid" in samples:
        s = samples["sitk-pyramid"]
        sp = max(r["peak_added_bytes"] for r in s)
        lines.append(
            f"  plain SimpleITK pyramid (context): {med('sitk-pyramid', 'seconds'):.2f} s, peak added "
            f"{sp / MIB:.0f} MiB = {sp / volume_bytes:.2f} × volumes, error "
            f"{med('sitk-pyramid', 'error_mm'):.3f} mm / {med('sitk-pyramid', 'error_deg'):.3f}°"
        )
    # The memory budget is the issue's, for ~400×400×300 voxels (0.2 mm); on the small quick
    # data the fixed cost of the sample buffers dominates and a ratio says nothing.
    memory_judged = volume_bytes >= 100 * MIB
    if not memory_judged:
        lines.append("  (peak-memory budget not judged: it is set for the 0.2 mm pair of ~400×400×300)")
    ok = (
        reg_s <= TIME_BUDGET_S
        and (not memory_judged or peak + volume_bytes <= PEAK_FACTOR * volume_bytes)
        and med("register", "error_mm") <= 0.2
        and med("register", "error_deg") <= 0.2
    )
    lines.append("  verdict: " + ("within all budgets" if ok else "OVER A BUDGET"))
    return {
        "ok": ok,
        "text": "\n".join(lines),
        "voxel_mm": voxel,
        "threads": threads,
        "volume_bytes": volume_bytes,
        "samples": samples,
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in {"load", "register", "sitk-pyramid"}:
        os.environ.setdefault("PYTHONHASHSEED", "0")
        print(json.dumps(worker(*sys.argv[1:4])))
    else:
        sys.exit(main())
