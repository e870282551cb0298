"""Small benchmark harness: run one operation per fresh subprocess, report time and peak memory.

Each measurement runs in its own interpreter so peak memory is not polluted by earlier work.
Peak memory is the resident-set high-water mark (VmHWM) after it is reset, minus the resident
size just before the operation — i.e. what the operation itself added.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("CBCT_BENCH_DATA", HERE / "data"))


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux clear_refs 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def measure_in_process(op: Callable[[], Any]) -> dict[str, float]:
    """Time ``op`` and measure the peak resident memory it added (bytes)."""
    reset_peak()
    base = _status("VmRSS")
    start = time.perf_counter()
    op()
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    return {"seconds": seconds, "peak_added_bytes": float(max(0, peak - base))}


def run_worker(module: str, op: str, *args: str) -> dict[str, float]:
    """Run ``python -m module op args...`` in a fresh interpreter; it prints one JSON line."""
    done = subprocess.run(
        [sys.executable, str(HERE / f"{module}.py"), op, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {op} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def repeat(module: str, op: str, *args: str, runs: int = 3) -> dict[str, float]:
    """Median time and max peak over ``runs`` fresh-process runs."""
    results = [run_worker(module, op, *args) for _ in range(runs)]
    return {
        "seconds": statistics.median(r["seconds"] for r in results),
        "peak_added_bytes": max(r["peak_added_bytes"] for r in results),
        "runs": float(runs),
    }


def worker_main(ops: dict[str, Callable[..., Callable[[], Any]]]) -> None:
    """Entry for worker scripts: ``script.py OP ARGS...`` → one JSON line on stdout.

    Each entry of ``ops`` takes the CLI args and returns the zero-argument operation to
    measure, so that its own set-up (imports, file lists) stays outside the measurement.
    """
    op_name, *args = sys.argv[1:]
    operation = ops[op_name](*args)
    print(json.dumps(measure_in_process(operation)))


def interleave(module: str, ops: list[str], folder: str, *, runs: int = 3) -> dict[str, dict[str, float]]:
    """Run each op ``runs`` times in turn (A, B, A, B, ...) so load on the machine hits all
    contenders alike; return each op's median time and largest peak."""
    samples: dict[str, list[dict[str, float]]] = {op: [] for op in ops}
    for _ in range(runs):
        for op in ops:
            samples[op].append(run_worker(module, op, folder))
    return {
        op: {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "peak_added_bytes": max(r["peak_added_bytes"] for r in rs),
            "runs": float(runs),
        }
        for op, rs in samples.items()
    }
