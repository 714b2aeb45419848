"""LightGBM flavor, in MLflow's ``lightgbm`` layout.

A ``Booster`` is written with LightGBM's text format (``model.lgb``); the scikit-learn
wrappers (``LGBMClassifier``...) are pickled like the sklearn flavor (``model.pkl``).
"""

from __future__ import annotations

import os
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models._save import flavor_conf, resolve_flavor
from nbtrack.models.model import Model, ModelInfo

__all__ = ["get_default_pip_requirements", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "lightgbm"
_BOOSTER = "lightgbm.basic.Booster"


def get_default_pip_requirements(include_cloudpickle: bool = False) -> list[str]:
    from nbtrack.models.environment import pinned

    reqs = [pinned("lightgbm"), pinned("numpy")]
    return [*reqs, pinned("cloudpickle")] if include_cloudpickle else reqs


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = "cloudpickle",
    skops_trusted_types: list[str] | None = None,
) -> None:
    """Save a LightGBM Booster or scikit-learn model as an MLflow model directory."""
    import lightgbm as lgb

    from nbtrack.models import _save
    from nbtrack.models.flavors import sklearn as sk
    from nbtrack.models.pyfunc import add_to_model

    if not isinstance(lgb_model, (lgb.Booster, lgb.LGBMModel)):
        raise InvalidParameter(
            f"lgb_model must be a lightgbm.Booster or a LightGBM scikit-learn model, got {type(lgb_model).__name__}."
        )
    sk._check_format(serialization_format)
    path = _save.prepare_dir(path)
    code = _save.copy_code_paths(code_paths, path)
    model = _save.new_model(mlflow_model, signature, metadata)
    _save.add_example_and_signature(model, input_example, signature, path, _LGBModelWrapper(lgb_model).predict)
    is_booster = isinstance(lgb_model, lgb.Booster)
    if is_booster:
        data_file = "model.lgb"
        lgb_model.save_model(os.path.join(path, data_file))
    else:
        data_file = "model.skops" if serialization_format == "skops" else "model.pkl"
        sk._dump(lgb_model, os.path.join(path, data_file), serialization_format, skops_trusted_types)
    add_to_model(model, "mlflow.lightgbm", data=data_file, conda_env="conda.yaml",
                 python_env="python_env.yaml", code=code)
    model.add_flavor(FLAVOR_NAME, lgb_version=lgb.__version__, data=data_file,
                     model_class=f"{type(lgb_model).__module__}.{type(lgb_model).__name__}",
                     code=code, serialization_format=serialization_format,
                     skops_trusted_types=skops_trusted_types)
    reqs = get_default_pip_requirements(not is_booster and serialization_format == "cloudpickle")
    _save.finish(path, model, reqs, pip_requirements, extra_pip_requirements, conda_env)


def log_model(
    lgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    serialization_format: str = "cloudpickle",
    skops_trusted_types: list[str] | None = None,
    run_id: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log a LightGBM model as artifacts of the active run (see ``save_model``)."""
    from nbtrack.models._logged import log_model as _log_model
    from nbtrack.models._logged import logged_model_options

    options = logged_model_options(kwargs)

    return _log_model(
        lambda path, mlflow_model: save_model(
            lgb_model, path, conda_env=conda_env, code_paths=code_paths, mlflow_model=mlflow_model,
            signature=signature, input_example=input_example, pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements, metadata=metadata,
            serialization_format=serialization_format, skops_trusted_types=skops_trusted_types,
        ),
        name=name, artifact_path=artifact_path, registered_model_name=registered_model_name, run_id=run_id,
        **options,
    )


def _load(model_dir: str, conf: dict[str, Any] | None = None) -> Any:
    from nbtrack.models.flavors import sklearn as sk

    if conf is None:
        conf = flavor_conf(model_dir, FLAVOR_NAME)
    data = os.path.join(model_dir, conf["data"])
    if conf.get("model_class", _BOOSTER) == _BOOSTER:
        import lightgbm as lgb

        return lgb.Booster(model_file=data)
    return sk._load_from_file(data, conf.get("serialization_format", "cloudpickle"), conf.get("skops_trusted_types"))


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """Load the LightGBM model itself (Booster or scikit-learn wrapper, as saved)."""
    return _load(*resolve_flavor(model_uri, dst_path, FLAVOR_NAME))


def _load_pyfunc(path: str) -> _LGBModelWrapper:
    return _LGBModelWrapper(_load(os.path.dirname(path) if os.path.isfile(path) else path))


class _LGBModelWrapper:
    def __init__(self, lgb_model: Any) -> None:
        self.lgb_model = lgb_model

    def get_raw_model(self) -> Any:
        return self.lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.lgb_model.predict(data)
