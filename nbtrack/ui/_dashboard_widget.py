"""The ipywidgets version of ``nbtrack.dashboard()`` (front ends without nbtrack's extension).

Ticking runs in the table or brushing an axis selects them everywhere: the table marks
them, parallel coordinates greys out the rest, the chart draws them. With nothing
selected the chart shows the first runs of the table's page. A background poll (one
cheap query) notices runs created, ended or logging in any process and refreshes.
"""

from __future__ import annotations

import time
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as W

from nbtrack.ui import _data, _live, _static
from nbtrack.ui._base import with_static
from nbtrack.ui._chart_widget import MetricChart
from nbtrack.ui._parcoords_widget import ParallelCoordinates
from nbtrack.ui._selection import Selection
from nbtrack.ui._table_widget import RunsTable
from nbtrack.ui.dashboard import default_metric

__all__ = ["Dashboard"]

_PARCOORDS_EVERY = 10.0  # seconds: metric values alone refresh parallel coordinates this rarely


class Dashboard(W.VBox):
    """The linked views of one experiment; build it with :func:`dashboard`."""

    def __init__(self, experiment: Any = None, filter: str = "", *, refresh: float = 2.0, max_runs: int = 2000,
                 chart_runs: int = 10, metric: str | None = None, group_by_cell: bool = False) -> None:
        self.selection = Selection()
        self.experiment_ids = _data.experiment_ids(experiment)
        self.refresh_interval = refresh
        self.chart_runs = chart_runs
        self.table = RunsTable(self.experiment_ids, filter, selection=self.selection, group_by_cell=group_by_cell)
        self.parcoords = ParallelCoordinates(experiment=self.experiment_ids, filter=filter,
                                             selection=self.selection, max_runs=max_runs)
        keys = self._metric_keys()
        if metric not in keys:
            metric = default_metric(self.table.page_run_ids, keys)
        self.metric = W.Dropdown(options=keys, value=metric,
                                 description="metric", layout=W.Layout(width="280px"))
        self.chart = MetricChart(None, [self.metric.value] if self.metric.value else None,
                                 selection=self.selection, fallback_runs=self._fallback_runs, max_runs=chart_runs)
        self.header = W.HTML()
        super().__init__([self.header, self.table, self.parcoords, self.metric, self.chart])
        self.add_class("nbtrack-dashboard")
        self.table.observe(self._on_table_query, names=["filter", "page", "sort", "descending", "group_by_cell"])
        self.metric.observe(lambda change: self.chart.set_keys(change["new"]), names="value")
        self._fingerprint = _data.fingerprint(self.experiment_ids)
        self._parcoords_at = time.monotonic()
        self.refreshes = 0
        self._update_header()
        if refresh and refresh > 0:
            _live.schedule(self, refresh)

    def __repr__(self) -> str:
        return f"Dashboard(experiments={self.experiment_ids}, runs={self.table.total})"

    def _metric_keys(self) -> list[str]:
        """Metric keys of the runs in the table, from the column catalogue it already fetched."""
        return sorted(c["label"] for c in self.table.catalogue if c["kind"] == "metric")

    def _fallback_runs(self) -> list[str]:
        return self.table.page_run_ids[: self.chart_runs]

    def _on_table_query(self, change: dict[str, Any]) -> None:
        if change["name"] == "filter" and not self.table.filter_error:
            self.parcoords.refresh(filter=self.table.filter)
        if not len(self.selection):
            self.chart.set_runs(None)

    def _poll(self) -> float | None:
        """Refresh what changed since the last poll; runs from any process show up here."""
        fingerprint = _data.fingerprint(self.experiment_ids)
        if fingerprint != self._fingerprint:
            runs_changed = fingerprint[:4] != self._fingerprint[:4]  # count, starts, ends, live
            self._fingerprint = fingerprint
            self.table.refresh(catalogue=runs_changed)
            if runs_changed or time.monotonic() - self._parcoords_at > _PARCOORDS_EVERY:
                self.parcoords.refresh()
                self._parcoords_at = time.monotonic()
                keys = self._metric_keys()
                if keys != list(self.metric.options):
                    current = self.metric.value
                    self.metric.options = keys
                    if current in keys:
                        self.metric.value = current
            if not len(self.selection):
                self.chart.set_runs(None)
            else:
                self.chart._schedule_live()
            self.refreshes += 1
            self._update_header()
        return self.refresh_interval if self.refresh_interval > 0 else None

    def stop(self) -> None:
        """Stop refreshing (the views stay as they are)."""
        _live.unschedule(self)
        _live.unschedule(self.chart)
        self.refresh_interval = 0

    def close(self) -> None:
        self.stop()
        for view in (self.table, self.parcoords, self.chart):
            view.close()
        super().close()

    def _update_header(self) -> None:
        live = self._fingerprint[3] or 0
        now = datetime.now().strftime("%H:%M:%S")
        names = ", ".join(self._experiment_names())
        state = f" · {live} running" if live else ""
        self.header.value = (f'<div style="font-size:13px"><b>nbtrack dashboard</b> · {escape(names)} · '
                             f'{self.table.total:,} runs{state} · <span style="color:#888">updated {now}</span></div>')

    def _experiment_names(self) -> list[str]:
        if not hasattr(self, "_names"):
            from nbtrack.tracking import fluent

            self._names = [fluent.get_experiment(e).name for e in self.experiment_ids]
        return self._names

    def static_html(self) -> str:
        return (self.header.value + self.table.static_html(limit=30)
                + self.parcoords.static_html() + self.chart.static_html()
                + _static.note("Static copy of an nbtrack dashboard; run the cell for the live, linked views."))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_static(super()._repr_mimebundle_(**kwargs), self.static_html())
