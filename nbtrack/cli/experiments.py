"""``nbtrack experiments create|search|delete|restore|rename|csv`` (MLflow's ``mlflow experiments``)."""

from __future__ import annotations

import dataclasses

import click

from nbtrack.cli._common import (
    DefaultGroup,
    emit,
    open_client,
    output_option,
    store_option,
    table,
    when,
)
from nbtrack.cli.runs import VIEWS, write_csv

experiment_id_option = click.option("--experiment-id", "-x", required=True, help="The experiment's id.")


@click.group(cls=DefaultGroup, default="search")
def experiments() -> None:
    """Create, list, rename, delete and restore experiments (alone: `experiments search`)."""


@experiments.command("create")
@store_option
@click.option("--experiment-name", "-n", required=True, help="Name of the new experiment.")
@click.option("--artifact-location", "-l", default=None,
              help="Folder for its runs' artifacts (default: inside the store).")
def create(store: str | None, experiment_name: str, artifact_location: str | None) -> None:
    """Create an experiment (and the store, if there is none yet)."""
    exp_id = open_client(store, create=True).create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {exp_id}")


@experiments.command("search")
@store_option
@click.option("--view", "-v", type=click.Choice(list(VIEWS)), default="active_only", show_default=True)
@click.option("--max-results", type=click.IntRange(0), default=None, help="At most this many (default: all).")
@click.option("--filter", "filter_string", default=None, help="e.g. \"name LIKE 'iris%'\".")
@output_option
def search(store: str | None, view: str, max_results: int | None, filter_string: str | None, output: str) -> None:
    """List experiments."""
    found = open_client(store).search_experiments(VIEWS[view], max_results, filter_string)

    def render() -> str:
        rows = [[e.experiment_id, e.name, e.lifecycle_stage, when(e.creation_time), e.artifact_location]
                for e in found]
        return table(["experiment_id", "name", "lifecycle", "created", "artifact_location"], rows, max_width=60)

    emit(output, [dataclasses.asdict(e) for e in found], render)


@experiments.command("delete")
@store_option
@experiment_id_option
def delete(store: str | None, experiment_id: str) -> None:
    """Mark an experiment and its runs deleted (`nbtrack gc` removes them for good)."""
    open_client(store).delete_experiment(experiment_id)
    click.echo(f"Experiment with ID {experiment_id} has been deleted.")


@experiments.command("restore")
@store_option
@experiment_id_option
def restore(store: str | None, experiment_id: str) -> None:
    """Restore a deleted experiment and its runs."""
    open_client(store).restore_experiment(experiment_id)
    click.echo(f"Experiment with ID {experiment_id} has been restored.")


@experiments.command("rename")
@store_option
@experiment_id_option
@click.option("--new-name", required=True, help="The new, unused name.")
def rename(store: str | None, experiment_id: str, new_name: str) -> None:
    """Rename an experiment."""
    open_client(store).rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment with ID {experiment_id} has been renamed to '{new_name}'.")


@experiments.command("csv")
@store_option
@experiment_id_option
@click.option("--filename", "-o", default=None, help="Write here instead of standard output.")
def csv(store: str | None, experiment_id: str, filename: str | None) -> None:
    """All runs of an experiment as CSV (search_runs' columns)."""
    write_csv(store, (experiment_id,), (), "", filename)
