"""``nbtrack.projects.run`` (MLflow's ``mlflow.run``): check, create the run, start the command.

Everything that can be wrong (the project, the entry point, every parameter's type, the tools the
environment needs) is checked before the run is created, so a mistake leaves no run behind
(MLflow leaves a RUNNING one when a path parameter is bad). The run is created here and handed to
the command in ``MLFLOW_RUN_ID`` (and ``NBTRACK_RUN_ID``), so ``start_run()`` inside it logs into
that run; its status then follows the process: FINISHED, FAILED on a non-zero exit, KILLED when
cancelled.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import tempfile
import threading
from typing import Any

from nbtrack.entities import RunStatus
from nbtrack.projects import _env, _fetch, _spec
from nbtrack.projects._spec import ExecutionException, InvalidProject

__all__ = ["SubmittedRun", "run"]

log = logging.getLogger("nbtrack.projects")
_CANCEL_GRACE_S = 5.0


class SubmittedRun:
    """A project's run in progress: ``wait()``, ``get_status()``, ``cancel()``, ``run_id``."""

    def __init__(self, run_id: str, process: subprocess.Popen[bytes], client: Any,
                 on_exit: list[Any] | None = None) -> None:
        self._run_id = run_id
        self._process = process
        self._client = client
        self._on_exit = on_exit or []
        self._lock = threading.Lock()
        self._status: str | None = None
        self._cancelled = False

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait(self) -> bool:
        """Wait for the command to end; True if it succeeded (the run is then FINISHED)."""
        code = self._process.wait()
        self._finish(code)
        return self._status == RunStatus.FINISHED

    def get_status(self) -> str:
        """RUNNING, FINISHED, FAILED or KILLED (MLflow's RunStatus names)."""
        code = self._process.poll()
        if code is None:
            return RunStatus.RUNNING
        self._finish(code)
        return self._status or RunStatus.RUNNING

    def cancel(self) -> None:
        """Stop the command and everything it started; the run ends KILLED."""
        self._cancelled = True
        if self._process.poll() is None:
            _kill_group(self._process)
        self._finish(self._process.wait())

    def _finish(self, code: int) -> None:
        with self._lock:
            if self._status is not None:
                return
            if self._cancelled or (code < 0 and -code in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)):
                status = RunStatus.KILLED
            else:
                status = RunStatus.FINISHED if code == 0 else RunStatus.FAILED
            for hook in self._on_exit:
                try:
                    hook()
                except Exception as e:  # a failed clean-up must not hide the run's status
                    log.warning("after run %s: %s", self._run_id, e)
            self._client.set_terminated(self._run_id, status)
            self._client.store.flush()
            self._status = status


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group (it runs in its own session), then SIGKILL after a grace."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=_CANCEL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    try:  # the group may outlive its leader (a kernel a notebook started)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(uri: str, entry_point: str = "main", version: str | None = None,
        parameters: dict[str, Any] | None = None, docker_args: dict[str, Any] | None = None,
        experiment_name: str | None = None, experiment_id: str | None = None, backend: str = "local",
        backend_config: dict[str, Any] | str | None = None, storage_dir: str | None = None,
        synchronous: bool = True, run_id: str | None = None, run_name: str | None = None,
        env_manager: str | None = None, build_image: bool = False, docker_auth: dict[str, Any] | None = None,
        ) -> SubmittedRun:
    """Run an MLflow project (a folder, a git repository, ``uri#subdirectory``); MLflow's ``mlflow.run``.

    Returns a :class:`SubmittedRun`. With ``synchronous=True`` (the default) it waits, and raises
    :class:`ExecutionException` if the command failed.

    Examples
    --------
    >>> submitted = nbtrack.projects.run(".", "main", parameters={"alpha": 0.5})  # doctest: +SKIP
    >>> nbtrack.get_run(submitted.run_id).data.params["alpha"]                   # doctest: +SKIP
    '0.5'
    """
    if backend not in ("local", None):
        raise InvalidProject(f"Backend {backend!r} is not supported; nbtrack runs projects with --backend local.")
    if experiment_name is not None and experiment_id is not None:
        raise InvalidProject("Specify only one of experiment_name and experiment_id.")
    fetched = _fetch.fetch_project(uri, version)
    try:
        submitted = _start(fetched, entry_point, parameters or {}, docker_args, experiment_name, experiment_id,
                           storage_dir, run_id, run_name, env_manager, build_image)
    except BaseException:
        fetched.cleanup()
        raise
    if synchronous:
        try:
            ok = submitted.wait()
        except KeyboardInterrupt:
            submitted.cancel()
            raise
        if not ok:
            raise ExecutionException(f"Run (ID '{submitted.run_id}') of {fetched.source_name} ended "
                                     f"{submitted.get_status()}; see its output above.")
    return submitted


def _start(fetched: _fetch.FetchedProject, entry_point: str, parameters: dict[str, Any],
           docker_args: dict[str, Any] | None, experiment_name: str | None, experiment_id: str | None,
           storage_dir: str | None, run_id: str | None, run_name: str | None, env_manager: str | None,
           build_image: bool) -> SubmittedRun:
    from nbtrack.tracking.client import Client

    project = _spec.load_project(fetched.directory)
    entry = project.entry_point(entry_point)
    checked, extra = entry.resolve(parameters, storage_dir)  # every type, before anything runs
    manager = _env.resolve_manager(project, env_manager)
    _env.check_tools(project, manager)
    client = Client()  # the current tracking URI's
    exp_id = _experiment_id(client, experiment_name, experiment_id)
    environment = _env.prepare_environment(project, manager, build_image)
    if environment.docker is not None and docker_args:
        environment.docker["docker_args"] = docker_args
    tags = _tags(fetched, entry.name, manager, environment.tags)
    if run_id is not None:
        client.get_run(run_id)
        for key, value in tags.items():
            client.set_tag(run_id, key, value)
    else:
        run_id = client.create_run(exp_id, tags=tags, run_name=run_name).info.run_id
    raw = {k: str(v) for k, v in parameters.items()}
    logged = {**{n: p.default for n, p in entry.parameters.items() if p.default is not None}, **raw}
    from nbtrack.entities import Param

    client.log_batch(run_id, params=[Param(k, v) for k, v in logged.items()])
    client.store.flush()  # the command's start_run() must find the run
    return _launch(client, run_id, exp_id, fetched, entry, checked, extra, environment)


def _experiment_id(client: Any, experiment_name: str | None, experiment_id: str | None) -> str:
    from nbtrack import config

    if experiment_id is not None:
        return client.get_experiment(str(experiment_id)).experiment_id
    name = experiment_name or config.env("MLFLOW_EXPERIMENT_NAME")
    if name:
        found = client.get_experiment_by_name(name)
        if found is None:
            log.info("Experiment '%s' does not exist. Creating a new experiment", name)
            return str(client.create_experiment(name))
        return str(found.experiment_id)
    return config.env("MLFLOW_EXPERIMENT_ID") or "0"


def _tags(fetched: _fetch.FetchedProject, entry_point: str, manager: str, extra: dict[str, str]) -> dict[str, str]:
    from nbtrack.tracking import context

    tags = {k: v for k, v in context.resolve_tags().items() if not k.startswith("mlflow.source.git.")}
    tags.update({
        "mlflow.source.name": fetched.source_name, "mlflow.source.type": "PROJECT",
        "mlflow.project.entryPoint": entry_point, "mlflow.project.env": manager,
        "mlflow.project.backend": "local",
    })
    tags.update(fetched.git_tags)
    tags.update(extra)
    return tags


def _launch(client: Any, run_id: str, exp_id: str, fetched: _fetch.FetchedProject, entry: _spec.EntryPoint,
            checked: dict[str, str], extra: dict[str, str], environment: _env.Environment) -> SubmittedRun:
    from nbtrack.tracking import fluent

    store = fluent.get_tracking_uri()
    if "://" not in store or store.startswith(("file:", "duckdb:")):
        from nbtrack.store import resolve_root

        store = resolve_root(store)  # the command runs in the project's folder: a relative path would move
    env_vars = {"MLFLOW_RUN_ID": run_id, "NBTRACK_RUN_ID": run_id, "MLFLOW_EXPERIMENT_ID": exp_id,
                "MLFLOW_TRACKING_URI": store, "NBTRACK_TRACKING_URI": store}
    hooks: list[Any] = [fetched.cleanup]
    if entry.notebook is not None:
        command, hook = _notebook_command(client, run_id, entry, checked, extra, environment)
        hooks.insert(0, hook)
    else:
        command = entry.command_line(checked, extra)
    argv = environment.argv(command, env_vars, fetched.directory)
    log.info("=== Running command '%s' in run with ID '%s' ===", command, run_id)
    try:
        process = subprocess.Popen(argv, cwd=fetched.directory, env=environment.environ(env_vars),
                                   start_new_session=True)
    except OSError as e:
        client.set_terminated(run_id, RunStatus.FAILED)
        raise ExecutionException(f"Could not start {argv[0]}: {e.strerror}") from None
    submitted = SubmittedRun(run_id, process, client, hooks)
    threading.Thread(target=submitted.wait, name=f"nbtrack-project-{run_id[:8]}", daemon=True).start()
    return submitted


def _notebook_command(client: Any, run_id: str, entry: _spec.EntryPoint, checked: dict[str, str],
                      extra: dict[str, str], environment: _env.Environment) -> tuple[str, Any]:
    """The runner's command line, and a hook that logs the executed notebook as an artifact."""
    out_dir = tempfile.mkdtemp(prefix="nbtrack-notebook-")
    name = os.path.basename(entry.notebook or "notebook.ipynb")
    out = os.path.join(out_dir, name)
    types = {n: p.type for n, p in entry.parameters.items()}
    pairs = [part for key, value in {**checked, **extra}.items() for part in (key, value)]
    runner = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_notebook.py")
    argv = [environment.python if environment.docker is None else "python", runner, entry.notebook or "",
            out, json.dumps(types), *pairs]

    def log_notebook() -> None:
        import shutil

        try:
            if os.path.exists(out):
                client.log_artifact(run_id, out)
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    return " ".join(shlex.quote(a) for a in argv), log_notebook
