"""metric_chart and compare as views: the kernel's data for nbtrack's JupyterLab extension (spec,
data, static copy, no plotly imported), the widget fallback, and any number of metric panels."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time

import pytest
from ipshell import run
from procenv import python_env

import nbtrack
from nbtrack.store.wire import frame_from_wire
from nbtrack.ui._mime import MIME

KEYS = [f"m{i}" for i in range(8)]


@pytest.fixture
def runs(store_uri, monkeypatch):
    """Three finished runs with 8 metric keys over 20 steps, one single-point metric, a NaN."""
    monkeypatch.delenv("NBTRACK_VIEWS", raising=False)
    monkeypatch.delenv("NBTRACK_JUPYTER_EXTENSION", raising=False)
    nbtrack.set_experiment("chart-views")
    ids = []
    for i in range(3):
        with nbtrack.start_run(run_name=f"run-{i}") as r:
            nbtrack.log_params({"lr": 10.0 ** -(i + 1), "seed": 7, **({"extra": "x"} if i == 0 else {})})
            nbtrack.set_tag("team", "a" if i < 2 else "b")
            for step in range(20):
                nbtrack.log_metrics({k: (j + 1) / (1 + step * (i + 1)) for j, k in enumerate(KEYS)}, step=step)
            nbtrack.log_metric("final_acc", 0.8 + i / 100)  # one point only
            if i == 2:
                nbtrack.log_metric("loss", math.nan, step=0)
            else:
                nbtrack.log_metric("loss", 0.5 - i / 10, step=0)
        ids.append(r.info.run_id)
    nbtrack.flush()
    return ids


def spec_of(view) -> dict:
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {MIME, "text/html", "text/plain"}
    json.dumps(bundle, allow_nan=False)  # what Jupyter sends: strict JSON
    return bundle


def test_metric_chart_sends_its_data_for_the_extension(runs):
    chart = nbtrack.metric_chart(runs, [*KEYS[:6], "final_acc"], smoothing=0.5, log_y=True)
    bundle = spec_of(chart)
    spec = bundle[MIME]
    assert spec["view"] == "metric_chart" and spec["version"] == 1 and spec["tracking_uri"]
    assert spec["options"]["smoothing"] == 0.5 and spec["options"]["log_y"] is True
    data = spec["data"]
    assert [r["name"] for r in data["runs"]] == ["run-0", "run-1", "run-2"]
    assert {r["status"] for r in data["runs"]} == {"FINISHED"} and all(r["start_time"] > 0 for r in data["runs"])
    assert data["keys"] == [*KEYS[:6], "final_acc"] and data["x_axis"] == "step"
    frame = frame_from_wire(data["buckets"])
    pairs = set(zip(frame["run_id"], frame["key"], strict=True))
    assert pairs == {(r, k) for r in runs for k in data["keys"]}
    one = frame[(frame["key"] == "final_acc") & (frame["run_id"] == runs[1])]
    assert len(one) == 1 and one["n"].iloc[0] == 1 and one["v0"].iloc[0] == pytest.approx(0.81)
    assert frame[frame["key"] == "m0"]["n"].sum() == 3 * 20
    html = bundle["text/html"]
    assert html.startswith("<img") and "static copy of the chart" in html and "<script" not in html
    assert "MetricChart(runs=3" in bundle["text/plain"]


def test_metric_chart_default_keys_and_runs_beyond_max_runs(runs):
    data = spec_of(nbtrack.metric_chart(runs, max_runs=2))[MIME]["data"]
    assert len(data["runs"]) == 2 and data["hidden_runs"] == 1
    assert len(data["keys"]) == 4  # the keys most runs have, as the widget chooses them


def test_metric_chart_switches_to_time_when_every_point_has_step_zero(store_uri):
    with nbtrack.start_run() as run_:
        for v in (3.0, 2.0, 1.0):
            nbtrack.log_metric("loss", v)
            time.sleep(0.01)
    nbtrack.flush()
    data = spec_of(nbtrack.metric_chart(run_.info.run_id, "loss"))[MIME]["data"]
    assert data["x_axis"] == "relative"


def test_compare_sends_rows_with_params_metrics_tags_and_missing_values(runs):
    view = nbtrack.compare(runs)
    assert view.differing_params() == ["extra", "lr"]  # seed is the same everywhere; extra is missing twice
    best = view.best_runs()
    assert best["loss"] == runs[1]  # lower is better; the NaN of run-2 never wins
    assert best["final_acc"] == runs[2]
    bundle = spec_of(view)
    data = bundle[MIME]["data"]
    assert bundle[MIME]["view"] == "compare"
    assert data["params"] == ["extra", "lr", "seed"] and "final_acc" in data["metrics"] and data["tags"] == ["team"]
    rows = {r["name"]: r for r in data["runs"]}
    assert rows["run-1"]["params"]["extra"] is None and rows["run-0"]["params"]["extra"] == "x"
    assert rows["run-2"]["metrics"]["loss"] is None  # a NaN latest value is no value (drawn as —), strict JSON
    assert rows["run-2"]["tags"] == {"team": "b"}
    assert data["higher"]["loss"] is False and data["higher"]["final_acc"] is True
    assert data["chart"]["keys"] == sorted([*KEYS, "final_acc", "loss"])  # every metric, one panel each
    html = bundle["text/html"]
    assert html.count(" ★</td>") == len(best) and "nan" not in html.lower().replace("nbtrack", "")
    assert "<td" in html and html.count('data-differs="1"') == 3  # extra, lr, team


def test_views_in_an_ipython_cell(ip, runs, monkeypatch):
    ip.user_ns["ids"] = runs
    _, out = run(ip, "from IPython.display import display\n"
                     "display(nbtrack.metric_chart(ids, ['m0', 'final_acc']))\ndisplay(nbtrack.compare(ids[:2]))")
    views = [o.data[MIME] for o in out.outputs if MIME in o.data]
    assert [v["view"] for v in views] == ["metric_chart", "compare"]
    assert all("text/html" in o.data for o in out.outputs)


def test_mime_path_imports_no_plotly_and_is_fast(runs, store_uri):
    code = textwrap.dedent(f"""
        import json, sys, time
        started = time.perf_counter()
        import nbtrack
        nbtrack.set_tracking_uri({store_uri!r})
        imported = time.perf_counter()
        nbtrack.search_runs(search_all_experiments=True)  # a notebook that has used its store: open, pandas loaded
        warm = time.perf_counter()
        bundle = nbtrack.metric_chart({runs!r}, ["m0", "m1"])._repr_mimebundle_()
        first = time.perf_counter()
        nbtrack.metric_chart({runs!r}, ["m2"])._repr_mimebundle_()
        second = time.perf_counter()
        nbtrack.compare({runs!r})._repr_mimebundle_()
        heavy = [m for m in ("plotly", "ipywidgets", "anywidget") if m in sys.modules]
        print(json.dumps({{"heavy": heavy, "import_ms": (imported - started) * 1000,
                          "store_ms": (warm - imported) * 1000,
                          "first_ms": (first - warm) * 1000, "second_ms": (second - first) * 1000,
                          "mime": "application/vnd.nbtrack.view+json" in bundle}}))
    """)
    env = {k: v for k, v in python_env().items() if k not in ("NBTRACK_VIEWS", "VSCODE_PID", "VSCODE_CWD")}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(result)
    assert result["mime"] and result["heavy"] == []
    # about 40-60 ms each on an idle machine (the store's query and the static SVG); generous under load
    assert result["first_ms"] < 1000 and result["second_ms"] < 1000


def test_widget_path_still_works(runs, monkeypatch):
    pytest.importorskip("plotly")
    monkeypatch.setenv("NBTRACK_VIEWS", "widgets")
    chart = nbtrack.metric_chart(runs, ["m0", "m1"])
    bundle = chart._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data and MIME not in data
    assert data["text/html"].startswith("<img")
    assert chart.metric_keys == ["m0", "m1"] and len(chart.figure.data) == 3 * 2 * 4
    view = nbtrack.compare(runs)
    data = view._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "application/vnd.jupyter.widget-view+json" in data and "★" in data["text/html"]
    # the widget's own table: run-1 and run-2 have no "extra" param: the missing mark, never "nan"
    table = view.tables.value
    assert "—" in table and ">nan<" not in table.lower()
    assert view.widget.differing_params() == ["extra", "lr"]


@pytest.mark.parametrize("n", [4, 5, 6, 7, 8])
def test_four_to_eight_metrics_never_raise(runs, monkeypatch, n):
    pytest.importorskip("plotly")
    keys = KEYS[:n]
    assert len(spec_of(nbtrack.metric_chart(runs, keys))[MIME]["data"]["keys"]) == n
    widget = nbtrack.metric_chart(runs, keys).widget  # plotly validated every subplot domain here
    domains = [widget.figure.layout[f"yaxis{'' if i == 0 else i + 1}"].domain for i in range(n)]
    assert all(0 <= lo < hi <= 1 for lo, hi in domains)
    assert all(domains[i][0] > domains[i + 1][1] for i in range(n - 1))  # top to bottom, apart
    compare = nbtrack.compare(runs, keys)
    assert len(spec_of(compare)[MIME]["data"]["chart"]["keys"]) == n
    assert len(compare.widget.chart.metric_keys) == n


def test_panel_domains_stay_inside_the_figure_for_any_count():
    pytest.importorskip("plotly")
    from nbtrack.ui._chart_widget import panel_domains

    for n in range(1, 41):
        domains = panel_domains(n)
        assert len(domains) == n and domains[0][1] == 1.0 and domains[-1][0] == 0.0
        assert all(0.0 <= lo < hi <= 1.0 for lo, hi in domains), n
        assert all(domains[i][0] >= domains[i + 1][1] for i in range(n - 1)), n
