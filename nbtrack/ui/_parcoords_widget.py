"""The ipywidgets version of ``nbtrack.parallel_coordinates()`` (front ends without nbtrack's extension).

Text params become categorical axes; numeric axes spanning more than two decades are
drawn on a log scale (plotly's parcoords has no log axis, so values are log10'd and the
ticks relabelled). Brushing an axis sets the shared :class:`Selection`; a selection made
elsewhere (the table) greys out the other lines.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from nbtrack.ui import _data, _static
from nbtrack.ui._base import with_static
from nbtrack.ui._plotly import TEMPLATE, FigureWidget
from nbtrack.ui._selection import Selection, run_ids_of
from nbtrack.ui.parcoords import _GREY, _VIRIDIS, AxisData, _finite_range, build_axis, default_axes

__all__ = ["ParallelCoordinates"]

class ParallelCoordinates(W.VBox):
    """Parallel coordinates of runs, linked to a :class:`Selection` both ways."""

    def __init__(self, runs: Any = None, params: Sequence[str] | None = None,
                 metrics: Sequence[str] | None = None, *, experiment: Any = None, filter: str = "",
                 color: str | None = None, selection: Selection | None = None, max_runs: int = 2000,
                 log_axes: str | bool = "auto", height: int = 380) -> None:
        self.selection = selection if selection is not None else Selection()
        self._explicit_runs = run_ids_of(runs) if runs is not None else None
        self.experiment_ids = _data.experiment_ids(experiment) if self._explicit_runs is None else []
        self.filter = filter
        self._params_arg, self._metrics_arg = params, metrics
        self.color_metric = color
        self.max_runs, self.log_axes = max_runs, log_axes
        self._lock = threading.RLock()
        self._axes: list[AxisData] = []
        self._run_ids: list[str] = []
        self._order = np.zeros(0, dtype=int)  # trace row -> index into _run_ids
        self._brushing = False
        self._drawing = False
        self._hooked = False
        self._dropped = 0
        self._names: list[str] = []
        self.total = 0
        self.figure = FigureWidget(layout={"height": height, "margin": {"l": 70, "r": 70, "t": 60, "b": 30},
                                              "template": TEMPLATE})
        self.status = W.HTML()
        super().__init__([self.status, self.figure])
        self.add_class("nbtrack-parcoords")
        self.selection.observe(self._follow_selection, owner=self)
        self.refresh()

    def __repr__(self) -> str:
        return f"ParallelCoordinates({len(self._run_ids)} runs, axes={[a.label for a in self._axes]})"

    # -- data ------------------------------------------------------------------------------
    def refresh(self, filter: str | None = None) -> None:
        """Reload runs (optionally with a new filter) and redraw; brushes are kept if axes match."""
        with self._lock:
            if filter is not None:
                self.filter = filter
            params, metrics = self._choose_axes()
            if self.color_metric and self.color_metric not in metrics:
                metrics = [*metrics, self.color_metric]
            frame, self.total = _data.fetch_wide(
                self.experiment_ids, self.filter, params, metrics, self.max_runs, run_ids=self._explicit_runs)
            if self._explicit_runs is not None:
                self.total = len(self._explicit_runs)
            axes = [build_axis(f"param:{k}", frame[f"param:{k}"], self.log_axes) for k in params]
            axes += [build_axis(f"metric:{k}", frame[f"metric:{k}"], self.log_axes) for k in metrics]
            _dedupe_labels(axes)
            keep = np.ones(len(frame), dtype=bool)
            for axis in axes:
                keep &= np.isfinite(axis.values)
            self._dropped = int((~keep).sum())
            for axis in axes:
                axis.values = axis.values[keep]
            self._axes = axes
            self._run_ids = frame["run_id"][keep].tolist()
            self._names = frame["run_name"][keep].tolist()
            if self.color_metric is None and metrics:
                self.color_metric = metrics[0]
            self._draw()
            if self._brushing:  # new runs may fall inside the brushed ranges
                self.selection.set(self.brushed_run_ids() or (), source=self)

    def _choose_axes(self) -> tuple[list[str], list[str]]:
        if self._params_arg is not None and self._metrics_arg is not None:
            return list(self._params_arg), list(self._metrics_arg)
        if self._explicit_runs is not None:
            stats = _data.key_stats([], None, self._explicit_runs)
        else:
            stats = _data.key_stats(self.experiment_ids, self.filter)
        params, metrics = default_axes(stats)
        return (list(self._params_arg) if self._params_arg is not None else params,
                list(self._metrics_arg) if self._metrics_arg is not None else metrics)

    # -- drawing ---------------------------------------------------------------------------
    def _colouring(self) -> tuple[np.ndarray, np.ndarray, AxisData | None]:
        """(metric normalised to [0, 1], mask of runs to highlight or None, colour axis)."""
        n = len(self._run_ids)
        axis = next((a for a in self._axes if a.column == f"metric:{self.color_metric}"), None)
        metric = axis.values if axis is not None else np.zeros(n)
        lo, hi = _finite_range(metric)
        norm = (metric - lo) / (hi - lo) if hi > lo else np.full(n, 0.5)
        selected = np.array([r in self.selection for r in self._run_ids], dtype=bool)
        if self._brushing or not selected.any():
            selected = np.ones(n, dtype=bool)  # plotly greys out what a brush leaves out itself
        return norm, selected, axis

    def _color_values(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Line colours as numbers plus the colour settings; unselected runs map to grey.

        Highlighted runs get 0.1 + 0.9 * metric on a scale whose first tenth is grey.
        """
        norm, selected, axis = self._colouring()
        steps = np.linspace(0, 1, 5)
        labels = []
        if axis is not None:
            lo, hi = _finite_range(axis.values)
            labels = [_static._fmt(10 ** (lo + t * (hi - lo)) if axis.log else lo + t * (hi - lo)) for t in steps]
        bar = {"title": {"text": self.color_metric or ""}, "ticktext": labels, "len": 0.8}
        if selected.all():
            return norm, {"colorscale": _VIRIDIS, "cmin": 0, "cmax": 1, "showscale": axis is not None,
                          "colorbar": {**bar, "tickvals": list(steps)}}
        values = np.where(selected, 0.1 + 0.9 * norm, 0.0)
        scale = [[0.0, _GREY], [0.0999, _GREY]] + [[0.1 + 0.9 * p, c] for p, c in _VIRIDIS]
        return values, {"colorscale": scale, "cmin": 0, "cmax": 1, "showscale": axis is not None,
                        "colorbar": {**bar, "tickvals": list(0.1 + 0.9 * steps)}}

    def _draw(self) -> None:
        colors, line = self._color_values()
        selected = np.array([r in self.selection for r in self._run_ids], dtype=bool)
        # selected runs last, so their lines are drawn on top of the grey ones
        self._order = np.concatenate([np.flatnonzero(~selected), np.flatnonzero(selected)]).astype(int)
        dims = []
        old = self.figure.data[0].dimensions if self.figure.data else ()
        old_ranges = {d.label: d.constraintrange for d in old}
        for axis in self._axes:
            dim = axis.dimension()
            dim["values"] = axis.values[self._order]
            if old_ranges.get(axis.label) is not None:
                dim["constraintrange"] = old_ranges[axis.label]
            dims.append(dim)
        trace = go.Parcoords(dimensions=dims, line={**line, "color": colors[self._order]},
                             unselected={"line": {"color": _GREY, "opacity": 0.25}},
                             labelangle=0, labelfont={"size": 12})
        self._drawing = True  # our own restyle of the dimensions is not a brush
        try:
            self._push(trace, dims, line, colors)
        finally:
            self._drawing = False
        if len(self.figure.data) == 1 and not self._hooked:
            self.figure.data[0].on_change(self._on_brush, "dimensions")
            self._hooked = True
        self._update_status()

    def _push(self, trace: Any, dims: list[dict[str, Any]], line: dict[str, Any], colors: np.ndarray) -> None:
        with self.figure.batch_update():
            if self.figure.data:
                self.figure.data[0].update(dimensions=dims, line={**line, "color": colors[self._order]})
            else:
                self.figure.add_trace(trace)

    def _update_status(self) -> None:
        parts = [_runs(len(self._run_ids))]
        if self.total > len(self._run_ids) + self._dropped:
            parts.append(f"newest {len(self._run_ids) + self._dropped:,} of {self.total:,} (max_runs={self.max_runs})")
        if self._dropped:
            parts.append(f"{self._dropped} without a value on every axis not drawn")
        if self.color_metric:
            parts.append(f"colour: {self.color_metric}")
        parts.append("drag along an axis to select runs")
        self.status.value = f'<span style="color:#666;font-size:12px">{" · ".join(parts)}</span>'

    # -- selection -------------------------------------------------------------------------
    def brushed_run_ids(self) -> list[str] | None:
        """Runs inside every brushed range (None when nothing is brushed)."""
        if not self.figure.data:
            return None
        mask = np.ones(len(self._order), dtype=bool)
        any_range = False
        for dim, axis in zip(self.figure.data[0].dimensions, self._axes, strict=False):
            ranges = dim.constraintrange
            if ranges is None or len(ranges) == 0:
                continue
            any_range = True
            if not isinstance(ranges[0], list | tuple):
                ranges = [ranges]
            values = axis.values[self._order]
            inside = np.zeros(len(values), dtype=bool)
            for lo, hi in ranges:
                inside |= (values >= min(lo, hi)) & (values <= max(lo, hi))
            mask &= inside
        if not any_range:
            return None
        return [self._run_ids[i] for i in self._order[mask]]

    def _on_brush(self, trace: Any, dimensions: Any) -> None:
        if self._drawing:
            return
        brushed = self.brushed_run_ids()
        self._brushing = brushed is not None
        self.selection.set(brushed or (), source=self)

    def _follow_selection(self, run_ids: tuple[str, ...]) -> None:
        with self._lock:
            self._brushing = False
            self._draw()

    def static_html(self) -> str:
        if not self._axes or not self._run_ids:
            return _static.note(f"parallel coordinates: {_runs(len(self._run_ids))}, nothing to draw")
        norm, selected, _ = self._colouring()
        colors = [_static.viridis(v) if on else _GREY for v, on in zip(norm, selected, strict=True)]
        order = list(self._order) if len(self._order) == len(colors) else list(range(len(colors)))
        axes = []
        for axis in self._axes:
            tick_values, tick_text = axis.ticks()
            axes.append(_static.Axis(axis.label, axis.values[order], tick_values, tick_text))
        title = f"{_runs(len(self._run_ids))} · colour: {self.color_metric or '-'}"
        svg = _static.svg_parcoords(axes, [colors[i] for i in order], title=title)
        return _static.as_img(svg, f"parallel coordinates of {title}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_static(super()._repr_mimebundle_(**kwargs), self.static_html())


def _runs(n: int) -> str:
    return f"{n:,} run" + ("" if n == 1 else "s")


def _dedupe_labels(axes: list[AxisData]) -> None:
    seen: dict[str, int] = {}
    for axis in axes:
        seen[axis.label] = seen.get(axis.label, 0) + 1
    for axis in axes:
        if seen[axis.label] > 1:
            axis.label = f"{axis.column.split(':')[0]} {axis.label}"
