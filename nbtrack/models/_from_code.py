"""Models from code, as MLflow's: ``log_model(python_model="agent.py")`` saves the file, not a pickle.

The file defines the model and hands it over with ``nbtrack.models.set_model(model)``; it is run
once when the model is saved (to check it and infer its signature) and again each time the model is
loaded. ``ModelConfig`` inside the file reads the ``model_config`` the model was saved (or loaded)
with, or its ``development_config`` while the file is run on its own. The saved layout is MLflow's
(the file beside ``MLmodel``, ``loader_module: mlflow.pyfunc.loaders.code_model``,
``model_code_path``, ``config``), so either tool loads what the other saved when the file's imports
are installed; a file that calls MLflow's ``set_model`` is read too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["ModelConfig", "set_model"]

#: what the file being run handed to set_model, and the config its ModelConfig reads
_state: dict[str, Any] = {"model": None, "config": None}

SET_MODEL_ERROR = ("Model should either be an instance of PythonModel or a callable object (a function); "
                   "pass the model object, not a path, to set_model.")


def set_model(model: Any) -> None:
    """Hand the model a models-from-code file defines to ``log_model`` / ``load_model``.

    Examples
    --------
    In ``agent.py``::

        class Agent(nbtrack.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None): ...

        nbtrack.models.set_model(Agent())
    """
    from nbtrack.models.python_model import PythonModel

    if isinstance(model, str) or not (isinstance(model, PythonModel) or hasattr(model, "predict") or callable(model)):
        raise InvalidParameter(SET_MODEL_ERROR)
    _state["model"] = model
    theirs = sys.modules.get("mlflow.models.model")  # MLflow loading a file nbtrack's set_model is called in
    if theirs is not None:
        theirs.__dict__["__mlflow_model__"] = model


class ModelConfig:
    """The configuration of a models-from-code file: the ``model_config`` given to ``log_model`` or
    ``load_model``, else ``development_config`` (a dict or the path of a YAML file).

    Examples
    --------
    >>> config = ModelConfig(development_config={"temperature": 0.1})
    >>> config.get("temperature")
    0.1
    """

    def __init__(self, *, development_config: str | dict[str, Any] | None = None) -> None:
        given = _state["config"]
        theirs = sys.modules.get("mlflow.models.model_config")  # MLflow loading a file that uses this class
        if given is None and theirs is not None:
            given = theirs.__dict__.get("__mlflow_model_config__")
        self.config: Any = given if given is not None else development_config
        if not self.config:
            raise FileNotFoundError("Config file is not provided which is needed to load the model. "
                                    "Please provide a valid path.")
        if not isinstance(self.config, dict) and not os.path.isfile(self.config):
            raise FileNotFoundError(f"Config file '{self.config}' not found.")

    def _read_config(self) -> dict[str, Any] | None:
        if isinstance(self.config, dict):
            return self.config
        import yaml

        with open(self.config, encoding="utf-8") as f:
            try:
                return yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise InvalidParameter(f"Error parsing YAML file: {e}") from e

    def to_dict(self) -> dict[str, Any] | None:
        """The whole configuration as a dict."""
        return self._read_config()

    def get(self, key: str) -> Any:
        """A top-level value of the configuration (``KeyError`` naming the key when it is missing)."""
        data = self._read_config()
        if data and key in data:
            return data[key]
        raise KeyError(f"Key '{key}' not found in configuration: {data}.")


@contextlib.contextmanager
def _config(config: str | dict[str, Any] | None) -> Iterator[None]:
    _state["config"] = "" if config is None else config  # "" makes ModelConfig say no config was given
    theirs = sys.modules.get("mlflow.models.model_config")
    if theirs is not None:
        theirs.__dict__["__mlflow_model_config__"] = _state["config"]
    try:
        yield
    finally:
        _state["config"] = None
        if theirs is not None:
            theirs.__dict__["__mlflow_model_config__"] = None


def code_path(python_model: str | os.PathLike[str]) -> str:
    """The absolute path of a models-from-code file, which must exist."""
    path = os.path.abspath(os.fspath(python_model))
    if not os.path.isfile(path):
        hint = f" Perhaps you meant '{path}.py'?" if not os.path.splitext(path)[1] else ""
        raise InvalidParameter(f"The provided model path '{path}' does not exist. Ensure the file path is valid "
                               f"and try again.{hint}")
    return path


def run_model_file(path: str, config: str | dict[str, Any] | None) -> Any:
    """Run the file at ``path`` with ``config`` and return the model it handed to ``set_model``."""
    _state["model"] = None
    with open(path, encoding="utf-8", errors="replace") as f:
        source = f.read()
    if ("import mlflow" in source or "from mlflow" in source) and importlib.util.find_spec("mlflow") is not None:
        import mlflow.models.model
        import mlflow.models.model_config  # noqa: F401  must see the config this load gives
    theirs = sys.modules.get("mlflow.models.model")
    if theirs is not None:
        theirs.__dict__["__mlflow_model__"] = None
    name = f"code_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidParameter(f"Cannot read {path} as Python code.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with _config(config):
        try:
            spec.loader.exec_module(module)
        except ImportError as e:
            raise NbtrackError(f"Failed to import code model from {path}. Error: {e}") from e
        except NbtrackError:
            raise
        except Exception as e:  # the user's file may fail in any way; say which file
            raise NbtrackError(f"Failed to run user code from {path}. Error: {e!s}. Review the stack trace "
                               "for more information.") from e
    model = _state["model"]
    theirs = sys.modules.get("mlflow.models.model")
    if model is None and theirs is not None:
        model = theirs.__dict__.get("__mlflow_model__")
    if model is None:
        raise NbtrackError("If the model is logged as code, ensure the model is set using "
                           "nbtrack.models.set_model() (mlflow.models.set_model) within the code file.")
    return model


def _load_pyfunc(model_path: str, model_config: dict[str, Any] | None = None) -> Any:
    """Loader of ``mlflow.pyfunc.loaders.code_model``: run the saved file, wrap the model it sets."""
    from nbtrack.models.model import Model
    from nbtrack.models.python_model import (
        PythonModel,
        PythonModelContext,
        _artifact_paths,
        _FunctionPythonModel,
        _PythonModelWrapper,
    )

    meta = Model.load(os.path.join(model_path, "MLmodel"))
    conf = meta.flavors["python_function"]
    saved = os.path.join(model_path, os.path.basename(conf["model_code_path"]))
    config = model_config if model_config is not None else conf.get("config")
    model = run_model_file(saved, config)
    if not isinstance(model, PythonModel) and not hasattr(model, "predict"):  # MLflow's PythonModel has predict
        model = _FunctionPythonModel(model, meta.signature)
    context = PythonModelContext(_artifact_paths(model_path, conf.get("artifacts", {})), config)
    model.load_context(context)
    return _PythonModelWrapper(model, context, meta.signature)
