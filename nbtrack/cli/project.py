"""``nbtrack run``: run an MLflow project (MLflow's ``mlflow run``)."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import click

from nbtrack.cli._common import store_option

EXIT_RUN_FAILED = 1
EXIT_INTERRUPTED = 130


def _pairs(values: tuple[str, ...], flag: str, bare_ok: bool = False) -> dict[str, str | bool]:
    found: dict[str, str | bool] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not name or (not sep and not bare_ok):
            raise click.UsageError(f"Invalid format for -{flag} parameter: '{item}'. Use -{flag} name=value.")
        if name in found:
            raise click.UsageError(f"Repeated parameter: '{name}'")
        found[name] = value if sep else True
    return found


@click.command("run")
@click.argument("uri")
@click.option("--entry-point", "-e", default="main", show_default=True, metavar="NAME",
              help="Entry point of the MLproject, or a .py, .sh or .ipynb file of the project.")
@click.option("--version", "-v", default=None, metavar="VERSION", help="Git commit, branch or tag to run.")
@click.option("--param-list", "-P", multiple=True, metavar="NAME=VALUE",
              help="A parameter (repeatable). Undeclared ones are passed as --name value.")
@click.option("--docker-args", "-A", multiple=True, metavar="NAME=VALUE", help="A `docker run` flag (docker_env).")
@click.option("--experiment-name", envvar="MLFLOW_EXPERIMENT_NAME", default=None,
              help="Experiment to log into (created if missing).")
@click.option("--experiment-id", envvar="MLFLOW_EXPERIMENT_ID", default=None, help="Experiment id to log into.")
@click.option("--backend", "-b", default="local", show_default=True, type=click.Choice(["local"]))
@click.option("--backend-config", "-c", default=None, hidden=True)
@click.option("--env-manager", type=click.Choice(["local", "virtualenv", "uv", "conda"]), default=None,
              help="Where the command runs [default: the project's python_env/conda_env, else local].")
@click.option("--storage-dir", default=None, help="Where runs:/ values of path parameters are downloaded.")
@click.option("--run-id", default=None, help="Log into this existing run instead of a new one.")
@click.option("--run-name", default=None, help="Name of the new run.")
@click.option("--build-image", is_flag=True, help="docker_env: build an image holding the project first.")
@store_option
def run(uri: str, entry_point: str, version: str | None, param_list: tuple[str, ...], docker_args: tuple[str, ...],
        experiment_name: str | None, experiment_id: str | None, backend: str, backend_config: str | None,
        env_manager: str | None, storage_dir: str | None, run_id: str | None, run_name: str | None,
        build_image: bool, store: str | None) -> None:
    """Run the MLflow project at URI (a folder, a git repository, a file:// URL; add #subdir).

    The run is created first and handed to the command (MLFLOW_RUN_ID), so start_run() inside
    it logs there. Exit code 0 when the command succeeds, 1 when it fails (the run is FAILED),
    130 when interrupted (the run is KILLED and the command stopped).
    """
    from nbtrack.cli._common import store_uri
    from nbtrack.projects import run as run_project

    if experiment_name is not None and experiment_id is not None:
        raise click.UsageError("Specify only one of --experiment-name or --experiment-id.")
    params = _pairs(param_list, "P")
    args = _pairs(docker_args, "A", bare_ok=True)
    store_uri(store)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("nbtrack.projects").addHandler(handler)
    logging.getLogger("nbtrack.projects").setLevel(logging.INFO)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        submitted = run_project(uri, entry_point, version, params, args, experiment_name, experiment_id, backend,
                                backend_config, storage_dir, False, run_id, run_name, env_manager, build_image)
        try:
            ok = submitted.wait()
        except KeyboardInterrupt:
            submitted.cancel()
            click.echo(f"=== Run (ID '{submitted.run_id}') interrupted: KILLED, its command stopped ===", err=True)
            sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
    status = submitted.get_status()
    click.echo(f"=== Run (ID '{submitted.run_id}') {'succeeded' if ok else 'ended ' + status} ===", err=True)
    if not ok:
        sys.exit(EXIT_INTERRUPTED if status == "KILLED" else EXIT_RUN_FAILED)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
