"""``load_table``: the tables runs logged with ``log_table``, read back and joined (MLflow's).

``log_table`` records each table in the run's ``mlflow.loggedArtifacts`` tag, so the runs that
have one are found from their tags, without listing every run's artifacts.
"""

from __future__ import annotations

import json
import posixpath
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidParameter, NotFound

if TYPE_CHECKING:
    from nbtrack.tracking.client import Client

__all__ = ["load_table"]

_TAG = "mlflow.loggedArtifacts"


def _logged_table(tag: Any, artifact_file: str) -> bool:
    if not isinstance(tag, str) or not tag:
        return False
    try:
        entries = json.loads(tag)
    except ValueError:
        return False
    return any(isinstance(e, dict) and e.get("path") == artifact_file and e.get("type") == "table"
               for e in entries)


def _read(path: str) -> Any:
    import pandas as pd

    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_json(path, orient="split")


def load_table(client: Client, experiment_id: str, artifact_file: str, run_ids: list[str] | None = None,
               extra_columns: list[str] | None = None) -> Any:
    """The table ``artifact_file`` of every run of ``experiment_id`` (or of ``run_ids``) that logged it,
    concatenated; ``extra_columns`` name columns of ``search_runs``' frame copied onto each row."""
    import pandas as pd

    from nbtrack.entities import ViewType
    from nbtrack.tracking import validation

    if not isinstance(artifact_file, str) or any(c in artifact_file for c in "\"',:[]{}"):
        raise InvalidParameter(f"Invalid artifact file {artifact_file!r}: the name given to log_table, without "
                               "\" ' , : [ ] { }.")
    where = validation.filter_string(_run_filter(run_ids))
    runs = client.store.search_frame([validation.experiment_id(experiment_id)], where, ViewType.ACTIVE_ONLY,
                                     validation.INT64_MAX - 1, None)
    tag_column = f"tags.{_TAG}"
    if tag_column in runs:
        runs = runs[runs[tag_column].map(lambda tag: _logged_table(tag, artifact_file))]
    else:
        runs = runs.iloc[0:0]
    if runs.empty:
        raise NotFound(f"No runs of experiment {experiment_id} logged the table '{artifact_file}' "
                       "(log it with log_table first).")
    frames = []
    for _, row in runs.iterrows():
        frame = _read(client.download_artifacts(row["run_id"], posixpath.normpath(artifact_file)))
        for column in extra_columns or []:
            if column not in row:
                raise InvalidParameter(f"extra_columns: {column!r} is not a column of search_runs' result "
                                       "(e.g. 'run_id', 'status', 'params.<key>', 'tags.<key>').")
            frame[f"{column}_" if column in frame else column] = row[column]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _run_filter(run_ids: list[str] | None) -> str:
    if not run_ids:
        return ""
    return "attributes.run_id IN (" + ", ".join(repr(str(r)) for r in run_ids) + ")"
