"""MLflow 3 logged models: log_model's ModelInfo, models:/<model_id>, the client and fluent API,
search_logged_models, metrics linked to a model, the store schema and views.

The differential test runs one script on the real mlflow (its own file store, in a
subprocess) and on nbtrack, and compares what comes back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

import nbtrack
from nbtrack import Client
from nbtrack.errors import InvalidFilter, InvalidParameter, NotFound
from nbtrack.search._logged_models import compile_logged_model_search
from nbtrack.store.duckdb.schema import MIGRATIONS


@pytest.fixture
def store(tmp_path):
    nbtrack.set_tracking_uri(str(tmp_path / "store"))
    yield str(tmp_path / "store")
    nbtrack.clear_active_model()
    while nbtrack.active_run():
        nbtrack.end_run()


@pytest.fixture
def fitted():
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    return LogisticRegression().fit(X, y), X


def test_log_model_returns_model_info_with_model_id_params_metrics(store, fitted):
    model, _ = fitted
    with nbtrack.start_run() as run:
        nbtrack.log_param("C", 1.0)
        nbtrack.log_metric("acc", 0.9)
        info = nbtrack.sklearn.log_model(model, name="clf", params={"extra": 3}, model_type="classifier",
                                         tags={"team": "a"})
    assert info.model_id.startswith("m-") and info.model_uri == f"models:/{info.model_id}"
    assert info.params == {"C": "1.0", "extra": "3"}
    assert info.metrics == []  # as MLflow 3: the model as created; the run's metrics are linked after
    logged = Client().get_logged_model(info.model_id)
    assert [(m.key, m.value, m.model_id) for m in logged.metrics] == [("acc", 0.9, info.model_id)]
    assert (logged.name, logged.status, logged.model_type, logged.source_run_id) == (
        "clf", "READY", "classifier", run.info.run_id)
    assert logged.tags == {"team": "a"}
    assert logged.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    assert os.path.exists(os.path.join(logged.artifact_location, "MLmodel"))
    assert nbtrack.last_logged_model().model_id == info.model_id


def test_models_uri_and_runs_uri_both_load(store, fitted):
    model, X = fitted
    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(model, name="clf")
    expected = model.predict(X).tolist()
    assert nbtrack.pyfunc.load_model(info.model_uri).predict(X).tolist() == expected
    assert nbtrack.pyfunc.load_model(f"runs:/{run.info.run_id}/clf").predict(X).tolist() == expected
    assert nbtrack.pyfunc.load_model(info.model_uri).model_id == info.model_id
    with pytest.raises(NotFound):
        nbtrack.pyfunc.load_model("models:/m-0123456789abcdef0123456789abcdef")


def test_initialize_finalize_tags_and_params(store):
    with nbtrack.start_run() as run:
        m = nbtrack.initialize_logged_model(name="pending", params={"a": 1}, tags={"k": "v", "drop": "x"})
    assert (m.status, m.source_run_id, m.params) == ("PENDING", run.info.run_id, {"a": "1"})
    nbtrack.set_logged_model_tags(m.model_id, {"k": "w"})
    nbtrack.delete_logged_model_tag(m.model_id, "drop")
    nbtrack.log_model_params({"b": "2"}, model_id=m.model_id)
    done = nbtrack.finalize_logged_model(m.model_id, "READY")
    assert (done.status, done.tags, done.params) == ("READY", {"k": "w"}, {"a": "1", "b": "2"})
    assert done.last_updated_timestamp >= m.creation_timestamp
    with pytest.raises(InvalidParameter, match="READY"):
        nbtrack.finalize_logged_model(m.model_id, "DONE")
    with pytest.raises(NotFound, match="search_logged_models"):
        nbtrack.get_logged_model("m-missing")


def test_metrics_link_to_the_active_model_and_datasets(store):
    with nbtrack.set_active_model(name="agent") as active:
        assert nbtrack.get_active_model_id() == active.model_id
        with nbtrack.start_run() as run:
            nbtrack.log_metric("loss", 0.5, step=1)
            nbtrack.log_metrics({"f1": 0.7, "p": 0.6})
    assert nbtrack.get_active_model_id() is None
    # the same name activates the same model again
    assert nbtrack.set_active_model(name="agent").model_id == active.model_id
    nbtrack.clear_active_model()

    class Data:
        name, digest = "eval", "abc123"

    with nbtrack.start_run(run_id=run.info.run_id):
        nbtrack.log_metric("acc", 0.8, model_id=active.model_id, dataset=Data())
        nbtrack.log_metric("plain", 1.0)  # no active model: a run metric only
    got = {(m.key, m.value, m.step, m.run_id, m.dataset_name, m.dataset_digest)
           for m in nbtrack.get_logged_model(active.model_id).metrics}
    rid = run.info.run_id
    assert got == {("loss", 0.5, 1, rid, None, None), ("f1", 0.7, 0, rid, None, None),
                   ("p", 0.6, 0, rid, None, None), ("acc", 0.8, 0, rid, "eval", "abc123")}
    assert set(nbtrack.get_run(rid).data.metrics) == {"loss", "f1", "p", "acc", "plain"}


def _models(store):
    ids = []
    with nbtrack.start_run():
        for i, (alpha, acc) in enumerate([("0.1", 0.7), ("0.5", 0.9), ("1.0", 0.8)]):
            m = nbtrack.initialize_logged_model(name=f"m{i}", params={"alpha": alpha}, tags={"i": str(i)},
                                                model_type="reg" if i else None)
            nbtrack.log_metric("acc", acc, model_id=m.model_id, dataset=type("D", (), {"name": "test", "digest": "d"}))
            nbtrack.log_metric("acc", 1 - acc, model_id=m.model_id)
            ids.append(m.model_id)
    return ids


def test_search_logged_models_filters_order_and_pages(store):
    ids = _models(store)
    exp = [nbtrack.get_logged_model(ids[0]).experiment_id]

    def names(**kw):
        return [m.name for m in nbtrack.search_logged_models(exp, output_format="list", **kw)]

    assert names() == ["m2", "m1", "m0"]  # newest first
    assert names(filter_string="params.alpha = '0.5'") == ["m1"]
    assert names(filter_string="tags.i IN ('0', '2')") == ["m2", "m0"]
    assert names(filter_string="model_type = 'reg' AND name LIKE 'm%'") == ["m2", "m1"]
    assert names(filter_string="metrics.acc > 0.85") == ["m1"]
    assert names(filter_string="metrics.acc > 0.25", datasets=[{"dataset_name": "test"}]) == ["m2", "m1", "m0"]
    assert names(filter_string="metrics.acc < 0.25", datasets=[{"dataset_name": "test"}]) == []
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": False, "dataset_name": "test"}]) == [
        "m1", "m2", "m0"]
    assert names(order_by=[{"field_name": "name"}]) == ["m0", "m1", "m2"]
    assert names(max_results=2) == ["m2", "m1"]
    page = Client().search_logged_models(exp, max_results=2)
    assert page.token and [m.name for m in Client().search_logged_models(exp, page_token=page.token)] == ["m0"]
    frame = nbtrack.search_logged_models(exp)
    assert list(frame["name"]) == ["m2", "m1", "m0"] and "metrics" in frame.columns
    with pytest.raises(InvalidFilter):
        names(filter_string="metrics.acc LIKE 'x'")
    with pytest.raises(InvalidFilter, match="Only metrics"):
        names(order_by=[{"field_name": "params.alpha"}])


def test_search_compiles_through_the_search_layer():
    q = compile_logged_model_search(["1", "2"], "metrics.acc >= 0.5 AND tags.t = 'x'",
                                    [{"dataset_name": "d", "dataset_digest": "g"}],
                                    [{"field_name": "creation_time", "ascending": True}])
    assert q.params == ["1", "2", "acc", 0.5, "d", "g", "t", "x"]
    assert q.sql.endswith("ORDER BY m.creation_timestamp ASC NULLS LAST, m.model_id ASC")
    assert q.description == ["acc >= 0.5", "tag t is 'x'"]
    assert "FALSE" in compile_logged_model_search([], None).sql


def test_sql_views(store):
    ids = _models(store)
    rows = nbtrack.sql("SELECT m.name, count(*) FROM logged_models m JOIN logged_model_metrics x USING (model_id) "
                       "GROUP BY m.name ORDER BY m.name")
    assert rows.values.tolist() == [["m0", 2], ["m1", 2], ["m2", 2]]
    assert nbtrack.sql("SELECT value FROM logged_model_params WHERE model_id = ?", [ids[1]]).values.tolist() == [["0.5"]]
    assert len(nbtrack.sql("SELECT * FROM logged_model_tags")) == 3


def test_store_created_before_the_migration_keeps_working(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    con = duckdb.connect(str(root / "nbtrack.duckdb"))  # the archive as the last release wrote it
    con.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_at BIGINT)")
    for name, sql in MIGRATIONS:
        if name == "0003_logged_models":
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, 0)", [name])
    con.execute("INSERT INTO experiments VALUES (0, 'Default', NULL, 'active', 0, 0)")
    con.execute("INSERT INTO runs VALUES ('r1', 0, 'old', 'u', 'FINISHED', 1, 2, 'active', NULL, NULL, NULL)")
    con.execute("INSERT INTO metrics VALUES ('r1', 'acc', 0.5, 1, 0)")
    con.execute("INSERT INTO latest_metrics VALUES ('r1', 'acc', 0.5, 1, 0)")
    con.close()
    nbtrack.set_tracking_uri(str(root))
    assert nbtrack.get_run("r1").data.metrics == {"acc": 0.5}
    assert nbtrack.search_logged_models(["0"], output_format="list") == []
    with nbtrack.start_run():
        m = nbtrack.initialize_logged_model(name="new")
        nbtrack.log_metric("x", 1.0, model_id=m.model_id)
    assert [x.key for x in nbtrack.get_logged_model(m.model_id).metrics] == ["x"]


def test_log_metric_model_id_on_client(store):
    client = Client()
    exp = client.get_experiment_by_name("Default").experiment_id
    run = client.create_run(exp)
    m = client.create_logged_model(exp, name="c")
    client.log_metric(run.info.run_id, "k", 2.0, step=3, model_id=m.model_id, dataset_name="ds")
    assert [(x.key, x.step, x.dataset_name) for x in client.get_logged_model(m.model_id).metrics] == [("k", 3, "ds")]
    extra = os.path.join(os.path.dirname(store), "f.txt")
    with open(extra, "w") as f:
        f.write("x")
    client.log_model_artifact(m.model_id, extra, "extra")
    assert [f.path for f in client.list_logged_model_artifacts(m.model_id, "extra")] == ["extra/f.txt"]
    client.delete_logged_model(m.model_id)
    assert client.search_logged_models([exp]) == []


# -- differential: the same script on the real mlflow and on nbtrack -----------------------
_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    if sys.argv[1] == "mlflow":
        import mlflow, mlflow.sklearn, mlflow.pyfunc
        mlflow.set_tracking_uri("sqlite:///" + sys.argv[2] + "/mlflow.db")  # its reference store
    else:
        import nbtrack as mlflow  # mlflow.sklearn and mlflow.pyfunc load on first use
        mlflow.set_tracking_uri(sys.argv[2])
    st = lambda s: str(getattr(s, "value", s)).split(".")[-1]
    rng = np.random.default_rng(0)
    X = rng.random((40, 3)); y = (X[:, 0] + X[:, 1] > 1).astype(int)
    mlflow.set_experiment("diff")
    out, ids = {"models": []}, []
    for i, C in enumerate([0.1, 1.0, 10.0]):
        with mlflow.start_run() as run:
            mlflow.log_param("C", C)
            model = LogisticRegression(C=C).fit(X, y)
            mlflow.log_metric("train_acc", float(model.score(X, y)))
            info = mlflow.sklearn.log_model(model, name="clf", params={"i": i}, model_type="classifier",
                                            tags={"t": str(i)}, pip_requirements=["scikit-learn"])
            mlflow.log_metric("val_acc", 0.5 + i / 10, model_id=info.model_id)
            ids.append(info.model_id)
            lm = mlflow.get_logged_model(info.model_id)
            out["models"].append({
                "info": [info.model_id.startswith("m-"), info.model_uri == "models:/" + info.model_id,
                         info.name, info.params, sorted((m.key, round(m.value, 6), m.step) for m in info.metrics or []),
                         info.run_id == run.info.run_id, info.model_uuid == info.model_id],
                "logged": [lm.name, st(lm.status), lm.model_type, lm.source_run_id == run.info.run_id, lm.params,
                           {k: v for k, v in lm.tags.items() if not k.startswith("mlflow.")},
                           sorted((m.key, round(m.value, 6), m.step, m.run_id == run.info.run_id) for m in lm.metrics),
                           lm.artifact_location.rstrip("/").endswith("/models/" + lm.model_id + "/artifacts"),
                           lm.experiment_id == run.info.experiment_id],
                "predict": mlflow.pyfunc.load_model(info.model_uri).predict(X).tolist()
                           == mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/clf").predict(X).tolist()
                           == model.predict(X).tolist(),
            })
    exp = [mlflow.get_experiment_by_name("diff").experiment_id]
    index = lambda found: [ids.index(m.model_id) if m.model_id in ids else m.name for m in found]
    searches = {}
    for f in [None, "params.C = '1.0'", "metrics.val_acc > 0.55", "tags.t != '0'", "name = 'clf'",
              "model_type = 'classifier' AND metrics.train_acc >= 0", "params.i IN ('0', '2')"]:
        searches[str(f)] = index(mlflow.search_logged_models(exp, filter_string=f, output_format="list"))
    searches["by val_acc desc"] = index(mlflow.search_logged_models(
        exp, order_by=[{"field_name": "metrics.val_acc", "ascending": False}], output_format="list"))
    searches["by creation asc, max 2"] = index(mlflow.search_logged_models(
        exp, order_by=[{"field_name": "creation_timestamp", "ascending": True}], max_results=2, output_format="list"))
    out["searches"] = searches
    out["last"] = mlflow.last_logged_model().model_id == ids[-1]
    p = mlflow.initialize_logged_model(name="pending", params={"a": "1"}, tags={"k": "v", "d": "x"})
    mlflow.set_logged_model_tags(p.model_id, {"k": "w"})
    mlflow.delete_logged_model_tag(p.model_id, "d")
    f = mlflow.finalize_logged_model(p.model_id, "READY")
    out["pending"] = [st(p.status), st(f.status), {k: v for k, v in f.tags.items() if not k.startswith("mlflow.")},
                      f.params, f.source_run_id]
    active = mlflow.set_active_model(name="agent")
    with mlflow.start_run():
        mlflow.log_metric("score", 3.0)
    out["active"] = [mlflow.get_active_model_id() == active.model_id,
                     [(m.key, m.value) for m in mlflow.get_logged_model(active.model_id).metrics]]
    print("RESULT" + json.dumps(out))
""")


def _run_script(kind: str, root: str) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "NBTRACK_TRACKING_URI": "", "GIT_PYTHON_REFRESH": "quiet",
           "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false"}
    # a file, not -c: pyspark.sql.connect (which mlflow's log_model imports when pyspark is there) takes a
    # __main__ without __file__ for its own doctest run and exits the process, silently, with status 0
    script = os.path.join(root, "script.py")
    with open(script, "w") as f:
        f.write(_SCRIPT)
    proc = subprocess.run([sys.executable, script, kind, root], capture_output=True, text=True,
                          timeout=120, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line is not None, f"the {kind} script printed no result: {proc.stderr[-3000:]}"
    return json.loads(line[len("RESULT"):])


def test_differential_against_real_mlflow(tmp_path):
    pytest.importorskip("mlflow")
    pytest.importorskip("sklearn")
    roots = {k: tmp_path / k for k in ("mlflow", "nbtrack")}
    for r in roots.values():
        r.mkdir()
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(2) as pool:
        ours, theirs = pool.map(lambda k: _run_script(k, str(roots[k])), ["nbtrack", "mlflow"])
    assert ours["models"] == theirs["models"]
    assert ours["searches"] == theirs["searches"]
    assert ours["last"] is theirs["last"] is True
    assert ours["pending"] == theirs["pending"]
    assert ours["active"] == theirs["active"]
