"""Metric histories for charts: downsampled in the store, appended incrementally while runs log.

Downsampling (:func:`fetch_series`) splits the visible x-range into ``buckets`` equal
intervals and, per bucket, keeps the first, last, lowest and highest point (M4
aggregation), plus the bucket's min, max and mean for the band and the smoothed line. A
line through those points is indistinguishable from the full line at chart resolution:
spikes survive, and the first and last points of every series are always drawn. Points
just outside the range are kept too, so a zoomed line runs to the edges.

Live updates (:func:`fetch_new_points`) ask only for points after each series' cursor
(its last step, then timestamp), so a poll costs the new points, not the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nbtrack.errors import InvalidParameter
from nbtrack.tracking import fluent

__all__ = ["X_AXES", "Series", "assemble", "ema", "fetch_buckets", "fetch_new_points", "fetch_series", "run_info"]

#: x-axis name -> what it measures, in the unit stored.
X_AXES = {
    "step": "the step logged",
    "relative": "ms since the run started",
    "wall": "ms since the epoch",
}
_NO_CURSOR = -(2**62)


@dataclass
class Series:
    """One (run, metric) line as drawn: ``x``/``y`` (M4 points), bucket band and means."""

    run_id: str
    key: str
    x: np.ndarray
    y: np.ndarray
    band_x: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    mean_x: np.ndarray
    mean_y: np.ndarray
    points: int = 0  # raw points the drawn ones stand for
    last_step: int = _NO_CURSOR
    last_ts: int = _NO_CURSOR
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def downsampled(self) -> bool:
        return self.points > len(self.x)

    def append(self, x: np.ndarray, y: np.ndarray, steps: np.ndarray, stamps: np.ndarray) -> None:
        """Add raw points logged after the cursor (they extend line, band and means alike)."""
        if not len(x):
            return
        self.x, self.y = np.concatenate([self.x, x]), np.concatenate([self.y, y])
        self.band_x = np.concatenate([self.band_x, x])
        self.band_lo, self.band_hi = np.concatenate([self.band_lo, y]), np.concatenate([self.band_hi, y])
        self.mean_x, self.mean_y = np.concatenate([self.mean_x, x]), np.concatenate([self.mean_y, y])
        self.points += len(x)
        # rows arrive ordered by (step, timestamp): the last one is the new cursor
        self.last_step, self.last_ts = int(steps[-1]), int(stamps[-1])


def _empty(run_id: str, key: str) -> Series:
    z = np.empty(0)
    return Series(run_id, key, z, z, z, z, z, z, z)


def fetch_series(run_ids: Sequence[str], keys: Sequence[str], x_axis: str = "step",
                 x_range: tuple[float, float] | None = None, buckets: int = 500,
                 runs_out: dict[str, dict[str, Any]] | None = None) -> dict[tuple[str, str], Series]:
    """Downsample every (run, key) history over ``x_range`` (default: everything) in one query.

    Returns a Series for every requested pair that has points; x values are in the stored
    unit (steps, or milliseconds for ``relative`` and ``wall``). With ``runs_out``, the same
    query also fills it as :func:`run_info` would (saving a round trip).
    """
    frame = fetch_buckets(run_ids, keys, x_axis, x_range, buckets, runs_out)
    return assemble(frame) if frame is not None else {}


def fetch_buckets(run_ids: Sequence[str], keys: Sequence[str], x_axis: str = "step",
                  x_range: tuple[float, float] | None = None, buckets: int = 500,
                  runs_out: dict[str, dict[str, Any]] | None = None) -> Any:
    """The store's M4 bucket rows (``store.metric_buckets``) of every (run, key), without the run
    rows (those fill ``runs_out``); None when there are no runs. What the chart's data carries."""
    if x_axis not in X_AXES:
        raise InvalidParameter(f"x_axis must be one of {sorted(X_AXES)}, not {x_axis!r}")
    if not run_ids:
        return None
    with_runs = runs_out is not None
    frame = fluent.active_store().metric_buckets(run_ids, keys, x_axis, max(int(buckets), 1), x_range, with_runs)
    if with_runs and runs_out is not None:
        runs = frame[frame["bucket"] == -3]
        runs_out.update(_info_rows(runs))
        frame = frame[frame["bucket"] != -3].reset_index(drop=True)
    return frame


def _info_rows(frame: Any) -> dict[str, dict[str, Any]]:
    return {r.run_id: {"name": r.run_name or r.run_id[:8], "status": r.status, "start_time": r.start_time}
            for r in frame.itertuples(index=False)}


def assemble(frame: Any) -> dict[tuple[str, str], Series]:
    """One :class:`Series` per (run, key) of :func:`fetch_buckets`' rows."""
    out: dict[tuple[str, str], Series] = {}
    if not len(frame):
        return out
    cols = {c: frame[c].to_numpy() for c in frame.columns}
    run_col, key_col = cols["run_id"], cols["key"]
    change = np.ones(len(frame), dtype=bool)
    change[1:] = (run_col[1:] != run_col[:-1]) | (key_col[1:] != key_col[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(frame))
    for s, e in zip(starts, ends, strict=True):
        run_id, key = str(run_col[s]), str(key_col[s])
        out[(run_id, key)] = _series_from(run_id, key, {c: v[s:e] for c, v in cols.items()})
    return out


def _series_from(run_id: str, key: str, c: dict[str, np.ndarray]) -> Series:
    bucket = c["bucket"].astype(np.int64)
    before, after = bucket == -1, bucket == -2
    inner = ~(before | after)
    # per bucket: first, min, max, last point, sorted by x, consecutive duplicates dropped
    xs = np.stack([c["x0"], c["x_at_min"], c["x_at_max"], c["x1"]], axis=1).astype(float)[inner]
    ys = np.stack([c["v0"], c["vmin"], c["vmax"], c["v1"]], axis=1).astype(float)[inner]
    order = np.argsort(xs, axis=1, kind="stable")
    x_in = np.take_along_axis(xs, order, axis=1).ravel()
    y_in = np.take_along_axis(ys, order, axis=1).ravel()
    keep = np.ones(len(x_in), dtype=bool)
    keep[1:] = (x_in[1:] != x_in[:-1]) | (y_in[1:] != y_in[:-1])
    # plus the neighbours outside the range (last point before, first after): lines reach the edges
    x_line = np.concatenate([c["x1"][before], x_in[keep], c["x0"][after]]).astype(float)
    y_line = np.concatenate([c["v1"][before], y_in[keep], c["v0"][after]]).astype(float)
    mean_x = c["xmean"][inner].astype(float)
    series = Series(
        run_id, key, x_line, y_line, band_x=mean_x, band_lo=c["vmin"][inner].astype(float),
        band_hi=c["vmax"][inner].astype(float), mean_x=mean_x, mean_y=c["vmean"][inner].astype(float),
        points=int(c["n"][inner].sum()),
    )
    last_step = c["last_step"].astype(np.int64)
    series.last_step = int(last_step.max())
    series.last_ts = int(c["last_ts"][last_step == series.last_step].max())
    return series


def fetch_new_points(series: dict[tuple[str, str], Series], pairs: Sequence[tuple[str, str]],
                     x_axis: str, limit: int = 50_000) -> tuple[Any, dict[str, str]]:
    """Points logged after each pair's cursor, and the status of every run in ``pairs``.

    Returns ``(frame, statuses)``; frame columns are run_id, key, step, timestamp, value, x,
    ordered by (run_id, key, step, timestamp). ``len(frame) == limit`` means "more were
    cut": refetch downsampled instead.
    """
    cursors = [(run_id, key, series[(run_id, key)].last_step if (run_id, key) in series else _NO_CURSOR,
                series[(run_id, key)].last_ts if (run_id, key) in series else _NO_CURSOR) for run_id, key in pairs]
    frame = fluent.active_store().metric_points_after(cursors, x_axis, limit)
    status_rows = frame[frame["what"] == "s"]
    statuses = dict(zip(status_rows["run_id"], status_rows["status"], strict=True))
    points = frame[frame["what"] == "p"].drop(columns=["what", "status"]).reset_index(drop=True)
    return points, statuses


def run_info(run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Name, status and start time of each run (one query)."""
    if not run_ids:
        return {}
    return _info_rows(fluent.active_store().run_summaries(run_ids))


def ema(y: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average (TensorBoard's): ``s_i = w*s_{i-1} + (1-w)*y_i``,
    divided by ``1 - w**(i+1)`` so the start is not pulled towards zero."""
    if weight <= 0 or len(y) == 0:
        return np.asarray(y, dtype=float)
    import pandas as pd

    return pd.Series(np.asarray(y, dtype=float)).ewm(alpha=1 - min(weight, 0.999), adjust=True).mean().to_numpy()
