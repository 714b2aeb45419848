"""Model evaluation (MLflow's ``mlflow.models.evaluate``): built-in classifier and regressor
metrics and plots, custom metrics and artifacts, and validation against thresholds and a baseline.

scikit-learn, pandas and matplotlib are imported only when ``evaluate`` runs.
"""

from __future__ import annotations

from nbtrack.models.evaluation.base import (
    CsvEvaluationArtifact,
    EvaluationArtifact,
    EvaluationMetric,
    EvaluationResult,
    ImageEvaluationArtifact,
    JsonEvaluationArtifact,
    MetricValue,
    NumpyEvaluationArtifact,
    ParquetEvaluationArtifact,
    PickleEvaluationArtifact,
    TextEvaluationArtifact,
    make_metric,
)
from nbtrack.models.evaluation.evaluate import evaluate
from nbtrack.models.evaluation.validation import (
    MetricThreshold,
    ModelValidationFailedException,
    validate_evaluation_results,
)

__all__ = [
    "CsvEvaluationArtifact", "EvaluationArtifact", "EvaluationMetric", "EvaluationResult",
    "ImageEvaluationArtifact", "JsonEvaluationArtifact", "MetricThreshold", "MetricValue",
    "ModelValidationFailedException", "NumpyEvaluationArtifact", "ParquetEvaluationArtifact",
    "PickleEvaluationArtifact", "TextEvaluationArtifact", "evaluate", "make_metric",
    "validate_evaluation_results",
]
