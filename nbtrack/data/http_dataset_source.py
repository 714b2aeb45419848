"""``mlflow.data.http_dataset_source``'s import path, for code written for MLflow."""

from nbtrack.data.sources import HTTPDatasetSource

__all__ = ["HTTPDatasetSource"]
