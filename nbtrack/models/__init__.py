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
    "ModelConfig",
    "ModelInfo",
    "ModelSignature",
    "convert_input_example_to_serving_input",
    "evaluate",
    "get_model_info",
    "infer_pip_requirements",
    "infer_signature",
    "list_evaluators",
    "make_metric",
    "predict",
    "register_uri_resolver",
    "resolve_model_uri",
    "set_model",
    "set_signature",
    "update_model_requirements",
    "validate_schema",
    "validate_serving_input",
]

# mlflow.models.evaluate and its objects, imported on first use.
_EVALUATION = {"EvaluationArtifact", "EvaluationMetric", "EvaluationResult", "MetricThreshold", "evaluate",
               "make_metric"}
# the rest of mlflow.models, by the private module that has it, imported on first use
_LAZY = {"ModelConfig": "_from_code", "set_model": "_from_code", "predict": "_predict",
         "validate_serving_input": "_predict", "infer_pip_requirements": "_requirements",
         "update_model_requirements": "_requirements"}


def convert_input_example_to_serving_input(input_example: Any) -> str | None:
    """The JSON body the scoring server takes for ``input_example`` (``{"dataframe_split": ...}`` for
    a DataFrame, ``{"inputs": ...}`` otherwise, with ``"params"`` for an ``(example, params)`` pair),
    as ``log_model`` writes it to ``serving_input_example.json``; None for None."""
    if input_example is None:
        return None
    from nbtrack.models.example import Example

    return Example(input_example).json_serving_input


def list_evaluators() -> list[str]:
    """The evaluators ``evaluate(..., evaluators=...)`` takes: ``default``, ``classifier``, ``regressor``
    (MLflow also lists ``shap``, whose explanations nbtrack does not compute)."""
    from nbtrack.models.evaluation.evaluate import _BUILTIN

    return list(_BUILTIN)


def validate_schema(data: Any, expected_schema: Any) -> None:
    """Check ``data`` against ``expected_schema`` (a :class:`~nbtrack.types.Schema`) as a model's
    ``predict`` would, raising the same error (it names the missing column or the wrong type).

    Examples
    --------
    >>> validate_schema(pd.DataFrame({"x": [1.0]}), Schema([ColSpec("double", "x")]))
    """
    from nbtrack.models._enforce import enforce_schema

    enforce_schema(data, expected_schema)


def __getattr__(name: str) -> Any:
    if name in _EVALUATION:
        from nbtrack.models import evaluation

        return getattr(evaluation, name)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"nbtrack.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'nbtrack.models' has no attribute {name!r}")
