"""The view operations of the embedded store: what the run table, charts, parallel coordinates,
compare, the run card and the notebook layer read, each one SQL statement over the query views.

These are the DuckDB implementations of :class:`nbtrack.store.base.ViewStore`; the upper layers
call them by name and never see a table. Filters are compiled by :mod:`nbtrack.search` into a
subquery of matching run ids; user keys only ever reach DuckDB as parameters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.search import compile_run_search

__all__ = [
    "SORT_ATTRIBUTES", "X_AXES", "find_runs", "key_stats", "metric_buckets", "metric_points_after",
    "run_summaries", "runs_fingerprint", "runs_page", "runs_wide", "runs_with_tag", "thin_history",
    "top_metric_keys",
]

#: Sortable attribute columns: id -> SQL expression over the alias ``r`` of the runs view.
SORT_ATTRIBUTES = {
    "attr:run_name": "r.run_name",
    "attr:status": "r.status",
    "attr:start_time": "r.start_time",
    "attr:duration": "(COALESCE(r.end_time, ?) - r.start_time)",
    "attr:user_id": "r.user_id",
    "attr:run_id": "r.run_id",
}
_KIND_TABLE = {"param": "params", "metric": "latest_metrics", "tag": "tags"}

#: x-axis name -> SQL expression over metrics ``m`` (and runs ``r``), in the unit stored.
X_AXES = {
    "step": "m.step",
    "relative": "(m.timestamp - r.start_time)",  # ms since the run started
    "wall": "m.timestamp",  # ms since the epoch
}


def _sort_sql(sort: str | None, descending: bool, params: list[Any]) -> tuple[str, str]:
    """(LEFT JOIN clause, ORDER BY terms) for a column id."""
    direction = "DESC" if descending else "ASC"
    tiebreak = "r.start_time DESC, r.run_id ASC"
    if not sort:
        return "", tiebreak
    kind, _, key = sort.partition(":")
    if kind == "attr":
        if sort not in SORT_ATTRIBUTES:
            raise InvalidParameter(f"Unknown sort column {sort!r}; use one of {sorted(SORT_ATTRIBUTES)} "
                                   "or param:<key>, metric:<key>, tag:<key>.")
        expr = SORT_ATTRIBUTES[sort]
        if "?" in expr:
            params.append(int(time.time() * 1000))
        return "", f"{expr} {direction} NULLS LAST, {tiebreak}"
    if kind not in _KIND_TABLE or not key:
        raise InvalidParameter(f"Unknown sort column {sort!r}; use attr:<name>, param:<key>, metric:<key> "
                               "or tag:<key>.")
    params.append(key)
    join = f"LEFT JOIN {_KIND_TABLE[kind]} AS s ON s.run_id = r.run_id AND s.key = ?"
    if kind == "metric":
        order = f"CASE WHEN isnan(s.value) THEN NULL ELSE s.value END {direction} NULLS LAST"
    else:  # params and tags are text: numbers sort as numbers, the rest as text
        order = f"TRY_CAST(s.value AS DOUBLE) {direction} NULLS LAST, s.value {direction} NULLS LAST"
    return join, f"{order}, {tiebreak}"


_CATALOGUE_CTE = """, cat AS (
  SELECT 'param' AS kind, key, count(*) AS n,
         bool_and(TRY_CAST(value AS DOUBLE) IS NOT NULL) AS numeric FROM params
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key
  UNION ALL SELECT 'metric', key, count(*), TRUE FROM latest_metrics
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key
  UNION ALL SELECT 'tag', key, count(*), FALSE FROM tags
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key)
"""
_CATALOGUE_COLUMN = (",\n       (SELECT list({'kind': kind, 'key': key, 'n': n, 'numeric': numeric} "
                     "ORDER BY kind, key) FROM cat) AS catalogue")


def page_sql(experiment_ids: Sequence[str], filter_string: str | None, sort: str | None,
             descending: bool, offset: int, limit: int, group_by_tag: str | None,
             catalogue: bool, stages: tuple[str, ...] = ("active",)) -> tuple[str, list[Any]]:
    """The one statement behind :func:`runs_page`. Raises InvalidFilter on a bad filter.

    The page is a top-N (ORDER BY ... LIMIT), not a row_number() over every run: the order always
    ends in run_id, so it is total and the N rows are the same, but a top-N keeps only N rows where
    the window sorted all of them (100,000 runs: most of the call). The page's positions come from
    the same order applied again to those N rows; without a grouping tag every run is its own cell,
    so the two windows over all runs that grouping needs are skipped."""
    query = compile_run_search(filter_string, None, list(experiment_ids), stages)
    params: list[Any] = list(query.params)
    if group_by_tag:
        params.append(group_by_tag)
        grouped = """cand AS (
  SELECT r.run_id, r.start_time, c.value AS cell
  FROM runs AS r LEFT JOIN tags AS c ON c.run_id = r.run_id AND c.key = ?
  WHERE r.run_id IN (SELECT run_id FROM matched)),
grouped AS (
  SELECT run_id, count(*) OVER (PARTITION BY COALESCE(cell, run_id)) AS n_cell FROM cand
  QUALIFY row_number() OVER (PARTITION BY COALESCE(cell, run_id) ORDER BY start_time DESC, run_id) = 1)"""
    else:
        grouped = "grouped AS (SELECT run_id, 1::BIGINT AS n_cell FROM matched)"
    sort_params: list[Any] = []
    join, order = _sort_sql(sort, descending, sort_params)
    # The N rows carry the run columns (and the sort key's value) out of top, so the page and the
    # final select need no further scan of every run; the order over them reads those columns.
    sort_value = ", s.value AS sort_value" if join else ""
    top_order = order.replace("s.value", "r.sort_value")
    if "COALESCE(r.end_time, ?)" in order:  # attr:duration's "now" is a parameter of each use
        params += [*sort_params, limit, offset, offset, *sort_params]
    else:
        params += [*sort_params, limit, offset, offset]
    sql = f"""
WITH matched AS ({query.sql}),
{grouped},
top AS (
  SELECT g.n_cell, r.run_id, r.run_name, r.status, r.start_time, r.end_time, r.user_id{sort_value}
  FROM grouped AS g JOIN runs AS r ON r.run_id = g.run_id {join}
  ORDER BY {order} LIMIT ? OFFSET ?),
page AS (
  SELECT r.*, (SELECT count(*) FROM grouped) AS total, ? + row_number() OVER (ORDER BY {top_order}) AS pos
  FROM top AS r),
vals AS (
  SELECT run_id, 'param' AS kind, key, NULL::DOUBLE AS num, value AS text FROM params
  WHERE run_id IN (SELECT run_id FROM page)
  UNION ALL SELECT run_id, 'metric', key, value, NULL FROM latest_metrics
  WHERE run_id IN (SELECT run_id FROM page)
  UNION ALL SELECT run_id, 'tag', key, NULL, value FROM tags
  WHERE run_id IN (SELECT run_id FROM page)),
packed AS (
  SELECT run_id, list(kind) AS kinds, list(key) AS keys, list(num) AS nums, list(text) AS texts
  FROM vals GROUP BY run_id)
SELECT p.pos, p.total, p.n_cell, p.run_id, p.run_name, p.status, p.start_time,
       p.end_time, p.user_id, v.kinds, v.keys, v.nums, v.texts{_CATALOGUE_COLUMN if catalogue else ""}
FROM page AS p LEFT JOIN packed AS v ON v.run_id = p.run_id
ORDER BY p.pos"""
    if catalogue:
        sql = sql.replace("\nSELECT p.pos,", "\n" + _CATALOGUE_CTE + "SELECT p.pos,", 1)
    return sql, params


def runs_page(con: Any, experiment_ids: Sequence[str], filter_string: str | None, sort: str | None,
              descending: bool, offset: int, limit: int, group_by_tag: str | None, catalogue: bool) -> Any:
    sql, params = page_sql(experiment_ids, filter_string, sort, descending, offset, limit, group_by_tag,
                           catalogue)
    return con.execute(sql, params).df()


def runs_fingerprint(con: Any, experiment_ids: Sequence[str]) -> tuple[int | None, ...]:
    row = con.execute(
        "WITH r AS (SELECT run_id, start_time, end_time, status FROM runs "
        "           WHERE experiment_id IN (SELECT unnest(?)) AND lifecycle_stage = 'active') "
        "SELECT count(*) AS n, max(start_time) AS s, max(end_time) AS e, "
        "       count(*) FILTER (WHERE status = 'RUNNING') AS live, "
        "       (SELECT sum(step) + count(*) FROM latest_metrics "
        "        WHERE run_id IN (SELECT run_id FROM r WHERE status = 'RUNNING')) AS progress "
        "FROM r", [list(experiment_ids)]).fetchone()
    return tuple(None if v is None else int(v) for v in row)


def key_stats(con: Any, experiment_ids: Sequence[str], filter_string: str | None,
              run_ids: Sequence[str] | None) -> Any:
    params: list[Any]
    if run_ids is not None:
        scope, params = "SELECT unnest(?::VARCHAR[]) AS run_id", [list(run_ids)]
    else:
        query = compile_run_search(filter_string, None, list(experiment_ids), ("active",))
        scope, params = query.sql, list(query.params)
    return con.execute(f"""
WITH matched AS ({scope})
SELECT 'param' AS kind, key, count(*) AS n, count(DISTINCT value) AS distinct_values,
       bool_and(TRY_CAST(value AS DOUBLE) IS NOT NULL) AS numeric
FROM params WHERE run_id IN (SELECT run_id FROM matched) GROUP BY key
UNION ALL
SELECT 'metric', key, count(*), count(DISTINCT value), TRUE
FROM latest_metrics WHERE run_id IN (SELECT run_id FROM matched) GROUP BY key
ORDER BY kind DESC, key""", params).df()


def runs_wide(con: Any, experiment_ids: Sequence[str], filter_string: str | None, params: Sequence[str],
              metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None,
              order_metric: str | None) -> Any:
    params, metrics = list(dict.fromkeys(params)), list(dict.fromkeys(metrics))  # one column per key
    scope_params: list[Any]
    order_params: list[Any] = []
    join = ""
    if run_ids is not None:
        scope_sql, scope_params = "SELECT unnest(?::VARCHAR[]) AS run_id", [list(run_ids)]
        order, order_params = "array_position(?::VARCHAR[], r.run_id)", [list(run_ids)]
    else:
        query = compile_run_search(filter_string, None, list(experiment_ids), ("active",))
        scope_sql, scope_params = query.sql, list(query.params)
        order = "r.start_time DESC, r.run_id"
        if order_metric:
            join = "LEFT JOIN latest_metrics AS o ON o.run_id = r.run_id AND o.key = ?"
            order = "CASE WHEN isnan(o.value) THEN NULL ELSE o.value END DESC NULLS LAST, " + order
            order_params = [order_metric]
    pivots, pivot_params = [], []
    for i, key in enumerate(params):
        pivots.append(f"max(v.text) FILTER (WHERE v.kind = 'param' AND v.key = ?) AS p{i}")
        pivot_params.append(key)
    for i, key in enumerate(metrics):
        pivots.append(f"max(v.num) FILTER (WHERE v.kind = 'metric' AND v.key = ?) AS m{i}")
        pivot_params.append(key)
    select = "".join(", " + p for p in pivots)
    # parameters in the order their ? appear: the scope, the ORDER BY (or its JOIN), the limit,
    # the key lists, the pivots
    frame = con.execute(f"""
WITH matched AS ({scope_sql}),
chosen AS (
  SELECT r.run_id, r.run_name, r.status, r.start_time, count(*) OVER () AS total,
         row_number() OVER (ORDER BY {order}) AS pos
  FROM runs AS r {join}
  WHERE r.run_id IN (SELECT run_id FROM matched)
  QUALIFY pos <= ?),
v AS (
  SELECT run_id, 'param' AS kind, key, NULL::DOUBLE AS num, value AS text FROM params
  WHERE key IN (SELECT unnest(?::VARCHAR[])) AND run_id IN (SELECT run_id FROM chosen)
  UNION ALL
  SELECT run_id, 'metric', key, value, NULL FROM latest_metrics
  WHERE key IN (SELECT unnest(?::VARCHAR[])) AND run_id IN (SELECT run_id FROM chosen))
SELECT c.run_id, c.run_name, c.status, c.start_time, c.total{select}
FROM chosen AS c LEFT JOIN v ON v.run_id = c.run_id
GROUP BY c.run_id, c.run_name, c.status, c.start_time, c.total, c.pos ORDER BY c.pos""",
                        [*scope_params, *order_params, int(limit), list(params), list(metrics),
                         *pivot_params]).df()
    names = {f"p{i}": f"param:{k}" for i, k in enumerate(params)}
    names |= {f"m{i}": f"metric:{k}" for i, k in enumerate(metrics)}
    return frame.rename(columns=names)


#: Estimated bounds of the whole history, from one row per series (latest_metrics) and runs:
#: no scan of the metric points. Points outside them are clamped into the end buckets.
_ESTIMATED_BOUNDS = {
    "step": "least(min(l.step), 0), max(l.step)",
    "relative": "0, max(l.timestamp - r.start_time)",
    "wall": "least(min(r.start_time), min(l.timestamp)), max(l.timestamp)",
}

#: One row per run (bucket -3) in the same answer: name, status and start for the legend.
_RUNS_UNION = """UNION ALL BY NAME
SELECT run_id, -3 AS bucket, run_name, status, start_time FROM runs WHERE run_id IN (SELECT unnest(?))
"""


def _x_axis(x_axis: str) -> str:
    if x_axis not in X_AXES:
        raise InvalidParameter(f"x_axis must be one of {sorted(X_AXES)}, not {x_axis!r}.")
    return X_AXES[x_axis]


def buckets_sql(x_axis: str, with_range: bool, with_runs: bool = False) -> str:
    x_expr = _x_axis(x_axis)
    join = "JOIN runs AS r ON r.run_id = m.run_id" if "r." in x_expr else ""
    if with_range:
        bounds = "SELECT ?::DOUBLE, ?::DOUBLE"
        # -1: the last point before the range, -2: the first after it (neighbours, kept whole)
        outside = "WHEN p.x < lo THEN -1 WHEN p.x > hi THEN -2"
    else:
        bounds = f"""SELECT {_ESTIMATED_BOUNDS[x_axis]} FROM latest_metrics AS l JOIN runs AS r ON r.run_id = l.run_id
            WHERE l.run_id IN (SELECT unnest(?)) AND l.key IN (SELECT unnest(?))"""
        outside = "WHEN p.x < lo THEN 0 WHEN p.x > hi THEN nb - 1"  # estimates: clamp, never drop
    # On the step axis a bucket is never narrower than one step, so a zoom into fewer steps
    # than buckets returns every point exactly.
    nb = "least(?, floor(hi - lo) + 1)" if x_axis == "step" else "?"
    return f"""
WITH pts AS (
  SELECT m.run_id, m.key, m.step, m.timestamp, m.value, {x_expr} AS x
  FROM metrics AS m {join}
  WHERE m.run_id IN (SELECT unnest(?)) AND m.key IN (SELECT unnest(?)) AND isfinite(m.value)),
bounds AS (SELECT lo, hi, greatest({nb}, 1)::BIGINT AS nb FROM ({bounds}) AS t(lo, hi)),
b AS (
  SELECT p.*, CASE {outside}
              ELSE least(floor((p.x - lo) * nb / greatest(hi - lo, 1e-9)), nb - 1)::BIGINT END AS bucket
  FROM pts AS p, bounds)
SELECT run_id, key, bucket, count(*) AS n, min(value) AS vmin, max(value) AS vmax,
       avg(value) AS vmean, avg(x) AS xmean, arg_min(x, value) AS x_at_min, arg_max(x, value) AS x_at_max,
       min(x) AS x0, arg_min(value, x) AS v0, max(x) AS x1, arg_max(value, x) AS v1,
       max(step) AS last_step, max(timestamp) AS last_ts
FROM b GROUP BY run_id, key, bucket
{_RUNS_UNION if with_runs else ""}ORDER BY run_id, key, bucket"""


def metric_buckets(con: Any, run_ids: Sequence[str], keys: Sequence[str], x_axis: str, buckets: int,
                   x_range: tuple[float, float] | None, with_runs: bool) -> Any:
    params: list[Any] = [list(run_ids), list(keys), max(int(buckets), 1)]
    if x_range is not None:
        params += [float(x_range[0]), float(x_range[1])]
    else:
        params += [list(run_ids), list(keys)]
    if with_runs:
        params.append(list(run_ids))
    return con.execute(buckets_sql(x_axis, x_range is not None, with_runs), params).df()


def metric_points_after(con: Any, cursors: Sequence[tuple[str, str, int, int]], x_axis: str, limit: int) -> Any:
    x_expr = _x_axis(x_axis)
    run_ids = sorted({c[0] for c in cursors})
    low = min((c[2] for c in cursors), default=0)
    sql = f"""
WITH c AS (SELECT unnest(?) AS run_id, unnest(?) AS key, unnest(?)::BIGINT AS s, unnest(?)::BIGINT AS t)
SELECT 'p' AS what, m.run_id, m.key, m.step, m.timestamp, m.value, ({x_expr})::DOUBLE AS x, NULL AS status
FROM metrics AS m JOIN c ON m.run_id = c.run_id AND m.key = c.key JOIN runs AS r ON r.run_id = m.run_id
WHERE m.step >= ? AND (m.step > c.s OR (m.step = c.s AND m.timestamp > c.t)) AND isfinite(m.value)
UNION ALL
SELECT 's', run_id, NULL, NULL, NULL, NULL, NULL, status FROM runs WHERE run_id IN (SELECT unnest(?))
ORDER BY what, run_id, key, step, timestamp
LIMIT ?"""
    return con.execute(sql, [[c[0] for c in cursors], [c[1] for c in cursors], [int(c[2]) for c in cursors],
                             [int(c[3]) for c in cursors], low, run_ids, int(limit) + len(run_ids)]).df()


def run_summaries(con: Any, run_ids: Sequence[str]) -> Any:
    return con.execute("SELECT run_id, run_name, status, start_time FROM runs WHERE run_id IN (SELECT unnest(?))",
                       [list(run_ids)]).df()


def top_metric_keys(con: Any, run_ids: Sequence[str], limit: int) -> list[str]:
    rows = con.execute("SELECT key, count(*) AS n FROM latest_metrics WHERE run_id IN (SELECT unnest(?)) "
                       "GROUP BY key ORDER BY n DESC, key LIMIT ?", [list(run_ids), int(limit)]).fetchall()
    return [r[0] for r in rows]


def runs_with_tag(con: Any, key: str, value: str) -> list[str]:
    rows = con.execute("SELECT run_id FROM tags WHERE key = ? AND value = ? ORDER BY run_id", [key, value]).fetchall()
    return [r[0] for r in rows]


def find_runs(con: Any, token: str, limit: int) -> Any:
    return con.execute(
        "SELECT run_id, run_name FROM runs WHERE lifecycle_stage = 'active' "
        "AND (starts_with(run_id, ?) OR run_name = ?) ORDER BY start_time DESC LIMIT ?",
        [token, token, int(limit)]).df()


# Every n-th point of each key, plus the last one; parameters: run id, keys, points, points.
_THIN_HISTORY = """
SELECT key, step, value FROM (
    SELECT key, step, value, row_number() OVER w AS i, count(*) OVER (PARTITION BY key) AS n
    FROM metrics WHERE run_id = ? AND key IN (SELECT unnest(?))
    WINDOW w AS (PARTITION BY key ORDER BY step, timestamp))
WHERE n <= ? OR i = n OR (i - 1) % CAST(ceil(n / (? - 1)) AS BIGINT) = 0
ORDER BY key, i"""


def thin_history(con: Any, run_id: str, keys: Sequence[str], points: int) -> Any:
    points = max(int(points), 2)
    return con.execute(_THIN_HISTORY, [run_id, list(keys), points, points]).df()
