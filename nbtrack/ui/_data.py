"""Data shaping for the run table: one SQL statement per page, run in DuckDB via ``nbtrack.sql``.

The filter is compiled by :mod:`nbtrack.search` into a subquery of matching run ids; this
module wraps it with the latest-run-per-cell grouping, the sort chosen in the table, the
page window and (when asked) the catalogue of param/metric/tag keys for the column chooser.
Only the rows of one page ever leave DuckDB, so opening a 10,000-run experiment costs the
same as opening a 50-run one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbtrack.search import compile_run_search
from nbtrack.tracking import fluent

__all__ = [
    "ATTRIBUTES", "CELL_TAG", "Column", "Page", "build_page_sql", "default_columns", "experiment_ids",
    "fetch_page", "fetch_wide", "fingerprint", "format_duration", "format_number", "format_value",
    "key_stats",
]

#: The tag the notebook layer writes on every run started by a cell (nbformat cell id).
CELL_TAG = "nbtrack.cell_id"

#: Attribute columns: id -> (label, SQL expression over the alias ``r`` of the runs view).
ATTRIBUTES = {
    "attr:run_name": ("Run", "r.run_name"),
    "attr:status": ("Status", "r.status"),
    "attr:start_time": ("Started", "r.start_time"),
    "attr:duration": ("Duration", "(COALESCE(r.end_time, $now) - r.start_time)"),
    "attr:user_id": ("User", "r.user_id"),
    "attr:run_id": ("Run ID", "r.run_id"),
}
_KIND_TABLE = {"param": "params", "metric": "latest_metrics", "tag": "tags"}
_HIDDEN_TAG_PREFIXES = ("mlflow.", "nbtrack.")


@dataclass(frozen=True)
class Column:
    """A table column: ``id`` is ``attr:<name>``, ``param:<key>``, ``metric:<key>`` or ``tag:<key>``."""

    id: str
    label: str
    kind: str
    count: int = 0  # runs (in the current filter) that have this key; 0 for attributes
    numeric: bool = False

    @property
    def key(self) -> str:
        return self.id.split(":", 1)[1]


@dataclass
class Page:
    """One page of the table: rows as dicts keyed by column id, plus totals and timings."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    columns: list[Column] | None = None  # the catalogue, when it was asked for
    seconds: float = 0.0
    run_ids: list[str] = field(default_factory=list)


def experiment_ids(experiment: str | int | Sequence[str | int] | None) -> list[str]:
    """Resolve names or ids to experiment ids; None means the active experiment.

    A name that does not exist raises :class:`nbtrack.errors.NotFound`.
    """
    from nbtrack.errors import NotFound

    if experiment is None:
        # the experiment set_experiment()/MLFLOW_EXPERIMENT_* chose, as search_runs() uses
        return [fluent._resolve_experiment_id()]
    items = [experiment] if isinstance(experiment, str | int) else list(experiment)
    ids = []
    for item in items:
        text = str(item)
        found = fluent.get_experiment_by_name(text)
        if found is not None:
            ids.append(found.experiment_id)
            continue
        try:
            ids.append(fluent.get_experiment(text).experiment_id)
        except NotFound:
            raise NotFound(
                f"No experiment named or numbered {text!r}. List them with nbtrack.search_experiments()."
            ) from None
    return ids


def _sort_sql(sort_id: str | None, descending: bool, params: list[Any]) -> tuple[str, str]:
    """(LEFT JOIN clause, ORDER BY terms) for a column id; user keys only ever as parameters."""
    direction = "DESC" if descending else "ASC"
    tiebreak = "r.start_time DESC, r.run_id ASC"
    if not sort_id:
        return "", tiebreak
    kind, _, key = sort_id.partition(":")
    if kind == "attr":
        if sort_id not in ATTRIBUTES:
            raise ValueError(f"unknown column {sort_id!r}")
        expr = ATTRIBUTES[sort_id][1].replace("$now", "?")
        if "?" in expr:
            params.append(int(time.time() * 1000))
        return "", f"{expr} {direction} NULLS LAST, {tiebreak}"
    if kind not in _KIND_TABLE:
        raise ValueError(f"unknown column {sort_id!r}")
    params.append(key)
    join = f"LEFT JOIN {_KIND_TABLE[kind]} AS s ON s.run_id = r.run_id AND s.key = ?"
    if kind == "metric":
        order = f"CASE WHEN isnan(s.value) THEN NULL ELSE s.value END {direction} NULLS LAST"
    else:  # params and tags are text: numbers sort as numbers, the rest as text
        order = f"TRY_CAST(s.value AS DOUBLE) {direction} NULLS LAST, s.value {direction} NULLS LAST"
    return join, f"{order}, {tiebreak}"


def build_page_sql(experiments: list[str], filter_string: str | None, sort_id: str | None,
                   descending: bool, offset: int, limit: int, group_by_cell: bool,
                   catalogue: bool, stages: tuple[str, ...] = ("active",)) -> tuple[str, list[Any]]:
    """The one statement behind a page. Raises InvalidFilter on a bad filter."""
    query = compile_run_search(filter_string, None, experiments, stages)
    params: list[Any] = list(query.params)
    params.append(CELL_TAG)
    group = "" if group_by_cell else "TRUE OR "
    join, order = _sort_sql(sort_id, descending, params)
    params += [offset, offset + limit]
    sql = f"""
WITH matched AS ({query.sql}),
cand AS (
  SELECT r.run_id, r.start_time, c.value AS cell
  FROM runs AS r LEFT JOIN tags AS c ON c.run_id = r.run_id AND c.key = ?
  WHERE r.run_id IN (SELECT run_id FROM matched)),
grouped AS (
  SELECT run_id, count(*) OVER (PARTITION BY COALESCE(cell, run_id)) AS n_cell FROM cand
  QUALIFY {group}row_number() OVER (PARTITION BY COALESCE(cell, run_id)
                                    ORDER BY start_time DESC, run_id) = 1),
ordered AS (
  SELECT g.run_id, g.n_cell, count(*) OVER () AS total,
         row_number() OVER (ORDER BY {order}) AS pos
  FROM grouped AS g JOIN runs AS r ON r.run_id = g.run_id {join}),
page AS (SELECT * FROM ordered WHERE pos > ? AND pos <= ?),
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
SELECT p.pos, p.total, p.n_cell, r.run_id, r.run_name, r.status, r.start_time, r.end_time,
       r.user_id, v.kinds, v.keys, v.nums, v.texts{_catalogue_column() if catalogue else ""}
FROM page AS p JOIN runs AS r ON r.run_id = p.run_id LEFT JOIN packed AS v ON v.run_id = p.run_id
ORDER BY p.pos"""
    if catalogue:
        sql = sql.replace("\nSELECT p.pos,", "\n" + _CATALOGUE_CTE + "SELECT p.pos,", 1)
    return sql, params


_CATALOGUE_CTE = """, cat AS (
  SELECT 'param' AS kind, key, count(*) AS n,
         bool_and(TRY_CAST(value AS DOUBLE) IS NOT NULL) AS numeric FROM params
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key
  UNION ALL SELECT 'metric', key, count(*), TRUE FROM latest_metrics
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key
  UNION ALL SELECT 'tag', key, count(*), FALSE FROM tags
  WHERE run_id IN (SELECT run_id FROM grouped) GROUP BY key)
"""


def _catalogue_column() -> str:
    return ",\n       (SELECT list({'kind': kind, 'key': key, 'n': n, 'numeric': numeric} ORDER BY kind, key) FROM cat) AS catalogue"


def fetch_page(experiments: list[str], filter_string: str | None = None, sort_id: str | None = None,
               descending: bool = True, page: int = 0, page_size: int = 50,
               group_by_cell: bool = False, catalogue: bool = False) -> Page:
    """Fetch one page of runs (and optionally the key catalogue) in a single query.

    A page past the end is clamped to the last page. Raises InvalidFilter on a bad filter.
    """
    started = time.perf_counter()
    offset = max(page, 0) * page_size
    sql, params = build_page_sql(experiments, filter_string, sort_id, descending, offset, page_size,
                                 group_by_cell, catalogue)
    frame = fluent.sql(sql, params)
    if not len(frame) and offset > 0:
        # past the end (runs were deleted or the filter narrowed): clamp to the last page
        sql, params = build_page_sql(experiments, filter_string, sort_id, descending, 0, 1,
                                     group_by_cell, False)
        head = fluent.sql(sql, params)
        total = int(head["total"].iloc[0]) if len(head) else 0
        last = max(total - 1, 0) // page_size
        return fetch_page(experiments, filter_string, sort_id, descending, last, page_size,
                          group_by_cell, catalogue)
    rows = [_row(rec) for rec in frame.itertuples(index=False)]
    columns = None
    if catalogue:
        columns = _columns_from(frame["catalogue"].iloc[0] if len(frame) else None)
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return Page(rows, total, offset, columns, time.perf_counter() - started,
                [r["run_id"] for r in rows])


def _row(rec: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": rec.run_id, "attr:run_id": rec.run_id, "attr:run_name": rec.run_name,
        "attr:status": rec.status, "attr:start_time": _int_or_none(rec.start_time),
        "attr:end_time": _int_or_none(rec.end_time), "attr:user_id": rec.user_id,
        "n_cell": int(rec.n_cell),
    }
    start, end = row["attr:start_time"], row["attr:end_time"]
    if start is not None:
        row["attr:duration"] = (end if end is not None else int(time.time() * 1000)) - start
    kinds = rec.kinds if rec.kinds is not None else ()
    for kind, key, num, text in zip(kinds, rec.keys, rec.nums, rec.texts, strict=True):
        row[f"{kind}:{key}"] = num if kind == "metric" else text
    return row


def _int_or_none(value: Any) -> int | None:
    return None if _isnull(value) else int(value)


def _columns_from(catalogue: Any) -> list[Column]:
    columns = [Column(cid, label, "attr") for cid, (label, _) in ATTRIBUTES.items()]
    for item in catalogue if catalogue is not None else ():
        kind, key = item["kind"], item["key"]
        columns.append(Column(f"{kind}:{key}", key, kind, int(item["n"]), bool(item["numeric"])))
    return columns


def default_columns(columns: Iterable[Column], limit_each: int = 8) -> list[str]:
    """Columns shown before the user picks: name, status, times, then params and metrics."""
    chosen = ["attr:run_name", "attr:status", "attr:start_time", "attr:duration"]
    by_kind: dict[str, list[Column]] = {"param": [], "metric": [], "tag": []}
    for col in columns:
        if col.kind in by_kind and not (col.kind == "tag" and col.key.startswith(_HIDDEN_TAG_PREFIXES)):
            by_kind[col.kind].append(col)
    for kind in ("param", "metric"):
        common = sorted(by_kind[kind], key=lambda c: (-c.count, c.key))[:limit_each]
        chosen += sorted(c.id for c in common)
    return chosen


def fingerprint(experiments: list[str]) -> tuple[Any, ...]:
    """A cheap summary that changes when runs are added, end, or running runs log new steps.

    (runs, newest start, newest end, running runs, steps logged by the running runs)
    """
    frame = fluent.sql(
        "WITH r AS (SELECT run_id, start_time, end_time, status FROM runs "
        "           WHERE experiment_id IN (SELECT unnest(?)) AND lifecycle_stage = 'active') "
        "SELECT count(*) AS n, max(start_time) AS s, max(end_time) AS e, "
        "       count(*) FILTER (WHERE status = 'RUNNING') AS live, "
        "       (SELECT sum(step) + count(*) FROM latest_metrics "
        "        WHERE run_id IN (SELECT run_id FROM r WHERE status = 'RUNNING')) AS progress "
        "FROM r", [experiments])
    return tuple(None if _isnull(v) else int(v) for v in frame.iloc[0].tolist())


def _isnull(value: Any) -> bool:
    """None, NaN or pandas' NA (what a NULL BIGINT becomes in a nullable column)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NA are not equal to themselves
    except TypeError:
        return True  # pd.NA: its comparison is ambiguous


# -- formatting shared by the widget and the static HTML ------------------------------------
def format_value(column_id: str, value: Any) -> str:
    """Text for one cell: numbers to 4-5 significant digits, times local, durations short."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column_id == "attr:start_time":
        return datetime.fromtimestamp(value / 1000).strftime("%Y-%m-%d %H:%M:%S")
    if column_id == "attr:duration":
        return format_duration(value)
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def format_number(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.4g}"
    return f"{value:.5g}"


def format_duration(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 1:
        return f"{ms:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"



# -- wide frames for parallel coordinates and compare ---------------------------------------
def key_stats(experiments: list[str], filter_string: str | None = None) -> Any:
    """Per param/metric key among the matching runs: kind, key, runs having it, distinct values,
    whether every value is numeric. One query."""
    query = compile_run_search(filter_string, None, experiments, ("active",))
    return fluent.sql(f"""
WITH matched AS ({query.sql})
SELECT 'param' AS kind, key, count(*) AS n, count(DISTINCT value) AS distinct_values,
       bool_and(TRY_CAST(value AS DOUBLE) IS NOT NULL) AS numeric
FROM params WHERE run_id IN (SELECT run_id FROM matched) GROUP BY key
UNION ALL
SELECT 'metric', key, count(*), count(DISTINCT value), TRUE
FROM latest_metrics WHERE run_id IN (SELECT run_id FROM matched) GROUP BY key
ORDER BY kind DESC, key""", list(query.params))


def fetch_wide(experiments: list[str] | None, filter_string: str | None, params: Sequence[str],
               metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None = None,
               order_metric: str | None = None) -> tuple[Any, int]:
    """One row per run (run_id, run_name, status, start_time, then ``param:k``/``metric:k``).

    Runs come from the filter (newest first, or best ``order_metric`` first; at most
    ``limit``) or from ``run_ids`` (in that order). Returns the frame and how many runs
    matched in all, so a cap is never silent. Pivoted in DuckDB: one query.
    """
    scope_params: list[Any]
    if run_ids is not None:
        scope_sql, scope_params = "SELECT unnest(?::VARCHAR[]) AS run_id", [list(run_ids)]
        order = "array_position(?::VARCHAR[], r.run_id)"
        order_params: list[Any] = [list(run_ids)]
        join = ""
    else:
        query = compile_run_search(filter_string, None, experiments or [], ("active",))
        scope_sql, scope_params = query.sql, list(query.params)
        order, order_params, join = "r.start_time DESC, r.run_id", [], ""
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
    ordered_params = [*scope_params, *order_params, int(limit)]
    frame = fluent.sql(f"""
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
                       [*ordered_params, list(params), list(metrics), *pivot_params])
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    names = {f"p{i}": f"param:{k}" for i, k in enumerate(params)}
    names |= {f"m{i}": f"metric:{k}" for i, k in enumerate(metrics)}
    return frame.drop(columns=["total"]).rename(columns=names), total
