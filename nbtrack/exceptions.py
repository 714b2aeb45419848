"""MLflow's ``mlflow.exceptions`` names, for code written against MLflow."""

from nbtrack.errors import MlflowException, NbtrackError

__all__ = ["MlflowException", "NbtrackError"]
