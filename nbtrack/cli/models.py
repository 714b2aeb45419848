"""``nbtrack models serve`` and ``nbtrack models predict`` (MLflow's ``mlflow models`` commands).

Both run in the current Python environment (MLflow's ``--env-manager local``).
"""

from __future__ import annotations

import sys

import click

from nbtrack.errors import NbtrackError


def _env_manager(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value not in (None, "local"):
        raise click.BadParameter(
            "nbtrack runs models in the current environment only; use --env-manager local "
            "(install the model's requirements.txt first)."
        )
    return value


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
def serve(model_uri: str, host: str, port: int, workers: int, timeout: float, max_body_size: int,
          env_manager: str | None) -> None:
    """Serve a model with MLflow's scoring protocol (POST /invocations)."""
    from nbtrack.server.scoring import serve as _serve

    try:
        _serve(model_uri, host=host, port=port, workers=workers, timeout=timeout, max_body_bytes=max_body_size)
    except NbtrackError as e:
        raise click.ClickException(e.message) from None


@models.command()
@click.option("-m", "--model-uri", required=True, help="Model path or URI, e.g. runs:/<run_id>/model.")
@click.option("-i", "--input-path", default=None, help="Input file (default: standard input).")
@click.option("-o", "--output-path", default=None, help="Output file (default: standard output).")
@click.option("-t", "--content-type", default="json", show_default=True, type=click.Choice(["json", "csv"]),
              help="Input format: a JSON scoring payload or CSV.")
@click.option("--env-manager", default=None, callback=_env_manager, help="Only 'local' is supported.")
def predict(model_uri: str, input_path: str | None, output_path: str | None, content_type: str,
            env_manager: str | None) -> None:
    """Score an input file with a model; writes {"predictions": ...} as JSON."""
    from nbtrack.models.payload import dumps_predictions, parse_csv, parse_json_request
    from nbtrack.models.pyfunc import load_model

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
            data, params = parse_json_request(text, schema)
        else:
            data = parse_csv(text, schema)
        result = dumps_predictions(model.predict(data, params=params))
    except NbtrackError as e:
        raise click.ClickException(e.message) from None
    except OSError as e:
        raise click.ClickException(f"Cannot read {input_path}: {e.strerror}") from None
    if output_path is None:
        click.echo(result)
    else:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(result)


if __name__ == "__main__":
    models()
