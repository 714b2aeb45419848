"""``%nbtrack`` sub-commands: status, experiment, runs, compare, uri, dashboard."""

from __future__ import annotations

import shlex
import time
from typing import Any

from IPython.core.error import UsageError

from nbtrack.errors import NotFound
from nbtrack.notebook import _context
from nbtrack.tracking import fluent

__all__ = ["dispatch"]

USAGE = """\
%nbtrack                      store, experiment, active run and notebook
%nbtrack experiment NAME      make NAME the active experiment (created if missing)
%nbtrack runs [FILTER]        runs of the active experiment, newest first (a DataFrame)
%nbtrack compare RUN RUN ...  runs side by side; RUN is an id, an id prefix or a run name
%nbtrack uri URI              log to another store (a folder or URI)
%nbtrack dashboard            the nbtrack dashboard"""
MAX_RUNS = 100


def dispatch(shell: Any, line: str) -> Any:
    command, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if command in ("", "status"):
        print(status(shell))
        return None
    if command == "experiment":
        if not rest:
            raise UsageError("Usage: %nbtrack experiment NAME")
        experiment = fluent.set_experiment(rest)
        print(f"nbtrack: active experiment is now '{experiment.name}' (id {experiment.experiment_id})")
        return None
    if command == "runs":
        return runs(rest)
    if command == "compare":
        return compare(shlex.split(rest))
    if command == "uri":
        if not rest:
            raise UsageError("Usage: %nbtrack uri URI")
        fluent.set_tracking_uri(rest)
        print(f"nbtrack: logging to {fluent.get_tracking_uri()}")
        return None
    if command == "dashboard":
        return dashboard()
    raise UsageError(f"Unknown %nbtrack command {command!r}. Usage:\n{USAGE}")


def status(shell: Any) -> str:
    experiment = fluent.get_experiment(fluent.active_experiment_id())
    lines = [f"store:       {fluent.get_tracking_uri()}",
             f"experiment:  {experiment.name} (id {experiment.experiment_id})"]
    run = fluent.active_run()
    if run is None:
        lines.append("active run:  none")
    else:
        age = time.time() - run.info.start_time / 1000
        lines.append(f"active run:  {run.info.run_name} ({run.info.run_id}), started {age:.0f} s ago")
    path, found_by = _context.notebook_path(shell)
    lines.append(f"notebook:    {path} (from {found_by})" if path else
                 "notebook:    not detected (nbconvert, nbval and terminals do not say)")
    return "\n".join(lines)


def runs(filter_string: str) -> Any:
    """The active experiment's runs as a compact DataFrame, newest first."""
    df = fluent.search_runs(filter_string=filter_string, max_results=MAX_RUNS, order_by=["start_time DESC"])
    if df.empty:
        print("nbtrack: no runs" + (f" match {filter_string!r}" if filter_string else ""))
        return None
    df = df.rename(columns={"tags.mlflow.runName": "name"})
    columns = ["run_id", "name", "status", "start_time"]
    columns += [c for c in df.columns if c.startswith(("metrics.", "params."))]
    columns += [c for c in ("tags.nbtrack.cell_id",) if c in df.columns]
    return df[[c for c in columns if c in df.columns]]


def resolve_run(token: str) -> str:
    """A run id from an id, a unique id prefix, or a run name (the latest run of that name)."""
    try:
        return fluent.get_run(token).info.run_id
    except (NotFound, ValueError):
        pass
    found = fluent.active_store().find_runs(token, 20)
    by_name = found[found["run_name"] == token]
    if len(by_name):
        return str(by_name["run_id"].iloc[0])
    if len(found) == 1:
        return str(found["run_id"].iloc[0])
    if len(found) > 1:
        raise UsageError(f"{token!r} matches {len(found)} runs ({', '.join(found['run_id'][:4])}, ...). "
                         "Give more characters of the run id.")
    raise UsageError(f"No run with id, id prefix or name {token!r}. List runs with %nbtrack runs.")


def compare(tokens: list[str]) -> Any:
    """One column per run; rows are status, duration, params then metrics (differing first)."""
    import pandas as pd

    if len(tokens) < 2:
        raise UsageError("Usage: %nbtrack compare RUN RUN ... (ids, id prefixes or run names)")
    found = [fluent.get_run(resolve_run(t)) for t in tokens]
    columns = {}
    for run in found:
        label = f"{run.info.run_name} ({run.info.run_id[:8]})"
        column: dict[str, Any] = {"status": run.info.status, "duration": _duration(run)}
        column.update({f"params.{k}": v for k, v in run.data.params.items()})
        column.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        columns[label] = column
    table = pd.DataFrame(columns)
    same = table.astype(str).nunique(axis=1) <= 1
    rows = ["status", "duration"]
    for prefix in ("params.", "metrics."):
        group = [i for i in table.index if i.startswith(prefix)]
        rows += [i for i in group if not same[i]] + [i for i in group if same[i]]
    return table.loc[rows]


def _duration(run: Any) -> str:
    if run.info.end_time is None:
        return "running"
    return f"{(run.info.end_time - run.info.start_time) / 1000:.1f} s"


def dashboard() -> Any:
    try:
        from nbtrack import ui

        show = ui.dashboard
    except (ImportError, AttributeError):
        print("nbtrack: the dashboard is not part of this nbtrack yet. Meanwhile: %nbtrack runs, "
              "%nbtrack compare RUN RUN, or nbtrack.search_runs() in a cell.")
        return None
    return show()
