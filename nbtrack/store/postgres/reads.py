"""Whole runs and metric histories read from PostgreSQL, each in one statement.

A statement is atomic and reads one snapshot, so these run on :meth:`Database.statement` without
BEGIN and COMMIT: a page of searched runs (the search, then the runs, metrics, params, tags and
inputs of the page) is one round trip, where it was six (the pool's check, BEGIN, the ids, the
runs, the inputs, COMMIT).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from nbtrack.entities import Dataset, DatasetInput, InputTag, Run, RunData, RunInfo, RunInputs
from nbtrack.errors import NotFound
from nbtrack.store.run_frames import runs_frame

__all__ = ["IDS", "history_rows", "ordered_ids", "runs_frame", "runs_of"]

_RUN_COLS = "run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage"
_NULLS = ", ".join(["NULL"] * 9)  # the run columns of a value row

#: ``ids`` of :func:`runs_of` for a list of run ids sent as one array (its first parameter).
IDS = 'SELECT u.run_id COLLATE "C" AS run_id, pos FROM unnest(%s::text[]) WITH ORDINALITY AS u(run_id, pos)'


def ordered_ids(search_sql: str) -> str:
    """``ids`` of :func:`runs_of` for a compiled run search (``SELECT r.run_id ... ORDER BY ...``):
    each id with its place in that order (``row_number()`` over the same ORDER BY, so the page's
    order is exact, not the order rows happen to arrive in); append ``LIMIT %s OFFSET %s``."""
    head, sep, order = search_sql.rpartition("\nORDER BY ")
    if not sep or not head.startswith("SELECT r.run_id\n") or "%s" in order:
        raise ValueError("not a compiled run search")  # a bug of ours, not the caller's input
    return (f"SELECT r.run_id, row_number() OVER (ORDER BY {order}) AS pos{head[len('SELECT r.run_id'):]}"
            f"\nORDER BY {order} LIMIT %s OFFSET %s")


def runs_of(con: Any, ids_sql: str, params: Sequence[Any]) -> list[Run]:
    """Whole Run entities of the ids ``ids_sql`` selects (``run_id, pos``), in ``pos`` order."""
    # the value parts look their rows up by primary key (= ANY of the ids as one array); a join to
    # the ids hashed whole tables instead (9 ms for a page of 100 runs among 10,000, now 1 ms). The
    # runs part joins (an = ANY there as well made each of 1,000 index probes scan the array)
    rows = con.execute(f"""
        WITH ids AS MATERIALIZED ({ids_sql})
        SELECT 'r', NULL, NULL, i.pos::float8, {", ".join("r." + c.strip() for c in _RUN_COLS.split(","))}
            FROM ids i JOIN runs r ON r.run_id = i.run_id
        UNION ALL SELECT 'm', run_id, key, value, {_NULLS}
            FROM arc.latest_metrics WHERE run_id = ANY(ARRAY(SELECT run_id FROM ids))
        UNION ALL SELECT 'p', run_id, key, NULL, value, {_NULLS[6:]}
            FROM arc.params WHERE run_id = ANY(ARRAY(SELECT run_id FROM ids))
        UNION ALL SELECT 't', run_id, key, NULL, value, {_NULLS[6:]}
            FROM arc.tags WHERE run_id = ANY(ARRAY(SELECT run_id FROM ids))
        UNION ALL SELECT 'i', run_id, NULL, NULL, json_agg(json_build_array(dataset_name, dataset_digest,
                source_type, source, dataset_schema, profile, tags) ORDER BY ctid)::text, {_NULLS[6:]}
            FROM arc.inputs WHERE run_id = ANY(ARRAY(SELECT run_id FROM ids)) GROUP BY run_id
        ORDER BY 1, 3""", params).fetchall()
    infos: list[tuple[float, RunInfo]] = []
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    params_: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    inputs: dict[str, list[DatasetInput]] = {}
    for kind, run_id, key, num, *rest in rows:
        if kind == "r":
            infos.append((num, RunInfo(*rest)))
        elif kind == "m":
            metrics[run_id][key] = num
        elif kind == "p":
            params_[run_id][key] = rest[0]
        elif kind == "t":
            tags[run_id][key] = rest[0]
        else:
            inputs[run_id] = [_dataset_input(d) for d in json.loads(rest[0])]
    infos.sort(key=lambda pair: pair[0])
    return [Run(info, RunData(metrics[i], params_[i], tags[i]), RunInputs(inputs.get(i, [])))
            for _, info in infos for i in (info.run_id,)]


def _dataset_input(row: list[Any]) -> DatasetInput:
    return DatasetInput(Dataset(*row[:6]), [InputTag(k, v) for k, v in json.loads(row[6] or "{}").items()])


def history_rows(con: Any, run_id: str, key: str) -> list[tuple[float, int, int]]:
    """``(value, timestamp, step)`` of a run's metric in (step, timestamp) order, in one statement
    (a run with no such metric gives one row of NULLs; no run, no row)."""
    rows = con.execute(
        "SELECT m.value, m.timestamp, m.step FROM arc.runs r LEFT JOIN arc.metrics m "
        "ON m.run_id = r.run_id AND m.key = %s WHERE r.run_id = %s ORDER BY m.step, m.timestamp",
        [key, run_id]).fetchall()
    if not rows:
        raise NotFound(f"Run with id={run_id} not found. Check the id, or search with nbtrack.search_runs().")
    return [] if rows[0][2] is None else rows
