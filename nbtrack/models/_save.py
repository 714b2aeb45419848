"""Steps every flavor's ``save_model`` shares: prepare the directory, copy code, write the
input example, infer a missing signature, write MLmodel and the environment files."""

from __future__ import annotations

import copy
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from typing import Any

from nbtrack.errors import InvalidParameter, NotFound, ResourceExists
from nbtrack.models.model import MLMODEL_FILE_NAME, Model, _nbtrack_version

_log = logging.getLogger(__name__)

CODE_DIR = "code"


def prepare_dir(path: str | os.PathLike[str]) -> str:
    """Create ``path``; refuse a non-empty existing directory (MLflow's rule)."""
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise ResourceExists(f"Path '{path}' already exists and is a file. Choose a new directory.")
        if os.listdir(path):
            raise ResourceExists(
                f"Path '{path}' already exists and is not empty. Choose a new directory, or "
                "remove the old model first."
            )
    os.makedirs(path, exist_ok=True)
    return path


def copy_code_paths(code_paths: Iterable[str] | None, path: str) -> str | None:
    """Copy files/directories into ``<path>/code``; return ``"code"`` or None."""
    if code_paths is None:
        return None
    if isinstance(code_paths, str) or not all(isinstance(p, (str, os.PathLike)) for p in code_paths):
        raise InvalidParameter(
            f"Argument code_paths should be a list of local paths, e.g. ['utils.py'], got {code_paths!r}"
        )
    target = os.path.join(path, CODE_DIR)
    os.makedirs(target, exist_ok=True)
    for src in code_paths:
        src = os.fspath(src)
        if not os.path.exists(src):
            raise InvalidParameter(f"code_paths entry '{src}' does not exist. Pass existing files or directories.")
        dst = os.path.join(target, os.path.basename(os.path.normpath(src)))
        if os.path.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    return CODE_DIR


def new_model(mlflow_model: Model | None, signature: Any, metadata: dict[str, Any] | None) -> Model:
    model = mlflow_model if mlflow_model is not None else Model()
    model.nbtrack_version = _nbtrack_version()  # type: ignore[attr-defined]
    if signature is not None and signature is not False:
        from nbtrack.models.signature import ModelSignature

        if not isinstance(signature, ModelSignature):
            raise InvalidParameter(
                f"signature must be a ModelSignature (see nbtrack.models.infer_signature), got "
                f"{type(signature).__name__}."
            )
        model.signature = signature
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise InvalidParameter(f"metadata must be a dict, got {type(metadata).__name__}.")
        model.metadata = metadata
    return model


def add_example_and_signature(
    model: Model, input_example: Any, signature: Any, path: str, predict: Callable[[Any, Any], Any] | None
) -> None:
    """Save the example; when no signature was given, infer one by running ``predict`` on it."""
    from nbtrack.models.example import save_example

    example = save_example(model, input_example, path)
    if signature is not None or example is None or predict is None:
        return
    model.signature = infer_from_example(example, predict)


def infer_from_example(example: Any, predict: Callable[[Any, Any], Any]) -> Any:
    import numpy as np
    import pandas as pd

    from nbtrack.models._enforce import enforce_params, enforce_schema
    from nbtrack.models.schema import AnyType, ColSpec, Schema
    from nbtrack.models.signature import ModelSignature, infer_param_schema, infer_schema

    try:
        data = copy.deepcopy(example.inference_data)
        inputs = infer_schema(data)
        params_schema = infer_param_schema(example.inference_params) if example.inference_params else None
        data = enforce_schema(data, inputs)
        params = enforce_params(example.inference_params, params_schema)
        prediction = predict(data, params)
        if not inputs.is_tensor_spec() and isinstance(prediction, np.ndarray) and prediction.ndim == 1:
            prediction = pd.Series(prediction)
        try:
            outputs = infer_schema(prediction)
        except InvalidParameter:
            outputs = Schema([ColSpec(AnyType())])
        return ModelSignature(inputs, outputs, params_schema)
    except Exception as e:  # boundary: a failing example must not lose the saved model
        _log.warning(
            "Failed to infer the model signature from the input example (%r). The model is saved "
            "without a signature; pass signature=infer_signature(X, model.predict(X)) to add one.", e,
        )
        return None


def finish(
    path: str,
    model: Model,
    default_requirements: list[str],
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    conda_env: Any = None,
) -> None:
    """Record the size, write MLmodel and the environment files."""
    from nbtrack.models.environment import write_environment

    model.model_size_bytes = sum(
        os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files
    )
    model.save(os.path.join(path, MLMODEL_FILE_NAME))
    write_environment(path, default_requirements, pip_requirements, extra_pip_requirements, conda_env)


def flavor_conf(model_dir: str, flavor_name: str) -> dict[str, Any]:
    """The ``flavor_name`` section of the MLmodel in ``model_dir``; NotFound if the model lacks it."""
    conf = Model.load(os.path.join(model_dir, MLMODEL_FILE_NAME)).flavors.get(flavor_name)
    if conf is None:
        raise NotFound(f'Model does not have the "{flavor_name}" flavor.')
    return conf


def resolve_flavor(model_uri: str | os.PathLike[str], dst_path: str | None,
                   flavor_name: str) -> tuple[str, dict[str, Any]]:
    """What every flavor's ``load_model`` starts with: the model's local folder and its flavor
    section, with the model's ``code_paths`` put on ``sys.path``."""
    from nbtrack.models.uri import resolve_model_uri

    local = resolve_model_uri(model_uri, dst_path)
    conf = flavor_conf(local, flavor_name)
    add_code_to_path(local, conf)
    return local, conf


def add_code_to_path(model_dir: str, conf: dict[str, Any]) -> None:
    import sys

    if conf.get("code"):
        code = os.path.join(model_dir, conf["code"])
        if code not in sys.path:
            sys.path.insert(0, code)
