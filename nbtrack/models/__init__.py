"""MLflow Models for nbtrack: the MLmodel format, signatures, input examples, environments,
the ``python_function`` interface and the framework flavors.

Framework libraries (scikit-learn, xgboost, lightgbm, torch) and pandas are imported only
inside the functions that need them, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

from nbtrack.models.model import Model, ModelInfo, get_model_info
from nbtrack.models.signature import ModelSignature, infer_signature, set_signature
from nbtrack.models.uri import register_uri_resolver, resolve_model_uri

__all__ = [
    "EvaluationArtifact",
    "EvaluationMetric",
    "EvaluationResult",
    "MetricThreshold",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "evaluate",
    "get_model_info",
    "infer_signature",
    "make_metric",
    "register_uri_resolver",
    "resolve_model_uri",
    "set_signature",
]

# mlflow.models.evaluate and its objects, imported on first use.
_EVALUATION = {"EvaluationArtifact", "EvaluationMetric", "EvaluationResult", "MetricThreshold", "evaluate",
               "make_metric"}


def __getattr__(name: str) -> Any:
    if name in _EVALUATION:
        from nbtrack.models import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'nbtrack.models' has no attribute {name!r}")
