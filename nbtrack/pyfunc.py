"""``nbtrack.pyfunc``: MLflow's ``mlflow.pyfunc`` API (load any model, save custom ones)."""

from __future__ import annotations

import sys

from nbtrack.models import _pyfunc_utils as utils
from nbtrack.models.pyfunc import (
    FLAVOR_NAME,
    PyFuncModel,
    add_to_model,
    get_model_dependencies,
    load_model,
)
from nbtrack.models.python_model import PythonModel, PythonModelContext, log_model, save_model

# `from nbtrack.pyfunc.utils import pyfunc`, as `from mlflow.pyfunc.utils import pyfunc`
sys.modules[f"{__name__}.utils"] = utils

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "add_to_model",
    "get_model_dependencies",
    "load_model",
    "log_model",
    "save_model",
    "utils",
]
