"""``nbtrack.artifacts`` (MLflow's ``mlflow.artifacts``)."""

from nbtrack.tracking.artifacts import (
    download_artifacts,
    list_artifacts,
    load_dict,
    load_image,
    load_text,
)

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]
