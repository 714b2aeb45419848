"""The shared selection: which runs are picked, seen by every view that holds it.

A view calls :meth:`Selection.set` with itself as ``source``; every other observer hears
about it (the source does not, so views never echo a change back). The selection also
hands out one colour per run, so a run has the same colour in the table and the charts.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["PALETTE", "Selection", "run_ids_of"]

log = logging.getLogger("nbtrack.ui")

#: plotly's default qualitative palette (D3 category10)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


class Selection:
    """An ordered set of selected run ids with change observers.

    Examples
    --------
    >>> sel = Selection()
    >>> seen = []
    >>> sel.observe(seen.append)
    >>> sel.set(["a", "b"])
    >>> seen, sel.run_ids
    ([('a', 'b')], ('a', 'b'))
    """

    def __init__(self, run_ids: Iterable[str] = ()) -> None:
        self._ids: tuple[str, ...] = tuple(dict.fromkeys(run_ids))
        self._observers: list[tuple[Any, Any]] = []
        self._colors: dict[str, str] = {}
        self.source: Any = None  # the view behind the latest change
        #: what the views drawn by nbtrack's JupyterLab extension call this selection (they share it)
        self.id = uuid.uuid4().hex[:12]

    def __repr__(self) -> str:
        return f"Selection({list(self._ids)!r})"

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._ids

    @property
    def run_ids(self) -> tuple[str, ...]:
        return self._ids

    def set(self, run_ids: Iterable[str], source: Any = None) -> None:
        """Replace the selection; observers other than ``source`` are called with the new ids."""
        new = tuple(dict.fromkeys(str(r) for r in run_ids))
        if new == self._ids:
            return
        self._ids, self.source = new, source
        for ref, owner_ref in list(self._observers):
            callback = ref()
            owner = owner_ref() if owner_ref is not None else None
            if callback is None:
                self._observers.remove((ref, owner_ref))
                continue
            if source is not None and owner is source:
                continue
            try:
                callback(new)
            except Exception:  # one broken view must not stop the others from updating
                log.exception("nbtrack: a view failed to follow the selection")

    def clear(self, source: Any = None) -> None:
        self.set((), source)

    def observe(self, callback: Callable[[tuple[str, ...]], Any], owner: Any = None) -> None:
        """Call ``callback(run_ids)`` on every change not made by ``owner``.

        Bound methods are held weakly, so a view that is gone stops being called.
        """
        ref: Any = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda: callback)
        owner_ref = weakref.ref(owner) if owner is not None else None
        self._observers.append((ref, owner_ref))

    def color(self, run_id: str) -> str:
        """A stable colour for ``run_id``: the next palette colour the first time it is asked."""
        color = self._colors.get(run_id)
        if color is None:
            color = self._colors[run_id] = PALETTE[len(self._colors) % len(PALETTE)]
        return color


def run_ids_of(runs: Any) -> list[str]:
    """Run ids from ids, Run objects, a search_runs DataFrame or a Selection."""
    if runs is None:
        return []
    if isinstance(runs, Selection):
        return list(runs.run_ids)
    if isinstance(runs, str):
        return [runs]
    if hasattr(runs, "info") and hasattr(runs.info, "run_id"):
        return [runs.info.run_id]
    if hasattr(runs, "columns") and "run_id" in runs.columns:
        return [str(r) for r in runs["run_id"]]
    return [r.info.run_id if hasattr(r, "info") else str(r) for r in runs]
