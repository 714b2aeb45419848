"""``nbtrack.sklearn``: save, log and load scikit-learn models (MLflow's ``mlflow.sklearn`` API).

scikit-learn itself is imported only when one of these functions runs.
"""

from __future__ import annotations

from nbtrack.autolog.sklearn import autolog
from nbtrack.models.flavors.sklearn import (
    FLAVOR_NAME,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    _load_pyfunc,  # noqa: F401  (lets `loader_module: nbtrack.<flavor>` work)
    get_default_pip_requirements,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "autolog",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]
