"""Loading the extension, and the cell hooks that keep runs from being left open.

MLflow's notebook pain (mlflow#10813, #2692): a cell calls ``start_run()`` and fails, or
is run again, and every later ``start_run()`` says "Run ... is already active". Here:

* ``post_run_cell``: runs a cell started and left open are ended FAILED (KILLED on
  KeyboardInterrupt) when the cell failed; when it succeeded they stay open, so a run
  started in one cell can be used by the next ones.
* ``pre_run_cell``: running again a cell whose earlier execution left a run open first
  ends that run (FINISHED: its cell had succeeded), and every run started after it.

A cell is known by its nbformat id (JupyterLab sends it) or, without one (nbconvert,
plain IPython), by its source text.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from nbtrack.entities import RunStatus
from nbtrack.notebook import _context
from nbtrack.tracking import context as tracking_context
from nbtrack.tracking import fluent

__all__ = ["Session", "load", "unload"]

log = logging.getLogger("nbtrack.notebook")
SOURCE_ARTIFACT = "cell/source.py"

_sessions: dict[int, Session] = {}


def load(shell: Any) -> None:
    from nbtrack.notebook._magics import NbtrackMagics

    if id(shell) in _sessions:
        return
    session = Session(shell)
    _sessions[id(shell)] = session
    shell.register_magics(NbtrackMagics(shell, session))
    shell.events.register("pre_run_cell", session.pre_run_cell)
    shell.events.register("post_run_cell", session.post_run_cell)
    _context.attach(shell)
    tracking_context.register_provider(_context.provider)


def unload(shell: Any) -> None:
    session = _sessions.pop(id(shell), None)
    if session is None:
        return
    for event, callback in (("pre_run_cell", session.pre_run_cell), ("post_run_cell", session.post_run_cell)):
        try:
            shell.events.unregister(event, callback)
        except ValueError:
            pass
    for kind, name in (("cell", "track"), ("line", "nbtrack")):
        shell.magics_manager.magics[kind].pop(name, None)
    tracking_context.unregister_provider(_context.provider)
    _context.detach()


def active_run_ids() -> list[str]:
    """Run ids on this thread's stack, outermost first."""
    return [run.info.run_id for run in fluent.active_runs()]


def end_runs_above(index: int, status: str) -> list[str]:
    """End runs until only ``index`` remain on the stack; return the ended ids."""
    ended = []
    while len(fluent.active_runs()) > index:
        run = fluent.active_run()
        assert run is not None
        fluent.end_run(status)
        ended.append(run.info.run_id)
    return ended


def cell_key(cell: _context.CellInfo) -> str:
    if cell.cell_id:
        return "id:" + cell.cell_id
    return "source:" + hashlib.sha1(cell.raw_cell.encode("utf-8", "replace")).hexdigest()


class Session:
    """Per-shell bookkeeping: which cell left which run open."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.opened_by: dict[str, str] = {}  # run id -> cell key, for runs left open by a cell
        self._before: list[str] = []

    def pre_run_cell(self, info: Any) -> None:
        try:
            cell = _context.cell_started(self.shell, info)
            self._end_previous_execution(cell_key(cell))
            self._before = active_run_ids()
        except Exception as e:  # a hook must never break the user's cell
            log.warning("nbtrack pre_run_cell hook failed: %s", e)

    def _end_previous_execution(self, key: str) -> None:
        stack = active_run_ids()
        for index, run_id in enumerate(stack):
            if self.opened_by.get(run_id) == key:
                ended = end_runs_above(index, RunStatus.FINISHED)
                print(f"nbtrack: finished run {ended[-1]}, left open by the previous execution of this "
                      "cell" + (f" (and {len(ended) - 1} run(s) started after it)" if len(ended) > 1 else ""))
                break
        self._forget_closed()

    def post_run_cell(self, result: Any) -> None:
        cell = _context.current_cell()
        _context.cell_finished()
        try:
            self._close_strays(cell, result)
            if cell is not None and cell.runs_created > len(cell.sourced):
                log_sources(cell)
        except Exception as e:
            log.warning("nbtrack post_run_cell hook failed: %s", e)

    def _close_strays(self, cell: _context.CellInfo | None, result: Any) -> None:
        stack = active_run_ids()
        keep = 0
        while keep < len(stack) and keep < len(self._before) and stack[keep] == self._before[keep]:
            keep += 1
        if keep == len(stack):
            return
        error = getattr(result, "error_in_exec", None)
        if error is None:
            if cell is not None:
                for run_id in stack[keep:]:
                    self.opened_by[run_id] = cell_key(cell)
            return
        status = RunStatus.KILLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
        ended = end_runs_above(keep, status)
        print(f"nbtrack: ended {len(ended)} run(s) this cell left open as {status} ({', '.join(ended)})")
        self._forget_closed()

    def _forget_closed(self) -> None:
        open_ids = set(active_run_ids())
        for run_id in [r for r in self.opened_by if r not in open_ids]:
            del self.opened_by[run_id]


def log_sources(cell: _context.CellInfo) -> None:
    """Log the cell source on runs the cell created outside ``%%track`` (one store read)."""
    for run_id in fluent.active_store().runs_with_tag("nbtrack.cell_execution", cell.execution):
        if run_id not in cell.sourced:
            fluent.log_text(cell.raw_cell, SOURCE_ARTIFACT, run_id=run_id)
            cell.sourced.add(run_id)
