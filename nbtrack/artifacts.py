"""``nbtrack.artifacts`` (MLflow's ``mlflow.artifacts``)."""

from nbtrack.tracking.artifacts import download_artifacts

__all__ = ["download_artifacts"]
