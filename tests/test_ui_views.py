"""The views as real widgets (no browser): traits in, data out, selection shared, static copies."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from procenv import python_env

import nbtrack

pytest.importorskip("plotly")
pytest.importorskip("anywidget")

from nbtrack.ui import _live
from nbtrack.ui._selection import Selection


@pytest.fixture
def sweep(store_uri):
    """8 finished runs with lr over 3 decades, a categorical optimizer, and 50-step histories."""
    nbtrack.set_experiment("views")
    ids = []
    for i in range(8):
        lr = [1e-4, 1e-3, 1e-2, 1e-1][i % 4]
        with nbtrack.start_run(run_name=f"r{i}") as run:
            nbtrack.log_params({"lr": lr, "optimizer": ["sgd", "adam"][i % 2], "seed": 7})
            for step in range(50):
                loss = 1 / (1 + step * lr * 10) + i * 0.01
                nbtrack.log_metrics({"loss": loss, "acc": 1 - loss / 2}, step=step)
        ids.append(run.info.run_id)
        time.sleep(0.002)
    nbtrack.flush()
    return ids


def bundle_of(view):
    data = view._repr_mimebundle_()
    return data[0] if isinstance(data, tuple) else data


def svgs_in(html: str) -> list[str]:
    """The SVG documents a static copy embeds as data-URI images."""
    import base64
    import re

    return [base64.b64decode(m).decode() for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


# -- run table -------------------------------------------------------------------------------
def test_table_filters_sorts_pages_and_reports_filter_errors(sweep):
    table = nbtrack.runs_table("views", page_size=3)
    assert table.total == 8 and len(table.rows) == 3
    assert [c["id"] for c in table.columns][:2] == ["attr:run_name", "attr:status"]
    assert {"param:lr", "param:optimizer", "metric:acc", "metric:loss"} <= set(table.visible)

    table.filter = "metrics.acc >"
    assert table.filter_error["position"] == 14 and "value" in table.filter_error["problem"]
    assert table.total == 8  # the last good result stays

    table.filter = "params.optimizer = 'adam' AND metrics.acc > 0.5"
    assert table.filter_error == {} and table.chips == ["param optimizer is 'adam'", "acc > 0.5"]
    assert table.total == 4

    table.sort, table.descending = "param:lr", False
    lr_col = [c["id"] for c in table.columns].index("param:lr")
    assert [r["cells"][lr_col] for r in table.rows] == ["0.001", "0.001", "0.1"]
    table.page = 1
    assert len(table.rows) == 1 and table.page == 1
    table.sort = "metric:acc"  # a new sort goes back to the first page
    assert table.page == 0


def test_table_column_chooser_and_grouping(sweep):
    table = nbtrack.runs_table("views", columns=["attr:run_name", "param:seed"])
    assert [c["id"] for c in table.columns] == ["attr:run_name", "param:seed"]
    assert table.rows[0]["cells"] == ["r7", "7"]
    table.visible = ["attr:run_name", "metric:loss", "tag:mlflow.runName"]
    assert [c["label"] for c in table.columns] == ["Run", "loss", "mlflow.runName"]
    assert {c["id"] for c in table.catalogue} >= {"param:seed", "tag:mlflow.runName", "attr:duration"}
    table.group_by_cell = True  # no nbtrack.cell_id tags: every run is its own group
    assert table.total == 8


def test_table_selection_is_shared(sweep):
    selection = Selection()
    table = nbtrack.runs_table("views", selection=selection)
    table.selected = sweep[:2]
    assert selection.run_ids == tuple(sweep[:2]) and selection.source is table.widget
    assert set(table.colors) == set(sweep[:2])
    selection.set([sweep[5]], source="elsewhere")
    assert table.selected == [sweep[5]]


def test_table_opens_10k_runs_in_under_a_second(store_uri):
    exp = nbtrack.create_experiment("big")
    client = nbtrack.MlflowClient()
    store = client.store
    for i in range(10_000):
        run = store.create_run(exp, "me", None, [], f"run-{i}")
        store.log_batch(run.info.run_id, params=[("i", str(i))])
    nbtrack.flush()
    nbtrack.runs_table("big")  # first call pays for imports and opening the store
    started = time.perf_counter()
    table = nbtrack.runs_table("big")
    assert time.perf_counter() - started < 1.0
    assert table.total == 10_000 and len(table.rows) == 50


def test_table_static_copy(sweep):
    table = nbtrack.runs_table("views", page_size=5)
    table.selected = [table.page_run_ids[0]]
    html = bundle_of(table)["text/html"]
    assert "<table" in html and "r7" in html and "8 runs" in html and "#fff3c4" in html
    assert "<script" not in html


# -- metric chart ----------------------------------------------------------------------------
def test_chart_overlays_runs_one_panel_per_key(sweep):
    chart = nbtrack.metric_chart(sweep[:3], ["loss", "acc"])
    assert chart.metric_keys == ["loss", "acc"]
    assert len(chart.figure.data) == 3 * 2 * 4  # runs x keys x (band lo, band hi, raw, smoothed)
    raw = [t for t in chart.figure.data if t.showlegend is not None and t.name in ("r0", "r1", "r2")]
    assert {t.name for t in raw} == {"r0", "r1", "r2"}
    assert all(len(t.x) == 50 for t in raw)
    assert chart.figure.layout.yaxis2.domain is not None  # a second panel


def test_chart_smoothing_log_y_and_export(sweep):
    chart = nbtrack.metric_chart(sweep[0], "loss")
    _, _, raw, smooth = chart.figure.data
    assert smooth.visible is False
    chart.smoothing.value = 0.8
    assert smooth.visible is True and raw.opacity == 0.25
    assert smooth.y[-1] > raw.y[-1]  # a decaying loss, smoothed, lags above
    chart.log_y.value = True
    assert chart.figure.layout.yaxis.type == "log"
    frame = chart.widget.data()  # (chart.data() is the view's data for the extension)
    assert list(frame.columns) == ["run_id", "run_name", "key", "x", "value", "smoothed"]
    assert len(frame) == 50 and not frame["smoothed"].isna().any()


def test_chart_x_axis_switches_to_relative_and_wall_time(sweep):
    chart = nbtrack.metric_chart(sweep[0], "loss")
    chart.x_axis.value = "wall"
    assert chart.figure.layout.xaxis.type == "date"
    chart.x_axis.value = "relative"
    raw = chart.figure.data[2]
    assert raw.x[0] >= 0 and raw.x[-1] < 60  # seconds since the run started


def test_chart_switches_to_time_when_every_point_has_step_zero(store_uri):
    with nbtrack.start_run() as run:
        for v in (3.0, 2.0, 1.0):
            nbtrack.log_metric("loss", v)  # no step: MLflow logs them all at step 0
            time.sleep(0.01)
    nbtrack.flush()
    chart = nbtrack.metric_chart(run.info.run_id, "loss")
    assert chart.x_axis.value == "relative"


def test_zoom_fetches_detail_for_the_visible_range(store_uri):
    with nbtrack.start_run() as run:
        values = np.sin(np.arange(20_000) / 50.0)
        start = run.info.start_time
        nbtrack.MlflowClient().log_batch(run.info.run_id, metrics=[
            nbtrack.entities.Metric("wave", float(v), start + s, s) for s, v in enumerate(values)])
    nbtrack.flush()
    chart = nbtrack.metric_chart(run.info.run_id, "wave", buckets=100)
    raw = chart.figure.data[2]
    assert len(raw.x) <= 400 and np.sum((np.asarray(raw.x) >= 5000) & (np.asarray(raw.x) <= 5099)) < 10
    chart.figure.layout.xaxis.range = [5000, 5099]  # what a plotly relayout from the browser does

    def visible() -> list[float]:
        xs = np.asarray(chart.figure.data[2].x)
        return list(xs[(xs >= 5000) & (xs <= 5099)])

    deadline = time.monotonic() + 10
    while len(visible()) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)  # the relayout handler fetches after a short debounce, in a thread
    assert chart.widget._range == (5000.0, 5099.0)
    assert visible() == list(range(5000, 5100))
    chart.zoom(None, None)
    assert len(chart.figure.data[2].x) <= 400


def test_live_chart_appends_without_refetching(store_uri, monkeypatch):
    from nbtrack.ui import _history

    run = nbtrack.start_run(run_name="live")
    for step in range(10):
        nbtrack.log_metric("loss", 1.0, step=step)
    nbtrack.flush()
    chart = nbtrack.metric_chart(run.info.run_id, "loss", live=False)
    assert len(chart.figure.data[2].x) == 10 and "live" in chart.status.value
    full_fetches = []
    real = _history.fetch_series
    monkeypatch.setattr(_history, "fetch_series", lambda *a, **k: full_fetches.append(1) or real(*a, **k))
    for step in range(10, 25):
        nbtrack.log_metric("loss", 0.5, step=step)
    nbtrack.flush()
    assert chart.widget._poll() is not None  # still RUNNING: poll again soon
    assert list(chart.figure.data[2].x) == list(range(25))
    assert full_fetches == []  # only the 15 new points were read
    nbtrack.end_run()
    nbtrack.flush()
    assert chart.widget._poll() is None  # finished: stop polling


def test_chart_follows_a_selection(sweep):
    selection = Selection()
    chart = nbtrack.metric_chart(selection=selection, keys="loss")
    assert chart.run_ids == [] and "select runs" in chart.status.value
    selection.set(sweep[2:4], source="table")
    assert chart.run_ids == sweep[2:4]
    assert {t.name for t in chart.figure.data if t.showlegend} == {"r2", "r3"}


def test_chart_static_copy_is_svg(sweep):
    chart = nbtrack.metric_chart(sweep[:2], ["loss", "acc"], smoothing=0.5)
    html = bundle_of(chart)["text/html"]
    (svg,) = svgs_in(html)
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 * 2 * 2  # raw + smoothed
    assert "<script" not in html and "<svg" not in html and len(html) < 100_000


# -- parallel coordinates --------------------------------------------------------------------
def test_parallel_coordinates_axes(sweep):
    view = nbtrack.parallel_coordinates(experiment="views", color="acc")
    dims = {d.label: d for d in view.figure.data[0].dimensions}
    assert set(dims) == {"lr (log)", "optimizer", "acc", "loss"}  # seed never varies: no axis
    assert list(dims["optimizer"].ticktext) == ["adam", "sgd"]
    assert list(dims["lr (log)"].ticktext) == ["1e-4", "1e-3", "1e-2", "1e-1"]
    assert math.isclose(min(dims["lr (log)"].values), -4)
    assert view.figure.data[0].line.colorbar.title.text == "acc"


def test_brushing_selects_runs_and_a_selection_greys_out_the_rest(sweep):
    selection = Selection()
    view = nbtrack.parallel_coordinates(experiment="views", selection=selection)
    labels = [d.label for d in view.figure.data[0].dimensions]
    lr = labels.index("lr (log)")
    view.figure.plotly_restyle({f"dimensions[{lr}].constraintrange": [[-1.5, -0.5]]}, trace_indexes=[0])
    assert selection.source is view.widget
    assert sorted(selection.run_ids) == sorted(sweep[3::4])  # lr = 0.1
    selection.set(sweep[:1], source="table")
    colors = np.asarray(view.figure.data[0].line.color)
    assert (colors > 0).sum() == 1 and (colors == 0).sum() == 7
    selection.clear(source="table")
    assert (np.asarray(view.figure.data[0].line.color) > 0).sum() >= 7


def test_parallel_coordinates_static_copy(sweep):
    html = bundle_of(nbtrack.parallel_coordinates(experiment="views"))["text/html"]
    (svg,) = svgs_in(html)
    assert svg.count("<polyline") == 8 and "optimizer" in svg


# -- compare ---------------------------------------------------------------------------------
def test_compare_highlights_differences_and_marks_the_best(sweep):
    view = nbtrack.compare(sweep[:3])
    assert view.differing_params() == ["lr", "optimizer"]  # seed is the same everywhere
    best = view.best_runs()
    assert best["loss"] == sweep[2]  # lower is better for a loss (lr 1e-2 learns fastest here)
    assert best["acc"] == sweep[2]
    view.only_differences.value = True
    assert "seed" not in view.tables.value
    html = bundle_of(view)["text/html"]
    assert html.count(" ★</td>") == 2 and len(svgs_in(html)) == 1
    assert nbtrack.ui.compare(sweep[:2], higher_is_better={"loss": True}).best_runs()["loss"] == sweep[0]
    with pytest.raises(nbtrack.errors.NotFound):
        nbtrack.compare(["nope"])


def test_a_run_id_that_is_no_run_is_an_error_not_an_empty_view(sweep):
    with pytest.raises(nbtrack.errors.NotFound, match=r"\['nope'\] not found"):
        nbtrack.parallel_coordinates([sweep[0], "nope"])
    with pytest.raises(nbtrack.errors.NotFound, match=r"\['nope'\] not found"):
        bundle_of(nbtrack.metric_chart([sweep[0], "nope"], "loss"))  # read when displayed
    with pytest.raises(nbtrack.errors.InvalidParameter, match="x must be one of"):
        nbtrack.metric_chart(sweep[0], "loss", x="epoch")
    empty = nbtrack.metric_chart(sweep[0], "no-such-key").histories()  # a real run without that key: no error
    assert empty.run_ids == [sweep[0]] and empty.series == {}


# -- dashboard -------------------------------------------------------------------------------
def test_dashboard_links_table_parallel_coordinates_and_chart(sweep):
    dash = nbtrack.dashboard("views", refresh=0, metric="loss").widget  # the ipywidgets fallback
    assert dash.table.total == 8 and dash.metric.value == "loss"
    assert dash.chart.run_ids == dash.table.page_run_ids[:10]  # nothing selected: the table's first runs
    dash.table.selected = sweep[:2]
    assert dash.chart.run_ids == sweep[:2]
    assert (np.asarray(dash.parcoords.figure.data[0].line.color) > 0).sum() == 2
    dash.table.filter = "params.optimizer = 'sgd'"
    assert len(dash.parcoords._run_ids) == 4
    dash.metric.value = "acc"
    assert dash.chart.metric_keys == ["acc"]
    html = bundle_of(dash)["text/html"]
    assert "nbtrack dashboard" in html and len(svgs_in(html)) == 2 and len(html) < 300_000


def test_dashboard_refreshes_with_runs_from_another_process(sweep, store_uri):
    dash = nbtrack.dashboard("views", refresh=0).widget  # the widget, built before the other process writes
    writer = textwrap.dedent(f"""
        import nbtrack
        nbtrack.set_tracking_uri({store_uri!r})
        nbtrack.set_experiment("views")
        with nbtrack.start_run(run_name="from-elsewhere"):
            nbtrack.log_metric("loss", 0.01, step=0)
    """)
    subprocess.run([sys.executable, "-c", writer], env=python_env(), check=True, timeout=120)
    dash._poll()  # refresh=0: no timer; poll once by hand
    assert dash.table.total == 9 and dash.refreshes == 1
    assert "from-elsewhere" in [r["cells"][0] for r in dash.table.rows]
    assert len(dash.parcoords._run_ids) + dash.parcoords._dropped == 9


def test_live_views_are_polled_by_one_background_thread(store_uri):
    class Probe:
        calls = 0

        def _poll(self):
            Probe.calls += 1
            return 0.05 if Probe.calls < 3 else None

    probe = Probe()
    _live.schedule(probe)
    deadline = time.monotonic() + 5
    while Probe.calls < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert Probe.calls == 3
    time.sleep(0.2)
    assert Probe.calls == 3 and not _live.scheduled(probe)


# -- package surface -------------------------------------------------------------------------
def test_ui_exports_exactly_the_seven_views_and_imports_lazily():
    code = ("import sys, nbtrack.ui as ui\n"
            "assert sorted(ui.__all__) == ['compare', 'dashboard', 'metric_chart', 'models_view',"
            " 'parallel_coordinates', 'registry_view', 'runs_table']\n"
            "assert not any(m in sys.modules for m in ('plotly', 'ipywidgets', 'anywidget', 'duckdb'))\n"
            "import nbtrack\n"
            "assert nbtrack.runs_table is ui.runs_table and 'anywidget' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], env=python_env(), check=True, timeout=120)


def test_charts_share_one_plotly_bundle_per_kernel(monkeypatch):
    from nbtrack.ui import _plotly

    assert _plotly.shared_bundle_available()
    source = _plotly._bundle_source()
    assert source is not None and "globalThis.__nbtrackPlotlyWidget = " in source
    first, second = _plotly.FigureWidget(), _plotly.FigureWidget()
    assert len(first._esm) < 2000 and first._esm == second._esm  # a loader, not 5 MB each
    assert len(_plotly._state["widget"]._esm) > 1_000_000  # the one copy
    # a plotly whose bundle does not end the expected way: no rewrite, plain FigureWidgets
    monkeypatch.setitem(_plotly._state, "source", None)
    assert not _plotly.shared_bundle_available()


# -- the widget fallback says how to get the full views ------------------------------------------
def test_the_widget_fallback_says_once_how_to_get_the_extension(ip, sweep, monkeypatch):
    """Where the front end cannot draw nbtrack's views (VS Code here), a view is its widget with a
    static copy, and the first one in the kernel is preceded by one line naming the install."""
    from ipshell import run

    from nbtrack.ui import _mime

    monkeypatch.setattr(_mime, "_told", [])
    monkeypatch.delenv("NBTRACK_VIEWS", raising=False)
    monkeypatch.delenv(_mime._MARKER, raising=False)
    monkeypatch.setenv("VSCODE_PID", "1")
    outputs = []
    for _ in range(2):
        result, out = run(ip, 'nbtrack.runs_table("views")')
        assert result.success, result.error_in_exec
        outputs.append(out.outputs)
    notes = [o for outs in outputs for o in outs if "nbtrack[notebook]" in o.data.get("text/plain", "")]
    assert len(notes) == 1 and "pip install 'nbtrack[notebook]'" in notes[0].data["text/plain"]
    shown, _ = ip.display_formatter.format(ip.user_ns["_"])  # what the cell's value displays as
    assert "application/vnd.jupyter.widget-view+json" in shown and _mime.MIME not in shown
    assert "8 runs" in shown["text/html"]  # the static copy, for where the widget cannot come back
    monkeypatch.setattr(_mime, "_told", [])
    monkeypatch.setenv("NBTRACK_VIEWS", "widgets")  # asked for on purpose: nothing to tell
    _, out = run(ip, 'nbtrack.runs_table("views")')
    assert not [o for o in out.outputs if "nbtrack[notebook]" in o.data.get("text/plain", "")]
