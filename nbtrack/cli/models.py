"""``nbtrack models serve|predict|prepare-env|generate-dockerfile`` (MLflow's ``mlflow models``).

``serve`` and ``predict`` run in the current Python environment (MLflow's ``--env-manager
local``); ``prepare-env`` builds the model's own environment; ``generate-dockerfile`` writes a
folder that ``docker build`` turns into a serving image.
"""

from __future__ import annotations

import sys

import click

from nbtrack.cli._common import store_option, store_uri
from nbtrack.errors import NbtrackError, NotFound


def _env_manager(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value not in (None, "local"):
        raise click.BadParameter(
            "nbtrack runs models in the current environment only; use --env-manager local "
            "(install the model's requirements.txt first)."
        )
    return value


def _use_store(store: str | None) -> str:
    return store_uri(store)


def _not_found(error: NotFound, model_uri: str, store: str) -> NbtrackError:
    """Say which store a runs:/ or models:/ URI was looked up in: the usual cause is another folder's."""
    if model_uri.startswith(("runs:", "models:")):
        return NotFound(f"{error.message} (looked in the store {store}; pass --store or set "
                        "NBTRACK_TRACKING_URI to the store the model was logged to)")
    return error


@click.group()
def models() -> None:
    """Serve models over HTTP or score files with them."""


@models.command()
@click.option("-m", "--model-uri", required=True, help="Model path or URI, e.g. runs:/<run_id>/model.")
@click.option("-h", "--host", default="127.0.0.1", show_default=True,
              help="Interface to bind. Use 0.0.0.0 only on a trusted network.")
@click.option("-p", "--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("-w", "--workers", default=1, show_default=True, type=click.IntRange(1),
              help="Worker processes, each with its own copy of the model.")
@click.option("-t", "--timeout", default=60, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a prediction may take before the request fails with 504.")
@click.option("--max-body-size", default=64 * 1024 * 1024, show_default=True, type=click.IntRange(1),
              help="Largest request body in bytes; bigger requests get 413.")
@click.option("--env-manager", default=None, callback=_env_manager, help="Only 'local' is supported.")
@store_option
def serve(model_uri: str, host: str, port: int, workers: int, timeout: float, max_body_size: int,
          env_manager: str | None, store: str | None) -> None:
    """Serve a model with MLflow's scoring protocol (POST /invocations)."""
    import os

    from nbtrack.server.scoring import serve as _serve

    uri = _use_store(store)
    os.environ["NBTRACK_TRACKING_URI"] = uri  # the worker processes resolve runs:/ URIs there too
    try:
        _serve(model_uri, host=host, port=port, workers=workers, timeout=timeout, max_body_bytes=max_body_size)
    except NotFound as e:
        raise _not_found(e, model_uri, uri) from None


@models.command()
@click.option("-m", "--model-uri", required=True, help="Model path or URI, e.g. runs:/<run_id>/model.")
@click.option("-i", "--input-path", default=None, help="Input file (default: standard input).")
@click.option("-o", "--output-path", default=None, help="Output file (default: standard output).")
@click.option("-t", "--content-type", default="json", show_default=True, type=click.Choice(["json", "csv"]),
              help="Input format: a JSON scoring payload or CSV.")
@click.option("--env-manager", default=None, callback=_env_manager, help="Only 'local' is supported.")
@store_option
def predict(model_uri: str, input_path: str | None, output_path: str | None, content_type: str,
            env_manager: str | None, store: str | None) -> None:
    """Score an input file with a model; writes {"predictions": ...} as JSON."""
    from nbtrack.models.payload import dumps_predictions, parse_csv, parse_json_for
    from nbtrack.models.pyfunc import load_model

    uri = _use_store(store)
    try:
        model = load_model(model_uri)
        schema = model.metadata.get_input_schema()
        if input_path is None:
            text = sys.stdin.read()
        else:
            with open(input_path, encoding="utf-8") as f:
                text = f.read()
        params = None
        if content_type == "json":
            data, params = parse_json_for(model, text)
        else:
            data = parse_csv(text, schema)
        result = dumps_predictions(model.predict(data, params=params))
    except NotFound as e:
        raise _not_found(e, model_uri, uri) from None
    except OSError as e:
        raise click.ClickException(f"Cannot read {input_path}: {e.strerror}") from None
    if output_path is None:
        click.echo(result)
    else:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(result)



@models.command("prepare-env")
@click.option("-m", "--model-uri", required=True, help="Model path or URI, e.g. runs:/<run_id>/model.")
@click.option("--env-manager", type=click.Choice(["local", "virtualenv", "uv", "conda"]), default="virtualenv",
              show_default=True, help="local checks the current environment; the others build the model's.")
@store_option
def prepare_env(model_uri: str, env_manager: str, store: str | None) -> None:
    """Build (and cache) the model's environment from its python_env.yaml / conda.yaml; print its Python."""
    import os

    from nbtrack.models.uri import resolve_model_uri
    from nbtrack.projects._env import prepare_environment
    from nbtrack.projects._spec import Project

    uri = _use_store(store)
    try:
        path = resolve_model_uri(model_uri)
    except NotFound as e:
        raise _not_found(e, model_uri, uri) from None
    kind, file = "local", None
    for candidate_kind, name in (("python_env", "python_env.yaml"), ("conda_env", "conda.yaml")):
        wanted = env_manager == "conda" if candidate_kind == "conda_env" else env_manager != "conda"
        if wanted and os.path.isfile(os.path.join(path, name)):
            kind, file = candidate_kind, os.path.join(path, name)
            break
    environment = prepare_environment(Project(path, os.path.basename(path), {}, kind, file), env_manager)
    click.echo(environment.python)


@models.command("generate-dockerfile")
@click.option("-m", "--model-uri", default=None,
              help="Model to put in the image (default: none; the image serves a model mounted at /opt/ml/model).")
@click.option("-d", "--output-directory", default="nbtrack-dockerfile", show_default=True,
              help="Folder to write the Dockerfile (and the model) into.")
@click.option("--install-nbtrack", default=None, metavar="REQUIREMENT",
              help="How pip should install nbtrack in the image (default: nbtrack[serve]==this version).")
@store_option
def generate_dockerfile(model_uri: str | None, output_directory: str, install_nbtrack: str | None,
                        store: str | None) -> None:
    """Write a Dockerfile that serves the model on port 8080 (`docker build` it yourself)."""
    import os
    import platform
    import shutil

    import nbtrack
    from nbtrack.models.uri import resolve_model_uri

    uri = _use_store(store)
    os.makedirs(output_directory, exist_ok=True)
    lines = [f"FROM python:{'.'.join(platform.python_version_tuple()[:2])}-slim",
             f"RUN pip install --no-cache-dir '{install_nbtrack or f'nbtrack[serve]=={nbtrack.__version__}'}'"]
    if model_uri is not None:
        try:
            path = resolve_model_uri(model_uri)
        except NotFound as e:
            raise _not_found(e, model_uri, uri) from None
        target = os.path.join(output_directory, "model_dir")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(path, target)
        lines += ["COPY model_dir /opt/ml/model"]
        if os.path.isfile(os.path.join(target, "requirements.txt")):
            lines += ["RUN pip install --no-cache-dir -r /opt/ml/model/requirements.txt"]
    lines += ["ENV NBTRACK_TRACKING_URI=/opt/ml/store", "EXPOSE 8080",
              'CMD ["nbtrack", "models", "serve", "-m", "/opt/ml/model", "-h", "0.0.0.0", "-p", "8080"]']
    with open(os.path.join(output_directory, "Dockerfile"), "w") as f:
        f.write("\n".join(lines) + "\n")
    click.echo(f"Wrote {os.path.join(output_directory, 'Dockerfile')}; build it with: "
               f"docker build -t my-model {output_directory}")
