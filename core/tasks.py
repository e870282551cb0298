"""Progress and cancellation for long work (scan, load, register), without Qt."""

from __future__ import annotations

from collections.abc import Callable

#: Called with (fraction done in [0, 1], short message). Must be cheap and thread-safe.
ProgressCallback = Callable[[float, str], None]
#: Returns True when the user asked to stop. Polled between units of work.
CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """The user cancelled the operation; nothing was changed."""


def no_progress(fraction: float, message: str) -> None:
    """Progress sink that ignores everything."""


def never_cancel() -> bool:
    """Cancel check that never cancels."""
    return False


def check_cancel(cancel: CancelCheck | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled by the user")
