"""``nbtrack runs list|describe|delete|restore|csv`` (MLflow's ``mlflow runs``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from nbtrack.cli._common import (
    DefaultGroup,
    emit,
    experiment_ids,
    open_client,
    output_option,
    store_option,
    table,
    when,
)

VIEWS = {"active_only": 1, "deleted_only": 2, "all": 3}
run_id_option = click.option("--run-id", "-r", required=True, help="The run's id.")
view_option = click.option("--view", "-v", type=click.Choice(list(VIEWS)), default="active_only",
                           show_default=True, help="Active runs, deleted ones, or both.")


@click.group(cls=DefaultGroup, default="list")
def runs() -> None:
    """List, inspect, delete and restore runs (`nbtrack runs` alone is `nbtrack runs list`)."""


@runs.command("list")
@store_option
@click.option("--experiment-id", "-x", "ids", multiple=True, help="Experiment id (repeatable; default: all).")
@click.option("--experiment-name", "--experiment", "-e", "names", multiple=True,
              help="Experiment name (repeatable).")
@click.option("--filter", "filter_string", default="", help="MLflow filter, e.g. \"metrics.acc > 0.9\".")
@click.option("--order-by", multiple=True, help="e.g. \"metrics.acc DESC\" (repeatable).")
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(1))
@view_option
@output_option
def list_runs(store: str | None, ids: tuple[str, ...], names: tuple[str, ...], filter_string: str,
              order_by: tuple[str, ...], max_results: int, view: str, output: str) -> None:
    """List runs, newest first, with their metrics and params."""
    client = open_client(store)
    exps = experiment_ids(client, ids, names) or [e.experiment_id for e in client.search_experiments(view_type=3)]
    found = list(client.search_runs(exps, filter_string, VIEWS[view], max_results, list(order_by) or None))
    metrics = sorted({k for r in found for k in r.data.metrics})
    params = sorted({k for r in found for k in r.data.params})

    def render() -> str:
        if not found:
            return f"no runs match in the store {client.tracking_uri}"
        headers = ["run_id", "name", "status", "experiment", "start_time",
                   *(f"metrics.{k}" for k in metrics), *(f"params.{k}" for k in params)]
        rows = [[r.info.run_id, r.info.run_name, r.info.status, r.info.experiment_id, when(r.info.start_time),
                 *(r.data.metrics.get(k) for k in metrics), *(r.data.params.get(k) for k in params)]
                for r in found]
        return table(headers, rows)

    emit(output, [r.to_dictionary() for r in found], render)


@runs.command("describe")
@store_option
@run_id_option
@output_option
def describe(store: str | None, run_id: str, output: str) -> None:
    """Show a run: its info, params, metrics, tags and artifacts."""
    client = open_client(store)
    run = client.get_run(run_id)
    artifacts = _walk(client, run_id, None)
    data = {**run.to_dictionary(), "artifacts": [dataclasses.asdict(a) for a in artifacts]}
    emit(output, data, lambda: _describe_text(run, artifacts))


def _walk(client: Any, run_id: str, path: str | None) -> list[Any]:
    found = []
    for info in client.list_artifacts(run_id, path):
        found.append(info)
        if info.is_dir:
            found += _walk(client, run_id, info.path)
    return found


def _describe_text(run: Any, artifacts: list[Any]) -> str:
    i = run.info
    lines = [f"Run {i.run_id} ({i.run_name})", f"  status      {i.status}",
             f"  experiment  {i.experiment_id}", f"  started     {when(i.start_time)}",
             f"  ended       {when(i.end_time)}", f"  lifecycle   {i.lifecycle_stage}",
             f"  artifacts   {i.artifact_uri}"]
    for title, values in (("Params", run.data.params), ("Metrics", run.data.metrics), ("Tags", run.data.tags)):
        lines.append(f"{title}:" if values else f"{title}: none")
        lines += [f"  {k} = {v}" for k, v in sorted(values.items())]
    lines.append("Artifacts:" if artifacts else "Artifacts: none")
    lines += [f"  {a.path}{'/' if a.is_dir else ''}" + ("" if a.is_dir else f"  ({a.file_size} bytes)")
              for a in artifacts]
    return "\n".join(lines)


@runs.command("delete")
@store_option
@run_id_option
def delete(store: str | None, run_id: str) -> None:
    """Mark a run deleted (restore it with `runs restore`; `nbtrack gc` removes it for good)."""
    open_client(store).delete_run(run_id)
    click.echo(f"Run with ID {run_id} has been deleted.")


@runs.command("restore")
@store_option
@run_id_option
def restore(store: str | None, run_id: str) -> None:
    """Restore a deleted run."""
    open_client(store).restore_run(run_id)
    click.echo(f"Run with ID {run_id} has been restored.")


@runs.command("csv")
@store_option
@click.option("--experiment-id", "-x", "ids", multiple=True, help="Experiment id (repeatable).")
@click.option("--experiment-name", "-e", "names", multiple=True, help="Experiment name (repeatable).")
@click.option("--filter", "filter_string", default="", help="MLflow filter.")
@click.option("--filename", "-o", default=None, help="Write here instead of standard output.")
def runs_csv(store: str | None, ids: tuple[str, ...], names: tuple[str, ...], filter_string: str,
             filename: str | None) -> None:
    """Runs as CSV: search_runs' columns (run_id, status, ..., metrics.*, params.*, tags.*)."""
    write_csv(store, ids, names, filter_string, filename)


def write_csv(store: str | None, ids: tuple[str, ...], names: tuple[str, ...], filter_string: str,
              filename: str | None) -> None:
    import nbtrack

    client = open_client(store)
    exps = experiment_ids(client, ids, names)
    kwargs: dict[str, Any] = {"experiment_ids": exps} if exps else {"search_all_experiments": True}
    frame = nbtrack.search_runs(filter_string=filter_string, **kwargs)
    if filename:
        frame.to_csv(filename, index=False)
        click.echo(f"{len(frame)} runs written to {filename}")
    else:
        click.echo(frame.to_csv(index=False), nl=False)
