"""Read queries over the archive's views. Each function takes an attached connection."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from nbtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Run,
    RunData,
    RunInfo,
    RunInputs,
)
from nbtrack.store.duckdb.user_sql import read_only_sql

__all__ = ["experiments", "experiments_by_query", "metric_history_frame", "order_unless_sorted", "read_only_sql",
           "runs_by_ids", "runs_frame"]

def _member(column: str, values: list[Any]) -> str:
    """SQL testing ``column`` against the list parameter: list_contains for a few values (about
    1 ms, where an IN-subquery costs 3-17 ms on duckdb 2.0), a hash semi-join for many."""
    return f"list_contains(?, {column})" if len(values) <= 64 else f"{column} IN (SELECT unnest(?))"


_EXP_COLS = "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time, e.workspace"


def _experiment_tags(con: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for eid, key, value in con.execute(
            f"SELECT experiment_id, key, value FROM experiment_tags WHERE {_member('experiment_id', ids)}",
            [ids]).fetchall():
        tags[eid][key] = value
    return tags


def _to_experiments(con: Any, rows: list[tuple]) -> list[Experiment]:
    tags = _experiment_tags(con, [r[0] for r in rows])
    return [Experiment(r[0], r[1], r[2], r[3], tags.get(r[0], {}), r[4], r[5], r[6]) for r in rows]


def experiments(con: Any, where: str, params: list[Any]) -> list[Experiment]:
    rows = con.execute(f"SELECT {_EXP_COLS} FROM experiments e WHERE {where}", params).fetchall()
    return _to_experiments(con, rows)


def experiments_by_query(con: Any, sql: str, params: list[Any], limit: int | None, offset: int) -> list[Experiment]:
    ids = [r[0] for r in con.execute(
        f"{sql} LIMIT ? OFFSET ?", [*params, limit if limit is not None else 2**62, offset]).fetchall()]
    found = {e.experiment_id: e for e in experiments(con, _member("e.experiment_id", ids), [ids])}
    return [found[i] for i in ids if i in found]


def runs_by_ids(con: Any, ids: list[str]) -> list[Run]:
    """Whole Run entities for ``ids``, in that order (unknown ids are skipped)."""
    if not ids:
        return []
    infos = {r[0]: RunInfo(*r) for r in con.execute(
        "SELECT run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, "
        f"lifecycle_stage FROM runs WHERE {_member('run_id', ids)}", [ids]).fetchall()}
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for target, table in ((metrics, "latest_metrics"), (params, "params"), (tags, "tags")):
        for run_id, key, value in con.execute(
                f"SELECT run_id, key, value FROM {table} WHERE {_member('run_id', ids)} ORDER BY key",
                [ids]).fetchall():
            target[run_id][key] = value
    inputs: dict[str, list[DatasetInput]] = defaultdict(list)
    for row in con.execute(
            "SELECT run_id, dataset_name, dataset_digest, source_type, source, dataset_schema, profile, tags "
            f"FROM inputs WHERE {_member('run_id', ids)}", [ids]).fetchall():
        input_tags = [InputTag(k, v) for k, v in json.loads(row[7] or "{}").items()]
        inputs[row[0]].append(DatasetInput(Dataset(*row[1:7]), input_tags))
    return [
        Run(infos[i], RunData(metrics[i], params[i], tags[i]), RunInputs(inputs[i]))
        for i in ids if i in infos
    ]


def runs_frame(con: Any, ids: list[str]) -> Any:
    """MLflow's search_runs DataFrame for ``ids``, in that order."""
    con.execute("CREATE OR REPLACE TEMP TABLE sel AS SELECT unnest(?) AS run_id, "
                "generate_subscripts(?, 1) AS pos", [ids, ids])
    return _frame_of_selection(con)


def search_frame(con: Any, sql: str, params: list[Any]) -> Any:
    """MLflow's search_runs DataFrame for a compiled search; run ids never leave DuckDB."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE sel AS SELECT run_id, row_number() OVER () AS pos FROM ({sql})",
                params)
    return _frame_of_selection(con)


def _frame_of_selection(con: Any) -> Any:
    """Run columns, then metrics., params., tags. columns (keys in first-seen order), for temp table sel.

    Built as one Arrow table and converted to pandas once: string values never become Python
    objects (pandas' ``str`` columns are Arrow-backed anyway), which for 100,000 runs was most of
    the time and memory of the old object-matrix pivot."""
    import pyarrow as pa

    base_sql = ("SELECT r.run_id, r.experiment_id, r.status, r.artifact_uri, r.start_time, r.end_time "
                "FROM sel JOIN runs r USING (run_id) ORDER BY sel.pos")
    try:
        base = con.sql(base_sql).to_arrow_table()
        n = base.num_rows
        if not n:  # DuckDB's own empty frame (object columns), as before
            return _with_times(con.execute(base_sql).df())
        names, columns = list(base.column_names), list(base.columns)
        for prefix, table in (("metrics.", "latest_metrics"), ("params.", "params"), ("tags.", "tags")):
            for key, column in _pivot(con, table, n):
                names.append(prefix + key)
                columns.append(column)
    finally:
        con.execute("DROP TABLE IF EXISTS sel")
    frame = pa.Table.from_arrays(columns, names=names).to_pandas()
    return _with_times(frame)


def _with_times(frame: Any) -> Any:
    import pandas as pd

    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col], unit="ms", utc=True)
    return frame


def _pivot(con: Any, table: str, n: int) -> list[tuple[str, Any]]:
    """(key, column aligned with ``sel.pos``) per key, keys ordered by the first run that has them.

    One unsorted read of (row, key, value); keys are dictionary-encoded and each value scattered
    to its (key, row) cell of an index matrix (the old pivot's object matrix, as integers), from
    which every column is one Arrow take and the key order (first row, then key) one argmax.
    An ORDER BY in DuckDB, and a separate query for the key order, cost 3-5x more at 100,000
    runs (a million values sorted under the archive connection's 128 MB cap)."""
    import numpy as np
    import pyarrow as pa

    long = con.sql(f"SELECT sel.pos - 1 AS row, t.key, t.value FROM sel JOIN {table} t USING (run_id)").to_arrow_table()
    if not long.num_rows:
        return []
    codes = long.column("key").combine_chunks().dictionary_encode()
    names = codes.dictionary.to_pylist()
    code = codes.indices.to_numpy(zero_copy_only=False)
    rows = long.column("row").to_numpy()
    where = np.full((len(names), n), -1, dtype=np.int64)  # where[key, row]: the value's index, or -1
    where[code, rows] = np.arange(len(rows))
    present = where >= 0
    first = present.argmax(axis=1)  # every key has a value somewhere
    order = sorted(range(len(names)), key=lambda c: (int(first[c]), names[c]))
    values = long.column("value").combine_chunks()
    if table == "latest_metrics":
        matrix = np.full((len(names), n), np.nan)
        matrix[code, rows] = values.to_numpy(zero_copy_only=False)
        return [(names[c], pa.array(matrix[c])) for c in order]
    return [(names[c], values.take(pa.array(where[c], mask=~present[c]))) for c in order]


def metric_history_frame(con: Any, run_ids: list[str], keys: list[str] | None) -> Any:
    """Long history, runs in the order given, then key, step, timestamp.

    DuckDB returns the points unsorted, as Arrow columns, with 64-bit hashes of the run id and key
    instead of the strings (a join to the runs' places, or a million strings, cost DuckDB more than
    the scan itself). The hashes are mapped back to places in ``run_ids`` and ``keys`` once per run
    of equal values (a fold appends each run's points together, so that is one lookup a run), and the
    string columns are rebuilt with Arrow takes. The points are sorted here only if they are not in
    order already. A list with a repeated run id, or ids whose hashes collide, takes the join."""
    import numpy as np
    import pyarrow as pa

    if keys is None:
        keys = [r[0] for r in con.execute(
            "SELECT DISTINCT key FROM metrics WHERE run_id IN (SELECT unnest(?))", [run_ids]).fetchall()]
    else:
        keys = list(dict.fromkeys(keys))
    run_hash = _hashes(con, run_ids)
    key_hash = _hashes(con, keys)
    if run_hash is None or key_hash is None or len(run_hash) != len(run_ids):
        return _metric_history_joined(con, run_ids, keys)
    points = con.sql(
        "SELECT hash(run_id) AS r, hash(key) AS k, step, timestamp, value FROM metrics "
        "WHERE run_id IN (SELECT unnest(?)) AND key IN (SELECT unnest(?))", params=[run_ids, keys]).to_arrow_table()
    if not points.num_rows:  # DuckDB's own empty frame (object columns), as before
        return _empty_history(con)
    rows = _places(points.column("r").to_numpy(), run_hash)
    key_place = _places(points.column("k").to_numpy(), key_hash)
    rank = np.empty(len(keys), dtype=np.int64)  # a key's place in DuckDB's (binary) string order
    rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
    step, timestamp = points.column("step").to_numpy(), points.column("timestamp").to_numpy()
    order = order_unless_sorted([rows, rank[key_place], step, timestamp])
    numbers = points.select(["step", "timestamp", "value"])
    if order is not None:
        rows, key_place, numbers = rows[order], key_place[order], numbers.take(pa.array(order))
    return pa.table({"run_id": pa.array(run_ids, pa.string()).take(pa.array(rows)),
                     "key": pa.array(keys, pa.string()).take(pa.array(key_place)),
                     **{name: numbers.column(name) for name in numbers.column_names}}).to_pandas()


def _hashes(con: Any, values: list[str]) -> dict[int, int] | None:
    """DuckDB's hash of each value -> its place; None if two distinct values share a hash."""
    if not values:
        return {}
    found = con.execute("SELECT hash(unnest(?)) AS h", [values]).fetchnumpy()["h"].tolist()
    places = {h: n for n, h in enumerate(found)}
    return places if len(places) == len(set(values)) else None


def _places(hashes: Any, places: dict[int, int]) -> Any:
    """Each hash's place, looked up once per run of equal hashes."""
    import numpy as np

    starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
    heads = np.array([places[h] for h in hashes[starts].tolist()], dtype=np.int64)
    return np.repeat(heads, np.diff(np.append(starts, len(hashes))))


def _empty_history(con: Any) -> Any:
    return con.execute(
        "SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS key, NULL::BIGINT AS step, "
        "NULL::BIGINT AS timestamp, NULL::DOUBLE AS value WHERE false").df()


def _metric_history_joined(con: Any, run_ids: list[str], keys: list[str]) -> Any:
    """:func:`metric_history_frame` by a join to the runs' places (a run id given twice appears twice)."""
    import numpy as np
    import pyarrow as pa

    points = con.sql(
        "SELECT s.pos - 1 AS row, m.key, m.step, m.timestamp, m.value FROM metrics m "
        "JOIN (SELECT unnest(?) AS run_id, generate_subscripts(?, 1) AS pos) s USING (run_id) "
        "WHERE m.key IN (SELECT unnest(?))", params=[run_ids, run_ids, keys]).to_arrow_table()
    if not points.num_rows:
        return _empty_history(con)
    rows = points.column("row").to_numpy()
    key = points.column("key").combine_chunks()
    codes = key.dictionary_encode()
    names = codes.dictionary.to_pylist()
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    key_rank = rank[codes.indices.to_numpy(zero_copy_only=False)]
    step, timestamp = points.column("step").to_numpy(), points.column("timestamp").to_numpy()
    order = order_unless_sorted([rows, key_rank, step, timestamp])
    table = pa.table({"run_id": pa.array(run_ids, pa.string()).take(pa.array(rows)), "key": key,
                      "step": points.column("step"), "timestamp": points.column("timestamp"),
                      "value": points.column("value")})
    if order is not None:
        table = table.take(pa.array(order))
    return table.to_pandas()


def order_unless_sorted(columns: list[Any]) -> Any:
    """None if the rows are already in lexicographic order of ``columns`` (most significant
    first), else the stable order that sorts them."""
    import numpy as np

    if len(columns[0]) < 2:
        return None
    later, same = np.zeros(len(columns[0]) - 1, dtype=bool), np.ones(len(columns[0]) - 1, dtype=bool)
    for c in columns:
        later |= same & (c[1:] > c[:-1])
        same &= c[1:] == c[:-1]
    if (later | same).all():
        return None
    return np.lexsort(columns[::-1])
