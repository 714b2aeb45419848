"""The ``python_function`` flavor: one ``predict`` for every model, with signature checks.

``load_model(uri)`` reads MLmodel, imports the flavor's ``loader_module`` and calls its
``_load_pyfunc(data_path[, model_config])``. Models saved by MLflow name loaders such as
``mlflow.sklearn``; those names are mapped to nbtrack's own flavor modules, so MLflow
models load without MLflow installed. nbtrack writes the same ``mlflow.*`` names, so its
models load in MLflow too.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import platform
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.models.model import MLMODEL_FILE_NAME, Model

__all__ = ["FLAVOR_NAME", "PyFuncModel", "add_to_model", "get_model_dependencies", "load_model"]

_log = logging.getLogger(__name__)

FLAVOR_NAME = "python_function"
MAIN = "loader_module"
CODE = "code"
DATA = "data"
ENV = "env"
PY_VERSION = "python_version"
MODEL_CONFIG = "config"

#: loader modules written by MLflow (and by nbtrack, for interoperability) -> nbtrack module
LOADER_ALIASES = {
    "mlflow.sklearn": "nbtrack.models.flavors.sklearn",
    "mlflow.xgboost": "nbtrack.models.flavors.xgboost",
    "mlflow.lightgbm": "nbtrack.models.flavors.lightgbm",
    "mlflow.pytorch": "nbtrack.models.flavors.pytorch",
    "mlflow.pyfunc.model": "nbtrack.models.python_model",
    "mlflow.pyfunc.loaders.code_model": "nbtrack.models._from_code",
}


def add_to_model(
    model: Model,
    loader_module: str,
    data: str | None = None,
    code: str | None = None,
    conda_env: str | None = None,
    python_env: str | None = None,
    model_config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Model:
    """Add a ``python_function`` flavor section to ``model`` (paths relative to the model dir)."""
    params = dict(kwargs)
    params[MAIN] = loader_module
    params[PY_VERSION] = platform.python_version()
    if code:
        params[CODE] = code
    if data:
        params[DATA] = data
    if conda_env or python_env:
        params[ENV] = {}
        if conda_env:
            params[ENV]["conda"] = conda_env
        if python_env:
            params[ENV]["virtualenv"] = python_env
    if model_config:
        params[MODEL_CONFIG] = model_config
    return model.add_flavor(FLAVOR_NAME, **params)


def _short(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 300 else text[:300] + " ..."


class PyFuncModel:
    """A loaded model with MLflow's pyfunc interface: ``predict(data, params=None)``.

    The input is checked and safely converted against the model's signature before the
    model sees it (see :mod:`nbtrack.models._enforce`).
    """

    def __init__(self, model_meta: Model, model_impl: Any, predict_fn: str = "predict") -> None:
        if not hasattr(model_impl, predict_fn):
            raise InvalidParameter(f"Model implementation is missing required {predict_fn} method.")
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._predict_fn = getattr(model_impl, predict_fn)
        self._takes_params = _accepts_params(self._predict_fn)
        self.input_example: Any = None

    @property
    def metadata(self) -> Model:
        return self._model_meta

    @property
    def model_id(self) -> str | None:
        return getattr(self._model_meta, "model_id", None)

    @property
    def loader_module(self) -> str | None:
        return self._model_meta.flavors.get(FLAVOR_NAME, {}).get(MAIN)

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_meta.flavors.get(FLAVOR_NAME, {}).get(MODEL_CONFIG, {})

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on ``data`` (DataFrame, ndarray, dict, list...) with optional ``params``."""
        from nbtrack.models._enforce import enforce_params, enforce_schema

        schema = self._model_meta.get_input_schema()
        # a signature from predict's type hints is checked by the hinted predict itself (as MLflow)
        if schema is not None and not self._model_meta._is_signature_from_type_hint():
            try:
                data = enforce_schema(data, schema)
            except InvalidParameter as e:
                raise InvalidParameter(
                    f"Failed to enforce schema of data '{_short(data)}' with schema '{schema}'. "
                    f"Error: {e.message}"
                ) from None
            if self._model_meta._is_type_hint_from_example() and self.input_example is not None:
                from nbtrack.models._type_hints import to_example_format

                data = to_example_format(data, self.input_example)
        params = enforce_params(params, self._model_meta.get_params_schema())
        if self._takes_params:
            return self._predict_fn(data, params=params)
        if params:
            _log.warning("The model's predict function does not accept params; ignoring %s", list(params))
        return self._predict_fn(data)

    def unwrap_python_model(self) -> Any:
        """The user's :class:`PythonModel` object, for models saved from one."""
        python_model = getattr(self._model_impl, "python_model", None)
        if python_model is None:
            raise NbtrackError("Unable to retrieve base model object from pyfunc: this is not a PythonModel.")
        return python_model

    def get_raw_model(self) -> Any:
        """The underlying framework model (e.g. the scikit-learn estimator)."""
        if hasattr(self._model_impl, "get_raw_model"):
            return self._model_impl.get_raw_model()
        raise NotImplementedError("`get_raw_model` is not implemented by the underlying model")

    def __repr__(self) -> str:
        info = {k: v for k in ("run_id", "artifact_path") if (v := getattr(self._model_meta, k, None))}
        info["flavor"] = self.loader_module
        return f"nbtrack.pyfunc.loaded_model: {info}"


def _accepts_params(fn: Any) -> bool:
    try:
        p = inspect.signature(fn).parameters.get("params")
    except (TypeError, ValueError):
        return False
    return p is not None and p.kind != inspect.Parameter.VAR_KEYWORD


def import_loader(name: str) -> Any:
    """Import a ``loader_module``, mapping MLflow's names to nbtrack's flavor modules."""
    target = LOADER_ALIASES.get(name, name)
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        if name.startswith("mlflow.") and e.name and e.name.split(".")[0] == "mlflow":
            raise NbtrackError(
                f"This model uses MLflow's '{name}' flavor, which nbtrack cannot load by itself. "
                "Install mlflow (pip install mlflow) to load it, or re-save the model with one of "
                f"nbtrack's flavors: {sorted(LOADER_ALIASES)}.",
                error_code="NOT_IMPLEMENTED",
            ) from None
        raise


def _load_impl(local_path: str, meta: Model, model_config: dict[str, Any] | None) -> tuple[Any, str]:
    from nbtrack.models._save import add_code_to_path

    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise NotFound(
            f'Model does not have the "{FLAVOR_NAME}" flavor. Its flavors are '
            f"{sorted(meta.flavors)}; load it with that flavor's load_model instead."
        )
    if MAIN not in conf:
        raise InvalidParameter(f"The {FLAVOR_NAME} section of {local_path}/MLmodel has no loader_module.")
    add_code_to_path(local_path, conf)
    data_path = os.path.join(local_path, conf[DATA]) if DATA in conf else local_path
    config = dict(conf.get(MODEL_CONFIG) or {})
    config.update(model_config or {})
    loader = import_loader(conf[MAIN])
    if not hasattr(loader, "_load_pyfunc"):
        raise InvalidParameter(f"loader_module '{conf[MAIN]}' has no _load_pyfunc(data_path[, model_config]).")
    if config and len(inspect.signature(loader._load_pyfunc).parameters) > 1:
        impl = loader._load_pyfunc(data_path, config)
    else:
        impl = loader._load_pyfunc(data_path)
    return impl, conf.get("predict_fn", "predict")


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: str | dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load a model saved in ``python_function`` form (any nbtrack or MLflow flavor).

    Parameters
    ----------
    model_uri
        A local path, ``file:`` URI or ``runs:/<run_id>/<artifact_path>``.
    model_config
        Overrides the configuration the model was saved with (a dict, or a YAML/JSON file).

    Examples
    --------
    >>> model = load_model("runs:/<run_id>/model")  # doctest: +SKIP
    >>> model.predict(X_test)  # doctest: +SKIP
    """
    from nbtrack.models.uri import resolve_model_uri

    local_path = resolve_model_uri(model_uri, dst_path)
    meta = Model.load(os.path.join(local_path, MLMODEL_FILE_NAME))
    if isinstance(model_config, (str, os.PathLike)):
        model_config = _read_config(os.fspath(model_config))
    if not suppress_warnings:
        _warn_python_version(meta.flavors.get(FLAVOR_NAME, {}).get(PY_VERSION))
    impl, predict_fn = _load_impl(local_path, meta, model_config)
    model = PyFuncModel(meta, impl, predict_fn)
    if meta.saved_input_example_info is not None:
        try:
            model.input_example = meta.load_input_example(local_path)
        except (NbtrackError, OSError, ValueError) as e:
            _log.debug("Failed to load input example from model metadata: %s", e)
    return model


def _read_config(path: str) -> dict[str, Any]:
    import yaml

    if not os.path.isfile(path):
        raise InvalidParameter(f"model_config file '{path}' does not exist.")
    with open(path) as f:
        loaded = yaml.safe_load(f)
    if not isinstance(loaded, dict):
        raise InvalidParameter(f"model_config file '{path}' must hold a mapping of settings.")
    return loaded


def _warn_python_version(saved: str | None) -> None:
    if saved is None:
        return
    current = platform.python_version()
    if saved.split(".")[:2] != current.split(".")[:2]:
        _log.warning(
            "The model was saved with Python %s but is loaded with Python %s; pickled models may "
            "not load or behave the same.", saved, current,
        )


def get_model_dependencies(model_uri: str, format: str = "pip") -> str:
    """Path of the model's ``requirements.txt`` (``format="pip"``) or ``conda.yaml``."""
    from nbtrack.models.uri import resolve_model_uri

    local = resolve_model_uri(model_uri)
    name = {"pip": "requirements.txt", "conda": "conda.yaml"}.get(format)
    if name is None:
        raise InvalidParameter(f"Illegal format argument '{format}'. Use 'pip' or 'conda'.")
    path = os.path.join(local, name)
    if not os.path.isfile(path):
        raise NotFound(f"The model at {model_uri} has no {name}.")
    return path
