"""Run every benchmark in turn (``make bench``); each prints its own figures and ratios.

Usage: ``.venv/bin/python benchmarks/run_all.py [--quick]`` — ``--quick`` uses small data for
a smoke run. Figures are only comparable within one run (see each script's docstring).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = [
        ["bench_load.py", *(["--quick", "--runs", "1"] if args.quick else [])],
        ["bench_rendering.py", *(["--size", "256", "256", "100", "--frames", "10"] if args.quick else [])],
        ["bench_app.py", *(["--runs", "1"] if args.quick else [])],
        ["bench_registration.py", *(["--voxel", "0.5", "--runs", "1"] if args.quick else [])],
        ["bench_dental.py", *(["--size", "256", "256", "200", "--repeats", "2"] if args.quick else [])],
    ]
    failed = 0
    for script, *extra in runs:
        print(f"\n=== {script} {' '.join(extra)} ===", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script), *extra], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
