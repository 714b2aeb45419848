"""scikit-learn flavor, in MLflow's ``sklearn`` layout.

``serialization_format`` is ``"cloudpickle"`` (default: it keeps classes and functions
defined in a notebook) or ``"pickle"``; ``"skops"`` (MLflow 3's default) is read and written
when the ``skops`` package is installed. scikit-learn is imported inside functions only.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.models.model import Model, ModelInfo

__all__ = [
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMAT_SKOPS = "skops"
SUPPORTED_SERIALIZATION_FORMATS = [SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_PICKLE,
                                   SERIALIZATION_FORMAT_CLOUDPICKLE]
_PICKLE_FILE = "model.pkl"
_SKOPS_FILE = "model.skops"
_PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")


def get_default_pip_requirements(include_cloudpickle: bool = False, include_skops: bool = False) -> list[str]:
    from nbtrack.models.environment import pinned

    reqs = [pinned("scikit-learn"), pinned("numpy")]
    if include_cloudpickle:
        reqs.append(pinned("cloudpickle"))
    if include_skops:
        reqs.append(pinned("skops"))
    return reqs


def _skops_io() -> Any:
    try:
        import skops.io
    except ImportError:
        raise NbtrackError(
            "This model uses the 'skops' serialization format, which needs the skops package. "
            "Install it with `pip install skops`, or save with serialization_format='cloudpickle'.",
            error_code="INVALID_PARAMETER_VALUE",
        ) from None
    return skops.io


def _dump(sk_model: Any, path: str, fmt: str, skops_trusted_types: list[str] | None) -> None:
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        sio = _skops_io()
        try:
            sio.dump(sk_model, path)
            sio.load(path, trusted=skops_trusted_types)
        except Exception as e:  # skops raises its own types for untrusted or unsupported objects
            if os.path.exists(path):
                os.remove(path)
            raise InvalidParameter(
                f"The model could not be saved in the skops format: {e}. If the listed types are "
                "safe, pass them as skops_trusted_types; otherwise use "
                "serialization_format='cloudpickle'."
            ) from e
        return
    if fmt == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle as lib
    else:
        lib = pickle
    with open(path, "wb") as f:
        try:
            lib.dump(sk_model, f, protocol=pickle.DEFAULT_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            hint = " Use serialization_format='cloudpickle' for objects defined in a notebook." if fmt == "pickle" else ""
            raise InvalidParameter(f"Pickling {type(sk_model).__name__} failed: {e}.{hint}") from e


def _check_format(fmt: str) -> None:
    if fmt not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidParameter(
            f"Unrecognized serialization format: {fmt}. Please specify one of the following "
            f"supported formats: {SUPPORTED_SERIALIZATION_FORMATS}."
        )


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_CLOUDPICKLE,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
) -> None:
    """Save a scikit-learn estimator as an MLflow model directory at ``path``."""
    import sklearn

    from nbtrack.models import _save
    from nbtrack.models.pyfunc import add_to_model

    _check_format(serialization_format)
    if pyfunc_predict_fn not in _PREDICT_FNS:
        raise InvalidParameter(f"pyfunc_predict_fn must be one of {list(_PREDICT_FNS)}, got '{pyfunc_predict_fn}'.")
    path = _save.prepare_dir(path)
    code = _save.copy_code_paths(code_paths, path)
    model = _save.new_model(mlflow_model, signature, metadata)
    wrapper = _SklearnModelWrapper(sk_model)
    predict = getattr(wrapper, pyfunc_predict_fn, None)
    _save.add_example_and_signature(
        model, input_example, signature, path, (lambda d, p: predict(d)) if predict else None
    )
    data_file = _SKOPS_FILE if serialization_format == SERIALIZATION_FORMAT_SKOPS else _PICKLE_FILE
    _dump(sk_model, os.path.join(path, data_file), serialization_format, skops_trusted_types)
    if hasattr(sk_model, pyfunc_predict_fn):
        add_to_model(model, "mlflow.sklearn", model_path=data_file, conda_env="conda.yaml",
                     python_env="python_env.yaml", code=code, predict_fn=pyfunc_predict_fn)
    model.add_flavor(FLAVOR_NAME, pickled_model=data_file, sklearn_version=sklearn.__version__,
                     serialization_format=serialization_format, code=code,
                     skops_trusted_types=skops_trusted_types)
    reqs = get_default_pip_requirements(serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE,
                                        serialization_format == SERIALIZATION_FORMAT_SKOPS)
    _save.finish(path, model, reqs, pip_requirements, extra_pip_requirements, conda_env)


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_CLOUDPICKLE,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    name: str | None = None,
    run_id: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log a scikit-learn estimator as artifacts of the active run (see ``save_model``)."""
    from nbtrack.models._logged import log_model as _log_model
    from nbtrack.models._logged import logged_model_options

    options = logged_model_options(kwargs)

    _check_format(serialization_format)
    return _log_model(
        lambda path, mlflow_model: save_model(
            sk_model, path, conda_env=conda_env, code_paths=code_paths, mlflow_model=mlflow_model,
            serialization_format=serialization_format, signature=signature,
            input_example=input_example, pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements, pyfunc_predict_fn=pyfunc_predict_fn,
            metadata=metadata, skops_trusted_types=skops_trusted_types,
        ),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name, run_id=run_id,
        **options,
    )


def _load_from_file(path: str, fmt: str, skops_trusted_types: list[str] | None = None) -> Any:
    _check_format(fmt)
    if not os.path.isfile(path):
        raise NotFound(f"The model file {path} named in MLmodel is missing.")
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        sio = _skops_io()
        try:
            return sio.load(path, trusted=skops_trusted_types)
        except Exception as e:  # skops.io.exceptions.UntrustedTypesFoundException and friends
            raise InvalidParameter(
                f"skops refused to load {path}: {e}. Only load models you trust; list their "
                "types in the MLmodel's skops_trusted_types to allow them."
            ) from e
    with open(path, "rb") as f:
        try:
            return pickle.load(f)  # cloudpickle output is plain pickle data
        except (AttributeError, ModuleNotFoundError) as e:
            raise NbtrackError(
                f"Cannot unpickle {path}: {e}. The model refers to code that is not importable "
                "here (for example a class defined in a notebook and saved with "
                "serialization_format='pickle'). Re-save it with serialization_format="
                "'cloudpickle', or ship the code with code_paths."
            ) from e


def _flavor_conf(model_dir: str) -> dict[str, Any]:
    model = Model.load(os.path.join(model_dir, "MLmodel"))
    if FLAVOR_NAME not in model.flavors:
        raise NotFound(f'Model does not have the "{FLAVOR_NAME}" flavor; it has {sorted(model.flavors)}.')
    return model.flavors[FLAVOR_NAME]


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """Load the scikit-learn estimator itself (not a pyfunc wrapper)."""
    from nbtrack.models._save import add_code_to_path
    from nbtrack.models.uri import resolve_model_uri

    local = resolve_model_uri(model_uri, dst_path)
    conf = _flavor_conf(local)
    add_code_to_path(local, conf)
    return _load_from_file(os.path.join(local, conf["pickled_model"]),
                           conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
                           conf.get("skops_trusted_types"))


def _load_pyfunc(path: str) -> _SklearnModelWrapper:
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    try:
        conf = _flavor_conf(model_dir)
        fmt = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
        trusted = conf.get("skops_trusted_types")
        file = conf.get("pickled_model")
    except NotFound:
        fmt, trusted, file = SERIALIZATION_FORMAT_PICKLE, None, None
    if not os.path.isfile(path):
        from nbtrack.models.pyfunc import FLAVOR_NAME as PYFUNC

        pyconf = Model.load(os.path.join(path, "MLmodel")).flavors.get(PYFUNC, {})
        path = os.path.join(path, pyconf.get("model_path") or file or _PICKLE_FILE)
    return _SklearnModelWrapper(_load_from_file(path, fmt, trusted))


class _SklearnModelWrapper:
    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for fn in _PREDICT_FNS[1:]:
            if (method := getattr(sklearn_model, fn, None)) is not None:
                setattr(self, fn, method)

    def get_raw_model(self) -> Any:
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.sklearn_model.predict(data)
