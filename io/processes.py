"""One place that chooses how worker processes start (scan and decode pools share it).

Linux uses a forkserver (no copy of the caller's threads or open files, fast after the first
start) preloaded with every module a worker needs; the preload list can only be set before
the server starts, so both pools must ask here. Elsewhere ``spawn``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import sys

#: Modules the workers import; loaded once in the forkserver and inherited by every worker.
WORKER_MODULES = ["cbctviewer.io.scan_files", "cbctviewer.io.frame_pool"]


def worker_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context for the project's worker pools."""
    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(WORKER_MODULES)  # no effect once the server runs
        return context
    return multiprocessing.get_context("spawn")
