"""Loader and scanner benchmark (issue: foundation — speed and memory).

Run: ``.venv/bin/python benchmarks/bench_load.py [--quick]``

Generates (once, cached under benchmarks/data/) a 512×512×400 int16 series, JPEG 2000 lossless
and JPEG lossless copies of its first 100 slices, and a 2,000-file folder (5 series of 400).
Each operation runs in a fresh interpreter, 3 times; the median time and the largest peak
memory are reported, together with ratios against baselines measured in the same run:
SimpleITK's ImageSeriesReader (GDCM) on the same files, and the time to just read the files'
bytes (the floor). Page cache is warm for every contender (a warm-up read comes first).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import DATA, interleave, repeat, worker_main

SHAPE = (400, 512, 512)  # z, y, x
COMPRESSED_SLICES = 400  # a typical CBCT has 300–600 slices
SYNTAXES = {"j2k": "1.2.840.10008.1.2.4.90", "jpegll": "1.2.840.10008.1.2.4.70"}


def _volume(nz: int, seed: int = 1) -> Any:
    """Smooth CT-like int16 content with noise (compressible like real data, not constant)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : SHAPE[1], 0 : SHAPE[2]].astype(np.float32)
    out = np.empty((nz, SHAPE[1], SHAPE[2]), np.int16)
    for k in range(nz):
        r = np.hypot(x - 256, y - 256 + 20 * np.sin(k / 40))
        img = np.where(r < 200, 40.0, -1000.0) + np.where(r < 120 + 10 * np.cos(k / 25), 900.0, 0.0)
        img += rng.normal(0, 30, img.shape).astype(np.float32)
        out[k] = np.clip(img, -1024, 3071).astype(np.int16)
    return out


def _write(folder: Path, nz: int, *, syntax: str | None = None, series: int = 1, z0: float = 0.0) -> Path:
    from cbctviewer.io.dicom_writer import write_series

    marker = folder / ".complete"
    if marker.exists():
        return folder
    kwargs: dict[str, Any] = {}
    if syntax:
        kwargs["transfer_syntax"] = syntax
    write_series(
        _volume(nz, seed=series),
        folder,
        origin=(-128.0, -128.0, z0),
        spacing=(0.5, 0.5, 0.5),
        uid_seed=f"bench-{folder.name}-{series}",
        series_number=series,
        **kwargs,
    )
    marker.write_text("ok")
    return folder


def prepare(quick: bool) -> dict[str, Path]:
    """Write (or reuse) the benchmark series."""
    nz = 100 if quick else SHAPE[0]
    DATA.mkdir(parents=True, exist_ok=True)
    tag = "quick" if quick else "full"
    paths = {"native": _write(DATA / f"native_{tag}", nz)}
    for name, uid in SYNTAXES.items():
        paths[name] = _write(DATA / f"{name}_{tag}", COMPRESSED_SLICES if not quick else 20, syntax=uid)
    many = DATA / f"scan2000_{tag}"
    n_series = 5
    per = (2000 if not quick else 500) // n_series
    for s in range(n_series):
        _write(many / f"s{s}", per, series=s + 1, z0=1000.0 * s)
    paths["scan2000"] = many
    return paths


# ---- operations measured in fresh processes --------------------------------------------


def _files(folder: str) -> list[str]:
    return sorted(str(p) for p in Path(folder).rglob("*.dcm"))


def op_raw(folder: str) -> Callable[[], Any]:
    files = _files(folder)

    def run() -> None:
        for f in files:
            with open(f, "rb") as fh:  # noqa: PTH123
                while fh.read(1 << 20):
                    pass

    return run


def op_sitk(folder: str) -> Callable[[], Any]:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder))
    reader.SetOutputPixelType(sitk.sitkInt16)
    return lambda: reader.Execute()


def op_load(folder: str) -> Callable[[], Any]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    report = scan(Path(folder))
    candidate = report.volumes[0]
    return lambda: load(candidate)


def op_scan_load(folder: str) -> Callable[[], Any]:
    from cbctviewer.io.load import load
    from cbctviewer.io.scan import scan

    return lambda: load(scan(Path(folder)).volumes[0])


def op_sitk_discover_read(folder: str) -> Callable[[], Any]:
    import SimpleITK as sitk

    def run() -> Any:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder))
        reader.SetOutputPixelType(sitk.sitkInt16)
        return reader.Execute()

    return run


def op_scan(folder: str) -> Callable[[], Any]:
    from cbctviewer.io.scan import scan

    def run() -> None:
        report = scan(Path(folder))
        assert len(report.volumes) >= 1

    return run


def op_scan_auto(folder: str) -> Callable[[], Any]:
    from cbctviewer.io.scan import AUTO_WORKERS, scan

    def run() -> None:
        report = scan(Path(folder), workers=AUTO_WORKERS)
        assert len(report.volumes) >= 1

    return run


def op_gdcm_scan(folder: str) -> Callable[[], Any]:
    """Baseline for the scan: GDCM's series discovery over the same folder (headers)."""
    import SimpleITK as sitk

    def run() -> None:
        for sub in sorted(Path(folder).iterdir()):
            sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(sub))

    return run


OPS = {
    "raw": op_raw,
    "sitk": op_sitk,
    "load": op_load,
    "scan_load": op_scan_load,
    "sitk_discover_read": op_sitk_discover_read,
    "scan": op_scan,
    "scan_auto": op_scan_auto,
    "gdcm_scan": op_gdcm_scan,
}


def _mb(n: float) -> str:
    return f"{n / 1e6:7.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    t0 = time.perf_counter()
    paths = prepare(args.quick)
    print(f"data ready in {time.perf_counter() - t0:.1f} s under {DATA}")
    results: dict[str, Any] = {}

    def bench(pairs: list[tuple[str, str]], folder: Path) -> list[dict[str, float]]:
        repeat("bench_load", "raw", str(folder), runs=1)  # warm the page cache
        measured = interleave("bench_load", [op for _, op in pairs], str(folder), runs=args.runs)
        out = []
        for label, op in pairs:
            r = measured[op]
            results[f"{folder.name}:{op}"] = r
            print(f"  {label:<34} {r['seconds'] * 1000:8.0f} ms  peak +{_mb(r['peak_added_bytes'])}")
            out.append(r)
        return out

    nz = 100 if args.quick else SHAPE[0]
    vol_bytes = nz * SHAPE[1] * SHAPE[2] * 2
    print(f"\nUncompressed {SHAPE[2]}×{SHAPE[1]}×{nz} int16 ({_mb(vol_bytes)}), median of {args.runs}:")
    raw, sitk_r, ours, _, _ = bench(
        [
            ("read file bytes (floor)", "raw"),
            ("SimpleITK ImageSeriesReader", "sitk"),
            ("cbct-viewer load", "load"),
            ("cbct-viewer scan+load", "scan_load"),
            ("SimpleITK discover+read", "sitk_discover_read"),
        ],
        paths["native"],
    )
    print(f"  load / SimpleITK time      = {ours['seconds'] / sitk_r['seconds']:.2f}  (target ≤ 0.60)")
    print(f"  load / raw-read time       = {ours['seconds'] / raw['seconds']:.2f}")
    print(f"  load peak / volume bytes   = {ours['peak_added_bytes'] / vol_bytes:.2f}  (target ≤ 1.25)")
    print(f"  SimpleITK peak / volume    = {sitk_r['peak_added_bytes'] / vol_bytes:.2f}")

    for name in SYNTAXES:
        print(f"\n{name} series ({20 if args.quick else COMPRESSED_SLICES} slices):")
        s, o = bench([(f"SimpleITK {name}", "sitk"), (f"cbct-viewer load {name}", "load")], paths[name])
        print(f"  load / SimpleITK time      = {o['seconds'] / s['seconds']:.2f}  (target ≤ 1.00)")

    n_files = len(_files(str(paths["scan2000"])))
    print(f"\nScan of a {n_files}-file folder (headers only):")
    sc, auto, g = bench(
        [
            ("cbct-viewer scan (in-process)", "scan"),
            ("cbct-viewer scan (auto workers)", "scan_auto"),
            ("GDCM series discovery", "gdcm_scan"),
        ],
        paths["scan2000"],
    )
    print(f"  scan time = {sc['seconds']:.2f} s in-process, {auto['seconds']:.2f} s auto (target ≤ 2 s)")
    print(f"  scan / GDCM discovery = {sc['seconds'] / g['seconds']:.2f}")

    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_load.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in OPS:
        worker_main(OPS)
    else:
        sys.exit(main())
