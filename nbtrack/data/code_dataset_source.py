"""``mlflow.data.code_dataset_source``'s import path, for code written for MLflow."""

from nbtrack.data.sources import CodeDatasetSource

__all__ = ["CodeDatasetSource"]
