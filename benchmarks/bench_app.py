"""Viewer start-up benchmark: ``cbct-viewer PATH`` to the first drawn frame, and its peak memory.

Run under a display (the script re-runs itself under ``xvfb-run`` when there is none)::

    .venv/bin/python benchmarks/bench_app.py [--sample DIR] [--runs 3]

Each measurement is a fresh process started by this script, interleaved A, B, A, B… so
that noise on the machine hits both alike:

* **load only** (the baseline): scan + load of the sample with ``cbctviewer.io`` — what
  any program must spend before it can show a voxel;
* **viewer**: ``cbct-viewer PATH`` (the command line's own ``main``) until the first 2D
  view is painted on screen, and until all four views (3D included) are.

Times are wall-clock from the moment the process is spawned. Peak memory is the whole
viewer process's resident high-water mark (VmHWM) once all four views are drawn.
Targets: first frame ≤ load only + 1.5 s; peak ≤ 2.5 × volume bytes + 400 MiB (MiB = 2**20 bytes).
Default data: the built-in sample at 0.2 mm (``cbct-viewer sample``), written to a
temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
FIRST_FRAME_BUDGET_S = 1.5
PEAK_FACTOR, PEAK_EXTRA = 2.5, 400 * MIB


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


# -- the measured processes -------------------------------------------------------------------
def child_load(path: str) -> dict[str, Any]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    with scan(path) as report:
        volume = load(report.volumes[0])
    return {"ready": time.time(), "peak_bytes": _vm("VmHWM"), "volume_bytes": volume.nbytes}


def child_app(path: str) -> dict[str, Any]:
    """``cbct-viewer PATH`` with a recorder hooked into the window the command line builds."""
    from PySide6.QtCore import QTimer

    import cbctviewer.app.main as viewer
    from cbctviewer.app import cli

    events: dict[str, Any] = {}
    build_window = viewer.build_window

    def recording_build_window(**kwargs: Any) -> Any:
        window = build_window(**kwargs)
        drawn: set[str] = set()

        def on_frame(name: str) -> None:
            if window.state.volume is None:
                return
            events.setdefault("first_frame", time.time())
            drawn.add(name)
            if len(drawn) == 4 and "all_views" not in events:
                events["all_views"] = time.time()
                events["peak_bytes"] = _vm("VmHWM")
                events["volume_bytes"] = window.state.volume.nbytes
                events["mapper"] = window.grid.renderer.mapper_name
                QTimer.singleShot(0, window.close)

        window.case_opened.connect(lambda: events.setdefault("loaded", time.time()))
        window.grid.frame_drawn.connect(on_frame)
        window.open_failed.connect(lambda message: (events.setdefault("error", message), window.close()))
        return window

    viewer.build_window = recording_build_window
    code = cli.main([path, "--quiet"])
    events["exit_code"] = code
    return events


# -- the driver -------------------------------------------------------------------------------
def run_child(mode: str, path: Path, env: dict[str, str]) -> dict[str, Any]:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in result:
        raise RuntimeError(f"the viewer could not open the sample: {result['error']}")
    for key in ("ready", "loaded", "first_frame", "all_views"):
        if key in result:
            result[key] -= spawned
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, help="sample folder (default: write the 0.2 mm sample)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        print(json.dumps(child_load(path) if mode == "load" else child_app(path)))
        return 0
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, __file__, *sys.argv[1:]]
        return subprocess.call(command)
    with tempfile.TemporaryDirectory(prefix="cbct-bench-app-") as scratch:
        sample = args.sample
        if sample is None:
            from cbctviewer.io.sample import write_sample

            sample = Path(scratch) / "sample"
            print("writing the 0.2 mm sample…", flush=True)
            write_sample(sample)
        env = dict(
            os.environ, CBCT_VIEWER_DATA_DIR=str(Path(scratch) / "data")
        )  # recent list: not the user's
        run_child("load", sample, env)  # warm the page cache and the import caches
        loads: list[dict[str, Any]] = []
        apps: list[dict[str, Any]] = []
        for _ in range(args.runs):
            loads.append(run_child("load", sample, env))
            apps.append(run_child("app", sample, env))
    volume = int(apps[0]["volume_bytes"])
    load_s = _median(loads, "ready")
    first = _median(apps, "first_frame")
    results = {
        "volume_bytes": volume,
        "load_only_s": load_s,
        "load_only_peak_bytes": max(r["peak_bytes"] for r in loads),
        "viewer_loaded_s": _median(apps, "loaded"),
        "viewer_first_frame_s": first,
        "viewer_all_views_s": _median(apps, "all_views"),
        "viewer_peak_bytes": max(r["peak_bytes"] for r in apps),
        "mapper": apps[0].get("mapper", ""),
        "runs": args.runs,
    }
    budget = PEAK_FACTOR * volume + PEAK_EXTRA
    peak, load_peak = results["viewer_peak_bytes"], results["load_only_peak_bytes"]
    lines = [
        f"volume {volume / MIB:.0f} MiB; medians of {args.runs} fresh processes, from spawn:",
        f"  load only (scan + load)        {load_s:6.2f} s   peak {load_peak / MIB:5.0f} MiB",
        f"  viewer: scan + load done       {results['viewer_loaded_s']:6.2f} s",
        f"  viewer: first view drawn       {first:6.2f} s   = load only + {first - load_s:.2f} s"
        f" (target ≤ + {FIRST_FRAME_BUDGET_S:.1f} s)",
        f"  viewer: all four views drawn   {results['viewer_all_views_s']:6.2f} s"
        f"   (3D: {results['mapper']})",
        f"  viewer peak memory             {peak / MIB:6.0f} MiB = {peak / volume:.2f} × volume;"
        f" target ≤ {budget / MIB:.0f} MiB (2.5 × volume + 400 MiB)",
    ]
    print("\n".join(lines))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_app.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
