"""The inline run card and the ``%nbtrack`` line magic, on IPython's test shell."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types

import pytest
from ipshell import run
from IPython.core.error import UsageError

import nbtrack
from nbtrack.entities import Metric
from nbtrack.notebook import _card
from nbtrack.ui._mime import MIME


def cards(out):
    return [o for o in out.outputs if "nbtrack-card" in o.data.get("text/html", "")]


# -- the card ---------------------------------------------------------------------------------
def test_card_is_shown_then_updated_in_place_to_the_final_state(ip, monkeypatch):
    monkeypatch.setenv("NBTRACK_VIEWS", "widgets")  # the HTML card a kernel thread refreshes
    code = textwrap.dedent("""\
        %%track --name live --params lr
        import time
        lr = 0.01
        for step in range(12):
            nbtrack.log_metrics({"loss": 1 / (step + 1), "acc": step / 12}, step=step)
            time.sleep(0.1)
        """)
    result, out = run(ip, code)
    assert result.success
    shown = cards(out)
    assert shown[0].update is False and all(o.update for o in shown[1:])
    assert len({o.transient["display_id"] for o in shown}) == 1
    assert "RUNNING" in shown[0].data["text/plain"]
    assert 2 <= len(shown) <= 12  # live updates, throttled (the cell runs about 1.2 s)
    final = shown[-1].data
    assert set(final) == {"text/html", "text/plain"}  # no widget state
    assert "FINISHED" in final["text/plain"]
    assert "lr=0.01" in final["text/html"]
    assert final["text/html"].count("<svg") == 2  # one sparkline per metric
    assert "step 11" in final["text/html"]
    assert len(final["text/html"]) < 10_000


def test_failed_card_says_why(ip):
    _, out = run(ip, "%%track --name bad\nraise ValueError('no data')")
    final = cards(out)[-1].data
    assert "FAILED" in final["text/plain"]
    assert "ValueError: no data" in final["text/html"]


def test_quiet_shows_no_card(ip):
    _, out = run(ip, "%%track --quiet\nnbtrack.log_metric('m', 1)")
    assert cards(out) == []


def test_terminal_gets_one_final_card_and_no_updates(ip, capsys):
    ip.run_cell("%%track --name term\nnbtrack.log_metric('m', 1)", store_history=True)
    printed = capsys.readouterr().out
    assert printed.count("nbtrack run 'term'") == 1
    assert "FINISHED" in printed and "RUNNING" not in printed


def test_card_escapes_html():
    data = _card.CardData("id1", "<script>x</script>", "FINISHED", params={"p": "<b>"},
                          metrics={"m<": 1.0}, history={"m<": [1.0, 2.0]})
    html = _card.render_html(data)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "p=&lt;b&gt;" in html and "m&lt;" in html


def test_card_caps_what_it_shows():
    data = _card.CardData("id1", "big", "RUNNING",
                          params={f"p{i}": "v" * 500 for i in range(50)},
                          metrics={f"m{i}": float(i) for i in range(50)},
                          history={f"m{i}": [float(x) for x in range(10_000)] for i in range(50)})
    data.history = {k: _card._downsample(v, _card.SPARK_POINTS) for k, v in data.history.items()}
    html = _card.render_html(data)
    assert len(html) < 20_000
    assert "+38" in html and "+42 more metrics" in html


def test_sparkline_ignores_nan_and_needs_two_points():
    assert _card.sparkline([1.0]) == ""
    assert _card.sparkline([float("nan"), 1.0]) == ""
    assert "<polyline" in _card.sparkline([1.0, float("inf"), 2.0])


def test_sparkline_shows_its_scale_so_a_tiny_change_is_not_a_full_swing():
    spark = _card.sparkline([1.0, 1.0002, 1.0005])
    assert '<span title="max">1.0005</span>' in spark and '<span title="min">1</span>' in spark
    assert _card.scale_labels(0.99951, 0.99952) == ("0.99951", "0.99952")  # digits until they differ
    flat = _card.sparkline([0.5, 0.5, 0.5])
    assert "flat 0.5" in flat and "11.0" in flat  # a level line at mid height (22 px box), not stretched


def test_card_with_the_extension_is_a_run_card_view_the_front_end_keeps_live(ip, monkeypatch):
    monkeypatch.setenv("NBTRACK_VIEWS", "extension")
    code = textwrap.dedent("""\
        %%track --name viewed --params lr
        import time
        lr = 0.01
        for step in range(5):
            nbtrack.log_metrics({"loss": 1 / (step + 1), "odd": float("nan") if step == 4 else step}, step=step)
            time.sleep(0.1)
        """)
    result, out = run(ip, code)
    assert result.success
    shown = cards(out)
    # the first state and the final one: no kernel thread updates it while the cell runs
    assert [o.update for o in shown] == [False, True]
    assert len({o.transient["display_id"] for o in shown}) == 1
    first, final = (o.data[MIME] for o in shown)
    assert first["view"] == final["view"] == "run_card"
    assert first["data"]["status"] == "RUNNING" and first["data"]["start_time"] > 0
    assert first["tracking_uri"] == nbtrack.get_tracking_uri()
    data = final["data"]
    assert data["status"] == "FINISHED" and data["name"] == "viewed" and data["params"] == {"lr": "0.01"}
    assert data["run_id"] == first["data"]["run_id"] and data["end_time"] >= data["start_time"]
    assert data["metrics"]["odd"] == "NaN" and data["history"]["odd"][-1] == "NaN"  # strict JSON
    assert data["history"]["loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2] and data["steps"]["loss"] == 4
    json.dumps(final, allow_nan=False)
    assert "FINISHED" in shown[-1].data["text/plain"] and "nbtrack-card" in shown[-1].data["text/html"]


def test_run_card_view_formats_as_the_extension_view_with_its_static_copy(ip, monkeypatch):
    monkeypatch.setenv("NBTRACK_VIEWS", "extension")
    data = _card.CardData("id1", "fit", "FINISHED", params={"lr": "0.1"}, metrics={"loss": float("inf")},
                          history={"loss": [1.0, float("inf")]})
    formatted, _ = ip.display_formatter.format(_card.RunCardView(data))
    assert formatted[MIME]["view"] == "run_card" and formatted[MIME]["data"]["metrics"] == {"loss": "Infinity"}
    assert "nbtrack-card" in formatted["text/html"] and formatted["text/plain"].startswith("nbtrack run 'fit' FINISHED")
    with pytest.raises(AttributeError):
        _card.RunCardView(data).figure  # no widget behind it


def test_downsample_keeps_the_ends():
    values = list(range(1000))
    small = _card._downsample(values, 60)
    assert len(small) == 60 and small[0] == 0 and small[-1] == 999


# -- %nbtrack -----------------------------------------------------------------------------------
def test_status(ip, tmp_path):
    _, out = run(ip, "%nbtrack")
    assert f"store:       {tmp_path / 'store'}" in out.stdout
    assert "experiment:  Default (id 0)" in out.stdout
    assert "active run:  none" in out.stdout
    run(ip, "r = nbtrack.start_run(run_name='open')", cell_id="x")
    _, out = run(ip, "%nbtrack")
    assert "active run:  open (" in out.stdout


def test_experiment_switches_the_active_experiment(ip):
    _, out = run(ip, "%nbtrack experiment tuning")
    assert "'tuning'" in out.stdout
    run(ip, "%%track --name in-tuning --quiet\npass")
    nbtrack.flush()
    found = nbtrack.search_runs(experiment_names=["tuning"], output_format="list")
    assert [r.info.run_name for r in found] == ["in-tuning"]


def test_runs_table_with_and_without_filter(ip):
    for lr in ("0.1", "0.2"):
        run(ip, f"%%track --name lr{lr} --quiet --params lr\nlr = {lr}\nnbtrack.log_metric('acc', {lr})")
    table = ip.run_line_magic("nbtrack", "runs")
    assert list(table["name"]) == ["lr0.2", "lr0.1"]  # newest first
    assert {"run_id", "status", "metrics.acc", "params.lr"} <= set(table.columns)
    filtered = ip.run_line_magic("nbtrack", "runs metrics.acc > 0.15")
    assert list(filtered["name"]) == ["lr0.2"]


def test_runs_when_there_are_none(ip):
    _, out = run(ip, "%nbtrack runs")
    assert "no runs" in out.stdout


def test_compare_by_name_and_id_prefix(ip):
    run(ip, "%%track --name a --quiet --params lr\nlr = 1\nnbtrack.log_metric('acc', 0.5)")
    run(ip, "%%track --name b --quiet --params lr\nlr = 1\nnbtrack.log_metric('acc', 0.7)")
    nbtrack.flush()
    b_id = nbtrack.search_runs(filter_string="tags.mlflow.runName = 'b'", output_format="list")[0].info.run_id
    table = ip.run_line_magic("nbtrack", f"compare a {b_id[:10]}")
    assert [c.split()[0] for c in table.columns] == ["a", "b"]
    assert list(table.loc["metrics.acc"]) == [0.5, 0.7]
    assert list(table.index[:2]) == ["status", "duration"]
    # within params then metrics, rows that differ come first
    assert list(table.index) == ["status", "duration", "params.lr", "metrics.acc"]


def test_compare_errors(ip):
    run(ip, "%%track --name only --quiet\npass")
    with pytest.raises(UsageError, match="Usage"):
        ip.run_line_magic("nbtrack", "compare only")
    with pytest.raises(UsageError, match="No run"):
        ip.run_line_magic("nbtrack", "compare only missing")


def test_uri_switches_the_store(ip, tmp_path):
    ip.run_line_magic("nbtrack", f"uri {tmp_path / 'other'}")
    assert nbtrack.get_tracking_uri() == str(tmp_path / "other")


def test_dashboard_delegates_to_the_ui(ip, monkeypatch):
    import nbtrack.ui

    fake = types.ModuleType("nbtrack.ui.dashboard")
    fake.dashboard = lambda: "the dashboard"
    monkeypatch.delitem(vars(nbtrack.ui), "dashboard", raising=False)
    monkeypatch.setitem(sys.modules, "nbtrack.ui.dashboard", fake)
    assert ip.run_line_magic("nbtrack", "dashboard") == "the dashboard"


def test_dashboard_missing_says_so(ip, monkeypatch):
    import nbtrack.ui

    monkeypatch.delitem(vars(nbtrack.ui), "dashboard", raising=False)
    monkeypatch.setitem(sys.modules, "nbtrack.ui.dashboard", None)  # makes the import fail
    _, out = run(ip, "%nbtrack dashboard")
    assert "dashboard is not part of this nbtrack yet" in out.stdout


def test_unknown_command_shows_usage(ip):
    with pytest.raises(UsageError, match="%nbtrack runs"):
        ip.run_line_magic("nbtrack", "frobnicate")


# -- loading ------------------------------------------------------------------------------------
HINT_SCRIPT = """
from IPython.testing import globalipapp
globalipapp.start_ipython()
ip = globalipapp.get_ipython()
ip.run_cell({cell!r})
ip.run_cell("x = 1")
import sys
print("IPYTHON-FREE-IMPORT" if True else "")
"""


@pytest.mark.parametrize(("cell", "hinted"), [("import nbtrack", True), ("%load_ext nbtrack", False)])
def test_import_in_ipython_suggests_load_ext_once(cell, hinted):
    out = subprocess.run([sys.executable, "-c", HINT_SCRIPT.format(cell=cell)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.count("%load_ext nbtrack") == (1 if hinted else 0)


def test_unload_removes_magics_and_hooks(ip):
    ip.run_line_magic("unload_ext", "nbtrack")
    try:
        assert "track" not in ip.magics_manager.magics["cell"]
        callbacks = [getattr(c, "__qualname__", "") for c in ip.events.callbacks["post_run_cell"]]
        assert not any("Session" in c for c in callbacks)
    finally:
        ip.run_line_magic("load_ext", "nbtrack")
    result, _ = run(ip, "%%track --quiet\n1")
    assert result.result == 1


def test_long_histories_are_thinned_in_the_store(ip):
    with nbtrack.start_run() as run:
        points = [Metric("loss", float(i), 1, i) for i in range(30_000)]
        for start in range(0, len(points), 1000):
            nbtrack.MlflowClient().log_batch(run.info.run_id, metrics=points[start:start + 1000])
    reader = _card.CardReader(nbtrack.MlflowClient(), run.info.run_id)
    first, second = reader(), reader()
    for data in (first, second):
        assert len(data.history["loss"]) == _card.SPARK_POINTS
        assert data.history["loss"][0] == 0.0 and data.history["loss"][-1] == 29_999.0
        assert data.steps["loss"] == 29_999


def test_card_lists_the_logged_models_the_run_produced(ip):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    with nbtrack.start_run() as run:
        nbtrack.log_metric("mse", 0.0)
        info = nbtrack.sklearn.log_model(model, name="linear <v1>")
    data = _card.CardReader(nbtrack.MlflowClient(), run.info.run_id)()
    assert data.models == [("linear <v1>", info.model_id, "READY")]
    html = _card.render_html(data)
    assert "linear &lt;v1&gt;" in html and f"models:/{info.model_id}" in html and "ready" in html
    assert f"models: linear <v1> (models:/{info.model_id}, ready)" in _card.render_text(data)
    assert callable(nbtrack.models_view) and nbtrack.ui.models_view(run_id=run.info.run_id).models[0].name == "linear <v1>"
