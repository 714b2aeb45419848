"""``nbtrack.models.predict`` and ``validate_serving_input``: score a model as its server would.

``predict`` runs the model in its own environment, as MLflow's does: ``env_manager="virtualenv"``
or ``"uv"`` (or ``"conda"``) builds the environment its ``python_env.yaml`` / ``requirements.txt``
describe, through ``nbtrack models prepare-env`` (cached, so the second call builds nothing),
and scores the input in a Python of that environment; ``"local"`` scores in a subprocess of this
Python. The model's own ``nbtrack==x.y.z`` pin is not installed from an index: the environment
imports this nbtrack (its site folders come after the environment's own, so the model's pins win).

The environment is built from a command, not an import, because the environment builder lives in
``nbtrack.projects``, a layer above this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["predict", "validate_serving_input"]

_CONTENT_TYPES = ("json", "csv")
_ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")
_OURS = ("nbtrack", "mlflow", "mlflow-skinny")  # provided by the running nbtrack, never installed


def validate_serving_input(model_uri: str, serving_input: str | dict[str, Any]) -> Any:
    """Predict on ``serving_input`` (a scoring-server JSON body, as a string or dict) the way the
    model's server would, and return the predictions; an input the server would refuse raises the
    same :class:`~nbtrack.errors.InvalidParameter`.

    Examples
    --------
    >>> validate_serving_input(info.model_uri, {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}})
    """
    import json

    from nbtrack.models.payload import parse_json_for
    from nbtrack.models.pyfunc import load_model

    model = load_model(model_uri)
    body = json.dumps(serving_input) if isinstance(serving_input, dict) else serving_input
    if not isinstance(body, str | bytes):
        raise InvalidParameter(f"serving_input must be a JSON string or a dict, got {type(serving_input).__name__}.")
    data, params = parse_json_for(model, body)
    return model.predict(data, params=params)


def _serialize(input_data: Any, content_type: str) -> str:
    if content_type == "csv":
        import pandas as pd

        if isinstance(input_data, str):
            import io

            try:
                pd.read_csv(io.StringIO(input_data))
            except Exception as e:  # pandas raises several kinds for text that is not CSV
                raise InvalidParameter(f"Failed to deserialize input string data to Pandas DataFrame: {e}") from e
            return input_data
        if not isinstance(input_data, list | dict | pd.DataFrame):
            raise InvalidParameter("Input data must be a CSV string, a list, a dict or a DataFrame when content "
                                   f"type is 'csv', but got {type(input_data)}.")
        return pd.DataFrame(input_data).to_csv(index=False)
    from nbtrack.models.example import Example

    try:
        return Example(input_data).json_serving_input
    except NbtrackError:
        raise
    except Exception as e:  # the example converter's own errors, for any input type
        raise InvalidParameter("Invalid input data, please make sure the data is acceptable by the loaded pyfunc "
                               "model. Use nbtrack.models.convert_input_example_to_serving_input to check it.") from e


def predict(model_uri: str, input_data: Any = None, input_path: str | None = None, content_type: str = "json",
            output_path: str | None = None, env_manager: str = "virtualenv", install_mlflow: bool = False,
            pip_requirements_override: list[str] | None = None, extra_envs: dict[str, str] | None = None) -> None:
    """Score ``input_data`` (or the file ``input_path``) with the model in its own environment and
    write ``{"predictions": ...}`` to ``output_path``, or print it.

    ``env_manager``: ``"virtualenv"`` (default) or ``"uv"`` build the model's environment (cached),
    ``"conda"`` its conda.yaml, ``"local"`` uses this Python. ``pip_requirements_override``
    replaces or adds requirements (``["scikit-learn==1.5.0"]``); ``extra_envs`` are environment
    variables of the scoring process (not with ``"local"``, as in MLflow). ``install_mlflow`` is
    accepted for MLflow's signature: the environment always gets this nbtrack.

    Examples
    --------
    >>> nbtrack.models.predict(info.model_uri, pd.DataFrame({"x": [1.0]}), env_manager="uv")
    {"predictions": [2.0]}
    """
    from nbtrack.models.uri import resolve_model_uri

    if content_type not in _CONTENT_TYPES:
        raise InvalidParameter(f"Content type must be one of {' or '.join(_CONTENT_TYPES)}, got {content_type!r}.")
    if env_manager not in _ENV_MANAGERS:
        raise InvalidParameter(f"Invalid env_manager {env_manager!r}: use one of {', '.join(_ENV_MANAGERS)}.")
    if extra_envs and env_manager == "local":
        raise InvalidParameter("Extra environment variables are only supported when env_manager is set to "
                               "'virtualenv', 'conda' or 'uv'.")
    if input_data is not None and input_path is not None:
        raise InvalidParameter("Both input_data and input_path are provided. Only one of them should be specified.")
    if input_data is None and input_path is None:
        raise InvalidParameter("Pass input_data (the model input) or input_path (a JSON or CSV file).")
    model_dir = resolve_model_uri(model_uri)
    with tempfile.TemporaryDirectory(prefix="nbtrack-predict-") as tmp:
        if input_path is None:
            input_path = os.path.join(tmp, f"input.{content_type}")
            with open(input_path, "w", encoding="utf-8") as f:
                f.write(_serialize(input_data, content_type))
        python = sys.executable if env_manager == "local" else _environment(model_dir, env_manager,
                                                                             pip_requirements_override, tmp)
        target = output_path or os.path.join(tmp, "predictions.json")
        env = {**os.environ, **{k: str(v) for k, v in (extra_envs or {}).items()}}
        done = subprocess.run([python, "-m", "nbtrack", "models", "predict", "-m", model_dir, "-i",
                               os.path.abspath(input_path), "-o", os.path.abspath(target), "-t", content_type],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise NbtrackError(f"Scoring the model in its environment ({env_manager}, {python}) failed: "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")
        if output_path is None:
            with open(target, encoding="utf-8") as f:
                print(f.read())


def _environment(model_dir: str, manager: str, overrides: list[str] | None, tmp: str) -> str:
    """The Python of the model's environment, built by ``nbtrack models prepare-env`` from a copy of
    its environment files without nbtrack's own pin (and with ``overrides`` replacing same-named pins)."""
    import shutil

    from nbtrack.models.environment import _requirement_name

    staged = os.path.join(tmp, "env")
    os.makedirs(staged)
    for name in ("python_env.yaml", "conda.yaml", "constraints.txt"):
        if os.path.isfile(os.path.join(model_dir, name)):
            shutil.copy2(os.path.join(model_dir, name), staged)
    reqs: list[str] = []
    if os.path.isfile(path := os.path.join(model_dir, "requirements.txt")):
        with open(path, encoding="utf-8") as f:
            reqs = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    replaced = {_requirement_name(r) for r in overrides or []}
    reqs = [r for r in reqs if _requirement_name(r) not in (*_OURS, *replaced)] + list(overrides or [])
    with open(os.path.join(staged, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(reqs) + "\n")
    if os.path.isfile(conda := os.path.join(staged, "conda.yaml")):
        _drop_ours_from_conda(conda, reqs)
    done = subprocess.run([sys.executable, "-m", "nbtrack", "models", "prepare-env", "-m", staged,
                           "--env-manager", manager], capture_output=True, text=True)
    if done.returncode != 0:
        raise NbtrackError(f"Could not build the model's {manager} environment: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def _drop_ours_from_conda(path: str, reqs: list[str]) -> None:
    import yaml

    with open(path, encoding="utf-8") as f:
        spec = yaml.safe_load(f) or {}
    spec["dependencies"] = [{"pip": reqs} if isinstance(d, dict) and "pip" in d else d
                            for d in spec.get("dependencies") or []]
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(spec, f, default_flow_style=False)
