"""MLflow Projects: an ``MLproject`` folder or git repository run with typed parameters.

``nbtrack.projects.run(uri, entry_point, parameters=...)`` (also ``nbtrack.run``, so
``mlflow.run`` works after ``import nbtrack as mlflow``) and the ``nbtrack run`` command.
"""

from __future__ import annotations

from nbtrack.projects._spec import ExecutionException, InvalidProject
from nbtrack.projects._submit import SubmittedRun, run

__all__ = ["ExecutionException", "InvalidProject", "SubmittedRun", "run"]
