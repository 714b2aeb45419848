"""``%%track`` on IPython's real test shell: every option and failure path."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ipshell import run, runs
from IPython.core.error import UsageError

import nbtrack
from nbtrack.errors import NbtrackError


def test_cell_runs_inside_a_finished_run_and_keeps_its_value(ip):
    result, _ = run(ip, "%%track --name fit\nx = 2\nnbtrack.log_metric('acc', 0.5)\nx * 21")
    assert result.success
    assert result.result == 42
    assert ip.user_ns["x"] == 2
    run_ = runs()["fit"]
    assert run_.info.status == "FINISHED"
    assert run_.info.end_time is not None
    assert run_.data.metrics == {"acc": 0.5}
    assert nbtrack.active_run() is None


def test_only_statements_give_no_value(ip):
    result, _ = run(ip, "%%track\ny = 1")
    assert result.success and result.result is None


def test_trailing_semicolon_silences_the_value(ip):
    result, out = run(ip, "%%track --quiet\n1 + 1;")
    assert result.success
    assert "Out[" not in out.stdout


def test_failing_cell_fails_once_and_marks_the_run_failed(ip):
    result, out = run(ip, "%%track --name boom\nx = 1\n1 / 0\n")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert out.stdout.count("Traceback (most recent call last)") == 1
    assert "----> 3 1 / 0" in out.stdout  # the source line of the cell, numbered as in the cell
    run_ = runs()["boom"]
    assert run_.info.status == "FAILED"
    assert run_.data.tags["nbtrack.error"] == "ZeroDivisionError: division by zero"
    traceback_text = nbtrack.MlflowClient().download_artifacts(run_.info.run_id, "cell/traceback.txt")
    with open(traceback_text) as f:
        assert "ZeroDivisionError" in f.read()
    assert nbtrack.active_run() is None


def test_interrupt_marks_the_run_killed(ip):
    result, _ = run(ip, "%%track --name stop\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert runs()["stop"].info.status == "KILLED"
    assert nbtrack.active_run() is None


@pytest.mark.filterwarnings("ignore:To exit")
def test_system_exit_marks_the_run_failed(ip):
    run(ip, "%%track --name quit\nraise SystemExit(3)")
    assert runs()["quit"].info.status == "FAILED"


def test_syntax_error_starts_no_run(ip):
    result, _ = run(ip, "%%track --name broken\nx = (")
    assert isinstance(result.error_in_exec, SyntaxError)
    assert "broken" not in runs()


def test_magics_inside_the_body_work(ip):
    result, out = run(ip, "%%track --quiet\n%time z = 3\nz")
    assert result.result == 3
    assert "Wall time" in out.stdout


def test_options_name_experiment_tags_params(ip):
    code = "%%track --name rf --experiment trees --tags team=cv,try=2 --params depth,lr\ndepth = 4\nlr = 0.1"
    result, _ = run(ip, code)
    assert result.success
    run_ = runs()["rf"]
    assert nbtrack.get_experiment(run_.info.experiment_id).name == "trees"
    assert run_.data.tags["team"] == "cv" and run_.data.tags["try"] == "2"
    assert run_.data.params == {"depth": "4", "lr": "0.1"}
    # the run went to "trees" without making it the active experiment
    assert nbtrack.get_experiment_by_name("Default").experiment_id == "0"


def test_params_names_a_missing_variable(ip):
    result, out = run(ip, "%%track --name p --params here,nowhere\nhere = 1")
    assert result.success
    assert "no variable named nowhere" in out.stdout
    assert runs()["p"].data.params == {"here": "1"}


def test_params_are_logged_even_when_the_cell_fails(ip):
    run(ip, "%%track --name pf --params lr\nlr = 0.3\nraise ValueError('bad')")
    run_ = runs()["pf"]
    assert run_.info.status == "FAILED" and run_.data.params == {"lr": "0.3"}


def test_bad_tags_are_a_usage_error(ip):
    result, _ = run(ip, "%%track --tags novalue\npass")
    assert isinstance(result.error_in_exec, UsageError)
    assert runs() == {}


def test_nested_run_is_a_child_of_the_active_run(ip):
    run(ip, "parent = nbtrack.start_run(run_name='parent')", cell_id="a")
    result, _ = run(ip, "%%track --nested --name child\nnbtrack.log_param('k', 1)", cell_id="b")
    assert result.success
    assert nbtrack.active_run().info.run_name == "parent"  # still open for the next cells
    nbtrack.end_run()
    found = runs()
    assert found["child"].data.tags["mlflow.parentRunId"] == found["parent"].info.run_id
    assert found["child"].info.status == "FINISHED"


def test_active_run_without_nested_is_a_usage_error_and_starts_nothing(ip):
    run(ip, "outer = nbtrack.start_run(run_name='outer')", cell_id="a")
    result, _ = run(ip, "%%track --name inner\npass", cell_id="b")
    assert isinstance(result.error_in_exec, UsageError)
    assert "--nested" in str(result.error_in_exec)
    assert nbtrack.active_run().info.run_name == "outer"
    assert "inner" not in runs()


def test_runs_left_open_in_the_body_end_with_the_cell(ip):
    run(ip, "%%track --name top\nnbtrack.start_run(run_name='left-open', nested=True)\n1 / 0")
    found = runs()
    assert found["top"].info.status == "FAILED"
    assert found["left-open"].info.status == "FAILED"
    assert nbtrack.active_run() is None


def test_body_may_end_its_own_run(ip):
    result, _ = run(ip, "%%track --name self-ended\nnbtrack.end_run('KILLED')")
    assert result.success
    assert runs()["self-ended"].info.status == "KILLED"


def test_autolog_is_scoped_to_the_cell(ip):
    pytest.importorskip("sklearn")
    ip.run_cell("from sklearn.linear_model import LogisticRegression\n"
                "from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)")
    result, _ = run(ip, "%%track --autolog --quiet --name auto\nLogisticRegression(max_iter=300).fit(X, y)")
    assert result.success
    auto = runs()["auto"]
    assert auto.data.params["max_iter"] == "300"                 # the fit logged into the cell's run
    assert auto.data.tags["estimator_name"] == "LogisticRegression"
    assert "training_accuracy_score" in auto.data.metrics
    ip.run_cell("LogisticRegression(max_iter=300).fit(X, y)")   # after the cell: autolog is off again
    assert sorted(runs()) == ["auto"]


def test_autolog_unavailable_is_a_clear_error_and_starts_no_run(ip, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nbtrack.autolog", None)  # as if autolog could not be imported
    result, _ = run(ip, "%%track --autolog --name auto\npass")
    assert isinstance(result.error_in_exec, NbtrackError)
    assert "nbtrack.autolog" in str(result.error_in_exec)
    assert "auto" not in runs()


def test_cell_source_is_an_artifact(ip):
    code = "%%track --name src --quiet\n# the body\nvalue = 7"
    run(ip, code, cell_id="cell-1")
    run_id = runs()["src"].info.run_id
    path = nbtrack.MlflowClient().download_artifacts(run_id, "cell/source.py")
    with open(path) as f:
        assert f.read() == code


def test_rerunning_a_tracked_cell_makes_new_runs_with_the_same_cell_id(ip):
    for _ in range(3):
        run(ip, "%%track --quiet\nnbtrack.log_metric('m', 1)", cell_id="same-cell")
    nbtrack.flush()
    found = nbtrack.search_runs(filter_string="tags.`nbtrack.cell_id` = 'same-cell'", output_format="list")
    assert len(found) == 3
    assert {r.info.status for r in found} == {"FINISHED"}


def test_finished_run_is_visible_to_another_process(ip, tmp_path):
    run(ip, "%%track --name durable --quiet\nnbtrack.log_metric('m', 3.0)")
    code = (f"import nbtrack; nbtrack.set_tracking_uri({str(tmp_path / 'store')!r}); "
            "r = nbtrack.search_runs(output_format='list')[0]; print(r.info.status, r.data.metrics['m'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["FINISHED", "3.0"]


def test_track_works_when_called_directly(ip):
    value = ip.run_cell_magic("track", "--name direct --quiet", "5")
    assert value == 5
    assert runs()["direct"].info.status == "FINISHED"
