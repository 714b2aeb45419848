"""``nbtrack import`` and ``nbtrack export``: MLflow history in and out, and merging two stores."""

from __future__ import annotations

from typing import Any

import click

from nbtrack.cli._common import emit, output_option, store_option

_ARTIFACTS = click.option("--artifacts", type=click.Choice(["copy", "reference"]), default="copy", show_default=True,
                          help="Copy artifact files into the store byte for byte, or leave them where they are.")
_QUIET = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


def _finish(report: Any, output: str) -> None:
    emit(output, report.to_dict(), report.render)
    if not report.ok:
        raise SystemExit(1)


@click.group("import")
def import_() -> None:
    """Bring history into a store: from MLflow, or from another nbtrack store (a merge).

    Run it again at any time: what is already there is skipped, new runs are added.
    """


@import_.command("mlflow")
@click.argument("source")
@store_option
@_ARTIFACTS
@_QUIET
@output_option
def import_mlflow(source: str, store: str | None, artifacts: str, quiet: bool, output: str) -> None:
    """Import an MLflow history: SOURCE is sqlite:///mlflow.db, an mlruns/ folder or http://server:5000.

    Experiments (ids kept where free), runs (ids, every field and status, deleted ones too),
    params, tags, every metric point with its step and timestamp, dataset inputs, artifacts,
    MLflow 3 logged models, and the registry (versions with their numbers, stages, aliases, tags).
    """
    from nbtrack.migrate import import_mlflow as run

    _finish(run(source, store, artifacts, progress=not quiet), output)


@import_.command("nbtrack")
@click.argument("source")
@store_option
@_ARTIFACTS
@_QUIET
@output_option
def import_nbtrack(source: str, store: str | None, artifacts: str, quiet: bool, output: str) -> None:
    """Merge the nbtrack store SOURCE (a folder) into --store: run ids kept, conflicts reported."""
    from nbtrack.migrate import import_nbtrack as run

    _finish(run(source, store, artifacts, progress=not quiet), output)


@click.command("export")
@click.argument("what")
@click.argument("dest")
@store_option
@_QUIET
@output_option
def export(what: str, dest: str, store: str | None, quiet: bool, output: str) -> None:
    """Write a store elsewhere: `export mlflow DEST` (sqlite:///x.db or an mlruns/ folder that
    MLflow reads), or `export STORE DEST` (merge the store folder STORE into the store DEST)."""
    from nbtrack import migrate

    if what == "mlflow":
        report = migrate.export_mlflow(store, dest, progress=not quiet)
    else:
        report = migrate.import_nbtrack(what, dest, progress=not quiet)
    _finish(report, output)
