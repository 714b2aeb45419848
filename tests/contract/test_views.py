"""The public notebook views on every backend: ``runs_table``, ``metric_chart``, ``compare``,
``parallel_coordinates`` and ``dashboard`` build from the store's named view operations (over
HTTP for rest, downsampled on the server) and show the same runs and values."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import nbtrack
from nbtrack.entities import Metric, Param
from nbtrack.store.wire import frame_from_wire

pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from nbtrack.ui._mime import MIME
from nbtrack.ui._selection import Selection

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

LRS = [1e-4, 1e-3, 1e-2, 1e-1]


def loss(i: int, step: int) -> float:
    return 1 / (1 + step * LRS[i % 4] * 10) + i * 0.01


@dataclass
class Sweep:
    experiment: str
    ids: list[str]  # r0..r7, oldest first


@pytest.fixture(scope="module")
def sweep(module_backend) -> Sweep:
    """8 finished runs (r0..r7, a second apart) with lr over 3 decades, a categorical optimizer, a
    constant seed and 50-step loss/acc histories; one store per backend for the module."""
    with module_backend.active():
        client = nbtrack.MlflowClient()
        name = module_backend.name("views")
        eid = client.create_experiment(name)
        ids = []
        for i in range(8):
            start = 1_700_000_000_000 + i * 1000
            rid = client.create_run(eid, start_time=start, run_name=f"r{i}").info.run_id
            points = [Metric(k, v, start + step, step) for step in range(50)
                      for k, v in (("loss", loss(i, step)), ("acc", 1 - loss(i, step) / 2))]
            params = [Param("lr", str(LRS[i % 4])), Param("optimizer", ["sgd", "adam"][i % 2]), Param("seed", "7")]
            client.log_batch(rid, metrics=points, params=params)
            client.set_terminated(rid, "FINISHED", end_time=start + 500)
            ids.append(rid)
        nbtrack.flush()
    return Sweep(name, ids)


@pytest.fixture
def runs(sweep, use_module_backend) -> Sweep:
    return sweep


def test_runs_table_pages_filters_and_sorts(runs):
    table = nbtrack.runs_table(runs.experiment, page_size=3)
    assert table.total == 8 and table.page_run_ids == runs.ids[:4:-1]
    assert [c["id"] for c in table.columns][:2] == ["attr:run_name", "attr:status"]
    assert {"param:lr", "param:optimizer", "metric:acc", "metric:loss"} <= set(table.visible)
    assert [r["cells"][0] for r in table.rows] == ["r7", "r6", "r5"]
    table.filter = "params.optimizer = 'adam' AND metrics.acc > 0.5"
    assert table.filter_error == {} and table.total == 4
    table.sort, table.descending = "param:lr", False
    lr = [c["id"] for c in table.columns].index("param:lr")
    assert [r["cells"][lr] for r in table.rows] == ["0.001", "0.001", "0.1"]
    first = table.page_run_ids
    table.page = 1
    assert len(table.page_run_ids) == 1 and set(first + table.page_run_ids) == set(runs.ids[1::2])
    table.filter = "metrics.acc >"
    assert table.filter_error["position"] == 14 and table.total == 4  # the last good result stays
    table.filter = ""
    table.sort, table.descending = "metric:loss", True
    loss_col = [c["id"] for c in table.columns].index("metric:loss")
    assert table.page_run_ids == [runs.ids[4], runs.ids[0], runs.ids[5]]
    assert float(table.rows[0]["cells"][loss_col]) == pytest.approx(loss(4, 49), rel=1e-3)
    grouped = nbtrack.runs_table(runs.experiment, group_by_cell=True)  # no cell tags: each run its own group
    assert grouped.total == 8


def test_metric_chart_series(runs):
    chart = nbtrack.metric_chart(runs.ids[:3], ["loss", "acc"])
    assert chart.metric_keys == ["loss", "acc"] and chart.run_ids == runs.ids[:3]
    assert len(chart.figure.data) == 3 * 2 * 4  # runs x keys x (band lo, band hi, raw, smoothed)
    frame = chart.widget.data()  # (chart.data() is the view's data for the extension)
    assert len(frame) == 3 * 2 * 50
    for i, rid in enumerate(runs.ids[:3]):
        series = frame[(frame["run_id"] == rid) & (frame["key"] == "loss")]
        assert series["x"].tolist() == list(range(50)) and set(series["run_name"]) == {f"r{i}"}
        assert np.allclose(series["value"].to_numpy(), [loss(i, s) for s in range(50)])
    raw = [t for t in chart.figure.data if t.showlegend is not None and t.name in ("r0", "r1", "r2")]
    assert {t.name for t in raw} == {"r0", "r1", "r2"} and all(len(t.x) == 50 for t in raw)
    chart.widget.x_axis.value = "relative"
    assert chart.figure.data[2].x[-1] == pytest.approx(0.049)  # seconds since the run started
    selected = Selection()
    follows = nbtrack.metric_chart(selection=selected, keys="loss")
    selected.set(runs.ids[2:4], source="table")
    assert follows.run_ids == runs.ids[2:4]


def test_compare(runs):
    view = nbtrack.compare(runs.ids[:3])
    assert view.differing_params() == ["lr", "optimizer"]  # seed is the same everywhere
    assert view.best_runs() == {"loss": runs.ids[2], "acc": runs.ids[2]}
    assert nbtrack.compare(runs.ids[:2], higher_is_better={"loss": True}).best_runs()["loss"] == runs.ids[0]
    with pytest.raises(nbtrack.errors.NotFound):
        nbtrack.compare(["0" * 32])


def test_parallel_coordinates(runs):
    view = nbtrack.parallel_coordinates(experiment=runs.experiment, color="acc")
    options = view.options()  # what the extension draws: the axes and the runs' values
    assert (options["params"], options["metrics"], options["color"]) == (["lr", "optimizer"], ["acc", "loss"], "acc")
    data = view.data()
    frame = frame_from_wire(data["frame"])
    assert data["total"] == 8 and sorted(frame["run_id"]) == sorted(runs.ids)
    by_run = dict(zip(frame["run_id"], frame["metric:loss"], strict=True))
    assert all(math.isclose(by_run[rid], loss(i, 49), rel_tol=1e-9) for i, rid in enumerate(runs.ids))
    lrs = dict(zip(frame["run_id"], frame["param:lr"], strict=True))
    assert lrs == {rid: str(LRS[i % 4]) for i, rid in enumerate(runs.ids)}
    # the widget (front ends without the extension) draws the same runs and values
    widget = view.widget
    dims = {d.label: d for d in widget.figure.data[0].dimensions}
    assert set(dims) == {"lr (log)", "optimizer", "acc", "loss"}  # seed never varies: no axis
    assert list(dims["optimizer"].ticktext) == ["adam", "sgd"]
    assert list(dims["lr (log)"].ticktext) == ["1e-4", "1e-3", "1e-2", "1e-1"]
    drawn = [widget._run_ids[i] for i in widget._order]  # trace row -> run
    assert sorted(drawn) == sorted(runs.ids)
    by_run = dict(zip(drawn, dims["loss"].values, strict=True))
    assert all(math.isclose(by_run[rid], loss(i, 49), rel_tol=1e-9) for i, rid in enumerate(runs.ids))


def test_dashboard(runs):
    dash = nbtrack.dashboard(runs.experiment, refresh=0, metric="loss")
    # the view's data (the extension links its parts in the front end)
    assert dash.options()["metric"] == "loss" and dash.options()["metrics"] == ["acc", "loss"]
    parts = dash.data()
    page = frame_from_wire(parts["table"]["data"]["page"])
    assert page["total"].iloc[0] == 8 and page["run_id"].tolist() == runs.ids[::-1]
    chart = parts["chart"]["data"]
    assert chart["keys"] == ["loss"] and [r["run_id"] for r in chart["runs"]] == runs.ids[::-1]
    assert set(frame_from_wire(chart["buckets"])["run_id"]) == set(runs.ids)
    values = frame_from_wire(parts["parcoords"]["data"]["frame"])
    by_run = dict(zip(values["run_id"], values["metric:loss"], strict=True))
    assert all(math.isclose(by_run[rid], loss(i, 49), rel_tol=1e-9) for i, rid in enumerate(runs.ids))
    other = nbtrack.dashboard(runs.experiment, refresh=0, metric="acc")
    assert other.options()["metric"] == "acc" and other.data()["chart"]["data"]["keys"] == ["acc"]
    # the widget links its parts in the kernel: selecting, filtering, switching the metric
    widget = dash.widget
    assert widget.table.total == 8 and widget.metric.value == "loss"
    assert widget.chart.run_ids == widget.table.page_run_ids[:10] == runs.ids[::-1]
    widget.table.selected = runs.ids[:2]
    assert widget.chart.run_ids == runs.ids[:2]
    assert (np.asarray(widget.parcoords.figure.data[0].line.color) > 0).sum() == 2
    widget.table.filter = "params.optimizer = 'sgd'"
    assert sorted(widget.parcoords._run_ids) == sorted(runs.ids[::2])
    widget.metric.value = "acc"
    assert widget.chart.metric_keys == ["acc"]
    bundle = dash._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    html = bundle["text/html"]  # the static copy: the experiment, its runs
    assert "nbtrack dashboard" in html and f"· {runs.experiment}</div>" in html and ">8 runs</caption>" in html
    assert MIME in bundle or WIDGET_MIME in bundle  # the extension's data, or the widget where it is missing
