"""``nbtrack.metric_chart()``: metric histories of several runs, overlaid, live while they log.

The kernel reads every line downsampled in the store (:mod:`._history`: a few points per pixel
column, one query) and sends those bucket rows as the view's data; nbtrack's JupyterLab extension
draws them (``extension/src/views/chart.ts``: one panel per key, zoom fetching detail, live
points appended while a run is RUNNING). No plotly or ipywidgets is imported for that: where the
front end has no extension, the ipywidget of :mod:`._chart_widget` is shown instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.ui._mime import View
from nbtrack.ui._selection import PALETTE, Selection, run_ids_of

__all__ = ["MetricChartView", "metric_chart", "run_ids_of"]

X_LABELS = {"step": "step", "relative": "time since run start (s)", "wall": "wall time"}


@dataclass
class Histories:
    """What one chart read: its runs (shown ones, in order), keys, x axis and bucket rows."""

    run_ids: list[str]
    keys: list[str]
    x_axis: str
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    frame: Any = None
    series: dict[tuple[str, str], Any] = field(default_factory=dict)
    hidden_runs: int = 0

    def wire(self) -> dict[str, Any]:
        """The chart's part of a view's data: JSON without NaN (frames in nbtrack's wire format)."""
        from nbtrack.store.wire import frame_to_wire

        runs = [{"run_id": r, "name": str(self.info[r].get("name") or r[:8]), "status": self.info[r].get("status"),
                 "start_time": _int_or_none(self.info[r].get("start_time"))} for r in self.run_ids]
        frame = self.frame
        if frame is not None:
            frame = frame.drop(columns=[c for c in ("run_name", "status", "start_time") if c in frame.columns])
        return {"runs": runs, "keys": list(self.keys), "x_axis": self.x_axis, "hidden_runs": self.hidden_runs,
                "buckets": frame_to_wire(frame, packed=True) if frame is not None else None}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read_histories(run_ids: Sequence[str], keys: Sequence[str] | None, x_axis: str, buckets: int,
                   max_runs: int) -> Histories:
    """Read the downsampled histories of up to ``max_runs`` runs (two store calls at most: the
    common keys when none are given, then the buckets with the runs' names and statuses)."""
    from nbtrack.tracking import fluent
    from nbtrack.ui import _history

    wanted = list(dict.fromkeys(run_ids))
    candidates = wanted[:max_runs]
    if keys:
        chosen = list(keys)
    elif candidates:
        chosen = sorted(fluent.active_store().top_metric_keys(candidates, 4))
    else:
        chosen = []
    out = Histories([], chosen, x_axis, hidden_runs=max(len(wanted) - max_runs, 0))
    if not candidates:
        return out
    for axis in (x_axis, "relative"):
        out.x_axis, out.info = axis, {}
        out.frame = _history.fetch_buckets(candidates, chosen, axis, None, buckets, runs_out=out.info)
        out.series = _history.assemble(out.frame)
        if not _step_axis_is_flat(axis, out.series):
            break
    from nbtrack.ui import _data

    _data.require_runs(candidates, found=out.info)  # a mistyped id is an error, not an empty chart
    out.run_ids = [r for r in candidates if r in out.info]
    return out


def _step_axis_is_flat(x_axis: str, series: dict[tuple[str, str], Any]) -> bool:
    """True when every line logged all its points at one step (log_metric without step): the
    chart then uses time since the run started, as the widget does."""
    if x_axis != "step" or not series:
        return False
    return all(s.points > 1 and float(s.x.max() - s.x.min()) == 0 for s in series.values())


def _to_display(x: Any, x_axis: str) -> Any:
    if x_axis == "relative":
        return x / 1000.0
    if x_axis == "wall":
        offset = datetime.now().astimezone().utcoffset()
        return x + (offset.total_seconds() * 1000 if offset is not None else 0.0)
    return x


def static_chart(h: Histories, smoothing: float = 0.0, log_y: bool = False) -> str:
    """The chart as an SVG image (for saved notebooks, GitHub, nbconvert)."""
    from nbtrack.ui import _history, _static

    panels = []
    for key in h.keys:
        lines = []
        for i, run_id in enumerate(h.run_ids):
            s = h.series.get((run_id, key))
            if s is None:
                continue
            name, color = h.info.get(run_id, {}).get("name", run_id[:8]), PALETTE[i % len(PALETTE)]
            lines.append(_static.Line(name, _to_display(s.x, h.x_axis), s.y, color, 0.3 if smoothing > 0 else 1.0))
            if smoothing > 0:
                lines.append(_static.Line(name, _to_display(s.mean_x, h.x_axis), _history.ema(s.mean_y, smoothing),
                                          color))
        panels.append(_static.Panel(key, lines, log_y, X_LABELS[h.x_axis]))
    if not panels:
        return _static.note("no metric history to show")
    fmt = None
    if h.x_axis == "wall":
        def fmt(v: float) -> str:
            return datetime.fromtimestamp(v / 1000, tz=UTC).strftime("%H:%M:%S")
    svg = _static.svg_lines(panels, x_format=fmt)
    alt = f"{', '.join(h.keys)} of {len(h.run_ids)} runs"
    return _static.as_img(svg, alt) + _static.note(f"{X_LABELS[h.x_axis]} · static copy of the chart")


class MetricChartView(View):
    """What :func:`metric_chart` returns: the chart's data for nbtrack's JupyterLab extension, or
    its :class:`~nbtrack.ui._chart_widget.MetricChart` widget where the front end has none.

    Widget attributes (``chart.figure``, ``chart.smoothing``, ``chart.zoom(...)``) build the
    widget on first use; ``chart.widget.data()`` is what the widget draws, as a DataFrame.
    """

    view = "metric_chart"

    def __init__(self, runs: Any = None, keys: str | Sequence[str] | None = None, *, x: str = "step",
                 smoothing: float = 0.0, log_y: bool = False, band: bool = True, live: bool = True,
                 selection: Selection | None = None, max_runs: int = 10, buckets: int = 400) -> None:
        from nbtrack.ui._history import X_AXES

        super().__init__()
        if x not in X_AXES:
            raise InvalidParameter(f"x must be one of {sorted(X_AXES)}, not {x!r}")
        self._runs, self._selection = runs, selection
        self._keys = [keys] if isinstance(keys, str) else list(keys) if keys else None
        self._args: dict[str, Any] = {"x": x, "smoothing": float(smoothing), "log_y": bool(log_y), "band": bool(band),
                                      "live": bool(live), "max_runs": int(max_runs), "buckets": int(buckets)}
        self._read: Histories | None = None

    def __repr__(self) -> str:
        h = self.histories()
        return f"MetricChart(runs={len(h.run_ids)}, keys={h.keys})"

    def run_ids_wanted(self) -> list[str]:
        return run_ids_of(self._runs if self._runs is not None else self._selection)

    def histories(self) -> Histories:
        """What the chart shows, read on first use (and again at each display)."""
        if self._read is None:
            a = self._args
            self._read = read_histories(self.run_ids_wanted(), self._keys, a["x"], a["buckets"], a["max_runs"])
        return self._read

    def options(self) -> dict[str, Any]:
        return {"keys": self._keys, **self._args}

    def data(self) -> dict[str, Any]:
        return self.histories().wire()

    def static_html(self) -> str:
        return static_chart(self.histories(), self._args["smoothing"], self._args["log_y"])

    def make_widget(self) -> Any:
        from nbtrack.ui._chart_widget import MetricChart

        return MetricChart(self._runs, self._keys, selection=self._selection, **self._args)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        self._read = None  # a display shows the runs as they are now
        return super()._repr_mimebundle_(include=include, exclude=exclude)


def metric_chart(runs: Any = None, keys: str | Sequence[str] | None = None, *, x: str = "step",
                 smoothing: float = 0.0, log_y: bool = False, band: bool = True, live: bool = True,
                 selection: Selection | None = None, max_runs: int = 10, buckets: int = 400) -> MetricChartView:
    """Chart the history of metrics for several runs, overlaid, one panel per metric.

    Parameters
    ----------
    runs
        Run ids, ``Run`` objects or a ``search_runs`` DataFrame. With ``runs=None`` and a
        ``selection``, the chart shows the selection's runs.
    keys
        Metric key(s); default: the (up to 4) keys most of the runs have.
    x
        ``"step"``, ``"relative"`` (seconds since each run started) or ``"wall"`` (clock time).
    smoothing
        EMA weight in [0, 0.99] (TensorBoard's debiased EMA over the bucket means); the raw
        line stays, faint.
    log_y, band
        Log-scale y; shade each bucket's min..max when a line is downsampled.
    live
        While a shown run is RUNNING, append new points a few times per second.
    max_runs, buckets
        At most this many runs are drawn (the rest are counted, never silently dropped);
        each line is cut into ``buckets`` x-intervals of up to 4 points each.

    Examples
    --------
    >>> nbtrack.metric_chart(nbtrack.search_runs(max_results=5), "loss", smoothing=0.6)  # doctest: +SKIP
    """
    return MetricChartView(runs, keys, x=x, smoothing=smoothing, log_y=log_y, band=band, live=live,
                           selection=selection, max_runs=max_runs, buckets=buckets)


def __getattr__(name: str) -> Any:
    # the widget class, for the dashboard widget and code that built it directly (imports ipywidgets)
    if name == "MetricChart":
        from nbtrack.ui._chart_widget import MetricChart

        return MetricChart
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
