"""``nbtrack.compare(run_ids)``: runs side by side, differences highlighted, best marked.

Params and tags whose values differ between the runs are highlighted; for each metric the best
run is marked, higher being better unless the name says otherwise (loss, error, mse, ...) or
``higher_is_better`` does. Below, the histories of the runs' metrics are overlaid, one panel per
metric. The kernel sends the table's rows and the chart's downsampled histories as the view's
data (drawn by ``extension/src/views/compare.ts``); front ends without nbtrack's extension get the
ipywidget of :mod:`._compare_widget`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.ui._base import callable_module
from nbtrack.ui._mime import View
from nbtrack.ui._selection import PALETTE, Selection, run_ids_of
from nbtrack.ui.chart import Histories, read_histories, static_chart

__all__ = ["CompareView", "compare", "lower_is_better"]

_LOWER = re.compile(r"loss|err|mse|mae|rmse|perplex|ppl|wer|cer|latency|time|duration|cost|regret", re.I)
_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:12px"
_CELL = "padding:2px 10px;border-bottom:1px solid #eee;white-space:nowrap"
MISSING = "\u2014"
MAX_CHART_KEYS = 12


def lower_is_better(key: str) -> bool:
    """Guess a metric's direction from its name: ``val_loss`` -> True, ``accuracy`` -> False."""
    return bool(_LOWER.search(key))


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pandas' NA
    except TypeError:
        return True


def _number(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


def _text(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.5g}"


class CompareView(View):
    """What :func:`compare` returns: the compared runs' rows and histories for nbtrack's JupyterLab
    extension, or the :class:`~nbtrack.ui._compare_widget.Compare` widget where it is missing."""

    view = "compare"

    def __init__(self, runs: Any, keys: Sequence[str] | None = None, *,
                 higher_is_better: Mapping[str, bool] | None = None, selection: Selection | None = None,
                 chart: bool = True) -> None:
        super().__init__()
        self.run_ids = list(dict.fromkeys(run_ids_of(runs)))
        if not self.run_ids:
            raise InvalidParameter("compare() needs at least one run id")
        self.higher_is_better = dict(higher_is_better or {})
        self._selection, self._keys, self._chart = selection, list(keys) if keys else None, chart
        self._read()
        self._fresh = True  # read just now: the display in the same cell need not read again

    def __repr__(self) -> str:
        return f"Compare({self.run_ids})"

    def _read(self) -> None:
        from nbtrack.tracking import fluent
        from nbtrack.ui import _data

        keys_frame = _data.key_stats([], None, self.run_ids)
        self.params = sorted(keys_frame[keys_frame["kind"] == "param"]["key"].tolist())
        self.metrics = sorted(keys_frame[keys_frame["kind"] == "metric"]["key"].tolist())
        frame, _ = _data.fetch_wide(None, None, self.params, self.metrics, len(self.run_ids), run_ids=self.run_ids)
        _data.require_runs(self.run_ids, found=frame["run_id"])
        runs = {run.info.run_id: run for run in fluent.active_store().runs_by_ids(self.run_ids)}  # one query
        self.rows: list[dict[str, Any]] = []
        for rec in frame.to_dict("records"):
            tags = {k: v for k, v in runs[rec["run_id"]].data.tags.items() if not k.startswith("mlflow.")}
            self.rows.append({
                "run_id": rec["run_id"], "name": rec["run_name"] or rec["run_id"][:8], "status": rec["status"],
                "start_time": None if is_missing(rec["start_time"]) else int(rec["start_time"]),
                "params": {k: _text(rec[f"param:{k}"]) for k in self.params},
                "metrics": {k: _number(rec[f"metric:{k}"]) for k in self.metrics},
                "tags": dict(sorted(tags.items())),
            })
        self.tags = sorted({k for r in self.rows for k in r["tags"]})
        self.histories: Histories | None = None
        if self._chart and self.metrics:
            chart_keys = self._keys or self.metrics[:MAX_CHART_KEYS]
            self.histories = read_histories(self.run_ids, chart_keys, "step", 400, len(self.run_ids))

    # -- what differs, what is best --------------------------------------------------------------
    def higher(self, key: str) -> bool:
        return self.higher_is_better.get(key, not lower_is_better(key))

    def differing_params(self) -> list[str]:
        """Param keys whose value is not the same in every compared run (missing counts)."""
        return [k for k in self.params if len({r["params"][k] for r in self.rows}) > 1]

    def differing_tags(self) -> list[str]:
        return [k for k in self.tags if len({r["tags"].get(k) for r in self.rows}) > 1]

    def best_runs(self) -> dict[str, str]:
        """metric key -> run id with the best latest value (NaN and missing never win)."""
        best = {}
        for key in self.metrics:
            valid = [(r["metrics"][key], r["run_id"]) for r in self.rows
                     if r["metrics"][key] is not None and not math.isnan(r["metrics"][key])]
            if valid:
                pick = max if self.higher(key) else min
                best[key] = pick(valid, key=lambda pair: pair[0])[1]
        return best

    # -- the view ----------------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"keys": self._keys, "higher_is_better": self.higher_is_better, "chart": self._chart}

    def data(self) -> dict[str, Any]:
        from nbtrack.store.wire import number_to_wire

        rows = [{**r, "metrics": {k: None if v is None else number_to_wire(v) for k, v in r["metrics"].items()}}
                for r in self.rows]
        return {"runs": rows, "params": self.params, "metrics": self.metrics, "tags": self.tags,
                "higher": {k: self.higher(k) for k in self.metrics},
                "chart": self.histories.wire() if self.histories is not None else None}

    def static_html(self) -> str:
        chart = static_chart(self.histories) if self.histories is not None else ""
        return self._table_html() + chart

    def _table_html(self) -> str:
        header = "".join(
            f'<th style="{_CELL};text-align:left;border-bottom:2px solid #ccc">'
            f'<span style="display:inline-block;width:10px;height:10px;background:{PALETTE[i % len(PALETTE)]};'
            f'margin-right:4px"></span>{escape(str(r["name"]))}'
            f'<div style="color:#888;font-weight:normal">{escape(r["run_id"][:8])}</div></th>'
            for i, r in enumerate(self.rows))
        n = len(self.rows)
        started = [datetime.fromtimestamp(r["start_time"] / 1000).strftime("%Y-%m-%d %H:%M:%S")
                   if r["start_time"] is not None else None for r in self.rows]
        out = [_section("Attributes", n), _row("status", [r["status"] for r in self.rows], False),
               _row("started", started, False)]
        differing = set(self.differing_params())
        out.append(_section(f"Params ({len(differing)} of {len(self.params)} differ)", n))
        out += [_row(k, [r["params"][k] for r in self.rows], k in differing) for k in self.params]
        best = self.best_runs()
        out.append(_section("Metrics (latest value; ★ best)", n))
        for key in self.metrics:
            cells = "".join(
                f'<td style="{_CELL};{"font-weight:700;color:#1b5e20" if best.get(key) == r["run_id"] else ""}">'
                f'{escape(_fmt(r["metrics"][key]))}{" ★" if best.get(key) == r["run_id"] else ""}</td>'
                for r in self.rows)
            out.append(f'<tr><td style="{_CELL};color:#555">{escape(key)} {"↑" if self.higher(key) else "↓"}'
                       f"</td>{cells}</tr>")
        if self.tags:
            tags_differing = set(self.differing_tags())
            out.append(_section(f"Tags ({len(tags_differing)} of {len(self.tags)} differ)", n))
            out += [_row(k, [r["tags"].get(k) for r in self.rows], k in tags_differing) for k in self.tags]
        return (f'<table style="border-collapse:collapse;{_FONT}"><thead><tr><th style="{_CELL}"></th>{header}'
                f'</tr></thead><tbody>{"".join(out)}</tbody></table>')

    def make_widget(self) -> Any:
        from nbtrack.ui._compare_widget import Compare

        return Compare(self.run_ids, self._keys, higher_is_better=self.higher_is_better, selection=self._selection,
                       chart=self._chart)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        if not self._fresh:
            self._read()  # a later display shows the runs as they are now
        self._fresh = False
        return super()._repr_mimebundle_(include=include, exclude=exclude)


def _section(title: str, n: int) -> str:
    return f'<tr><td colspan="{n + 1}" style="{_CELL};font-weight:600;background:#f4f4f4">{escape(title)}</td></tr>'


def _row(key: str, values: list[Any], differs: bool) -> str:
    style = "background:#fff3c4" if differs else ""
    cells = "".join(f'<td style="{_CELL}">{escape(MISSING if v is None else str(v))}</td>' for v in values)
    return f'<tr style="{style}" data-differs="{int(differs)}"><td style="{_CELL};color:#555">{escape(key)}</td>{cells}</tr>'


def compare(run_ids: Any, keys: Sequence[str] | None = None, *,
            higher_is_better: Mapping[str, bool] | None = None, chart: bool = True) -> CompareView:
    """Compare runs side by side: params (differences highlighted), metrics (best marked), histories.

    Parameters
    ----------
    run_ids
        Run ids, ``Run`` objects, a ``search_runs`` DataFrame or a Selection.
    keys
        Metrics whose histories are overlaid (default: the runs' metrics, up to 12; the widget
        of front ends without nbtrack's extension shows up to 4).
    higher_is_better
        Per-metric direction, e.g. ``{"f1": True, "val_loss": False}``; by default names with
        loss/error/mse/... are lower-is-better, everything else higher-is-better.
    chart
        Overlay the histories below the table.

    Examples
    --------
    >>> nbtrack.compare(table.selected_run_ids)  # doctest: +SKIP
    """
    return CompareView(run_ids, keys, higher_is_better=higher_is_better, chart=chart)


def __getattr__(name: str) -> Any:
    if name == "Compare":  # the widget class (imports ipywidgets)
        from nbtrack.ui._compare_widget import Compare

        return Compare
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


callable_module(__name__, "compare")
