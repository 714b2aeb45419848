"""MLflow's ``search_runs`` DataFrame built from :class:`~nbtrack.entities.Run` objects: what the
backends that read whole runs (REST, PostgreSQL) return; the embedded store builds the same frame in
SQL (``duckdb/queries.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack.entities import Run

__all__ = ["runs_frame"]


def runs_frame(runs: Sequence[Run]) -> Any:
    """MLflow's ``search_runs`` DataFrame: run columns, then ``metrics.*``, ``params.*``, ``tags.*``
    (each group's keys in the order the runs first have them, as the embedded store builds it)."""
    import pandas as pd

    base = pd.DataFrame({
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime([r.info.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.info.end_time for r in runs], unit="ms", utc=True),
    })
    frames = [base]
    for prefix, pick, numeric in (("metrics.", lambda r: r.data.metrics, True),
                                  ("params.", lambda r: r.data.params, False),
                                  ("tags.", lambda r: r.data.tags, False)):
        order: dict[str, None] = {}
        for run in runs:
            for key in sorted(pick(run)):
                order.setdefault(key, None)
        missing = float("nan") if numeric else None
        columns = {prefix + key: [pick(r).get(key, missing) for r in runs] for key in order}
        frames.append(pd.DataFrame(columns, index=range(len(runs)), dtype="float64" if numeric else None))
    return pd.concat(frames, axis=1)
