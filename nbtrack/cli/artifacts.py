"""``nbtrack artifacts list|download|log-artifact|log-artifacts`` (MLflow's ``mlflow artifacts``)."""

from __future__ import annotations

import dataclasses
import os

import click

from nbtrack.cli._common import emit, open_client, output_option, store_option, table
from nbtrack.errors import InvalidParameter, NotFound

run_id_option = click.option("--run-id", "-r", required=True, help="The run's id.")
artifact_path_option = click.option("--artifact-path", "-a", default=None,
                                    help="A path inside the run's artifacts (default: the top).")


@click.group()
def artifacts() -> None:
    """List, download and log a run's artifacts."""


@artifacts.command("list")
@store_option
@run_id_option
@artifact_path_option
@output_option
def list_artifacts(store: str | None, run_id: str, artifact_path: str | None, output: str) -> None:
    """The files and folders directly under the run's artifacts (or under --artifact-path)."""
    client = open_client(store)
    found = client.list_artifacts(run_id, artifact_path)

    def render() -> str:
        if not found:
            return f"no artifacts under {artifact_path or 'the top'} of run {run_id}"
        rows = [[f.path + ("/" if f.is_dir else ""), "" if f.is_dir else f.file_size] for f in found]
        return table(["path", "bytes"], rows, max_width=80)

    emit(output, [dataclasses.asdict(f) for f in found], render)


@artifacts.command("download")
@store_option
@click.option("--run-id", "-r", default=None, help="The run's id (or give --artifact-uri).")
@artifact_path_option
@click.option("--artifact-uri", "-u", default=None, help="e.g. runs:/<run_id>/model, instead of --run-id.")
@click.option("--dst-path", "--dest-path", "-d", "dst_path", default=None,
              help="Folder to download into (default: a new temporary folder).")
def download(store: str | None, run_id: str | None, artifact_path: str | None, artifact_uri: str | None,
             dst_path: str | None) -> None:
    """Download an artifact file or folder; prints where it is on disk."""
    if (run_id is None) == (artifact_uri is None):
        raise click.UsageError("Give exactly one of --run-id or --artifact-uri.")
    client = open_client(store)
    if dst_path:
        os.makedirs(dst_path, exist_ok=True)
    if artifact_uri is not None:
        from nbtrack.tracking.artifacts import download_artifacts

        click.echo(download_artifacts(artifact_uri=artifact_uri, dst_path=dst_path, tracking_uri=client.tracking_uri))
    else:
        assert run_id is not None
        click.echo(client.download_artifacts(run_id, artifact_path or "", dst_path))


@artifacts.command("log-artifact")
@store_option
@click.option("--local-file", "-l", required=True, help="The file to log.")
@run_id_option
@artifact_path_option
def log_artifact(store: str | None, local_file: str, run_id: str, artifact_path: str | None) -> None:
    """Log a local file into the run's artifacts (under --artifact-path)."""
    if not os.path.isfile(local_file):
        raise NotFound(f"{local_file} is not a file. Use log-artifacts for a folder.")
    open_client(store).log_artifact(run_id, local_file, artifact_path)
    click.echo(f"Logged {local_file} to run {run_id} at {_where(artifact_path, os.path.basename(local_file))}")


@artifacts.command("log-artifacts")
@store_option
@click.option("--local-dir", "-l", required=True, help="The folder whose contents to log.")
@run_id_option
@artifact_path_option
def log_artifacts(store: str | None, local_dir: str, run_id: str, artifact_path: str | None) -> None:
    """Log the contents of a local folder into the run's artifacts (under --artifact-path)."""
    if not os.path.isdir(local_dir):
        raise InvalidParameter(f"{local_dir} is not a folder. Use log-artifact for a single file.")
    open_client(store).log_artifacts(run_id, local_dir, artifact_path)
    click.echo(f"Logged the contents of {local_dir} to run {run_id} at {_where(artifact_path, '')}")


def _where(artifact_path: str | None, name: str) -> str:
    return "/".join(p for p in (artifact_path, name) if p) or "the top of its artifacts"
