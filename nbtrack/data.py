"""``nbtrack.data``: describe datasets logged as run inputs (MLflow's ``mlflow.data``)."""

from nbtrack.tracking.datasets import from_numpy, from_pandas

__all__ = ["from_numpy", "from_pandas"]
