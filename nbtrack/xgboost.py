"""``nbtrack.xgboost``: save, log and load XGBoost models (MLflow's ``mlflow.xgboost`` API).

XGBoost itself is imported only when one of these functions runs.
"""

from __future__ import annotations

from nbtrack.autolog.xgboost import autolog
from nbtrack.models.flavors.xgboost import (
    FLAVOR_NAME,
    _load_pyfunc,  # noqa: F401  (lets `loader_module: nbtrack.<flavor>` work)
    get_default_pip_requirements,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]
