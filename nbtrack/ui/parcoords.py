"""``nbtrack.parallel_coordinates()``: one axis per param and metric, brushing selects runs.

The view sends the runs' values (one ``runs_wide`` call) and nbtrack's JupyterLab extension
draws them (``extension/src/views/parcoords.ts``): text params become categorical axes, numeric
axes spanning more than two decades a log scale, and a run without a value on an axis is drawn
at that axis' "missing" position instead of being dropped. Where the front end lacks the
extension, the ipywidgets version (``_parcoords_widget``) draws the same axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbtrack.ui import _data, _static
from nbtrack.ui._mime import View
from nbtrack.ui._selection import Selection, run_ids_of

__all__ = ["ParallelCoordinatesView", "parallel_coordinates"]

_VIRIDIS: list[list[Any]] = [[i / 9, c] for i, c in enumerate(_static._VIRIDIS)]
_GREY = "#d4d4d4"
_MAX_CATEGORIES = 50


@dataclass
class AxisData:
    """One axis: positions (log10'd if ``log``), tick labels, and how to read it back."""

    column: str  # param:<key> or metric:<key>
    label: str
    values: np.ndarray
    log: bool = False
    categories: list[str] | None = None

    def dimension(self) -> dict[str, Any]:
        dim: dict[str, Any] = {"label": self.label, "values": self.values}
        if self.categories is not None:
            dim["tickvals"] = list(range(len(self.categories)))
            dim["ticktext"] = [c[:14] for c in self.categories]
            dim["range"] = [-0.5, len(self.categories) - 0.5] if len(self.categories) > 1 else [-1, 1]
        elif self.log:
            lo, hi = _finite_range(self.values)
            decades = list(range(math.floor(lo), math.ceil(hi) + 1))
            dim["tickvals"] = decades
            dim["ticktext"] = [f"1e{d}" for d in decades]
        return dim

    def ticks(self) -> tuple[list[float], list[str]]:
        dim = self.dimension()
        if "tickvals" in dim:
            return list(dim["tickvals"]), list(dim["ticktext"])
        lo, hi = _finite_range(self.values)
        vals = [lo, (lo + hi) / 2, hi] if hi > lo else [lo]
        return vals, [_static._fmt(v) for v in vals]


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)


def _natural_key(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def build_axis(column: str, raw: Any, log_axes: str | bool = "auto") -> AxisData:
    """Shape one column of a wide frame into an axis (numeric, log-numeric or categorical)."""
    kind, _, key = column.partition(":")
    import pandas as pd

    series = pd.Series(raw)
    numeric = pd.to_numeric(series, errors="coerce")
    if kind == "param" and numeric.isna().sum() > series.isna().sum():
        # some values are not numbers: categorical axis in natural order, missing last
        cats = sorted({str(v) for v in series.dropna()}, key=_natural_key)
        if series.isna().any():
            cats.append("(none)")
        index = {c: i for i, c in enumerate(cats)}
        values = np.array([index[str(v)] if v is not None and v == v else index["(none)"] for v in series],
                          dtype=float)
        return AxisData(column, key, values, categories=cats)
    values = numeric.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    log = False
    if log_axes is True or (log_axes == "auto" and len(finite) and finite.min() > 0
                            and finite.max() / finite.min() > 100):
        log = bool(len(finite)) and finite.min() > 0
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log10(values)
    return AxisData(column, f"{key} (log)" if log else key, values, log=log)


def default_axes(stats: Any, limit_params: int = 6, limit_metrics: int = 4) -> tuple[list[str], list[str]]:
    """Params that vary (numeric, or with few categories) and the most common metrics."""
    params = stats[(stats["kind"] == "param") & (stats["distinct_values"] > 1)
                   & (stats["numeric"] | (stats["distinct_values"] <= _MAX_CATEGORIES))]
    metrics = stats[stats["kind"] == "metric"]
    params = params.sort_values(["n", "key"], ascending=[False, True]).head(limit_params)
    metrics = metrics.sort_values(["n", "key"], ascending=[False, True]).head(limit_metrics)
    return sorted(params["key"].tolist()), sorted(metrics["key"].tolist())



_LOWER_IS_BETTER = ("loss", "error", "err", "mse", "mae", "rmse", "perplexity", "time", "latency")


def lower_is_better(metric: str) -> bool:
    """A loss, an error or a time: its best end is the low one (the extension's colour scale too)."""
    name = metric.lower()
    return any(word in name for word in _LOWER_IS_BETTER)


class ParallelCoordinatesView(View):
    """Parallel coordinates of runs as data for nbtrack's JupyterLab extension (or its widget)."""

    view = "parallel_coordinates"

    def __init__(self, runs: Any = None, params: Sequence[str] | None = None,
                 metrics: Sequence[str] | None = None, *, experiment: Any = None, filter: str = "",
                 color: str | None = None, selection: Selection | None = None, max_runs: int = 2000,
                 log_axes: str | bool = "auto") -> None:
        super().__init__()
        self.selection = selection
        self.selection_id = selection.id if selection is not None else None
        self.run_ids = run_ids_of(runs) if runs is not None else None
        self.experiment_ids = _data.experiment_ids(experiment) if self.run_ids is None else []
        self.filter, self.color, self.max_runs, self.log_axes = filter, color, max_runs, log_axes
        self._params_arg, self._metrics_arg = params, metrics
        self._read: tuple[list[str], list[str], Any, int] | None = None
        if self.run_ids is not None:
            self._fetch()  # a mistyped run id is an error here, not an empty view at display

    def __repr__(self) -> str:
        params, metrics, frame, _ = self._fetch()
        return f"ParallelCoordinates({len(frame)} runs, params={params}, metrics={metrics})"

    def _fetch(self) -> tuple[list[str], list[str], Any, int]:
        """(params, metrics, runs_wide frame, runs matched): read once per view."""
        if self._read is None:
            params, metrics = self._axes()
            wanted = [*metrics, self.color] if self.color and self.color not in metrics else metrics
            frame, total = _data.fetch_wide(self.experiment_ids, self.filter, params, wanted, self.max_runs,
                                            run_ids=self.run_ids)
            if self.run_ids is not None:
                _data.require_runs(self.run_ids, found=frame["run_id"])
                total = len(self.run_ids)
            self._read = (params, metrics, frame, total)
        return self._read

    def _axes(self) -> tuple[list[str], list[str]]:
        if self._params_arg is not None and self._metrics_arg is not None:
            return list(self._params_arg), list(self._metrics_arg)
        if self.run_ids is not None:
            stats = _data.key_stats([], None, self.run_ids)
        else:
            stats = _data.key_stats(self.experiment_ids, self.filter)
        params, metrics = default_axes(stats)
        return (list(self._params_arg) if self._params_arg is not None else params,
                list(self._metrics_arg) if self._metrics_arg is not None else metrics)

    def options(self) -> dict[str, Any]:
        params, metrics, _, _ = self._fetch()
        return {"experiment_ids": self.experiment_ids, "filter": self.filter, "run_ids": self.run_ids,
                "params": params, "metrics": metrics, "color": self.color or (metrics[0] if metrics else None),
                "max_runs": self.max_runs, "log_axes": self.log_axes}

    def data(self) -> dict[str, Any]:
        from nbtrack.store.wire import frame_to_wire

        _, _, frame, total = self._fetch()
        return {"frame": frame_to_wire(frame, packed=True), "total": total}

    def static_html(self) -> str:
        params, metrics, frame, _ = self._fetch()
        if not len(frame) or not (params or metrics):
            return _static.note(f"parallel coordinates: {len(frame)} runs, nothing to draw")
        axes = [build_axis(f"param:{k}", frame[f"param:{k}"], self.log_axes) for k in params]
        axes += [build_axis(f"metric:{k}", frame[f"metric:{k}"], self.log_axes) for k in metrics]
        color = self.color or (metrics[0] if metrics else None)
        colour_axis = next((a for a in axes if a.column == f"metric:{color}"), None)
        if colour_axis is not None:
            lo, hi = _finite_range(colour_axis.values)
            norm = (colour_axis.values - lo) / (hi - lo) if hi > lo else np.full(len(frame), 0.5)
            if color and lower_is_better(color):
                norm = 1 - norm
            colors = [_static.viridis(0.85 - 0.85 * v) if math.isfinite(v) else _GREY for v in norm]
        else:
            colors = ["#1f77b4"] * len(frame)
        shown = []
        for axis in axes:
            ticks, text = axis.ticks()
            values = axis.values
            if not np.isfinite(values).all():  # missing: a position below the axis, labelled with a dash
                lo, hi = _finite_range(values)
                missing = lo - 0.12 * ((hi - lo) or 1.0)
                values = np.where(np.isfinite(values), values, missing)
                ticks, text = [*ticks, missing], [*text, "\u2014"]
            shown.append(_static.Axis(axis.label, values, ticks, text))
        title = f"{len(frame):,} runs · colour: {color or '-'}"
        return _static.as_img(_static.svg_parcoords(shown, colors, title=title), f"parallel coordinates of {title}")

    def make_widget(self) -> Any:
        from nbtrack.ui._parcoords_widget import ParallelCoordinates

        return ParallelCoordinates(self.run_ids, self._params_arg, self._metrics_arg,
                                   experiment=self.experiment_ids or None, filter=self.filter, color=self.color,
                                   selection=self.selection, max_runs=self.max_runs, log_axes=self.log_axes)


def __getattr__(name: str) -> Any:
    if name == "ParallelCoordinates":  # the widget, for code that named it here
        from nbtrack.ui._parcoords_widget import ParallelCoordinates

        return ParallelCoordinates
    raise AttributeError(name)


def parallel_coordinates(runs: Any = None, params: Sequence[str] | None = None,
                         metrics: Sequence[str] | None = None, *, experiment: Any = None, filter: str = "",
                         color: str | None = None, selection: Selection | None = None,
                         max_runs: int = 2000, log_axes: str | bool = "auto") -> ParallelCoordinatesView:
    """Parallel coordinates of runs: one axis per param and metric, brushing selects runs.

    Parameters
    ----------
    runs
        Run ids, ``Run`` objects or a ``search_runs`` DataFrame; default: the runs of
        ``experiment`` matching ``filter`` (newest ``max_runs``).
    params, metrics
        Keys for the axes; default: params that vary (up to 6) and common metrics (up to 4).
        A run lacking a key is drawn at the axis' missing position (``\u2014``).
    color
        Metric that colours the lines (default: the first metric); its best end is the darkest.
    selection
        Shared :class:`Selection`: brushing sets it, and runs selected elsewhere are
        highlighted (the others greyed out).
    log_axes
        ``"auto"``: log scale for positive axes spanning more than 2 decades; True/False.

    Examples
    --------
    >>> nbtrack.parallel_coordinates(params=["lr", "depth"], metrics=["acc"])  # doctest: +SKIP
    """
    return ParallelCoordinatesView(runs, params, metrics, experiment=experiment, filter=filter, color=color,
                                   selection=selection, max_runs=max_runs, log_axes=log_axes)
