"""The metric chart as an ipywidget: the fallback of ``nbtrack.metric_chart()`` (:mod:`.chart`) where the
front end has no nbtrack extension (VS Code, Colab, ``NBTRACK_VIEWS=widgets``).

Every line is downsampled in DuckDB to a few points per pixel column (:mod:`._history`),
so a 1,000,000-point history costs one query of about 100-150 ms and ~2,000 points on the
wire. Zooming (a plotly relayout) asks DuckDB for the detail of the visible range. While a
run is RUNNING, a background poll appends only the points logged since the last one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from nbtrack.errors import InvalidParameter
from nbtrack.ui import _history, _live, _static
from nbtrack.ui._base import with_static
from nbtrack.ui._plotly import TEMPLATE, FigureWidget
from nbtrack.ui._selection import PALETTE, Selection, run_ids_of

__all__ = ["MetricChart", "panel_domains"]

_X_LABELS = {"step": "step", "relative": "time since run start (s)", "wall": "wall time"}
_LIVE_INTERVAL = 0.4  # seconds between polls while a run logs: "a few times per second"
_TRACES_PER_SERIES = 4  # band low, band high (filled), raw line, smoothed line


def _tz_offset_ms() -> float:
    offset = datetime.now().astimezone().utcoffset()
    return offset.total_seconds() * 1000 if offset is not None else 0.0


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def panel_domains(n: int, gap: float = 0.06) -> list[tuple[float, float]]:
    """The y domain of each of ``n`` stacked panels, top first, each inside [0, 1].

    Computed as ``top - h`` the last panel's bottom came out as -5.55e-17 for 4 or more panels,
    which plotly rejects (``ValueError ... domain[0]``); the gap also shrinks so that any number
    of panels keeps a positive height.
    """
    n = max(int(n), 1)
    gap = min(gap, 0.3 / (n - 1)) if n > 1 else 0.0
    h = (1 - gap * (n - 1)) / n
    out = []
    for row in range(n):
        top = 1 - row * (h + gap)
        lo, hi = (0.0 if row == n - 1 else round(top - h, 9)), (1.0 if row == 0 else round(top, 9))
        out.append((min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)))
    return out


class MetricChart(W.VBox):
    """Overlaid metric histories with x-axis, smoothing, log-y and band controls.

    Build one with :func:`metric_chart`. ``chart.figure`` is the plotly FigureWidget;
    ``chart.data()`` returns what is drawn (with the smoothed values) as a DataFrame.
    """

    def __init__(self, runs: Any = None, keys: str | Sequence[str] | None = None, *, x: str = "step",
                 smoothing: float = 0.0, log_y: bool = False, band: bool = True, live: bool = True,
                 selection: Selection | None = None, max_runs: int = 10, buckets: int = 400,
                 fallback_runs: Callable[[], list[str]] | None = None, height: int | None = None) -> None:
        if x not in _history.X_AXES:
            raise InvalidParameter(f"x must be one of {sorted(_history.X_AXES)}, not {x!r}")
        self.selection = selection
        self.follow_selection = runs is None and selection is not None
        self.fallback_runs = fallback_runs
        self.max_runs, self.buckets, self.live = max_runs, buckets, live
        self._lock = threading.RLock()
        self._series: dict[tuple[str, str], _history.Series] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._slots: dict[tuple[str, str], int] = {}
        self._range: tuple[float, float] | None = None
        self._revision = 0
        self._zoom_timer: threading.Timer | None = None
        self._tz = _tz_offset_ms()
        self._wanted = run_ids_of(runs)
        self._fixed_keys = [keys] if isinstance(keys, str) else list(keys) if keys else None
        self._keys: list[str] = []
        self._run_ids: list[str] = []
        self.last_fetch_seconds = 0.0

        self.x_axis = W.ToggleButtons(options=[("step", "step"), ("relative", "relative"), ("wall", "wall")],
                                      value=x, tooltips=["training step", "seconds since each run started",
                                                         "time of day the value was logged"],
                                      style={"button_width": "70px"}, layout=W.Layout(width="auto"))
        self.smoothing = W.FloatSlider(value=smoothing, min=0.0, max=0.99, step=0.01, description="smoothing",
                                       continuous_update=True, readout_format=".2f", layout=W.Layout(width="260px"))
        self.log_y = W.Checkbox(value=log_y, description="log y", indent=False, layout=W.Layout(width="70px"))
        self.band = W.Checkbox(value=band, description="min/max band", indent=False, layout=W.Layout(width="120px"))
        self.status = W.HTML(layout=W.Layout(margin="0 0 0 8px"))
        self.figure = FigureWidget()
        self._height = height
        super().__init__([W.HBox([self.x_axis, self.smoothing, self.log_y, self.band, self.status],
                                 layout=W.Layout(flex_flow="row wrap", align_items="center")), self.figure])
        self.add_class("nbtrack-metric-chart")
        self.x_axis.observe(lambda _: self._reload(reset_range=True), names="value")
        self.smoothing.observe(lambda _: self._restyle(), names="value")
        self.log_y.observe(lambda _: self._set_log_y(), names="value")
        self.band.observe(lambda _: self._restyle(), names="value")
        if self.follow_selection and selection is not None:
            selection.observe(self._on_selection, owner=self)
        self.set_runs(self._wanted if not self.follow_selection else None)

    def __repr__(self) -> str:
        return f"MetricChart(runs={len(self._run_ids)}, keys={self._keys})"

    # -- what to draw ----------------------------------------------------------------------
    def _runs_to_show(self) -> list[str]:
        if self.follow_selection and self.selection is not None and len(self.selection):
            return list(self.selection.run_ids)
        if self.follow_selection:
            return self.fallback_runs() if self.fallback_runs else []
        return list(self._wanted)

    def set_runs(self, run_ids: Sequence[str] | None = None) -> None:
        """Show these runs (None: what the selection or the fallback says) and refetch."""
        with self._lock:
            if run_ids is not None:
                self._wanted = list(run_ids)
            wanted = self._runs_to_show()
            self._hidden_runs = max(len(wanted) - self.max_runs, 0)
            candidates = wanted[: self.max_runs]
            keys = self._fixed_keys or self._common_keys(candidates)
            if candidates == self._run_ids and keys == self._keys and self.figure.data:
                self._update_status()
                self._schedule_live()  # same lines: keep the zoom, let the live poll add points
                return
            # one query: the histories and the runs' names and statuses for the legend
            info: dict[str, dict[str, Any]] = {}
            started = time.perf_counter()
            series = _history.fetch_series(candidates, keys, self.x_axis.value, None, self.buckets, runs_out=info)
            self.last_fetch_seconds = time.perf_counter() - started
            self._info = info
            self._run_ids, self._keys = [r for r in candidates if r in info], keys
            self._build_figure()
            self._reload(reset_range=True, series=series)

    def set_keys(self, keys: str | Sequence[str] | None) -> None:
        """Chart these metric keys (None: the keys most shown runs have)."""
        self._fixed_keys = [keys] if isinstance(keys, str) else list(keys) if keys else None
        self.set_runs(None)

    @property
    def metric_keys(self) -> list[str]:
        return list(self._keys)  # (not `keys`: that name is ipywidgets' list of synced traits)

    @property
    def run_ids(self) -> list[str]:
        return list(self._run_ids)

    def _common_keys(self, run_ids: list[str]) -> list[str]:
        if not run_ids:
            return []
        from nbtrack.tracking import fluent

        return sorted(fluent.active_store().top_metric_keys(run_ids, 4))

    def _on_selection(self, run_ids: tuple[str, ...]) -> None:
        self.set_runs(None)

    def _color(self, run_id: str) -> str:
        if self.selection is not None:
            return self.selection.color(run_id)
        return PALETTE[self._run_ids.index(run_id) % len(PALETTE)]

    # -- figure ----------------------------------------------------------------------------
    def _axis_names(self, row: int) -> tuple[str, str]:
        suffix = "" if row == 0 else str(row + 1)
        return f"x{suffix}", f"y{suffix}"

    def _build_figure(self) -> None:
        """Lay out one subplot per key and four traces per (run, key), empty for now."""
        self._revision += 1
        n = max(len(self._keys), 1)
        domains = panel_domains(n)
        layout: dict[str, Any] = {
            "height": self._height or (250 * n + 70), "margin": {"l": 60, "r": 10, "t": 30, "b": 45},
            "legend": {"x": 1.01, "y": 1, "xanchor": "left", "font": {"size": 11}},
            "hovermode": "closest", "template": TEMPLATE,
            # a new revision per rebuild: zoom survives data updates, not a change of runs
            "uirevision": str(self._revision),
        }
        annotations = []
        for row in range(n):
            xa, ya = self._axis_names(row)
            bottom, top = domains[row]
            layout[xa.replace("x", "xaxis")] = {"anchor": ya, "showticklabels": row == n - 1,
                                                 **({"matches": "x"} if row else {})}
            layout[ya.replace("y", "yaxis")] = {"anchor": xa, "domain": [bottom, top]}
            if row < len(self._keys):
                annotations.append({"text": f"<b>{self._keys[row]}</b>", "x": 0, "xref": "paper", "y": top,
                                     "yref": "paper", "yanchor": "bottom", "showarrow": False,
                                     "font": {"size": 12}})
        layout["annotations"] = annotations
        traces: list[Any] = []
        self._slots = {}
        for row, key in enumerate(self._keys):
            xa, ya = self._axis_names(row)
            for run_id in self._run_ids:
                self._slots[(run_id, key)] = len(traces)
                traces += self._series_traces(run_id, key, xa, ya, show_legend=row == 0)
        with self.figure.batch_update():
            self.figure.data = ()
            self.figure.layout = go.Layout(layout)
        self.figure.add_traces(traces)
        self._set_axis_titles()
        self.figure.layout.on_change(self._on_relayout, "xaxis.range", "xaxis.autorange")

    def _series_traces(self, run_id: str, key: str, xa: str, ya: str, show_legend: bool) -> list[Any]:
        color = self._color(run_id)
        name = self._info.get(run_id, {}).get("name", run_id[:8])
        common = {"xaxis": xa, "yaxis": ya, "legendgroup": run_id, "meta": [run_id, key], "x": [], "y": []}
        return [
            go.Scatter(mode="lines", line={"width": 0, "color": color}, showlegend=False, hoverinfo="skip",
                       name=f"{name} min", **common),
            go.Scatter(mode="lines", line={"width": 0, "color": color}, fill="tonexty",
                       fillcolor=_rgba(color, 0.15), showlegend=False, hoverinfo="skip", name=f"{name} max", **common),
            go.Scatter(mode="lines", line={"width": 1.6, "color": color}, name=name, showlegend=show_legend,
                       hovertemplate=f"{name}<br>{key}=%{{y:.5g}}<br>x=%{{x}}<extra></extra>", **common),
            go.Scatter(mode="lines", line={"width": 2, "color": color}, name=f"{name} (smoothed)",
                       showlegend=False, visible=False,
                       hovertemplate=f"{name} smoothed<br>{key}=%{{y:.5g}}<br>x=%{{x}}<extra></extra>", **common),
        ]

    def _set_axis_titles(self) -> None:
        mode = self.x_axis.value
        n = max(len(self._keys), 1)
        with self.figure.batch_update():
            for row in range(n):
                axis = self.figure.layout[self._axis_names(row)[0].replace("x", "xaxis")]
                axis.type = "date" if mode == "wall" else "linear"
                axis.title = _X_LABELS[mode] if row == n - 1 else None
            self._set_log_y()

    def _set_log_y(self) -> None:
        with self.figure.batch_update():
            for row in range(max(len(self._keys), 1)):
                self.figure.layout[self._axis_names(row)[1].replace("y", "yaxis")].type = \
                    "log" if self.log_y.value else "linear"

    # -- units -----------------------------------------------------------------------------
    def _to_display(self, x: np.ndarray) -> np.ndarray:
        mode = self.x_axis.value
        if mode == "relative":
            return x / 1000.0
        if mode == "wall":
            return x + self._tz  # plotly draws epoch ms as UTC; shift so the axis reads local time
        return x

    def _from_display(self, value: Any) -> float:
        mode = self.x_axis.value
        if mode == "wall":
            import pandas as pd

            ts = pd.Timestamp(value) if isinstance(value, str) else pd.Timestamp(float(value), unit="ms")
            return ts.value / 1e6 - self._tz
        if mode == "relative":
            return float(value) * 1000.0
        return float(value)

    # -- data ------------------------------------------------------------------------------
    def _reload(self, reset_range: bool = False, series: dict[tuple[str, str], Any] | None = None) -> None:
        """Fetch every series (downsampled over the zoomed range, or all) and redraw."""
        with self._lock:
            if reset_range:
                self._range = None
            if series is None:
                started = time.perf_counter()
                series = _history.fetch_series(self._run_ids, self._keys, self.x_axis.value, self._range,
                                               self.buckets)
                self.last_fetch_seconds = time.perf_counter() - started
            self._series = series
            if reset_range:
                self._set_axis_titles()
                if self._step_axis_is_flat():
                    self.x_axis.value = "relative"  # re-enters _reload through the observer
                    return
            self._restyle()
            self._schedule_live()

    def _step_axis_is_flat(self) -> bool:
        """True when every series logged all its points at one step (log_metric without step)."""
        if self.x_axis.value != "step" or not self._series:
            return False
        return all(s.points > 1 and np.ptp(s.x) == 0 for s in self._series.values())

    def _restyle(self) -> None:
        """Push series data, smoothing, band visibility to the figure in one message."""
        with self._lock, self.figure.batch_update():
            weight, band = self.smoothing.value, self.band.value
            for pair, base in self._slots.items():
                series = self._series.get(pair)
                traces = self.figure.data[base:base + _TRACES_PER_SERIES]
                if series is None or not len(series.x):
                    for t in traces:
                        t.x, t.y = [], []
                    continue
                lo, hi, raw, smooth = traces
                show_band = band and series.downsampled
                bx = self._to_display(series.band_x)
                lo.x, lo.y, lo.visible = bx, series.band_lo, show_band
                hi.x, hi.y, hi.visible = bx, series.band_hi, show_band
                raw.x, raw.y = self._to_display(series.x), series.y
                raw.opacity = 0.25 if weight > 0 else 1.0
                if weight > 0:
                    smooth.x, smooth.y = self._to_display(series.mean_x), _history.ema(series.mean_y, weight)
                smooth.visible = weight > 0
        self._update_status()

    def _update_status(self) -> None:
        points = sum(s.points for s in self._series.values())
        drawn = sum(len(s.x) for s in self._series.values())
        live = sum(1 for r in self._run_ids if self._info.get(r, {}).get("status") == "RUNNING")
        n = len(self._run_ids)
        parts = [f"{n} run" + ("" if n == 1 else "s"), f"{points:,} points" + (f" (drawn {drawn:,})" if drawn < points else "")]
        if self._hidden_runs:
            parts.append(f"{self._hidden_runs} more runs not shown (max_runs={self.max_runs})")
        if live:
            parts.append(f'<span style="color:#1f77b4">● live ({live} running)</span>')
        if not self._run_ids:
            parts = ["select runs to chart them"]
        self.status.value = f'<span style="color:#666;font-size:12px">{" · ".join(parts)}</span>'

    # -- zoom ------------------------------------------------------------------------------
    def zoom(self, lo: float | None, hi: float | None) -> None:
        """Show ``[lo, hi]`` (stored units: steps, or ms) in full detail; None, None = everything."""
        with self._lock:
            self._range = None if lo is None or hi is None else (float(min(lo, hi)), float(max(lo, hi)))
            self._reload()

    def _on_relayout(self, layout: Any, x_range: Any, autorange: Any) -> None:
        if autorange or not x_range or len(x_range) != 2:
            target = None
        else:
            target = (self._from_display(x_range[0]), self._from_display(x_range[1]))
        if target == self._range or (target is not None and self._range is not None and
                                     _close(target, self._range)):
            return
        if target is None and self._range is None:
            return
        if self._zoom_timer is not None:
            self._zoom_timer.cancel()
        # debounce: a drag sends several relayouts; fetch once it settles
        self._zoom_timer = threading.Timer(0.2, self.zoom, args=(target or (None, None)))
        self._zoom_timer.daemon = True
        self._zoom_timer.start()

    # -- live ------------------------------------------------------------------------------
    def _schedule_live(self) -> None:
        running = any(self._info.get(r, {}).get("status") == "RUNNING" for r in self._run_ids)
        if self.live and running and not _live.scheduled(self):
            _live.schedule(self, _LIVE_INTERVAL)

    def _poll(self) -> float | None:
        """Append points logged since the last poll; stop once no shown run is RUNNING."""
        with self._lock:
            pairs = list(self._slots)
            if not pairs:
                return None
            points, statuses = _history.fetch_new_points(self._series, pairs, self.x_axis.value,
                                                         limit=20 * self.buckets)
            for run_id, status in statuses.items():
                self._info.setdefault(run_id, {})["status"] = status
            if len(points) >= 20 * self.buckets:
                self._reload()
            elif len(points):
                self._append(points)
            else:
                self._update_status()
            running = any(s == "RUNNING" for s in statuses.values())
        return _LIVE_INTERVAL if running else None

    def _append(self, points: Any) -> None:
        cols = {c: points[c].to_numpy() for c in ("run_id", "key", "step", "timestamp", "value", "x")}
        change = np.ones(len(points), dtype=bool)
        change[1:] = (cols["run_id"][1:] != cols["run_id"][:-1]) | (cols["key"][1:] != cols["key"][:-1])
        starts = np.flatnonzero(change)
        too_long = False
        for s, e in zip(starts, [*starts[1:], len(points)], strict=True):
            pair = (str(cols["run_id"][s]), str(cols["key"][s]))
            series = self._series.get(pair)
            if series is None:
                series = self._series[pair] = _history._empty(*pair)
            series.append(cols["x"][s:e].astype(float), cols["value"][s:e].astype(float),
                          cols["step"][s:e].astype(np.int64), cols["timestamp"][s:e].astype(np.int64))
            too_long |= len(series.x) > 4 * self.buckets
        if too_long:
            self._reload()  # the raw tail outgrew the budget: downsample again (rare)
        else:
            self._restyle()

    def close(self) -> None:
        _live.unschedule(self)
        if self._zoom_timer is not None:
            self._zoom_timer.cancel()
        super().close()

    # -- output ----------------------------------------------------------------------------
    def data(self) -> Any:
        """What is drawn, long format: run_id, run_name, key, x, value, smoothed (NaN if off)."""
        import pandas as pd

        frames = []
        weight = self.smoothing.value
        for (run_id, key), s in self._series.items():
            smoothed = _history.ema(s.mean_y, weight) if weight > 0 else np.full(len(s.mean_y), np.nan)
            frames.append(pd.DataFrame({"run_id": run_id, "run_name": self._info.get(run_id, {}).get("name"),
                                        "key": key, "x": s.mean_x, "value": s.mean_y, "smoothed": smoothed}))
        if not frames:
            return pd.DataFrame(columns=["run_id", "run_name", "key", "x", "value", "smoothed"])
        return pd.concat(frames, ignore_index=True)

    def static_html(self) -> str:
        panels = []
        weight = self.smoothing.value
        for key in self._keys:
            lines = []
            for run_id in self._run_ids:
                s = self._series.get((run_id, key))
                if s is None:
                    continue
                name, color = self._info.get(run_id, {}).get("name", run_id[:8]), self._color(run_id)
                lines.append(_static.Line(name, self._to_display(s.x), s.y, color, 0.3 if weight > 0 else 1.0))
                if weight > 0:
                    lines.append(_static.Line(name, self._to_display(s.mean_x), _history.ema(s.mean_y, weight), color))
            panels.append(_static.Panel(key, lines, self.log_y.value, _X_LABELS[self.x_axis.value]))
        if not panels:
            return _static.note("no metric history to show")
        fmt = None
        if self.x_axis.value == "wall":
            def fmt(v: float) -> str:
                return datetime.fromtimestamp(v / 1000, tz=UTC).strftime("%H:%M:%S")
        svg = _static.svg_lines(panels, x_format=fmt)
        alt = f"{', '.join(self._keys)} of {len(self._run_ids)} runs"
        return _static.as_img(svg, alt) + _static.note(f"{_X_LABELS[self.x_axis.value]} · static copy of the chart")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_static(super()._repr_mimebundle_(**kwargs), self.static_html())


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    span = max(abs(b[1] - b[0]), 1e-12)
    return abs(a[0] - b[0]) / span < 0.01 and abs(a[1] - b[1]) / span < 0.01
