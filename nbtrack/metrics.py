"""``nbtrack.metrics`` (MLflow's ``mlflow.metrics``): custom evaluation metrics."""

from nbtrack.models.evaluation.base import EvaluationMetric, MetricValue, make_metric

__all__ = ["EvaluationMetric", "MetricValue", "make_metric"]
