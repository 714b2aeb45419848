"""Metric histories as charts get them: downsampled in DuckDB, fetched incrementally."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrack
from nbtrack.entities import Metric
from nbtrack.ui import _history


@pytest.fixture
def long_run(store_uri):
    """100,000 points of a noisy decay, one spike of 50 at step 61,234, a dip to -5 at step 3."""
    n = 100_000
    rng = np.random.default_rng(0)
    values = np.exp(-np.arange(n) / 20_000) + rng.normal(0, 0.01, n)
    values[61_234], values[3] = 50.0, -5.0
    with nbtrack.start_run() as run:
        start = run.info.start_time
        nbtrack.MlflowClient().log_batch(run.info.run_id, metrics=[
            Metric("loss", float(v), start + 10 * s, s) for s, v in enumerate(values)])
    nbtrack.flush()
    return run.info.run_id, values


def test_a_long_history_arrives_as_a_few_points_per_bucket(long_run):
    run_id, values = long_run
    series = _history.fetch_series([run_id], ["loss"], buckets=500)[(run_id, "loss")]
    assert series.points == len(values)
    assert len(series.x) <= 4 * 500 and series.downsampled
    assert series.x[0] == 0 and series.x[-1] == len(values) - 1  # first and last points kept
    assert series.y[0] == values[0] and series.y[-1] == values[-1]
    assert 61_234 in series.x and 50.0 in series.y  # the spike survives
    assert -5.0 in series.y  # and the dip
    assert np.all(np.diff(series.x) >= 0)
    # the band holds each bucket's min and max: it spans the whole range of values
    assert series.band_hi.max() == 50.0 and series.band_lo.min() == -5.0
    assert series.last_step == len(values) - 1


def test_zooming_returns_every_point_of_a_narrow_range(long_run):
    run_id, values = long_run
    series = _history.fetch_series([run_id], ["loss"], x_range=(1000, 1199), buckets=500)[(run_id, "loss")]
    inside = series.x[(series.x >= 1000) & (series.x <= 1199)]
    assert list(inside) == list(range(1000, 1200))  # fewer steps than buckets: exact
    assert series.x[0] == 999 and series.x[-1] == 1200  # neighbours: the line reaches the edges
    np.testing.assert_allclose(series.y[1:-1], values[1000:1200])


def test_relative_and_wall_time_axes(long_run):
    run_id, _ = long_run
    relative = _history.fetch_series([run_id], ["loss"], x_axis="relative")[(run_id, "loss")]
    assert relative.x[0] == 0 and relative.x[-1] == 10 * 99_999  # ms since the run started
    wall = _history.fetch_series([run_id], ["loss"], x_axis="wall")[(run_id, "loss")]
    assert wall.x[-1] - wall.x[0] == 10 * 99_999
    with pytest.raises(ValueError, match="x_axis"):
        _history.fetch_series([run_id], ["loss"], x_axis="epoch")


def test_new_points_after_the_cursor_and_run_statuses(store_uri):
    with nbtrack.start_run() as run:
        for step in range(5):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.flush()
        series = _history.fetch_series([run.info.run_id], ["loss", "acc"])
        pair = (run.info.run_id, "loss")
        assert list(series[pair].x) == [0, 1, 2, 3, 4]
        for step in range(5, 8):
            nbtrack.log_metric("loss", 0.1, step=step)
        nbtrack.log_metric("acc", 0.9, step=7)
        nbtrack.flush()
        points, statuses = _history.fetch_new_points(series, [pair, (run.info.run_id, "acc")], "step")
        assert statuses == {run.info.run_id: "RUNNING"}
        assert list(zip(points["key"], points["step"], strict=True)) == [("acc", 7), ("loss", 5), ("loss", 6),
                                                                          ("loss", 7)]
        series[pair].append(points["x"][points["key"] == "loss"].to_numpy(float),
                            points["value"][points["key"] == "loss"].to_numpy(float),
                            points["step"][points["key"] == "loss"].to_numpy(), points["timestamp"][points["key"] == "loss"].to_numpy())
        again, _ = _history.fetch_new_points(series, [pair], "step")
        assert again.empty  # the cursor moved: nothing is fetched twice
    _, statuses = _history.fetch_new_points(series, [pair], "step")
    assert statuses == {run.info.run_id: "FINISHED"}


def test_non_finite_values_are_left_out(store_uri):
    with nbtrack.start_run() as run:
        for step, value in enumerate([1.0, float("nan"), 2.0, float("inf"), 3.0]):
            nbtrack.log_metric("m", value, step=step)
    nbtrack.flush()
    series = _history.fetch_series([run.info.run_id], ["m"])[(run.info.run_id, "m")]
    assert list(series.y) == [1.0, 2.0, 3.0]


def test_many_runs_in_one_query(store_uri):
    ids = []
    for r in range(5):
        with nbtrack.start_run() as run:
            for step in range(100):
                nbtrack.log_metrics({"a": r + step, "b": -step}, step=step)
        ids.append(run.info.run_id)
    nbtrack.flush()
    series = _history.fetch_series(ids, ["a", "b"], buckets=50)
    assert len(series) == 10
    assert all(len(s.x) <= 200 for s in series.values())
    info = _history.run_info(ids)
    assert set(info) == set(ids) and all(i["status"] == "FINISHED" for i in info.values())


def test_ema_is_debiased():
    y = np.array([10.0, 10.0, 10.0])
    np.testing.assert_allclose(_history.ema(y, 0.9), y)  # a constant stays constant from the start
    np.testing.assert_allclose(_history.ema(np.array([0.0, 1.0]), 0.5), [0.0, 2 / 3])
    assert list(_history.ema(np.array([1.0, 2.0]), 0.0)) == [1.0, 2.0]
