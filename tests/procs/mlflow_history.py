"""Build an MLflow history with every kind of record using the REAL mlflow package, then dump
what MLflow itself reads back (the expected side of the import tests).

    python mlflow_history.py TRACKING_URI OUT_DIR [--more]

``--more`` adds two runs to an existing history (the resume test). The snapshot in
OUT_DIR/expected.pkl holds search_runs DataFrames (every run, deleted ones too), every metric
history, each run's inputs and artifact files (bytes), the registry and the logged models.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def build(client: MlflowClient, uri: str) -> None:
    exp_a = client.create_experiment("exp-a", tags={"team": "vision", "note": "line1\nline2"})
    exp_b = client.create_experiment("exp-b")
    client.set_experiment_tag(exp_b, "doomed", "yes")

    mlflow.set_experiment(experiment_id=exp_a)
    with mlflow.start_run(run_name="parent", description="the parent run") as parent:
        mlflow.log_params({"lr": "0.1", "layers": 3, "optimizer": "adam"})
        mlflow.set_tags({"stage": "dev", "unicode": "naïve ✓"})
        for step in range(25):  # explicit timestamps, some repeated steps, as a real history has
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1_700_000_000_000 + step * 7)
        mlflow.log_metric("loss", 0.5, step=3, timestamp=1_700_000_000_999)
        mlflow.log_metric("acc", math.nan, step=0, timestamp=1_700_000_000_001)
        mlflow.log_metric("acc", 0.75, step=1, timestamp=1_700_000_000_002)
        mlflow.log_metric("big", math.inf, step=0, timestamp=1_700_000_000_003)
        mlflow.log_metric("small", -math.inf, step=0, timestamp=1_700_000_000_004)
        mlflow.log_metric("neg_step", 2.5, step=-5, timestamp=1_700_000_000_005)
        mlflow.log_text("hello\n", "notes/hello.txt")
        mlflow.log_dict({"a": [1, 2, 3]}, "config.json")
        with tempfile.TemporaryDirectory() as tmp:
            blob = os.path.join(tmp, "weights.bin")
            with open(blob, "wb") as f:
                f.write(bytes(range(256)) * 40)
            mlflow.log_artifact(blob, "model_files/deep")
        frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
        dataset = mlflow.data.from_pandas(frame, name="train-set", targets="y")
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
        mlflow.log_input(mlflow.data.from_pandas(frame.head(2), name="eval-set"), context="eval")
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_param("fold", "1")
            mlflow.log_metric("loss", 0.3, step=0, timestamp=1_700_000_001_000)

    logged = mlflow.initialize_logged_model(name="net", model_type="classifier", tags={"kind": "cnn"},
                                            source_run_id=parent.info.run_id, params={"depth": "4"})
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "MLmodel"), "w") as f:
            f.write("artifact_path: model\nflavors: {}\n")
        with open(os.path.join(tmp, "weights.npy"), "wb") as f:
            f.write(b"\x93NUMPY" + bytes(100))
        client.log_model_artifacts(logged.model_id, tmp)
    mlflow.finalize_logged_model(logged.model_id, "READY")
    client.log_metric(parent.info.run_id, "val_acc", 0.9, timestamp=1_700_000_002_000, step=2,
                      model_id=logged.model_id)

    for status in ("FAILED", "KILLED"):
        run = client.create_run(exp_a, run_name=f"ended-{status.lower()}", start_time=1_600_000_000_000)
        client.log_batch(run.info.run_id, metrics=[Metric("m", 1.5, 1_600_000_000_500, 0)],
                         params=[Param("p", status)], tags=[RunTag("t", "v")])
        client.set_terminated(run.info.run_id, status, end_time=1_600_000_009_000)
    still = client.create_run(exp_a, run_name="still-running")
    client.log_param(still.info.run_id, "p", "running")
    gone = client.create_run(exp_b, run_name="deleted-run")
    client.log_metric(gone.info.run_id, "m", 2.0, timestamp=1_650_000_000_000, step=7)
    client.set_terminated(gone.info.run_id, "FINISHED")
    client.delete_run(gone.info.run_id)
    client.delete_experiment(exp_b)

    client.create_registered_model("classifier", tags={"owner": "ml"}, description="the model")
    v1 = client.create_model_version("classifier", f"models:/{logged.model_id}", run_id=parent.info.run_id,
                                     tags={"validated": "true"}, description="first", model_id=logged.model_id)
    v2 = client.create_model_version("classifier", f"runs:/{parent.info.run_id}/model_files",
                                     run_id=parent.info.run_id)
    client.transition_model_version_stage("classifier", v1.version, "Production")
    client.transition_model_version_stage("classifier", v2.version, "Staging")
    client.set_registered_model_alias("classifier", "champion", v1.version)
    client.set_registered_model_alias("classifier", "challenger", v2.version)
    client.set_model_version_tag("classifier", v2.version, "quality", "ok")
    client.create_registered_model("empty-model")


def more(client: MlflowClient) -> None:
    exp = client.get_experiment_by_name("exp-a")
    for i in range(2):
        run = client.create_run(exp.experiment_id, run_name=f"later-{i}")
        client.log_metric(run.info.run_id, "loss", 0.1 * i, timestamp=1_800_000_000_000 + i, step=i)
        client.set_terminated(run.info.run_id, "FINISHED")


def snapshot(client: MlflowClient) -> dict:
    exps = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in exps]
    frame = mlflow.search_runs(ids, run_view_type=ViewType.ALL, order_by=["attributes.run_id"])
    runs = client.search_runs(ids, run_view_type=ViewType.ALL)
    history, inputs, artifacts = {}, {}, {}
    for run in runs:
        rid = run.info.run_id
        for key in run.data.metrics:
            history[(rid, key)] = [(m.key, m.value, m.timestamp, m.step)
                                   for m in client.get_metric_history(rid, key)]
        inputs[rid] = sorted((d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                              d.dataset.schema, d.dataset.profile, tuple(sorted((t.key, t.value) for t in d.tags)))
                             for d in run.inputs.dataset_inputs)
        artifacts[rid] = _files(client, rid)
    registry = []
    for rm in client.search_registered_models():
        versions = sorted(client.search_model_versions(f"name = '{rm.name}'"), key=lambda v: int(v.version))
        registry.append({
            "name": rm.name, "description": rm.description, "tags": dict(rm.tags),
            "aliases": dict(sorted(rm.aliases.items())), "creation_timestamp": rm.creation_timestamp,
            "versions": [{"version": str(v.version), "stage": v.current_stage, "source": v.source,
                          "run_id": v.run_id, "status": v.status, "description": v.description,
                          "tags": dict(v.tags), "creation_timestamp": v.creation_timestamp,
                          "aliases": sorted(v.aliases)} for v in versions]})
    models = []
    for m in client.search_logged_models(ids):
        models.append({"model_id": m.model_id, "name": m.name, "experiment_id": m.experiment_id,
                       "model_type": m.model_type, "source_run_id": m.source_run_id, "status": str(m.status),
                       "params": dict(m.params), "tags": dict(m.tags.items()),
                       "metrics": sorted((x.key, x.value, x.step, x.run_id) for x in (m.metrics or [])),
                       "creation_timestamp": m.creation_timestamp})
    return {"experiments": [(e.experiment_id, e.name, e.lifecycle_stage, dict(e.tags), e.creation_time)
                            for e in exps],
            "frame": frame, "history": history, "inputs": inputs, "artifacts": artifacts,
            "registry": sorted(registry, key=lambda r: r["name"]), "logged_models": models,
            "run_ids": sorted(r.info.run_id for r in runs)}


def _files(client: MlflowClient, run_id: str, path: str | None = None) -> dict[str, bytes]:
    out = {}
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            out.update(_files(client, run_id, info.path))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                local = client.download_artifacts(run_id, info.path, tmp)
                with open(local, "rb") as f:
                    out[info.path] = f.read()
    return out


def main() -> None:
    uri, out = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    if "--more" in sys.argv:
        more(client)
    elif "--read" not in sys.argv:
        build(client, uri)
    with open(os.path.join(out, "expected.pkl"), "wb") as f:
        pickle.dump(snapshot(client), f)


if __name__ == "__main__":
    main()
