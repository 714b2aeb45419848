"""Every test gets its own store folder; nothing touches the user's files."""

from __future__ import annotations

import pytest
from procenv import python_env  # noqa: F401  (kept importable from here too)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Point nbtrack at a fresh store in tmp_path and leave no run (or model) active afterwards."""
    from nbtrack.tracking import fluent, logged_models

    store = tmp_path / "store"
    monkeypatch.setenv("NBTRACK_TRACKING_URI", str(store))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID",
                 "MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID"):
        monkeypatch.delenv(name, raising=False)
    fluent._settings.update(tracking_uri=None, experiment_id=None, registry_uri=None)
    # a test that set (or cleared) the active model must not decide the next test's
    logged_models._active_model.set(logged_models._UNSET)
    yield store
    logged_models._active_model.set(logged_models._UNSET)
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent._settings.update(tracking_uri=None, experiment_id=None, registry_uri=None)


@pytest.fixture
def store_uri(_isolated_store) -> str:
    return str(_isolated_store)


@pytest.fixture
def client(store_uri):
    import nbtrack

    return nbtrack.MlflowClient(store_uri)


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """IPython's test shell with the extension loaded, in tmp_path, with no notebook identity."""
    from IPython.testing import globalipapp

    import nbtrack
    from nbtrack.notebook import _context

    globalipapp.start_ipython()
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "nbtrack")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    shell.user_ns["nbtrack"] = nbtrack
    _context._state["server"] = (0.0, None)
    yield shell
    while nbtrack.active_run() is not None:
        nbtrack.end_run()
    shell.run_line_magic("unload_ext", "nbtrack")  # other tests' runs get no notebook context
    for name in ("__session__", "__vsc_ipynb_file__"):
        shell.user_ns.pop(name, None)
