"""What the case file keeps besides the measurements: the view state and other features' sections.

:class:`CaseSections` is the bookkeeping half of the measure controller's saving: features
(the viewer's view state, the dental workspace, the compare workspace…) register how to
dump and restore their part; :meth:`CaseSections.case` assembles the
:class:`~cbctviewer.io.case_file.Case` to write. The controller decides *when* to save.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cbctviewer.core.measure_set import MeasurementSet
from cbctviewer.io.case_file import Case

__all__ = ["CaseSections", "SectionDump", "SectionRestore"]

log = logging.getLogger(__name__)

SectionDump = Callable[[], "dict[str, Any] | None"]
SectionRestore = Callable[["dict[str, Any] | None"], None]


class CaseSections:
    """The view state and the registered sections of the open series' case file."""

    def __init__(self) -> None:
        #: The view state to save (what the view-state hooks last reported).
        self.view_state: dict[str, Any] = {}
        self._view_hooks: tuple[SectionDump, SectionRestore] | None = None
        self._sections: dict[str, tuple[SectionDump, SectionRestore]] = {}
        self._loaded: dict[str, Any] = {}

    def set_view_state_hooks(self, dump: SectionDump, restore: SectionRestore) -> None:
        """How to read the viewer's state (``None`` when it is not this series') and restore it."""
        self._view_hooks = (dump, restore)

    def register(self, name: str, dump: SectionDump, restore: SectionRestore) -> None:
        """Keep a feature's data under ``sections[name]`` (see ``MeasureController.register_section``)."""
        self._sections[name] = (dump, restore)

    def unregister(self, name: str) -> None:
        """Stop keeping a section (what was loaded stays in the file until the next save)."""
        self._sections.pop(name, None)

    def load(self, case: Case | None) -> None:
        """Remember what ``case`` kept (``None``: nothing); :meth:`restore` hands it out."""
        self.view_state = dict(case.view_state) if case is not None else {}
        self._loaded = dict(case.sections) if case is not None else {}

    def restore(self) -> None:
        """Give the loaded view state and sections to their hooks (``None`` to a section not saved)."""
        if self._view_hooks is not None and self.view_state:
            self._view_hooks[1](dict(self.view_state))
        for name, (_, restore) in self._sections.items():
            _call_restore(name, restore, self._loaded.get(name))

    def capture_view_state(self) -> bool:
        """Read the view state now; False when there is nothing to keep (no hooks, not this series)."""
        if self._view_hooks is None:
            return False
        state = self._view_hooks[0]()
        if state is None:
            return False
        self.view_state = state
        return True

    def clear(self) -> None:
        """The series closed: forget what was loaded and the view state."""
        self.view_state, self._loaded = {}, {}

    def case(self, mset: MeasurementSet) -> Case:
        """The case file's content: the measurements, the view state and every section."""
        # Sections of features not installed in this run are kept as they were loaded.
        sections: dict[str, Any] = dict(self._loaded)
        for name, (dump, _) in self._sections.items():
            try:
                data = dump()
            except Exception:  # one feature's bug must not lose the measurements
                log.exception("case file section %s not saved", name)
                continue
            if data is None:
                sections.pop(name, None)
            else:
                sections[name] = data
        return Case(mset.identity, list(mset), dict(self.view_state), sections=sections)


def _call_restore(name: str, restore: SectionRestore, data: Any) -> None:
    try:
        restore(data if isinstance(data, dict) else None)
    except Exception:  # a damaged section must not stop the series from opening
        log.exception("case file section %s not restored", name)
