"""Artifacts: files, folders, text, dicts, figures, images, tables; listing and downloading."""

from __future__ import annotations

import json
import os

import pytest
import yaml

import nbtrack
from nbtrack.errors import InvalidParameter, NotFound


def test_log_artifact_and_artifacts_list_and_download(tmp_path):
    (tmp_path / "a.txt").write_text("A")
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("B")
    (folder / "sub" / "c.txt").write_text("C")
    with nbtrack.start_run() as run:
        nbtrack.log_artifact(str(tmp_path / "a.txt"))
        nbtrack.log_artifact(str(tmp_path / "a.txt"), artifact_path="nested/deeper")
        nbtrack.log_artifacts(str(folder), artifact_path="data")
        uri = nbtrack.get_artifact_uri()
        assert nbtrack.get_artifact_uri("a.txt") == f"{uri}/a.txt"
    client = nbtrack.MlflowClient()
    rid = run.info.run_id
    assert uri == run.info.artifact_uri and uri.startswith(str(tmp_path))
    listing = client.list_artifacts(rid)
    assert [(f.path, f.is_dir, f.file_size) for f in listing] == [
        ("a.txt", False, 1), ("data", True, None), ("nested", True, None)]
    assert [f.path for f in client.list_artifacts(rid, "data")] == ["data/b.txt", "data/sub"]
    dst = client.download_artifacts(rid, "data", str(tmp_path / "out"))
    assert open(os.path.join(dst, "sub", "c.txt")).read() == "C"
    local = nbtrack.artifacts.download_artifacts(f"runs:/{rid}/nested/deeper/a.txt")
    assert open(local).read() == "A"
    local = nbtrack.artifacts.download_artifacts(run_id=rid, artifact_path="a.txt", dst_path=str(tmp_path / "o2"))
    assert local == str(tmp_path / "o2" / "a.txt")
    with pytest.raises(NotFound):
        client.download_artifacts(rid, "missing.txt")
    with pytest.raises(InvalidParameter, match="Exactly one"):
        nbtrack.artifacts.download_artifacts()


def test_log_text_and_dict_json_and_yaml():
    with nbtrack.start_run() as run:
        nbtrack.log_text("héllo", "notes/readme.md")
        nbtrack.log_dict({"a": 1, "b": [1, 2]}, "cfg.json")
        nbtrack.log_dict({"a": 1}, "cfg.yaml")
    root = run.info.artifact_uri
    assert open(f"{root}/notes/readme.md", encoding="utf-8").read() == "héllo"
    assert json.load(open(f"{root}/cfg.json")) == {"a": 1, "b": [1, 2]}
    assert yaml.safe_load(open(f"{root}/cfg.yaml")) == {"a": 1}


def test_log_figure_matplotlib_and_plotly():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with nbtrack.start_run() as run:
        nbtrack.log_figure(fig, "plots/line.png")
        nbtrack.log_figure(go.Figure(go.Scatter(y=[1, 3, 2])), "plots/line.html")
        with pytest.raises(TypeError, match="Unsupported file extension"):
            nbtrack.log_figure(go.Figure(), "plots/line.txt")
        with pytest.raises(TypeError, match="Unsupported figure"):
            nbtrack.log_figure(object(), "x.png")
    plt.close(fig)
    root = run.info.artifact_uri
    assert open(f"{root}/plots/line.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "plotly" in open(f"{root}/plots/line.html").read()


def test_log_image_array_and_series():
    import numpy as np
    from PIL import Image

    with nbtrack.start_run() as run:
        nbtrack.log_image(np.zeros((4, 5, 3), dtype=np.uint8), "img.png")
        nbtrack.log_image(np.full((2, 2), 0.5), key="samples", step=3)
        with pytest.raises(InvalidParameter, match=r"\[0, 1\]"):
            nbtrack.log_image(np.full((2, 2), 2.0), "bad.png")
        with pytest.raises(InvalidParameter, match="exactly one"):
            nbtrack.log_image(np.zeros((2, 2)))
    root = run.info.artifact_uri
    assert Image.open(f"{root}/img.png").size == (5, 4)
    series = os.listdir(f"{root}/images")
    assert len(series) == 1 and series[0].startswith("samples+step+3+timestamp+")
    assert nbtrack.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"


def test_log_table_appends_and_tags():
    import pandas as pd

    with nbtrack.start_run() as run:
        nbtrack.log_table({"a": [1, 2], "b": ["x", "y"]}, "results.json")
        nbtrack.log_table(pd.DataFrame({"a": [3], "b": ["z"]}), "results.json")
        nbtrack.log_table({"a": [1]}, "t.parquet")
        with pytest.raises(InvalidParameter, match=r"\.json or \.parquet"):
            nbtrack.log_table({"a": [1]}, "t.csv")
    root = run.info.artifact_uri
    table = json.load(open(f"{root}/results.json"))
    assert table["columns"] == ["a", "b"] and table["data"] == [[1, "x"], [2, "y"], [3, "z"]]
    assert pd.read_parquet(f"{root}/t.parquet")["a"].tolist() == [1]
    logged = json.loads(nbtrack.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"])
    assert {"path": "results.json", "type": "table"} in logged
