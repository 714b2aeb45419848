"""Artifacts on every backend: files, folders, text, dicts, images; nested listings; downloads
through ``runs:/`` URIs; ``load_text`` / ``load_dict``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml

import nbtrack
from nbtrack.errors import NotFound


@pytest.fixture
def files(tmp_path):
    (tmp_path / "a.txt").write_text("A")
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("B")
    (folder / "sub" / "c.bin").write_bytes(bytes(range(256)) * 40)
    return tmp_path


def test_log_artifact_and_artifacts_list_and_download(backend, files, tmp_path):
    nbtrack.set_experiment(backend.name("artifacts"))
    with nbtrack.start_run() as run:
        nbtrack.log_artifact(str(files / "a.txt"))
        nbtrack.log_artifact(str(files / "a.txt"), artifact_path="nested/deeper")
        nbtrack.log_artifacts(str(files / "dir"), artifact_path="data")
        uri = nbtrack.get_artifact_uri()
        assert nbtrack.get_artifact_uri("a.txt") == f"{uri}/a.txt"
    client = nbtrack.MlflowClient()
    rid = run.info.run_id
    assert uri == client.get_run(rid).info.artifact_uri
    listing = client.list_artifacts(rid)
    assert [(f.path, f.is_dir, f.file_size) for f in listing] == [
        ("a.txt", False, 1), ("data", True, None), ("nested", True, None)]
    assert [(f.path, f.is_dir) for f in client.list_artifacts(rid, "data")] == [("data/b.txt", False),
                                                                                ("data/sub", True)]
    assert [(f.path, f.file_size) for f in client.list_artifacts(rid, "data/sub")] == [("data/sub/c.bin", 10240)]
    assert [f.path for f in nbtrack.artifacts.list_artifacts(f"runs:/{rid}/nested")] == ["nested/deeper"]
    assert client.list_artifacts(rid, "no-such-folder") == []

    dst = client.download_artifacts(rid, "data", str(tmp_path / "out"))
    assert open(os.path.join(dst, "b.txt")).read() == "B"
    assert open(os.path.join(dst, "sub", "c.bin"), "rb").read() == bytes(range(256)) * 40
    local = nbtrack.artifacts.download_artifacts(f"runs:/{rid}/nested/deeper/a.txt")
    assert open(local).read() == "A"
    whole = nbtrack.artifacts.download_artifacts(f"runs:/{rid}/", dst_path=str(tmp_path / "all"))
    found = sorted(os.path.relpath(os.path.join(d, f), whole) for d, _, fs in os.walk(whole) for f in fs)
    assert found == ["a.txt", "data/b.txt", "data/sub/c.bin", "nested/deeper/a.txt"]
    local = nbtrack.artifacts.download_artifacts(run_id=rid, artifact_path="a.txt", dst_path=str(tmp_path / "o2"))
    assert local == str(tmp_path / "o2" / "a.txt")
    with pytest.raises(NotFound):
        client.download_artifacts(rid, "missing.txt")


def test_log_text_dict_and_load_them(backend):
    nbtrack.set_experiment(backend.name("text"))
    with nbtrack.start_run() as run:
        nbtrack.log_text("héllo\n", "notes/readme.md")
        nbtrack.log_dict({"a": 1, "b": [1, 2]}, "cfg.json")
        nbtrack.log_dict({"a": 1}, "cfg.yaml")
    rid = run.info.run_id
    client = nbtrack.MlflowClient()
    client.log_text(rid, "from the client", "client.txt")
    client.log_dict(rid, {"x": "y"}, "nested/client.json")
    assert nbtrack.artifacts.load_text(f"runs:/{rid}/notes/readme.md") == "héllo\n"
    assert nbtrack.artifacts.load_dict(f"runs:/{rid}/cfg.json") == {"a": 1, "b": [1, 2]}
    assert nbtrack.artifacts.load_dict(f"runs:/{rid}/nested/client.json") == {"x": "y"}
    assert nbtrack.artifacts.load_text(f"runs:/{rid}/client.txt") == "from the client"
    assert yaml.safe_load(nbtrack.artifacts.load_text(f"runs:/{rid}/cfg.yaml")) == {"a": 1}
    assert json.loads(nbtrack.artifacts.load_text(f"runs:/{rid}/cfg.json")) == {"a": 1, "b": [1, 2]}
    assert [f.path for f in client.list_artifacts(rid)] == ["cfg.json", "cfg.yaml", "client.txt", "nested", "notes"]
    with pytest.raises(NotFound):
        nbtrack.artifacts.load_text(f"runs:/{rid}/missing.txt")


def test_log_image(backend):
    pytest.importorskip("PIL")
    nbtrack.set_experiment(backend.name("images"))
    with nbtrack.start_run() as run:
        nbtrack.log_image(np.zeros((4, 5, 3), dtype=np.uint8), "img.png")
        nbtrack.log_image(np.full((2, 2), 0.5), key="samples", step=3)
    rid = run.info.run_id
    image = nbtrack.artifacts.load_image(f"runs:/{rid}/img.png")
    assert image.size == (5, 4)
    client = nbtrack.MlflowClient()
    assert [f.path for f in client.list_artifacts(rid)] == ["images", "img.png"]
    (series,) = [f.path for f in client.list_artifacts(rid, "images")]  # key+step+timestamp+uuid, as MLflow
    assert series.startswith("images/samples+step+3+timestamp+") and series.endswith(".png")
    assert nbtrack.artifacts.load_image(f"runs:/{rid}/{series}").size == (2, 2)
