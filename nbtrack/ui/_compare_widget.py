"""The compare view as an ipywidget: the fallback of ``nbtrack.compare()`` (:mod:`.compare`) where the
front end has no nbtrack extension.

Params whose values differ between the runs are highlighted (and "only differences" hides
the rest); for each metric the best run is marked, higher being better unless the name
says otherwise (loss, error, mse, ...) or ``higher_is_better`` does. Below, the histories
of the runs are overlaid in a :class:`~nbtrack.ui.chart.MetricChart`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import ipywidgets as W

from nbtrack.errors import InvalidParameter
from nbtrack.ui import _data
from nbtrack.ui._base import with_static
from nbtrack.ui._chart_widget import MetricChart
from nbtrack.ui._selection import Selection, run_ids_of
from nbtrack.ui.compare import MISSING, is_missing, lower_is_better

__all__ = ["Compare"]

_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:12px"
_CELL = "padding:2px 10px;border-bottom:1px solid #eee;white-space:nowrap"


class Compare(W.VBox):
    """Side-by-side params and metrics of a few runs, with their histories overlaid."""

    def __init__(self, runs: Any, keys: Sequence[str] | None = None, *,
                 higher_is_better: Mapping[str, bool] | None = None, selection: Selection | None = None,
                 chart: bool = True) -> None:
        self.run_ids = run_ids_of(runs)
        if not self.run_ids:
            raise InvalidParameter("compare() needs at least one run id")
        self.higher_is_better = dict(higher_is_better or {})
        self.selection = selection if selection is not None else Selection()
        keys_frame = _data.key_stats([], None, self.run_ids)
        self.params = sorted(keys_frame[keys_frame["kind"] == "param"]["key"].tolist())
        self.metrics = sorted(keys_frame[keys_frame["kind"] == "metric"]["key"].tolist())
        self.frame, _ = _data.fetch_wide(None, None, self.params, self.metrics, len(self.run_ids),
                                         run_ids=self.run_ids)
        _data.require_runs(self.run_ids, found=self.frame["run_id"])
        self.only_differences = W.Checkbox(value=False, description="only differing params", indent=False)
        self.tables = W.HTML(self._tables_html())
        self.only_differences.observe(lambda _: setattr(self.tables, "value", self._tables_html()), names="value")
        children: list[Any] = [self.only_differences, self.tables]
        self.chart: MetricChart | None = None
        if chart and self.metrics:
            chart_keys = list(keys) if keys else self.metrics[:4]
            self.chart = MetricChart(self.run_ids, chart_keys, selection=self.selection,
                                     max_runs=len(self.run_ids))
            children.append(self.chart)
        super().__init__(children)
        self.add_class("nbtrack-compare")

    def __repr__(self) -> str:
        return f"Compare({self.run_ids})"

    def differing_params(self) -> list[str]:
        """Param keys whose value is not the same in every compared run (missing counts)."""
        out = []
        for key in self.params:
            values = {None if is_missing(v) else str(v) for v in self.frame[f"param:{key}"]}
            if len(values) > 1:
                out.append(key)
        return out

    def best_runs(self) -> dict[str, str]:
        """metric key -> run id with the best latest value."""
        best = {}
        for key in self.metrics:
            column = self.frame[f"metric:{key}"]
            valid = column.dropna()
            if not len(valid):
                continue
            higher = self.higher_is_better.get(key, not lower_is_better(key))
            index = valid.idxmax() if higher else valid.idxmin()
            best[key] = self.frame["run_id"][index]
        return best

    def _tables_html(self) -> str:
        runs = self.frame.to_dict("records")
        header = "".join(
            f'<th style="{_CELL};text-align:left;border-bottom:2px solid #ccc">'
            f'<span style="display:inline-block;width:10px;height:10px;background:{self.selection.color(r["run_id"])};'
            f'margin-right:4px"></span>{escape(str(r["run_name"] or r["run_id"][:8]))}'
            f'<div style="color:#888;font-weight:normal">{escape(r["run_id"][:8])}</div></th>'
            for r in runs)
        rows = [self._section("Attributes", len(runs))]
        rows.append(self._row("status", [r["status"] for r in runs], False))
        rows.append(self._row("started", [_data.format_value("attr:start_time", r["start_time"]) for r in runs], False))
        differing = set(self.differing_params())
        rows.append(self._section(f"Params ({len(differing)} of {len(self.params)} differ)", len(runs)))
        for key in self.params:
            if self.only_differences.value and key not in differing:
                continue
            rows.append(self._row(key, [r[f"param:{key}"] for r in runs], key in differing))
        best = self.best_runs()
        rows.append(self._section("Metrics (latest value; ★ best)", len(runs)))
        for key in self.metrics:
            cells = []
            for r in runs:
                value = r[f"metric:{key}"]
                text = _data.format_value("metric", float(value)) if value is not None else ""
                cells.append((text, best.get(key) == r["run_id"]))
            direction = "↑" if self.higher_is_better.get(key, not lower_is_better(key)) else "↓"
            rows.append(self._metric_row(f"{key} {direction}", cells))
        return (f'<table style="border-collapse:collapse;{_FONT}"><thead><tr><th style="{_CELL}"></th>{header}'
                f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')

    @staticmethod
    def _section(title: str, n: int) -> str:
        return (f'<tr><td colspan="{n + 1}" style="{_CELL};font-weight:600;background:#f4f4f4">'
                f"{escape(title)}</td></tr>")

    @staticmethod
    def _row(key: str, values: list[Any], differs: bool) -> str:
        style = "background:#fff3c4" if differs else ""
        # a param a run lacks is NaN in the wide frame: shown as the missing mark, not "nan"
        cells = "".join(f'<td style="{_CELL}">{escape(MISSING if is_missing(v) else str(v))}</td>' for v in values)
        return f'<tr style="{style}" data-differs="{int(differs)}"><td style="{_CELL};color:#555">{escape(key)}</td>{cells}</tr>'

    @staticmethod
    def _metric_row(key: str, cells: list[tuple[str, bool]]) -> str:
        out = "".join(
            f'<td style="{_CELL};{"font-weight:700;color:#1b5e20" if is_best else ""}">'
            f'{escape(text)}{" ★" if is_best else ""}</td>' for text, is_best in cells)
        return f'<tr><td style="{_CELL};color:#555">{escape(key)}</td>{out}</tr>'

    def static_html(self) -> str:
        chart = self.chart.static_html() if self.chart is not None else ""
        return self._tables_html() + chart

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_static(super()._repr_mimebundle_(**kwargs), self.static_html())
