"""Data shaping for the run table: one store call per page (``Store.runs_page``).

The store filters, groups the latest run per cell, sorts, cuts the page window and (when asked)
lists the param/metric/tag keys for the column chooser; only the rows of one page ever leave it
(the DuckDB file, or a tracking server), so opening a 10,000-run experiment costs the same as
opening a 50-run one. This module turns those rows into table rows and formats values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbtrack.tracking import fluent

__all__ = [
    "ATTRIBUTES", "CELL_TAG", "MISSING", "Column", "Page", "default_columns", "experiment_ids",
    "fetch_page", "fetch_wide", "fingerprint", "format_duration", "format_number", "format_value",
    "key_stats", "page_of",
]

#: What a table shows for a run without a value (not "nan", not an empty cell).
MISSING = "\u2014"

#: The tag the notebook layer writes on every run started by a cell (nbformat cell id).
CELL_TAG = "nbtrack.cell_id"

#: Attribute columns: id -> label (the store sorts by each of them).
ATTRIBUTES = {
    "attr:run_name": "Run",
    "attr:status": "Status",
    "attr:start_time": "Started",
    "attr:duration": "Duration",
    "attr:user_id": "User",
    "attr:run_id": "Run ID",
}
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
        return [fluent.active_experiment_id()]
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


def fetch_page(experiments: list[str], filter_string: str | None = None, sort_id: str | None = None,
               descending: bool = True, page: int = 0, page_size: int = 50,
               group_by_cell: bool = False, catalogue: bool = False) -> Page:
    """Fetch one page of runs (and optionally the key catalogue) in a single query.

    A page past the end is clamped to the last page. Raises InvalidFilter on a bad filter.
    """
    started = time.perf_counter()
    offset = max(page, 0) * page_size
    store = fluent.active_store()
    group = CELL_TAG if group_by_cell else None
    frame = store.runs_page(experiments, filter_string, sort_id, descending, offset, page_size, group, catalogue)
    if not len(frame) and offset > 0:
        # past the end (runs were deleted or the filter narrowed): clamp to the last page
        head = store.runs_page(experiments, filter_string, sort_id, descending, 0, 1, group, False)
        total = int(head["total"].iloc[0]) if len(head) else 0
        last = max(total - 1, 0) // page_size
        return fetch_page(experiments, filter_string, sort_id, descending, last, page_size,
                          group_by_cell, catalogue)
    return page_of(frame, offset, catalogue, time.perf_counter() - started)


def page_of(frame: Any, offset: int, catalogue: bool, seconds: float = 0.0) -> Page:
    """A :class:`Page` from the frame ``Store.runs_page`` returned."""
    rows = [_row(rec) for rec in frame.itertuples(index=False)]
    columns = None
    if catalogue:
        columns = _columns_from(frame["catalogue"].iloc[0] if len(frame) else None)
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return Page(rows, total, offset, columns, seconds, [r["run_id"] for r in rows])


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
    columns = [Column(cid, label, "attr") for cid, label in ATTRIBUTES.items()]
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
    return fluent.active_store().runs_fingerprint(experiments)


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
        return MISSING
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
def key_stats(experiments: list[str], filter_string: str | None = None,
              run_ids: Sequence[str] | None = None) -> Any:
    """Per param/metric key among the matching runs (or ``run_ids``): kind, key, runs having it,
    distinct values, whether every value is numeric. One store call."""
    return fluent.active_store().key_stats(experiments, filter_string, run_ids)


def fetch_wide(experiments: list[str] | None, filter_string: str | None, params: Sequence[str],
               metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None = None,
               order_metric: str | None = None) -> tuple[Any, int]:
    """One row per run (run_id, run_name, status, start_time, then ``param:k``/``metric:k``).

    Runs come from the filter (newest first, or best ``order_metric`` first; at most
    ``limit``) or from ``run_ids`` (in that order). Returns the frame and how many runs
    matched in all, so a cap is never silent. Pivoted in the store: one call.
    """
    frame = fluent.active_store().runs_wide(experiments or [], filter_string, params, metrics, int(limit),
                                            run_ids, order_metric)
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return frame.drop(columns=["total"]), total


def require_runs(run_ids: Sequence[str], found: Iterable[str] | None = None) -> None:
    """Raise NotFound naming the ids in ``run_ids`` that are no run of the store (``found``: the
    ids already known to exist, so only the others are looked up)."""
    known = set(found) if found is not None else set()
    unknown = [r for r in dict.fromkeys(run_ids) if r not in known]
    if unknown:
        frame, _ = fetch_wide(None, None, [], [], len(unknown), run_ids=unknown)
        missing = [r for r in unknown if r not in set(frame["run_id"])]
        if missing:
            from nbtrack.errors import NotFound

            raise NotFound(f"Run(s) {missing} not found. Check the ids, or search with nbtrack.search_runs().")
