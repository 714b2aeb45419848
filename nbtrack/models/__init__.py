"""MLflow Models for nbtrack: the MLmodel format, signatures, input examples, environments,
the ``python_function`` interface and the framework flavors.

Framework libraries (scikit-learn, xgboost, lightgbm, torch) and pandas are imported only
inside the functions that need them, so importing this package stays cheap.
"""

from __future__ import annotations

from nbtrack.models.model import Model, ModelInfo, get_model_info
from nbtrack.models.signature import ModelSignature, infer_signature
from nbtrack.models.uri import register_uri_resolver, resolve_model_uri

__all__ = [
    "Model",
    "ModelInfo",
    "ModelSignature",
    "get_model_info",
    "infer_signature",
    "register_uri_resolver",
    "resolve_model_uri",
]
