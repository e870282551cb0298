"""The ``cbct-viewer`` command line.

``cbct-viewer [PATH]`` opens the viewer; the sub-commands ``inspect``, ``check``,
``convert`` and ``sample`` run headless (no Qt is imported for them).
Exit codes: 0 success, 1 the media did not give what was asked, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import SimpleITK as sitk

    from cbctviewer.io.report import ScanReport, SeriesCandidate

SUBCOMMANDS = ("inspect", "check", "convert", "sample")
CONVERT_SUFFIXES = (".nrrd", ".nii.gz", ".nii", ".mha", ".mhd")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class StderrProgress:
    """Progress on stderr: one updating line on a terminal, a line per 10 % otherwise."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last_step = -1
        self._last_time = 0.0
        self._lock = threading.Lock()

    def __call__(self, fraction: float, message: str) -> None:
        if self.quiet:
            return
        with self._lock:
            step = int(max(0.0, min(1.0, fraction)) * 10)
            now = time.monotonic()
            if self.tty:
                if now - self._last_time > 0.1 or fraction >= 1.0:
                    sys.stderr.write(f"\r{message[:60]:<60} {fraction * 100:5.1f}%")
                    sys.stderr.flush()
                    self._last_time = now
            elif step != self._last_step:
                sys.stderr.write(f"{message} {step * 10}%\n")
            self._last_step = step

    def done(self) -> None:
        if not self.quiet and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _scan(path: Path, quiet: bool) -> ScanReport:
    from cbctviewer.io.scan import AUTO_WORKERS, scan

    progress = StderrProgress(quiet=quiet)
    try:
        return scan(path, progress=progress, workers=AUTO_WORKERS)  # the console script has a main guard
    finally:
        progress.done()


def _print_report(report: ScanReport) -> None:
    from cbctviewer.io.summary import describe_candidate

    print(f"Looked at {report.files_seen} file(s) in {report.source}")
    for i, series in enumerate(report.series, 1):
        print(f"  [{i}] {describe_candidate(series)}")
        print(f"      series key: {series.key or series.series_instance_uid}")
        if series.transfer_syntaxes:
            print(f"      stored as: {', '.join(sorted(_syntax_names(series.transfer_syntaxes)))}")
        for warning in series.warnings:
            print(f"      warning: {warning}")
    for item in report.items:
        print(f"  found: {item.description} — {item.path.name}")
    for problem in report.problems:
        print(f"  problem: {problem.path.name}: {problem.error}")
    for warning in report.warnings:
        print(f"  note: {warning}")


def _syntax_names(uids: set[str]) -> list[str]:
    from pydicom.uid import UID

    return [UID(u).name if UID(u).is_transfer_syntax else u for u in uids]


def cmd_inspect(args: argparse.Namespace) -> int:
    """``inspect PATH [--json]``: what is on the media, from headers only."""
    from cbctviewer.io.summary import report_to_json, verdict

    with _scan(args.path, args.quiet or args.json) as report:
        if args.json:
            json.dump(report_to_json(report), sys.stdout, indent=2, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            _print_report(report)
            print(verdict(report))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """``check PATH``: load every 3D series and say in plain words whether the scan opens."""
    from cbctviewer.io.errors import MediaError
    from cbctviewer.io.load import load
    from cbctviewer.io.summary import describe_candidate, verdict

    with _scan(args.path, args.quiet) as report:
        _print_report(report)
        results: dict[str, str | None] = {}
        for series in report.volumes:
            key = series.key or series.series_instance_uid
            progress = StderrProgress(quiet=args.quiet)
            try:
                volume = load(series, progress=progress)
                results[key] = None
                del volume
                print(f"  opened: {describe_candidate(series)}")
            except MediaError as err:
                results[key] = str(err)
                print(f"  could not open: {describe_candidate(series)}: {err}")
            finally:
                progress.done()
        print(verdict(report, results))
    return EXIT_OK if any(err is None for err in results.values()) else EXIT_FAILED


def _choose_series(report: ScanReport, wanted: str | None) -> SeriesCandidate | str:
    """The candidate to convert, or a message saying why none can be chosen."""
    if wanted:
        found = report.find(wanted)
        return found if found is not None else f"no series with key or UID {wanted!r} on the media"
    volumes = report.volumes
    if len(volumes) == 1:
        return volumes[0]
    if not volumes:
        return "no 3D volume found on the media"
    keys = "\n".join(f"  {v.key or v.series_instance_uid}" for v in volumes)
    return f"the media holds {len(volumes)} volumes; choose one with --series:\n{keys}"


def _write_atomically(image: sitk.Image, out: Path) -> None:
    import SimpleITK as sitk

    suffix = "".join(out.suffixes[-2:]) if out.name.endswith(".nii.gz") else out.suffix
    fd, tmp_name = tempfile.mkstemp(prefix=".cbct-", suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        sitk.WriteImage(image, str(tmp), useCompression=True)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def cmd_convert(args: argparse.Namespace) -> int:
    """``convert PATH [--series KEY] --out FILE``: write the volume as NRRD, NIfTI or MetaImage."""
    from cbctviewer.io.errors import MediaError
    from cbctviewer.io.load import load

    out: Path = args.out
    if not out.name.lower().endswith(CONVERT_SUFFIXES):
        allowed = ", ".join(CONVERT_SUFFIXES)
        print(f"cbct-viewer convert: --out must end with one of {allowed}", file=sys.stderr)
        return EXIT_USAGE
    if out.exists() and not args.force:
        print(f"cbct-viewer convert: {out} exists; use --force to replace it", file=sys.stderr)
        return EXIT_USAGE
    if not out.parent.is_dir():
        print(f"cbct-viewer convert: folder {out.parent} does not exist", file=sys.stderr)
        return EXIT_USAGE
    with _scan(args.path, args.quiet) as report:
        chosen = _choose_series(report, args.series)
        if isinstance(chosen, str):
            print(f"cbct-viewer convert: {chosen}", file=sys.stderr)
            return EXIT_FAILED
        progress = StderrProgress(quiet=args.quiet)
        try:
            volume = load(chosen, progress=progress)
        except MediaError as err:
            print(f"cbct-viewer convert: could not open the series: {err}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            progress.done()
    try:
        _write_atomically(volume.image, out)
    except (OSError, RuntimeError) as err:
        print(f"cbct-viewer convert: could not write {out}: {err}", file=sys.stderr)
        return EXIT_FAILED
    for warning in volume.metadata.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    """``sample OUTDIR [--followup]``: write the built-in synthetic dental CBCT."""
    from cbctviewer.io.sample import write_sample

    outdir: Path = args.outdir
    if args.if_missing and (outdir / "phantom_truth.json").is_file():
        return EXIT_OK
    if outdir.exists() and not outdir.is_dir():
        print(f"cbct-viewer sample: {outdir} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    progress = StderrProgress(quiet=args.quiet)
    try:
        write_sample(outdir, followup=args.followup, voxel_size=args.voxel_size, progress=progress)
    except OSError as err:
        print(f"cbct-viewer sample: could not write {outdir}: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        progress.done()
    if not args.quiet:
        print(f"wrote the dental phantom to {outdir}", file=sys.stderr)
    return EXIT_OK


def cmd_view(args: argparse.Namespace) -> int:
    """``cbct-viewer [PATH]``: open the viewer (on PATH when given)."""
    try:
        from cbctviewer.app.main import run_viewer
    except ImportError:  # no Qt on this machine (e.g. missing system libraries)
        run_viewer = None  # type: ignore[assignment]
    if run_viewer is not None:
        return int(run_viewer(args.path, series=args.series))
    # Until the window exists: say what would open.
    if args.path is None:
        print("cbct-viewer: the viewer window is not available yet; give a PATH to see what would open.")
        return EXIT_OK
    with _scan(args.path, args.quiet) as report:
        chosen = _choose_series(report, args.series)
        if isinstance(chosen, str):
            print(f"cbct-viewer: {chosen}", file=sys.stderr)
            return EXIT_FAILED
        from cbctviewer.io.summary import describe_candidate

        print(f"Would open: {describe_candidate(chosen)}")
    return EXIT_OK


def _existing_path(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.05 <= value <= 2.0:
        raise argparse.ArgumentTypeError("voxel size must be between 0.05 and 2 mm")
    return value


def build_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The viewer parser (``cbct-viewer [PATH]``) and the sub-command parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    view = argparse.ArgumentParser(
        prog="cbct-viewer",
        parents=[common],
        description="Open a dental CBCT (folder, disc, DICOMDIR, zip or file) in the viewer. "
        f"Sub-commands: {', '.join(SUBCOMMANDS)} (see 'cbct-viewer COMMAND --help').",
    )
    view.add_argument("path", nargs="?", type=_existing_path, help="what to open")
    view.add_argument("--series", help="series key or SeriesInstanceUID to open")

    tools = argparse.ArgumentParser(prog="cbct-viewer")
    sub = tools.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", parents=[common], help="list what is on the media (headers only)")
    p.add_argument("path", type=_existing_path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_inspect)
    p = sub.add_parser("check", parents=[common], help="does my scan open? (exit 0 yes, 1 no)")
    p.add_argument("path", type=_existing_path)
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("convert", parents=[common], help="write a volume as .nrrd, .nii.gz or .mha")
    p.add_argument("path", type=_existing_path)
    p.add_argument("--series", help="series key or SeriesInstanceUID (needed when there are several)")
    p.add_argument("--out", type=Path, required=True, help="output file (.nrrd, .nii.gz, .mha)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=cmd_convert)
    p = sub.add_parser("sample", parents=[common], help="write the built-in synthetic dental CBCT")
    p.add_argument("outdir", type=Path)
    p.add_argument("--followup", action="store_true", help="the follow-up scan (moved, more bone loss)")
    p.add_argument("--voxel-size", type=_positive_float, default=0.2, help="mm (default 0.2)")
    p.add_argument("--if-missing", action="store_true", help="do nothing when OUTDIR already holds it")
    p.set_defaults(func=cmd_sample)
    return view, tools


def quiet_third_party_logs() -> None:
    """Keep pydicom's messages out of logs and stderr: they can quote header values
    (patient data). Problems reach the user through our own plain-language reports."""
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cbct-viewer`` console script."""
    quiet_third_party_logs()
    args_list = list(sys.argv[1:] if argv is None else argv)
    view, tools = build_parsers()
    try:
        if args_list and args_list[0] in SUBCOMMANDS:
            args = tools.parse_args(args_list)
        else:
            args = view.parse_args(args_list)
            args.func = cmd_view
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("cbct-viewer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
