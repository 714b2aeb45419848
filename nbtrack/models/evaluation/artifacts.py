"""``mlflow.models.evaluation.artifacts``' import path for the evaluation artifact classes."""

from nbtrack.models.evaluation.base import (
    CsvEvaluationArtifact,
    ImageEvaluationArtifact,
    JsonEvaluationArtifact,
    NumpyEvaluationArtifact,
    ParquetEvaluationArtifact,
    PickleEvaluationArtifact,
    TextEvaluationArtifact,
)

__all__ = ["CsvEvaluationArtifact", "ImageEvaluationArtifact", "JsonEvaluationArtifact", "NumpyEvaluationArtifact",
           "ParquetEvaluationArtifact", "PickleEvaluationArtifact", "TextEvaluationArtifact"]
