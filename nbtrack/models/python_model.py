"""Custom Python models: subclass :class:`PythonModel`, save it with its artifacts.

The object is pickled with cloudpickle (so classes defined in a notebook travel with the
model) into ``python_model.pkl``; each entry of ``artifacts`` is copied under
``artifacts/`` and handed back to ``load_context`` as a local path. The layout and the
``loader_module: mlflow.pyfunc.model`` entry are MLflow's, so MLflow loads these models
(with nbtrack installed), and MLflow's own PythonModel pickles load here without MLflow:
references to MLflow's base classes are mapped to the ones below while unpickling.
"""

from __future__ import annotations

import inspect
import logging
import os
import pickle
import shutil
import sys
from collections.abc import Callable
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.models.model import Model

__all__ = ["PythonModel", "PythonModelContext", "log_model", "save_model"]

_log = logging.getLogger(__name__)

PICKLE_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
_COMPRESSION = {"lzma": ".xz", "bzip2": ".bz2", "gzip": ".gz"}


class _TypeHints:
    """Type hints of ``predict``; MLflow caches one of these on PythonModel instances."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output


class PythonModel:
    """Base class of custom models. Override ``predict`` (and ``load_context`` if needed).

    ``predict`` may be written ``predict(self, context, model_input, params=None)`` or,
    without the context, ``predict(self, model_input, params=None)``.

    Examples
    --------
    >>> class AddN(PythonModel):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def predict(self, context, model_input, params=None):
    ...         return model_input + self.n
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once when the model is loaded; read ``context.artifacts`` here."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("Subclasses of PythonModel must implement predict().")

    def predict_stream(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # As MLflow: a type-hinted predict checks (and converts) its input on every call.
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("nbtrack.") or getattr(cls, "_skip_type_hint_validation", False):
            return
        predict = cls.__dict__.get("predict")
        if callable(predict) and not getattr(predict, "_is_pyfunc", False):
            from nbtrack.models._type_hints import wrap_predict

            cls.predict = wrap_predict(predict)  # type: ignore[method-assign]

    @property
    def predict_type_hints(self) -> _TypeHints:
        """The type hints of ``predict``'s model input and return value (MLflow's property)."""
        from nbtrack.models._type_hints import extract, takes_context

        hints = extract(self.predict, 1 if takes_context(self.predict) else 0)
        return _TypeHints(hints.input, hints.output)


class _FunctionPythonModel(PythonModel):
    """Wraps a plain function ``f(model_input)`` given as ``python_model``."""

    def __init__(self, func: Callable[[Any], Any], signature: Any = None) -> None:
        from nbtrack.models._type_hints import wrap_predict

        self.func = func if getattr(func, "_is_pyfunc", False) else wrap_predict(func)
        self.signature = signature

    @property
    def predict_type_hints(self) -> _TypeHints:
        from nbtrack.models._type_hints import extract

        hints = extract(self.func, 0)
        return _TypeHints(hints.input, hints.output)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:  # type: ignore[override]
        return self.func(model_input)


class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: artifact paths and the model config."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None) -> None:
        self._artifacts = artifacts
        self._model_config = model_config

    @property
    def artifacts(self) -> dict[str, str]:
        """``{name: absolute local path}`` for each artifact saved with the model."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any] | None:
        return self._model_config


def _takes_context(fn: Any) -> bool:
    params = [p for p in inspect.signature(fn).parameters if p not in ("self", "params")]
    return "context" in params or len(params) == 2


def _first_string_column(frame: Any) -> Any:
    return next((col for col, value in frame.iloc[0].items() if isinstance(value, str)), None)


class _PythonModelWrapper:
    def __init__(self, python_model: Any, context: PythonModelContext, signature: Any = None) -> None:
        self.python_model = python_model
        self.context = context
        self.signature = signature

    def _convert_input(self, model_input: Any) -> Any:
        """MLflow's conversion of a DataFrame for ``list[str]`` / ``list[dict[str, str]]`` hints."""
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(model_input, pd.DataFrame) or model_input.empty:
            return model_input
        hint = getattr(self.python_model, "predict_type_hints", _TypeHints()).input
        if hint == list[str]:
            column = _first_string_column(model_input)
            if column is None:
                raise InvalidParameter("Expected model input to contain at least one string column")
            return model_input[column].tolist()
        if hint == list[dict[str, str]]:
            inputs = getattr(self.signature, "inputs", None)
            if inputs is not None and len(inputs) == 1 and inputs.inputs[0].name is None:
                if column := _first_string_column(model_input):
                    return model_input[[column]].to_dict(orient="records")
                if len(model_input.columns) == 1:
                    return model_input.to_dict("list")[0]
            return model_input.to_dict(orient="records")
        return model_input

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        fn = self.python_model.predict
        kwargs = {"params": params} if "params" in inspect.signature(fn).parameters else {}
        if _takes_context(fn):
            return fn(self.context, self._convert_input(model_input), **kwargs)
        return fn(self._convert_input(model_input), **kwargs)

    def predict_stream(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        fn = self.python_model.predict_stream
        kwargs = {"params": params} if "params" in inspect.signature(fn).parameters else {}
        if _takes_context(fn):
            return fn(self.context, self._convert_input(model_input), **kwargs)
        return fn(self._convert_input(model_input), **kwargs)


# ---- saving --------------------------------------------------------------------------------


def _fetch_artifact(uri: str, staging: str) -> str:
    """Return a local path for an artifact URI (local path, file: or runs:/)."""
    from urllib.parse import unquote, urlparse

    if uri.startswith("runs:"):
        try:
            from nbtrack.tracking.artifacts import download_artifacts
        except ImportError:
            raise NbtrackError("runs:/ artifact URIs need nbtrack.tracking, which is not available.") from None
        return str(download_artifacts(artifact_uri=uri, dst_path=staging))
    path = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    if not os.path.exists(path):
        raise InvalidParameter(
            f"Artifact '{uri}' does not exist. Each value of `artifacts` must be an existing local "
            "path, a file: URI or a runs:/ URI."
        )
    return path


def _save_artifacts(artifacts: dict[str, str], path: str) -> dict[str, dict[str, str]]:
    import tempfile

    if not isinstance(artifacts, dict) or not all(isinstance(v, (str, os.PathLike)) for v in artifacts.values()):
        raise InvalidParameter("`artifacts` must be a dict of {name: local path or URI}.")
    config: dict[str, dict[str, str]] = {}
    used: set[str] = set()
    with tempfile.TemporaryDirectory() as staging:
        for name, uri in artifacts.items():
            src = _fetch_artifact(os.fspath(uri), os.path.join(staging, name))
            base = os.path.basename(os.path.normpath(src))
            rel = f"{ARTIFACTS_DIR}/{base}" if base not in used else f"{ARTIFACTS_DIR}/{name}/{base}"
            used.add(base)
            dst = os.path.join(path, *rel.split("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(src):
                shutil.copytree(src, dst)
            else:
                shutil.copy2(src, dst)
            config[name] = {"path": rel, "uri": os.fspath(uri)}
    return config


def save_model(
    path: str | os.PathLike[str],
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    conda_env: Any = None,
    mlflow_model: Model | None = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
) -> None:
    """Save a custom model: a :class:`PythonModel` (or function) with ``artifacts``, or a
    ``loader_module`` + ``data_path`` pair. Same arguments as ``mlflow.pyfunc.save_model``.
    """
    from nbtrack.models import _save
    from nbtrack.models.environment import pinned
    from nbtrack.models.pyfunc import add_to_model

    if (python_model is None) == (loader_module is None):
        raise InvalidParameter(
            "Specify exactly one of `python_model` (a PythonModel instance or a function) or "
            "`loader_module` (with `data_path`)."
        )
    code_file = None
    if isinstance(python_model, (str, os.PathLike)):  # models from code: the file, run, gives the model
        from nbtrack.models import _from_code

        code_file = _from_code.code_path(python_model)
        if isinstance(model_config, (str, os.PathLike)):
            from nbtrack.models.pyfunc import _read_config

            model_config = _read_config(os.fspath(model_config))
        python_model = _from_code.run_model_file(code_file, model_config)
    path = _save.prepare_dir(path)
    model = _save.new_model(mlflow_model, signature, metadata)
    code = _save.copy_code_paths(code_paths, path)
    if loader_module is not None:
        data = None
        if data_path is not None:
            data = os.path.basename(os.path.normpath(data_path))
            (shutil.copytree if os.path.isdir(data_path) else shutil.copy2)(data_path, os.path.join(path, data))
        _save.add_example_and_signature(model, input_example, signature, path, None)
        add_to_model(model, loader_module, data=data, code=code, conda_env="conda.yaml",
                     python_env="python_env.yaml", model_config=model_config)
        _save.finish(path, model, [pinned("cloudpickle")], pip_requirements, extra_pip_requirements, conda_env)
        return
    if not isinstance(python_model, PythonModel) and callable(python_model):
        python_model = _FunctionPythonModel(python_model, signature)
    if not hasattr(python_model, "predict"):
        raise InvalidParameter(
            f"python_model must be a PythonModel subclass instance or a function, got {type(python_model).__name__}."
        )
    import cloudpickle

    extra: dict[str, Any] = {"cloudpickle_version": cloudpickle.__version__}
    if code_file is not None:  # MLflow's layout: the file beside MLmodel, no pickle
        shutil.copy2(code_file, os.path.join(path, os.path.basename(code_file)))
        extra["model_code_path"] = code_file
    else:
        _pickle(python_model, path)
        extra["python_model"] = PICKLE_FILE
    if artifacts:
        extra["artifacts"] = _save_artifacts(artifacts, path)
    if streamable is None:
        streamable = type(python_model).predict_stream is not PythonModel.predict_stream
    context = PythonModelContext(_artifact_paths(path, extra.get("artifacts", {})), model_config)
    _add_signature_and_example(model, python_model, context, signature, input_example, path)
    loader = "mlflow.pyfunc.model" if code_file is None else "mlflow.pyfunc.loaders.code_model"
    add_to_model(model, loader, code=code, conda_env="conda.yaml",
                 python_env="python_env.yaml", model_config=model_config, streamable=streamable, **extra)
    reqs = [pinned("cloudpickle"), pinned("nbtrack")]
    _save.finish(path, model, reqs, pip_requirements, extra_pip_requirements, conda_env)


def _pickle(python_model: Any, path: str) -> None:
    import cloudpickle

    try:
        with open(os.path.join(path, PICKLE_FILE), "wb") as f:
            cloudpickle.dump(python_model, f, protocol=pickle.DEFAULT_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise InvalidParameter(
            f"Failed to serialize the Python model with cloudpickle: {e}. Keep unpicklable "
            "objects (open files, locks, clients) out of the model's attributes and create them "
            "in load_context instead."
        ) from e


def _add_signature_and_example(model: Model, python_model: Any, context: PythonModelContext, signature: Any,
                               input_example: Any, path: str) -> None:
    """MLflow's order: a signature from ``predict``'s type hints wins, then the one given, then
    one inferred by running the model on the input example."""
    from nbtrack.models import _save
    from nbtrack.models import _type_hints as th

    hints = python_model.predict_type_hints
    from_example = hints.input is th.TypeFromExample
    from_hints = None
    if not from_example and not th.no_inference(hints.input):
        from_hints = th.signature_from_hints(python_model, context, th.Hints(hints.input, hints.output), input_example)
    if from_hints is None and signature is None:
        predict = None
        if input_example is not None:
            python_model.load_context(context)
            predict = _PythonModelWrapper(python_model, context).predict
        _save.add_example_and_signature(model, input_example, None, path, predict)
    else:
        _save.add_example_and_signature(model, input_example, signature, path, None)
    if from_hints is not None:
        if signature is not None and signature != from_hints:
            _log.warning("Provided signature does not match the signature inferred from the Python model's "
                         "`predict` function type hint. Signature inferred from type hint will be used:\n%s",
                         from_hints)
        model.signature = from_hints
    if from_example and model.signature is not None:
        if _is_example_kind(input_example):
            model.signature._is_type_hint_from_example = True
        else:
            _log.warning("Input example must be one of pandas.DataFrame, pandas.Series or list when using "
                         "TypeFromExample as type hint, got %s.", type(input_example))


def _is_example_kind(example: Any) -> bool:
    pd = sys.modules.get("pandas")
    return isinstance(example, list) or (pd is not None and isinstance(example, (pd.DataFrame, pd.Series)))


def _artifact_paths(model_dir: str, config: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: os.path.join(model_dir, *info["path"].split("/")) for name, info in config.items()}


# ---- loading -------------------------------------------------------------------------------

_CLASS_ALIASES = {
    ("mlflow.models.signature", "_TypeHints"): (__name__, "_TypeHints"),
    ("mlflow.pyfunc.model", "PythonModel"): (__name__, "PythonModel"),
    ("mlflow.pyfunc", "PythonModel"): (__name__, "PythonModel"),
    ("mlflow.pyfunc.model", "PythonModelContext"): (__name__, "PythonModelContext"),
    ("mlflow.pyfunc", "PythonModelContext"): (__name__, "PythonModelContext"),
}


class _MlflowPlaceholder:
    """Stands in for an object of an MLflow-internal class when MLflow is not installed."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        module, name = _CLASS_ALIASES.get((module, name), (module, name))
        try:
            return super().find_class(module, name)
        except ModuleNotFoundError as e:
            if module.split(".")[0] != "mlflow" or (e.name or "").split(".")[0] != "mlflow":
                raise
            _log.warning("MLflow is not installed; %s.%s in the pickled model is replaced by an "
                         "inert placeholder.", module, name)
            return _MlflowPlaceholder


def _open(path: str, compression: str | None) -> Any:
    if compression == "lzma":
        import lzma

        return lzma.open(path, "rb")
    if compression == "bzip2":
        import bz2

        return bz2.open(path, "rb")
    if compression == "gzip":
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


def load_python_model(model_dir: str, conf: dict[str, Any]) -> Any:
    sub = conf.get("python_model")
    if sub is None:
        raise InvalidParameter("Python model path was not specified in the model configuration")
    with _open(os.path.join(model_dir, sub), conf.get("python_model_compression")) as f:
        try:
            return _Unpickler(f).load()
        except ModuleNotFoundError as e:
            raise NbtrackError(
                f"Unpickling the Python model needs module '{e.name}', which is not installed. "
                "Install the packages listed in the model's requirements.txt."
            ) from e


def _load_pyfunc(model_path: str, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    """Loader entry point named by ``loader_module`` (``mlflow.pyfunc.model`` maps here)."""
    from nbtrack.models.pyfunc import FLAVOR_NAME

    model = Model.load(os.path.join(model_path, "MLmodel"))
    conf = model.flavors[FLAVOR_NAME]
    python_model = load_python_model(model_path, conf)
    context = PythonModelContext(_artifact_paths(model_path, conf.get("artifacts", {})), model_config)
    python_model.load_context(context)
    return _PythonModelWrapper(python_model, context, model.signature)


def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    conda_env: Any = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
    name: str | None = None,
    run_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Log a custom model as artifacts of the active run (see :func:`save_model`)."""
    from nbtrack.models._logged import log_model as _log_model
    from nbtrack.models._logged import logged_model_options

    options = logged_model_options(kwargs)

    return _log_model(
        lambda path, mlflow_model: save_model(
            path, loader_module=loader_module, data_path=data_path, code_paths=code_paths,
            conda_env=conda_env, mlflow_model=mlflow_model, python_model=python_model,
            artifacts=artifacts, signature=signature, input_example=input_example,
            pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
            metadata=metadata, model_config=model_config, streamable=streamable,
        ),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name, run_id=run_id,
        **options,
    )
