"""The MLflow-style command line: experiments, runs, artifacts, gc, models, --help, exit codes.

Commands run in-process through click's runner (the real command objects on a real store);
tests/test_cli.py and tests/test_cli_projects.py run the installed entry point as a subprocess.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import nbtrack
from nbtrack.cli import main


def cli(*args: str) -> tuple[int, str, str]:
    from nbtrack.tracking import fluent

    fluent._settings.update(tracking_uri=None)  # as in a fresh process: --store applies to one command
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def logged_run(name: str = "r1", acc: float = 0.9) -> str:
    with nbtrack.start_run(run_name=name) as run:
        nbtrack.log_param("model", "rf")
        nbtrack.log_metric("acc", acc)
        nbtrack.set_tag("team", "vision")
        nbtrack.log_text("hello", "notes/readme.txt")
    nbtrack.flush()
    return run.info.run_id


def test_every_command_has_help():
    def walk(command: click.Command, path: list[str]) -> None:
        code, out, _ = cli(*path, "--help")
        assert code == 0 and "Usage:" in out, path
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(main, [])
    names = set(main.commands)
    assert {"experiments", "runs", "artifacts", "models", "run", "gc", "quickstart"} <= names
    assert {"create", "search", "delete", "restore", "rename", "csv"} <= set(main.commands["experiments"].commands)
    assert {"list", "describe", "delete", "restore", "csv"} <= set(main.commands["runs"].commands)
    assert {"list", "download", "log-artifact", "log-artifacts"} <= set(main.commands["artifacts"].commands)
    assert {"serve", "predict", "prepare-env", "generate-dockerfile"} <= set(main.commands["models"].commands)


def test_read_commands_never_create_a_store(tmp_path, monkeypatch):
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    typo = tmp_path / "no" / "such" / "store"
    for args in (["runs", "list"], ["experiments", "search"], ["runs", "describe", "-r", "abc"],
                 ["artifacts", "list", "-r", "abc"], ["gc"]):
        code, _, err = cli(*args, "--store", str(typo))
        assert code == 3, args
        assert f"No nbtrack store at '{typo}'" in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()
    code, _, err = cli("runs")  # the default store, ./.nbtrack, does not exist here
    assert code == 3 and "the default store ./.nbtrack of the current folder" in err
    assert not (tmp_path / ".nbtrack").exists()


def test_experiments_create_search_rename_delete_restore_csv(store_uri, tmp_path):
    code, out, _ = cli("experiments", "create", "-n", "iris", "--store", store_uri)
    assert code == 0 and "Created experiment 'iris' with id 1" in out
    code, _, err = cli("experiments", "create", "-n", "iris")
    assert code == 1 and "ResourceExists" in err
    code, out, _ = cli("experiments", "search", "--output", "json")
    assert {e["name"] for e in json.loads(out)} == {"iris", "Default"}
    assert cli("experiments", "rename", "-x", "1", "--new-name", "flowers")[0] == 0
    nbtrack.set_experiment("flowers")
    logged_run()
    assert cli("experiments", "delete", "-x", "1")[0] == 0
    code, out, _ = cli("experiments", "search", "--view", "deleted_only")
    assert "flowers" in out and "deleted" in out
    assert cli("experiments", "restore", "-x", "1")[0] == 0
    code, out, _ = cli("experiments", "csv", "-x", "1")
    assert code == 0 and out.startswith("run_id,") and "metrics.acc" in out and "0.9" in out
    assert cli("experiments", "csv", "-x", "1", "-o", str(tmp_path / "runs.csv"))[0] == 0
    assert "params.model" in (tmp_path / "runs.csv").read_text()
    code, _, err = cli("experiments", "delete", "-x", "42")
    assert code == 3 and "42" in err


def test_runs_list_describe_delete_restore_csv(store_uri):
    run_id = logged_run("first", 0.9)
    logged_run("second", 0.5)
    code, out, _ = cli("runs", "list", "--filter", "metrics.acc > 0.8")
    assert code == 0 and "first" in out and "second" not in out and "metrics.acc" in out
    code, out, _ = cli("runs", "--store", store_uri, "--experiment", "Default", "-o", "json")  # the old form
    assert sorted(r["info"]["run_name"] for r in json.loads(out)) == ["first", "second"]
    code, _, err = cli("runs", "list", "-e", "nonexistent")
    assert code == 3 and "Experiment 'nonexistent' does not exist in the store" in err
    code, out, _ = cli("runs", "describe", "--run-id", run_id)
    assert code == 0
    for text in ("model = rf", "acc = 0.9", "team = vision", "notes/readme.txt", "FINISHED"):
        assert text in out
    described = json.loads(cli("runs", "describe", "-r", run_id, "--output", "json")[1])
    assert described["data"]["params"] == {"model": "rf"}
    assert {a["path"] for a in described["artifacts"]} == {"notes", "notes/readme.txt"}
    assert cli("runs", "delete", "--run-id", run_id)[0] == 0
    assert "first" not in cli("runs", "list")[1]
    assert "first" in cli("runs", "list", "--view", "deleted_only")[1]
    assert cli("runs", "restore", "--run-id", run_id)[0] == 0
    assert nbtrack.get_run(run_id).info.lifecycle_stage == "active"
    code, out, _ = cli("runs", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 3
    code, _, err = cli("runs", "describe", "-r", "0" * 32)
    assert code == 3 and "Traceback" not in err
    code, _, err = cli("runs", "list", "--filter", "metrics.acc >> 1")
    assert code == 1 and "unknown comparator" in err
    assert cli("runs", "list", "--max-results", "0")[0] == 2


def test_artifacts_log_list_download(store_uri, tmp_path):
    run_id = logged_run()
    (tmp_path / "one.txt").write_text("1")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "two.txt").write_text("22")
    assert cli("artifacts", "log-artifact", "-l", str(tmp_path / "one.txt"), "-r", run_id, "-a", "files")[0] == 0
    assert cli("artifacts", "log-artifacts", "-l", str(tmp_path / "dir"), "-r", run_id, "-a", "more")[0] == 0
    code, out, _ = cli("artifacts", "list", "-r", run_id, "-o", "json")
    assert {a["path"] for a in json.loads(out)} == {"files", "more", "notes"}
    assert "one.txt" in cli("artifacts", "list", "-r", run_id, "-a", "files")[1]
    code, out, _ = cli("artifacts", "download", "-r", run_id, "-a", "more", "-d", str(tmp_path / "dl"))
    assert code == 0 and Path(out.strip(), "two.txt").read_text() == "22"
    code, out, _ = cli("artifacts", "download", "-u", f"runs:/{run_id}/files/one.txt", "-d", str(tmp_path / "dl2"))
    assert code == 0 and Path(out.strip()).read_text() == "1"
    assert cli("artifacts", "download")[0] == 2
    code, _, err = cli("artifacts", "log-artifact", "-l", str(tmp_path / "nope.txt"), "-r", run_id)
    assert code == 3 and "nope.txt" in err
    code, _, err = cli("artifacts", "list", "-r", "f" * 32)
    assert code == 3


def test_gc_removes_deleted_runs_and_their_artifacts_for_good(store_uri):
    keep, old, young = logged_run("keep"), logged_run("old"), logged_run("young")
    folders = {r: Path(nbtrack.get_run(r).info.artifact_uri).parent for r in (keep, old, young)}
    assert all(f.is_dir() for f in folders.values())
    code, _, err = cli("gc", "--run-ids", keep)
    assert code == 1 and "not in the deleted lifecycle stage" in err
    nbtrack.delete_run(old)
    nbtrack.delete_run(young)
    code, out, _ = cli("gc", "--older-than", "1d")  # both were deleted just now
    assert code == 0 and "Nothing to remove" in out
    code, out, _ = cli("gc", "--run-ids", old)
    assert code == 0 and f"Run with ID {old} has been permanently deleted." in out
    with pytest.raises(nbtrack.NotFound):
        nbtrack.get_run(old)
    assert not folders[old].exists() and folders[young].exists()
    exp = nbtrack.create_experiment("gone")
    nbtrack.set_experiment("gone")
    in_exp = logged_run("in-exp")
    nbtrack.delete_experiment(exp)
    code, out, _ = cli("gc")
    assert code == 0 and young in out and in_exp in out and f"Experiment with ID {exp}" in out
    assert nbtrack.get_experiment_by_name("gone") is None
    assert [r.info.run_id for r in nbtrack.MlflowClient().search_runs(["0"], run_view_type=3)] == [keep]
    assert folders[keep].exists() and not folders[young].exists()
    assert cli("gc", "--older-than", "soon")[0] == 2


@pytest.fixture
def logged_model(store_uri):
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression

    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), name="model")
    nbtrack.flush()
    return run.info.run_id


def test_models_commands_take_the_store_and_name_it_in_errors(logged_model, store_uri, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    (elsewhere / "in.json").write_text(json.dumps({"inputs": [[3.0]]}))
    uri = f"runs:/{logged_model}/model"
    code, _, err = cli("models", "predict", "-m", uri, "-i", "in.json")
    assert code == 3 and str(elsewhere / ".nbtrack") in err and "--store" in err
    code, out, _ = cli("models", "predict", "-m", uri, "-i", "in.json", "--store", store_uri)
    assert code == 0 and json.loads(out)["predictions"] == pytest.approx([6.0])
    code, out, _ = cli("models", "prepare-env", "-m", uri, "--env-manager", "local", "--store", store_uri)
    assert code == 0 and out.strip() == sys.executable
    code, out, _ = cli("models", "generate-dockerfile", "-m", uri, "-d", "docker", "--store", store_uri)
    dockerfile = (elsewhere / "docker" / "Dockerfile").read_text()
    assert code == 0 and "COPY model_dir /opt/ml/model" in dockerfile and '"-p", "8080"' in dockerfile
    assert (elsewhere / "docker" / "model_dir" / "MLmodel").is_file()


def test_quickstart_says_how_to_reach_this_environment(monkeypatch):
    from nbtrack.cli.store_commands import _next_steps

    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent-bin")  # not activated: nothing of the venv on PATH
    lines = "\n".join(_next_steps("/out", "/out/.nbtrack"))
    assert "runs list --store /out/.nbtrack" in lines
    lab = next(line for line in lines.splitlines() if "JupyterLab" in line)
    assert os.path.dirname(sys.executable) in lab  # this interpreter's JupyterLab, never a bare pip
    web = next(line for line in lines.splitlines() if "web UI" in line)
    assert web.endswith(" ui --backend-store-uri /out/.nbtrack") and os.path.dirname(sys.executable) in web
    if sys.prefix != sys.base_prefix:
        assert f"source {os.path.join(sys.prefix, 'bin', 'activate')}" in lines


def test_error_classes_are_importable_from_the_top_level():
    for name in ("InvalidFilter", "ParamConflict", "InvalidParameter", "NotFound", "ResourceExists",
                 "RunNotActive", "ArtifactPathError", "InvalidStore", "StoreReadOnly", "StoreBusy", "NoActiveRun"):
        assert issubclass(getattr(nbtrack, name), nbtrack.NbtrackError)
    assert issubclass(nbtrack.InvalidFilter, ValueError)
