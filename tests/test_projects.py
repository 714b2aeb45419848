"""MLflow Projects: real project folders, real subprocesses, real git repositories made here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.projects import ExecutionException, InvalidProject

TRAIN = """\
import json, os, sys
import nbtrack
with nbtrack.start_run() as run:
    nbtrack.log_metric("ran", 1.0)
    with open("seen.json", "w") as f:
        json.dump({"argv": sys.argv[1:], "run_id": run.info.run_id, "python": sys.executable,
                   "nbtrack_run_id": os.environ.get("NBTRACK_RUN_ID")}, f)
"""

MLPROJECT = """\
name: demo
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: {type: int, default: 3}
      label: string
      data: {type: path, default: data.csv}
      source: {type: uri, default: "s3://bucket/key"}
    command: "python train.py --alpha {alpha} --epochs {epochs} --label {label} --data {data} --source {source}"
  fail:
    command: "python -c 'import sys; sys.exit(3)'"
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


@pytest.fixture
def project(tmp_path) -> Path:
    return write(tmp_path / "proj", {"MLproject": MLPROJECT, "train.py": TRAIN, "data.csv": "x\n1\n"})


def seen(folder: Path) -> dict:
    return json.loads((folder / "seen.json").read_text())


def all_runs() -> list:
    return list(nbtrack.MlflowClient().search_runs(["0"], run_view_type=3))


def test_every_parameter_type_is_checked_resolved_and_logged(project, monkeypatch):
    monkeypatch.chdir(project)  # path parameters resolve from the current folder, as in MLflow
    submitted = nbtrack.projects.run(str(project), parameters={"label": "a b", "alpha": 0.25, "extra": "x"},
                                     run_name="typed")
    assert submitted.get_status() == "FINISHED"
    got = seen(project)
    assert got["run_id"] == submitted.run_id == got["nbtrack_run_id"]  # start_run() logged into the project's run
    assert got["argv"] == ["--alpha", "0.25", "--epochs", "3", "--label", "a b", "--data",
                           str(project / "data.csv"), "--source", "s3://bucket/key", "--extra", "x"]
    run = nbtrack.get_run(submitted.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "typed"
    assert run.data.metrics == {"ran": 1.0}
    assert run.data.params == {"alpha": "0.25", "epochs": "3", "label": "a b", "data": "data.csv",
                               "source": "s3://bucket/key", "extra": "x"}  # raw values, as MLflow logs them
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT" and tags["mlflow.source.name"] == str(project)
    assert tags["mlflow.project.entryPoint"] == "main" and tags["mlflow.project.env"] == "local"
    assert tags["mlflow.project.backend"] == "local"


@pytest.mark.parametrize(("params", "message"), [
    ({"label": "x", "alpha": "notafloat"}, "'alpha' is a float, but got 'notafloat'"),
    ({"label": "x", "epochs": "1.5"}, "'epochs' is an int"),
    ({"label": "x", "source": "no-scheme"}, "Expected a URI for parameter 'source'"),
    ({"label": "x", "data": "missing.csv"}, "no such file or directory"),
    ({}, "No value given for missing parameters: 'label'"),
])
def test_bad_parameters_are_refused_before_anything_runs(project, monkeypatch, params, message):
    monkeypatch.chdir(project)
    with pytest.raises(InvalidProject, match=message):
        nbtrack.projects.run(str(project), parameters=params)
    assert not (project / "seen.json").exists()
    assert all_runs() == []  # MLflow leaves a RUNNING run behind here


def test_a_failing_entry_point_ends_failed(project):
    with pytest.raises(ExecutionException, match="FAILED"):
        nbtrack.projects.run(str(project), "fail")
    (run,) = all_runs()
    assert run.info.status == "FAILED" and run.data.tags["mlflow.project.entryPoint"] == "fail"
    submitted = nbtrack.projects.run(str(project), "fail", synchronous=False)
    assert submitted.wait() is False and submitted.get_status() == "FAILED"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def test_cancel_kills_the_command_and_its_children_and_ends_killed(tmp_path):
    folder = write(tmp_path / "slow", {"slow.py": """\
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "60"])
        with open("pids", "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        time.sleep(60)
        """})
    submitted = nbtrack.projects.run(str(folder), "slow.py", synchronous=False)
    deadline = time.monotonic() + 30
    while not (folder / "pids").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [int(p) for p in (folder / "pids").read_text().split()]
    assert submitted.get_status() == "RUNNING"
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    assert nbtrack.get_run(submitted.run_id).info.status == "KILLED"
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(p) for p in pids)


def test_a_folder_without_mlproject_runs_python_and_shell_scripts(tmp_path):
    folder = write(tmp_path / "plain", {"train.py": TRAIN, "run.sh": 'echo "$@" > sh_args\n'})
    submitted = nbtrack.projects.run(str(folder), "train.py", parameters={"lr": "0.1"})
    assert seen(folder)["argv"] == ["--lr", "0.1"]
    assert nbtrack.get_run(submitted.run_id).data.params == {"lr": "0.1"}
    nbtrack.projects.run(str(folder), "run.sh", parameters={"k": "v"})
    assert (folder / "sh_args").read_text().strip() == "--k v"
    with pytest.raises(InvalidProject, match="Could not find main among the entry points"):
        nbtrack.projects.run(str(folder))


def test_mlflow_run_works_after_import_nbtrack_as_mlflow(project, monkeypatch):
    import nbtrack as mlflow

    monkeypatch.chdir(project)
    submitted = mlflow.run(str(project), parameters={"label": "m"}, experiment_name="proj-exp")
    exp = mlflow.get_experiment_by_name("proj-exp")
    assert exp is not None and mlflow.get_run(submitted.run_id).info.experiment_id == exp.experiment_id
    with pytest.raises(nbtrack.NotFound):
        mlflow.run(str(project), parameters={"label": "m"}, experiment_id="999")


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> tuple[Path, str]:
    """A git repository whose tag v1 writes 'one' and whose main branch writes 'two', in sub/."""
    folder = tmp_path / "repo"
    write(folder / "sub", {"MLproject": 'name: g\nentry_points:\n  main:\n    command: "python say.py"\n',
                           "say.py": 'open("said", "w").write("one")\n'})
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "one")
    _git(folder, "tag", "v1")
    first = _git(folder, "rev-parse", "HEAD")
    (folder / "sub" / "say.py").write_text('open("said", "w").write("two")\n')
    _git(folder, "commit", "-q", "-am", "two")
    return folder, first


def test_git_version_and_subdirectory_run_in_a_clone(repo):
    folder, first = repo
    submitted = nbtrack.projects.run(f"{folder}#sub", version="v1")
    tags = nbtrack.get_run(submitted.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == first and tags["mlflow.source.git.repoURL"] == str(folder)
    assert not (folder / "sub" / "said").exists()  # ran in a clone: the user's checkout is untouched
    assert _git(folder, "rev-parse", "HEAD") != first
    submitted = nbtrack.projects.run(f"file://{folder}#sub", version="main")
    tags = nbtrack.get_run(submitted.run_id).data.tags
    assert tags["mlflow.source.git.branch"] == "main" and tags["mlflow.source.git.commit"] != first
    nbtrack.projects.run(f"{folder}#sub")  # no version: the folder itself, in place
    assert (folder / "sub" / "said").read_text() == "two"
    with pytest.raises(InvalidProject, match="Unable to checkout version 'nope'"):
        nbtrack.projects.run(f"{folder}#sub", version="nope")
    with pytest.raises(InvalidProject, match="subdirectory 'missing'"):
        nbtrack.projects.run(f"{folder}#missing", version="v1")


def test_missing_tools_are_named_before_anything_runs(tmp_path, monkeypatch):
    conda = write(tmp_path / "conda", {"conda.yaml": "dependencies: [python=3.11]\n", "train.py": TRAIN})
    docker = write(tmp_path / "docker", {"MLproject": "name: d\ndocker_env: {image: 'python:3.11'}\n"
                                         "entry_points:\n  main:\n    command: python train.py\n",
                                         "train.py": TRAIN})
    monkeypatch.setenv("PATH", "/nonexistent-bin")
    with pytest.raises(ExecutionException, match="needs the conda command"):
        nbtrack.projects.run(str(conda), "train.py")
    with pytest.raises(ExecutionException, match="needs the uv command"):
        nbtrack.projects.run(str(conda), "train.py", env_manager="uv")
    with pytest.raises(ExecutionException, match="needs the docker command"):
        nbtrack.projects.run(str(docker))
    assert all_runs() == []
    assert not (conda / "seen.json").exists()


def test_virtualenv_is_built_once_from_python_env_yaml_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = write(tmp_path / "venv-proj", {
        "python_env.yaml": f"python: '{sys.version_info.major}.{sys.version_info.minor}'\ndependencies: []\n",
        "where.py": "import sys\nopen('prefix', 'w').write(sys.prefix)\n"
                    "import nbtrack\nwith nbtrack.start_run():\n    nbtrack.log_metric('inside', 1.0)\n"})
    first = nbtrack.projects.run(str(folder), "where.py")  # python_env.yaml: virtualenv by default
    prefix = (folder / "prefix").read_text()
    assert nbtrack.get_run(first.run_id).data.metrics == {"inside": 1.0}  # nbtrack importable in the env
    assert prefix.startswith(str(tmp_path / "cache" / "nbtrack" / "envs")) and prefix != sys.prefix
    built = os.stat(os.path.join(prefix, "pyvenv.cfg")).st_mtime_ns
    second = nbtrack.projects.run(str(folder), "where.py", env_manager="virtualenv")
    assert (folder / "prefix").read_text() == prefix
    assert os.stat(os.path.join(prefix, "pyvenv.cfg")).st_mtime_ns == built  # reused, not rebuilt
    for submitted in (first, second):
        assert nbtrack.get_run(submitted.run_id).data.tags["mlflow.project.env"] == "virtualenv"


def test_uv_builds_the_environment_once_and_the_project_logs_into_its_run(tmp_path, monkeypatch):
    uv = shutil.which("uv") or os.path.join(os.path.dirname(sys.executable), "uv")
    assert os.path.exists(uv), "uv is in the dev extra; run scripts/setup.sh"
    monkeypatch.setenv("PATH", os.path.dirname(uv) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = write(tmp_path / "uv-proj", {
        "MLproject": "name: uvp\npython_env: env.yaml\nentry_points:\n  main:\n    parameters:\n"
                     "      alpha: {type: float, default: 0.5}\n    command: python train.py {alpha}\n",
        "env.yaml": f"python: '{sys.version_info.major}.{sys.version_info.minor}'\ndependencies: []\n",
        "train.py": "import sys, nbtrack\nopen('prefix', 'w').write(sys.prefix)\n"
                    "with nbtrack.start_run():\n    nbtrack.log_metric('alpha', float(sys.argv[1]))\n"})
    runs = [nbtrack.projects.run(str(folder), parameters={"alpha": a}, env_manager="uv") for a in ("0.25", "0.75")]
    prefix = (folder / "prefix").read_text()
    assert prefix.startswith(str(tmp_path / "cache" / "nbtrack" / "envs" / "uv-"))
    assert len(os.listdir(tmp_path / "cache" / "nbtrack" / "envs")) == 2  # one env (and its lock file)
    for submitted, alpha in zip(runs, (0.25, 0.75), strict=True):
        run = nbtrack.get_run(submitted.run_id)
        assert run.info.status == "FINISHED" and run.data.metrics == {"alpha": alpha}
        assert run.data.tags["mlflow.project.env"] == "uv"


NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "source": "alpha = 0.1\nname = 'a'",
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "id": "train", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import nbtrack\nnbtrack.log_metric('alpha_sq', alpha ** 2)\nprint('name is', name)"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_a_notebook_entry_point_runs_with_injected_parameters_and_is_logged(tmp_path):
    pytest.importorskip("nbclient")
    folder = write(tmp_path / "nb", {
        "train.ipynb": json.dumps(NOTEBOOK),
        "MLproject": "name: nb\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 0.2}\n"
                     "    command: train.ipynb\n"})
    submitted = nbtrack.projects.run(str(folder), parameters={"alpha": "0.5", "name": "zed"})
    run = nbtrack.get_run(submitted.run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["alpha_sq"] == pytest.approx(0.25)
    local = nbtrack.MlflowClient().download_artifacts(submitted.run_id, "train.ipynb", str(tmp_path / "out"))
    executed = json.loads(Path(local).read_text())
    injected = executed["cells"][1]
    assert injected["metadata"]["tags"] == ["injected-parameters"]
    assert "alpha = 0.5" in "".join(injected["source"]) and "name = 'zed'" in "".join(injected["source"])
    assert "name is zed" in json.dumps(executed["cells"][2]["outputs"])
    assert json.loads((folder / "train.ipynb").read_text()) == NOTEBOOK  # the source notebook is untouched
