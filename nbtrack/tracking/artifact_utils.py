"""``nbtrack.tracking.artifact_utils`` (MLflow's ``mlflow.tracking.artifact_utils``): a run's
artifact URI by run id, for code that imports it from there."""

from __future__ import annotations

from nbtrack.tracking.artifacts import download_artifacts

__all__ = ["download_artifacts", "get_artifact_uri"]


def get_artifact_uri(run_id: str, artifact_path: str | None = None, tracking_uri: str | None = None) -> str:
    """The artifact location of run ``run_id`` (of ``artifact_path`` inside it), in the store at
    ``tracking_uri`` (by default the current one), as ``mlflow.get_artifact_uri`` gives it inside
    the run.

    Examples
    --------
    >>> get_artifact_uri(run.info.run_id, "model")
    '/home/me/proj/.nbtrack/artifacts/0/3f2a.../artifacts/model'
    """
    from nbtrack.tracking.client import Client

    return Client(tracking_uri).get_artifact_uri(run_id, artifact_path)
