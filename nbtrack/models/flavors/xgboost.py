"""XGBoost flavor (``Booster`` or the scikit-learn wrappers), in MLflow's ``xgboost`` layout.

The model is written with XGBoost's own ``save_model`` (format ``ubj`` by default, or
``json``), never pickled. On load the class named in MLmodel is re-created; only classes
from the ``xgboost`` package are accepted, since the name comes from the file.
"""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models._save import flavor_conf, resolve_flavor
from nbtrack.models.model import Model, ModelInfo

__all__ = ["get_default_pip_requirements", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "xgboost"


def get_default_pip_requirements() -> list[str]:
    from nbtrack.models.environment import pinned

    return [pinned("xgboost"), pinned("numpy")]


def _class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__name__}"


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Save an XGBoost model as an MLflow model directory at ``path``."""
    import xgboost as xgb

    from nbtrack.models import _save
    from nbtrack.models.pyfunc import add_to_model

    if not isinstance(xgb_model, (xgb.Booster, xgb.XGBModel)):
        raise InvalidParameter(
            f"xgb_model must be an xgboost.Booster or an XGBoost scikit-learn model, got {type(xgb_model).__name__}."
        )
    if model_format not in ("ubj", "json", "deprecated"):
        raise InvalidParameter(f"model_format must be 'ubj' or 'json', got '{model_format}'.")
    path = _save.prepare_dir(path)
    code = _save.copy_code_paths(code_paths, path)
    model = _save.new_model(mlflow_model, signature, metadata)
    wrapper = _XGBModelWrapper(xgb_model)
    _save.add_example_and_signature(model, input_example, signature, path, wrapper.predict)
    data_file = f"model.{model_format}"
    xgb_model.save_model(os.path.join(path, data_file), **kwargs)
    add_to_model(model, "mlflow.xgboost", data=data_file, conda_env="conda.yaml",
                 python_env="python_env.yaml", code=code)
    model.add_flavor(FLAVOR_NAME, xgb_version=xgb.__version__, data=data_file,
                     model_class=_class_name(xgb_model), model_format=model_format, code=code)
    _save.finish(path, model, get_default_pip_requirements(), pip_requirements, extra_pip_requirements, conda_env)


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    run_id: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log an XGBoost model as artifacts of the active run (see ``save_model``)."""
    from nbtrack.models._logged import log_model as _log_model
    from nbtrack.models._logged import logged_model_options

    options = logged_model_options(kwargs)

    return _log_model(
        lambda path, mlflow_model: save_model(
            xgb_model, path, conda_env=conda_env, code_paths=code_paths, mlflow_model=mlflow_model,
            signature=signature, input_example=input_example, pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements, model_format=model_format,
            metadata=metadata, **kwargs,
        ),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name, run_id=run_id,
        **options,
    )


def _load(model_dir: str, conf: dict[str, Any] | None = None) -> Any:
    if conf is None:
        conf = flavor_conf(model_dir, FLAVOR_NAME)
    class_name = conf.get("model_class", "xgboost.core.Booster")
    module_name, _, cls_name = class_name.rpartition(".")
    if module_name.split(".")[0] != "xgboost":
        raise InvalidParameter(
            f"Refusing to load model class '{class_name}' named in MLmodel: only xgboost classes are allowed."
        )
    cls = getattr(importlib.import_module(module_name), cls_name)
    model = cls()
    model.load_model(os.path.join(model_dir, conf["data"]))
    return model


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """Load the XGBoost model itself (Booster or scikit-learn wrapper, as saved)."""
    return _load(*resolve_flavor(model_uri, dst_path, FLAVOR_NAME))


def _load_pyfunc(path: str) -> _XGBModelWrapper:
    return _XGBModelWrapper(_load(os.path.dirname(path) if os.path.isfile(path) else path))


class _XGBModelWrapper:
    def __init__(self, xgb_model: Any) -> None:
        self.xgb_model = xgb_model

    def get_raw_model(self) -> Any:
        return self.xgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost as xgb

        params = dict(params or {})
        if isinstance(self.xgb_model, xgb.Booster):
            allowed = inspect.signature(self.xgb_model.predict).parameters
            kw = {k: v for k, v in params.items() if k in allowed}
            return self.xgb_model.predict(xgb.DMatrix(data), validate_features=True, **kw)
        allowed = inspect.signature(self.xgb_model.predict).parameters
        kw = {k: v for k, v in params.items() if k in allowed}
        return self.xgb_model.predict(data, validate_features=True, **kw)
