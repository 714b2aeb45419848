"""``nbtrack.dashboard()``: table, metric chart and parallel coordinates sharing one selection.

The view sends what its three parts need (the table's first page, the chart's histories for the
default metric, the runs' values for parallel coordinates) in one output; nbtrack's JupyterLab
extension draws them linked (``extension/src/views/dashboard.ts``): ticking runs in the table or
brushing an axis selects them everywhere. Where the front end lacks the extension, the ipywidgets
version (``_dashboard_widget``) does the same through the kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from nbtrack.ui import _data, _static
from nbtrack.ui._base import callable_module
from nbtrack.ui._mime import View
from nbtrack.ui._selection import Selection
from nbtrack.ui.parcoords import ParallelCoordinatesView
from nbtrack.ui.table import RunsTableView

__all__ = ["DashboardView", "dashboard", "default_metric"]


def default_metric(run_ids: Sequence[str], keys: Sequence[str]) -> str | None:
    """The metric to chart first: one most runs logged at more than one step (a history to draw),
    then the one most runs have, then by name. A metric logged once per run draws no line."""
    keys = list(keys)[:100]
    if not keys or not run_ids:
        return keys[0] if keys else None
    frame = _data.fluent.active_store().metric_buckets(list(run_ids)[:200], keys, "step", 1)
    frame = frame[frame["bucket"] >= 0]
    scores = []
    for key in keys:
        points = frame.loc[frame["key"] == key, "n"]
        scores.append((-int((points > 1).sum()), -len(points), key))
    return min(scores)[2]


class DashboardView(View):
    """The linked views of one experiment as data for nbtrack's JupyterLab extension (or its widget)."""

    view = "dashboard"

    def __init__(self, experiment: Any = None, filter: str = "", *, refresh: float = 2.0, max_runs: int = 2000,
                 chart_runs: int = 10, metric: str | None = None, group_by_cell: bool = False) -> None:
        super().__init__()
        self.experiment_ids = _data.experiment_ids(experiment)
        self.filter, self.refresh, self.max_runs = filter, refresh, max_runs
        self.chart_runs, self.group_by_cell, self._metric_arg = chart_runs, group_by_cell, metric
        self.selection = Selection()
        self.selection_id = self.selection.id
        self.table = RunsTableView(self.experiment_ids, filter, group_by_cell=group_by_cell, selection=self.selection)
        self.parcoords = ParallelCoordinatesView(experiment=self.experiment_ids, filter=filter,
                                                 selection=self.selection, max_runs=max_runs)
        self._chart: Any = None
        self._metric: str | None = None

    def __repr__(self) -> str:
        return f"Dashboard(experiments={self.experiment_ids}, runs={self.table._page().total})"

    @property
    def metric(self) -> str | None:
        """The metric charted first: the one asked for, else one with a history."""
        if self._metric is None:
            page = self.table._page()
            keys = sorted(c.key for c in page.columns or [] if c.kind == "metric")
            wanted = self._metric_arg
            self._metric = wanted if wanted in keys else default_metric(page.run_ids[: max(self.chart_runs, 50)], keys)
        return self._metric

    @property
    def chart(self) -> Any:
        """The metric chart view of the table's first runs (``nbtrack.ui.chart``)."""
        if self._chart is None:
            from nbtrack.ui.chart import metric_chart

            runs = self.table._page().run_ids[: self.chart_runs]
            self._chart = metric_chart(runs, [self.metric] if self.metric else None, max_runs=self.chart_runs)
        return self._chart

    def options(self) -> dict[str, Any]:
        page = self.table._page()
        return {"experiment_ids": self.experiment_ids, "filter": self.filter, "refresh": self.refresh,
                "max_runs": self.max_runs, "chart_runs": self.chart_runs, "group_by_cell": self.group_by_cell,
                "metric": self.metric,
                "metrics": sorted(c.key for c in page.columns or [] if c.kind == "metric")}

    def data(self) -> dict[str, Any]:
        part = {}
        for name, view in (("table", self.table), ("parcoords", self.parcoords), ("chart", self.chart)):
            part[name] = {"view": view.view, "options": view.options(), "data": view.data()} \
                if isinstance(view, View) else None
        return part

    def static_html(self) -> str:
        names = ", ".join(_data.fluent.get_experiment(e).name for e in self.experiment_ids)
        header = f'<div style="font-size:13px"><b>nbtrack dashboard</b> · {escape(names)}</div>'
        chart = self.chart.static_html() if hasattr(self.chart, "static_html") else ""
        return (header + self.table.static_html(limit=30) + self.parcoords.static_html() + chart
                + _static.note("Static copy of an nbtrack dashboard; run the cell for the live, linked views."))

    def make_widget(self) -> Any:
        from nbtrack.ui._dashboard_widget import Dashboard

        return Dashboard(self.experiment_ids, self.filter, refresh=self.refresh, max_runs=self.max_runs,
                         chart_runs=self.chart_runs, metric=self._metric_arg, group_by_cell=self.group_by_cell)


def __getattr__(name: str) -> Any:
    if name == "Dashboard":  # the widget, for code that named it here
        from nbtrack.ui._dashboard_widget import Dashboard

        return Dashboard
    raise AttributeError(name)


def dashboard(experiment: Any = None, filter: str = "", *, refresh: float = 2.0, max_runs: int = 2000,
              chart_runs: int = 10, metric: str | None = None, group_by_cell: bool = False) -> DashboardView:
    """Table + metric chart + parallel coordinates of an experiment, with linked selection.

    Parameters
    ----------
    experiment
        Name or id (default: the active experiment).
    filter
        Initial ``search_runs`` filter (editable in the table).
    refresh
        Seconds between checks for new runs or values from any process (0: never).
    max_runs
        Most runs drawn in parallel coordinates (the newest; the rest are counted).
    chart_runs
        Runs charted when nothing is selected (the first of the table's page).
    metric
        Metric charted first (a menu switches); default: one most runs logged at several steps.

    Examples
    --------
    >>> nbtrack.dashboard("mnist")  # doctest: +SKIP
    """
    return DashboardView(experiment, filter, refresh=refresh, max_runs=max_runs, chart_runs=chart_runs,
                         metric=metric, group_by_cell=group_by_cell)


callable_module(__name__, "dashboard")
