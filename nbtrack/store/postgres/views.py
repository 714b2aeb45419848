"""The view operations of the PostgreSQL store (:class:`nbtrack.store.base.ViewStore`), one
statement each, with the same columns and semantics as the embedded store's ``duckdb/views.py``.

Filters are compiled by :mod:`nbtrack.search` (``dialect="postgresql"``) into a subquery of
matching run ids; user keys and values only ever reach PostgreSQL as parameters. Histories are
downsampled in SQL (M4: per bucket the first, last, min and max point), so a chart of a
100,000-point history receives a few hundred rows. PostgreSQL has no arg_min/arg_max; the point
at a bucket's minimum is ``(min(ARRAY[value, x]))[2]`` (arrays compare element by element), which
keeps every aggregate hashable: ``array_agg(... ORDER BY ...)`` sorted all points first and took
1.3 s cold / 0.4 s warm for 100,000 points.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.search import compile_run_search
from nbtrack.store.postgres._db import pyformat

__all__ = [
    "find_runs", "key_stats", "metric_buckets", "metric_points_after", "run_summaries", "runs_fingerprint",
    "runs_page", "runs_wide", "runs_with_tag", "thin_history", "top_metric_keys",
]

_SORT_ATTRIBUTES = {
    "attr:run_name": "r.run_name",
    "attr:status": "r.status",
    "attr:start_time": "r.start_time",
    "attr:duration": "(COALESCE(r.end_time, %s) - r.start_time)",
    "attr:user_id": "r.user_id",
    "attr:run_id": "r.run_id",
}
_KIND_TABLE = {"param": "params", "metric": "latest_metrics", "tag": "tags"}
_X_AXES = {"step": "m.step", "relative": "(m.timestamp - r.start_time)", "wall": "m.timestamp"}
_FINITE = "{v} NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)"
_NOT_NAN = "CASE WHEN {v} = 'NaN'::float8 THEN NULL ELSE {v} END"


def _frame(cur: Any) -> Any:
    import pandas as pd

    columns = [d.name for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def _matched(experiment_ids: Sequence[str], filter_string: str | None) -> tuple[str, list[Any]]:
    query = compile_run_search(filter_string, None, [str(e) for e in experiment_ids], ("active",),
                               dialect="postgresql")
    return pyformat(query.sql), list(query.params)


def _sort_sql(sort: str | None, descending: bool, params: list[Any]) -> tuple[str, str]:
    direction = "DESC" if descending else "ASC"
    tiebreak = "r.start_time DESC, r.run_id ASC"
    if not sort:
        return "", tiebreak
    kind, _, key = sort.partition(":")
    if kind == "attr":
        if sort not in _SORT_ATTRIBUTES:
            raise InvalidParameter(f"Unknown sort column {sort!r}; use one of {sorted(_SORT_ATTRIBUTES)} "
                                   "or param:<key>, metric:<key>, tag:<key>.")
        expr = _SORT_ATTRIBUTES[sort]
        if "%s" in expr:
            params.append(int(time.time() * 1000))
        return "", f"{expr} {direction} NULLS LAST, {tiebreak}"
    if kind not in _KIND_TABLE or not key:
        raise InvalidParameter(f"Unknown sort column {sort!r}; use attr:<name>, param:<key>, metric:<key> "
                               "or tag:<key>.")
    params.append(key)
    join = f"LEFT JOIN {_KIND_TABLE[kind]} AS s ON s.run_id = r.run_id AND s.key = %s"
    if kind == "metric":
        order = f"{_NOT_NAN.format(v='s.value')} {direction} NULLS LAST"
    else:  # params and tags are text: numbers sort as numbers, the rest as text
        order = f"nbtrack.try_float(s.value) {direction} NULLS LAST, s.value {direction} NULLS LAST"
    return join, f"{order}, {tiebreak}"


_CATALOGUE_CTE = """, cat AS (
  SELECT 'param' AS kind, key, count(*) AS n, bool_and(nbtrack.try_float(value) IS NOT NULL) AS numeric
  FROM params WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key
  UNION ALL SELECT 'metric', key, count(*), TRUE FROM latest_metrics
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key
  UNION ALL SELECT 'tag', key, count(*), FALSE FROM tags
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key)
"""
_CATALOGUE_COLUMN = (",\n       (SELECT json_agg(json_build_object('kind', kind, 'key', key, 'n', n, 'numeric', numeric) "
                     "ORDER BY kind, key) FROM cat) AS catalogue")


def runs_page(con: Any, experiment_ids: Sequence[str], filter_string: str | None, sort: str | None,
              descending: bool, offset: int, limit: int, group_by_tag: str | None, catalogue: bool) -> Any:
    matched, params = _matched(experiment_ids, filter_string)
    params.append(group_by_tag or "")
    group = "" if group_by_tag else "TRUE OR "
    join, order = _sort_sql(sort, descending, params)
    params += [int(offset), int(offset) + int(limit)]
    sql = f"""
WITH matched AS ({matched}),
cand AS (
  SELECT r.run_id, r.start_time, c.value AS cell
  FROM runs AS r LEFT JOIN tags AS c ON c.run_id = r.run_id AND c.key = %s
  WHERE r.run_id IN (SELECT run_id FROM matched)),
grouped AS (
  SELECT run_id, n_cell FROM (
    SELECT run_id, count(*) OVER (PARTITION BY COALESCE(cell, run_id)) AS n_cell,
           row_number() OVER (PARTITION BY COALESCE(cell, run_id) ORDER BY start_time DESC, run_id) AS rn
    FROM cand) AS q
  WHERE {group}rn = 1),
ordered AS (
  SELECT g.run_id, g.n_cell, count(*) OVER () AS total, row_number() OVER (ORDER BY {order}) AS pos
  FROM grouped AS g JOIN runs AS r ON r.run_id = g.run_id {join}),
page AS (SELECT * FROM ordered WHERE pos > %s AND pos <= %s),
vals AS (
  SELECT run_id, 'param' AS kind, key, NULL::float8 AS num, value AS text FROM params
  WHERE run_id IN (SELECT run_id FROM page)
  UNION ALL SELECT run_id, 'metric', key, value, NULL FROM latest_metrics
  WHERE run_id IN (SELECT run_id FROM page)
  UNION ALL SELECT run_id, 'tag', key, NULL, value FROM tags
  WHERE run_id IN (SELECT run_id FROM page)),
packed AS (
  SELECT run_id, array_agg(kind) AS kinds, array_agg(key) AS keys, array_agg(num) AS nums,
         array_agg(text) AS texts
  FROM vals GROUP BY run_id){_CATALOGUE_CTE if catalogue else ""}
SELECT p.pos, p.total, p.n_cell, r.run_id, r.run_name, r.status, r.start_time,
       r.end_time, r.user_id, v.kinds, v.keys, v.nums, v.texts{_CATALOGUE_COLUMN if catalogue else ""}
FROM page AS p JOIN runs AS r ON r.run_id = p.run_id LEFT JOIN packed AS v ON v.run_id = p.run_id
ORDER BY p.pos"""
    frame = _frame(con.execute(sql, params))
    for column in ("kinds", "keys", "nums", "texts"):  # a run with no values: empty lists, as DuckDB's list()
        frame[column] = [v if v is not None else [] for v in frame[column]]
    return frame


def runs_fingerprint(con: Any, experiment_ids: Sequence[str]) -> tuple[int | None, ...]:
    row = con.execute(
        "WITH r AS (SELECT run_id, start_time, end_time, status FROM runs "
        "           WHERE experiment_id = ANY(%s::text[]) AND lifecycle_stage = 'active') "
        "SELECT count(*), max(start_time), max(end_time), count(*) FILTER (WHERE status = 'RUNNING'), "
        "       (SELECT sum(step) + count(*) FROM latest_metrics "
        "        WHERE run_id IN (SELECT run_id FROM r WHERE status = 'RUNNING')) "
        "FROM r", [[str(e) for e in experiment_ids]]).fetchone()
    return tuple(None if v is None else int(v) for v in row)


def _scope(experiment_ids: Sequence[str], filter_string: str | None,
           run_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    if run_ids is not None:
        return "SELECT unnest(%s::text[]) AS run_id", [list(run_ids)]
    return _matched(experiment_ids, filter_string)


def key_stats(con: Any, experiment_ids: Sequence[str], filter_string: str | None,
              run_ids: Sequence[str] | None) -> Any:
    scope, params = _scope(experiment_ids, filter_string, run_ids)
    return _frame(con.execute(f"""
WITH matched AS ({scope})
SELECT * FROM (
  SELECT 'param' AS kind, key, count(*) AS n, count(DISTINCT value) AS distinct_values,
         bool_and(nbtrack.try_float(value) IS NOT NULL) AS numeric
  FROM params WHERE run_id IN (SELECT run_id FROM matched) GROUP BY key
  UNION ALL
  SELECT 'metric', key, count(*), count(DISTINCT value), TRUE
  FROM latest_metrics WHERE run_id IN (SELECT run_id FROM matched) GROUP BY key) AS s
ORDER BY kind DESC, key""", params))


def runs_wide(con: Any, experiment_ids: Sequence[str], filter_string: str | None, params: Sequence[str],
              metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None,
              order_metric: str | None) -> Any:
    params, metrics = list(dict.fromkeys(params)), list(dict.fromkeys(metrics))  # one column per key
    scope, scope_params = _scope(experiment_ids, filter_string, run_ids)
    order_params: list[Any] = []
    join = ""
    if run_ids is not None:
        order, order_params = "array_position(%s::text[], r.run_id)", [list(run_ids)]
    else:
        order = "r.start_time DESC, r.run_id"
        if order_metric:
            join = "LEFT JOIN latest_metrics AS o ON o.run_id = r.run_id AND o.key = %s"
            order = f"{_NOT_NAN.format(v='o.value')} DESC NULLS LAST, " + order
            order_params = [order_metric]
    pivots, pivot_params = [], []
    for i, key in enumerate(params):
        pivots.append(f"max(v.text) FILTER (WHERE v.kind = 'param' AND v.key = %s) AS p{i}")
        pivot_params.append(key)
    for i, key in enumerate(metrics):
        pivots.append(f"max(v.num) FILTER (WHERE v.kind = 'metric' AND v.key = %s) AS m{i}")
        pivot_params.append(key)
    select = "".join(", " + p for p in pivots)
    # parameters in the order their %s appear: the scope, the ORDER BY (or its JOIN), the limit,
    # the key lists, the pivots
    sql = f"""
WITH matched AS ({scope}),
chosen AS (
  SELECT * FROM (
    SELECT r.run_id, r.run_name, r.status, r.start_time, count(*) OVER () AS total,
           row_number() OVER (ORDER BY {order}) AS pos
    FROM runs AS r {join}
    WHERE r.run_id IN (SELECT run_id FROM matched)) AS q
  WHERE pos <= %s),
v AS (
  SELECT run_id, 'param' AS kind, key, NULL::float8 AS num, value AS text FROM params
  WHERE key = ANY(%s::text[]) AND run_id IN (SELECT run_id FROM chosen)
  UNION ALL
  SELECT run_id, 'metric', key, value, NULL FROM latest_metrics
  WHERE key = ANY(%s::text[]) AND run_id IN (SELECT run_id FROM chosen))
SELECT c.run_id, c.run_name, c.status, c.start_time, c.total{select}
FROM chosen AS c LEFT JOIN v ON v.run_id = c.run_id
GROUP BY c.run_id, c.run_name, c.status, c.start_time, c.total, c.pos ORDER BY c.pos"""
    frame = _frame(con.execute(sql, [*scope_params, *order_params, int(limit), list(params), list(metrics),
                                     *pivot_params]))
    names = {f"p{i}": f"param:{k}" for i, k in enumerate(params)}
    names |= {f"m{i}": f"metric:{k}" for i, k in enumerate(metrics)}
    for i in range(len(metrics)):
        frame[f"m{i}"] = frame[f"m{i}"].astype("float64")
    return frame.rename(columns=names)


#: Estimated bounds of the whole history from one row per series (latest_metrics) and the runs:
#: no scan of the points. Points outside them are clamped into the end buckets.
_ESTIMATED_BOUNDS = {
    "step": "least(min(l.step), 0), max(l.step)",
    "relative": "0, max(l.timestamp - r.start_time)",
    "wall": "least(min(r.start_time), min(l.timestamp)), max(l.timestamp)",
}
_BUCKET_COLUMNS = ("n", "vmin", "vmax", "vmean", "xmean", "x_at_min", "x_at_max", "x0", "v0", "x1", "v1",
                   "last_step", "last_ts")


def _x_axis(x_axis: str) -> str:
    if x_axis not in _X_AXES:
        raise InvalidParameter(f"x_axis must be one of {sorted(_X_AXES)}, not {x_axis!r}.")
    return _X_AXES[x_axis]


def _buckets_sql(x_axis: str, with_range: bool, with_runs: bool) -> str:
    x_expr = _x_axis(x_axis)
    join = "JOIN runs AS r ON r.run_id = m.run_id" if "r." in x_expr else ""
    if with_range:
        bounds = "SELECT %s::float8, %s::float8"
        outside = "WHEN p.x < lo THEN -1 WHEN p.x > hi THEN -2"  # the neighbours just outside, kept whole
    else:
        bounds = (f"SELECT {_ESTIMATED_BOUNDS[x_axis]} FROM latest_metrics AS l JOIN runs AS r ON r.run_id = l.run_id "
                  "WHERE l.run_id = ANY(%s::text[]) AND l.key = ANY(%s::text[])")
        outside = "WHEN p.x < lo THEN 0 WHEN p.x > hi THEN nb - 1"  # estimates: clamp, never drop
    # On the step axis a bucket is never narrower than one step: a zoom into few steps is exact.
    nb = "least(%s, floor(hi - lo) + 1)" if x_axis == "step" else "%s"
    extra = ", NULL::text AS run_name, NULL::text AS status, NULL::bigint AS start_time" if with_runs else ""
    runs = ""
    if with_runs:
        nulls = ", ".join(f"NULL AS {c}" for c in _BUCKET_COLUMNS)
        runs = (f"UNION ALL\nSELECT run_id, NULL AS key, -3 AS bucket, {nulls}, run_name, status, start_time "
                "FROM runs WHERE run_id = ANY(%s::text[])\n")
    return f"""
WITH pts AS (
  SELECT m.run_id, m.key, m.step, m.timestamp, m.value, CAST({x_expr} AS float8) AS x
  FROM arc.metrics AS m {join}
  WHERE m.run_id = ANY(%s::text[]) AND m.key = ANY(%s::text[]) AND {_FINITE.format(v='m.value')}),
bounds AS (SELECT lo, hi, CAST(greatest({nb}, 1) AS BIGINT) AS nb
           FROM ({bounds}) AS t(lo, hi)),
b AS (
  SELECT p.*, CASE {outside}
              ELSE CAST(least(floor((p.x - lo) * nb / greatest(hi - lo, 1e-9)), nb - 1) AS BIGINT) END AS bucket
  FROM pts AS p, bounds)
SELECT run_id, key, bucket, count(*) AS n, min(value) AS vmin, max(value) AS vmax,
       avg(value) AS vmean, avg(x) AS xmean, (min(ARRAY[value, x]))[2] AS x_at_min,
       (max(ARRAY[value, -x]))[2] * -1 AS x_at_max, min(x) AS x0, (min(ARRAY[x, value]))[2] AS v0,
       max(x) AS x1, (max(ARRAY[x, value]))[2] AS v1, max(step) AS last_step,
       max(timestamp) AS last_ts{extra}
FROM b GROUP BY run_id, key, bucket
{runs}ORDER BY run_id, key, bucket"""


def metric_buckets(con: Any, run_ids: Sequence[str], keys: Sequence[str], x_axis: str, buckets: int,
                   x_range: tuple[float, float] | None, with_runs: bool) -> Any:
    sql = _buckets_sql(x_axis, x_range is not None, with_runs)
    params: list[Any] = [list(run_ids), list(keys), max(int(buckets), 1)]
    if x_range is not None:
        params += [float(x_range[0]), float(x_range[1])]
    else:
        params += [list(run_ids), list(keys)]
    if with_runs:
        params.append(list(run_ids))
    frame = _frame(con.execute(sql, params))
    return frame.astype({"bucket": "int64"}) if len(frame) else frame


def metric_points_after(con: Any, cursors: Sequence[tuple[str, str, int, int]], x_axis: str, limit: int) -> Any:
    x_expr = _x_axis(x_axis)
    run_ids = sorted({c[0] for c in cursors})
    low = min((int(c[2]) for c in cursors), default=0)
    sql = f"""
WITH c AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[]) AS c(run_id, key, s, t))
SELECT 'p' AS what, m.run_id, m.key, m.step, m.timestamp, m.value, CAST({x_expr} AS float8) AS x,
       NULL::text AS status
FROM arc.metrics AS m JOIN c ON m.run_id = c.run_id AND m.key = c.key JOIN runs AS r ON r.run_id = m.run_id
WHERE m.step >= %s AND (m.step > c.s OR (m.step = c.s AND m.timestamp > c.t)) AND {_FINITE.format(v='m.value')}
UNION ALL
SELECT 's', run_id, NULL, NULL, NULL, NULL, NULL, status FROM runs WHERE run_id = ANY(%s::text[])
ORDER BY what, run_id, key, step, timestamp
LIMIT %s"""
    return _frame(con.execute(sql, [[c[0] for c in cursors], [c[1] for c in cursors], [int(c[2]) for c in cursors],
                                    [int(c[3]) for c in cursors], low, run_ids, int(limit) + len(run_ids)]))


def run_summaries(con: Any, run_ids: Sequence[str]) -> Any:
    return _frame(con.execute("SELECT run_id, run_name, status, start_time FROM runs WHERE run_id = ANY(%s::text[])",
                              [list(run_ids)]))


def top_metric_keys(con: Any, run_ids: Sequence[str], limit: int) -> list[str]:
    rows = con.execute("SELECT key, count(*) AS n FROM latest_metrics WHERE run_id = ANY(%s::text[]) "
                       "GROUP BY key ORDER BY n DESC, key LIMIT %s", [list(run_ids), int(limit)]).fetchall()
    return [r[0] for r in rows]


def runs_with_tag(con: Any, key: str, value: str) -> list[str]:
    rows = con.execute("SELECT run_id FROM tags WHERE key = %s AND value = %s ORDER BY run_id", [key, value])
    return [r[0] for r in rows]


def find_runs(con: Any, token: str, limit: int) -> Any:
    return _frame(con.execute(
        "SELECT run_id, run_name FROM runs WHERE lifecycle_stage = 'active' "
        "AND (starts_with(run_id, %s) OR run_name = %s) ORDER BY start_time DESC LIMIT %s",
        [token, token, int(limit)]))


def thin_history(con: Any, run_id: str, keys: Sequence[str], points: int) -> Any:
    """Every n-th point of each key, plus the last one."""
    points = max(int(points), 2)
    return _frame(con.execute("""
SELECT key, step, value FROM (
    SELECT key, step, value, row_number() OVER w AS i, count(*) OVER (PARTITION BY key) AS n
    FROM arc.metrics WHERE run_id = %s AND key = ANY(%s::text[])
    WINDOW w AS (PARTITION BY key ORDER BY step, timestamp)) AS q
WHERE n <= %s OR i = n OR (i - 1) %% CAST(ceil(n::float8 / (%s - 1)) AS BIGINT) = 0
ORDER BY key, i""", [run_id, list(keys), points, points]))
