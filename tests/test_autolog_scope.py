"""Autolog's scope and safety: exact restoration, no framework imported on the user's behalf,
failures as one warning, and none of MLflow's surprises (mlflow#7814, #5169): no empty runs,
no runs or metrics after end_run, no duplicate params, one run per fit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest
from procenv import python_env

pytest.importorskip("sklearn")

from sklearn import metrics as skm
from sklearn.base import BaseEstimator
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack
from nbtrack.autolog import AutologWarning, _runs
from nbtrack.autolog import sklearn as sklearn_autolog
from nbtrack.errors import NoActiveRun


@pytest.fixture(autouse=True)
def _autolog_off_afterwards():
    yield
    nbtrack.autolog.flush(30)
    nbtrack.autolog(disable=True)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return train_test_split(X, y, random_state=0)


def runs() -> list:
    return nbtrack.search_runs(output_format="list")


def autolog_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, AutologWarning)]


# -- restoration and imports -------------------------------------------------------------------
def _framework_attributes() -> dict[tuple, object]:
    """Every raw attribute autolog could touch, by identity."""
    found: dict[tuple, object] = {}
    classes, pending = set(), [BaseEstimator]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in classes:
                classes.add(sub)
                pending.append(sub)
    classes |= {c for cls in list(classes) for c in cls.__mro__}
    optional = [sys.modules.get(m) for m in ("xgboost", "lightgbm", "lightning")]
    for module in optional:
        if module is not None:
            found[(module.__name__, "train")] = getattr(module, "train", None)
            found[(module.__name__, "Trainer.fit")] = vars(getattr(module, "Trainer", object)).get("fit")
            for data_class in ("DMatrix", "Dataset"):
                found[(module.__name__, data_class)] = vars(getattr(module, data_class, object)).get("__init__")
            sk = getattr(module, "sklearn", None)
            if sk is not None:
                found[(sk.__name__, "train")] = sk.train
    for cls in classes:
        for name, value in vars(cls).items():
            found[(cls, name)] = value
            if hasattr(value, "fn") and hasattr(value, "check"):
                found[(cls, name, "fn")] = value.fn
    import sklearn.model_selection

    for module in (skm, sklearn.model_selection):
        for name, value in vars(module).items():
            found[(module.__name__, name)] = value
            for cell in getattr(value, "__closure__", None) or ():  # hooked inside the decorator
                found[(module.__name__, name, id(cell))] = cell.cell_contents
    return found


def test_disable_restores_every_original_exactly():
    for name in ("xgboost", "lightgbm", "lightning"):
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                pass
    before, finders = _framework_attributes(), list(sys.meta_path)
    fit = LogisticRegression.fit
    nbtrack.autolog()
    assert LogisticRegression.fit is not fit
    accuracy = skm.accuracy_score
    assert accuracy.__closure__[accuracy.__code__.co_freevars.index("func")].cell_contents is not accuracy.__wrapped__
    assert vars(Pipeline)["predict"].fn is not before[(Pipeline, "predict", "fn")]
    nbtrack.autolog(disable=True)
    after = _framework_attributes()
    assert after.keys() == before.keys()
    changed = [k for k in before if after[k] is not before[k]]
    assert changed == []
    assert LogisticRegression.fit is fit
    assert len(sys.meta_path) == len(finders) and all(a is b for a, b in zip(sys.meta_path, finders, strict=True))


def test_disabling_one_framework_leaves_the_others():
    fit = LogisticRegression.fit
    nbtrack.autolog()
    sklearn_autolog.autolog(disable=True)
    assert _runs.config("sklearn") is None
    assert _runs.config("xgboost") is not None
    assert LogisticRegression.fit is fit


def _child(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=python_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_autolog_imports_no_framework(tmp_path):
    out = _child(f"""
        import sys, nbtrack
        nbtrack.set_tracking_uri({str(tmp_path / "s")!r})
        nbtrack.autolog()
        import nbtrack.autolog.sklearn, nbtrack.autolog.xgboost, nbtrack.autolog.lightgbm, nbtrack.autolog.pytorch
        heavy = ("sklearn", "xgboost", "lightgbm", "torch", "lightning", "pytorch_lightning", "matplotlib",
                 "pandas", "numpy", "duckdb", "IPython")
        print([m for m in heavy if m in sys.modules])
    """)
    assert out == "[]"


def test_frameworks_imported_later_are_patched_and_only_they(tmp_path):
    out = _child(f"""
        import sys, nbtrack
        nbtrack.set_tracking_uri({str(tmp_path / "s")!r})
        nbtrack.autolog()
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        X, y = load_iris(return_X_y=True)
        LogisticRegression(max_iter=300).fit(X, y)
        from sklearn.ensemble import RandomForestClassifier  # a module first imported now
        RandomForestClassifier(n_estimators=3).fit(X, y)
        names = [r.data.tags["estimator_name"] for r in nbtrack.search_runs(output_format="list")]
        print(sorted(names), [m for m in ("xgboost", "lightgbm", "torch", "lightning") if m in sys.modules])
    """)
    assert out == "['LogisticRegression', 'RandomForestClassifier'] []"


def test_the_autolog_module_stays_callable_once_imported():
    import nbtrack.autolog.sklearn  # importing a submodule binds the package to nbtrack.autolog

    assert callable(nbtrack.autolog)
    nbtrack.autolog(exclude_flavors=["xgboost", "lightgbm", "pytorch"])
    assert _runs.config("sklearn") is not None and _runs.config("xgboost") is None
    assert callable(nbtrack.autolog.scoped)


# -- failures ---------------------------------------------------------------------------------
def _boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_an_autolog_failure_is_one_warning_and_the_fit_returns(iris, monkeypatch):
    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    for step in ("_log_params", "_log_training_metrics", "_log_html"):
        monkeypatch.setattr(sklearn_autolog, step, _boom)
    model = LogisticRegression(max_iter=300)
    with pytest.warns(AutologWarning, match="boom") as record:
        assert model.fit(X_train, y_train) is model
    assert len(autolog_warnings(record)) == 1
    assert hasattr(model, "coef_")
    run = nbtrack.last_active_run()
    assert run.info.status == "FINISHED"
    assert "model" in [f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id)]


def test_silent_hides_the_warning(iris, monkeypatch):
    X_train, _, y_train, _ = iris
    nbtrack.autolog(silent=True)
    monkeypatch.setattr(sklearn_autolog, "_log_params", _boom)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutologWarning)
        LogisticRegression(max_iter=300).fit(X_train, y_train)


def test_a_store_failure_never_stops_training(iris, monkeypatch):
    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    monkeypatch.setattr(nbtrack.tracking.fluent, "start_run", _boom)
    with pytest.warns(AutologWarning, match="open a run"):
        model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert hasattr(model, "coef_")
    assert runs() == []


def test_the_users_error_propagates_and_the_autolog_run_fails(iris):
    X_train, *_ = iris
    nbtrack.autolog()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LogisticRegression().fit(X_train, [0, 1])
    assert nbtrack.active_run() is None
    assert nbtrack.last_active_run().info.status == "FAILED"


# -- no surprises -----------------------------------------------------------------------------
def test_no_empty_runs(iris):
    X_train, X_test, y_train, y_test = iris
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)  # before autolog
    nbtrack.autolog()
    skm.accuracy_score(y_test, model.predict(X_test))
    model.score(X_test, y_test)
    StandardScaler().fit_transform(X_train)
    assert runs() == []
    nbtrack.autolog(disable=True)
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert runs() == []


def test_no_metrics_after_the_user_ended_the_run(iris):
    """mlflow#7814: autolog kept logging sklearn metrics into a run the user had ended."""
    X_train, X_test, y_train, y_test = iris
    nbtrack.autolog()
    with nbtrack.start_run() as run:
        model = LogisticRegression(max_iter=300).fit(X_train, y_train)
        y_early = model.predict(X_test)
    y_pred = model.predict(X_test)
    skm.accuracy_score(y_test, y_pred)
    skm.accuracy_score(y_test, y_early)
    model.score(X_test, y_test)
    assert all(k.startswith("training_") for k in nbtrack.get_run(run.info.run_id).data.metrics)
    assert len(runs()) == 1


def test_metrics_while_the_users_run_is_active_go_to_it(iris):
    X_train, X_test, y_train, y_test = iris
    nbtrack.autolog()
    with nbtrack.start_run() as run:
        model = LogisticRegression(max_iter=300).fit(X_train, y_train)
        skm.accuracy_score(y_test, model.predict(X_test))
    assert "accuracy_score_X_test" in nbtrack.get_run(run.info.run_id).data.metrics


def test_no_duplicate_params_when_the_user_logs_by_hand(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    model = LogisticRegression(C=1.0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with nbtrack.start_run() as run:
            nbtrack.log_param("C", 1)  # the user's spelling of the same value
            nbtrack.log_param("max_iter", 300)
            model.fit(X_train, y_train)
    params = nbtrack.get_run(run.info.run_id).data.params
    assert params["C"] == "1" and params["max_iter"] == "300"
    assert set(params) == set(model.get_params(deep=True))
    assert len(runs()) == 1


def test_one_run_per_fit_unless_inside_a_run(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    LogisticRegression(C=2.0, max_iter=300).fit(X_train, y_train)
    assert [r.data.tags["mlflow.autologging"] for r in runs()] == ["sklearn", "sklearn"]
    with nbtrack.start_run() as run:
        LogisticRegression(max_iter=300).fit(X_train, y_train)
        Pipeline([("s", StandardScaler()), ("m", LogisticRegression(C=3.0, max_iter=300))]).fit(X_train, y_train)
    assert len(runs()) == 3
    assert "mlflow.autologging" not in nbtrack.get_run(run.info.run_id).data.tags


def test_exclusive_leaves_the_users_runs_alone(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog(exclusive=True)
    with nbtrack.start_run() as run:
        LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert nbtrack.get_run(run.info.run_id).data.params == {}
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert nbtrack.last_active_run().data.tags["mlflow.autologging"] == "sklearn"


# -- scoped (what %%track --autolog uses) -------------------------------------------------------
def test_scoped_logs_into_the_run_and_never_starts_one(iris):
    X_train, _, y_train, _ = iris
    run = nbtrack.start_run()
    scope = nbtrack.autolog.scoped(run.info.run_id).start()
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert nbtrack.get_run(run.info.run_id).data.params["max_iter"] == "300"
    with nbtrack.start_run(nested=True) as child:
        LogisticRegression(C=2.0, max_iter=300).fit(X_train, y_train)
    assert nbtrack.get_run(child.info.run_id).data.params["C"] == "2.0"
    nbtrack.end_run()
    LogisticRegression(max_iter=300).fit(X_train, y_train)  # after end_run: nothing, no new run
    scope.close()
    scope.close()
    assert len(runs()) == 2


def test_scoped_restores_the_previous_settings(iris):
    fit = LogisticRegression.fit
    with nbtrack.start_run(), nbtrack.autolog.scoped():
        assert _runs.config("sklearn").run_id is not None
    assert LogisticRegression.fit is fit  # nothing was on before: originals are back
    nbtrack.autolog(log_models=False)
    before = _runs.snapshot()
    with nbtrack.start_run(), nbtrack.autolog.scoped(log_models=True):
        assert _runs.config("sklearn").log_models is True
    assert _runs.snapshot() == before


def test_scoped_needs_a_run():
    with pytest.raises(NoActiveRun):
        nbtrack.autolog.scoped().start()
