"""``nbtrack.data`` beyond the MLflow comparison: sources, ``from_dict``, ``get_source``, raw
DataFrames given to ``log_input``, custom sources, and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from procenv import python_env

import nbtrack
from nbtrack.data import sources
from nbtrack.data.dataset_source import (
    DatasetSource,
    register_dataset_source,
    resolve_dataset_source,
)
from nbtrack.errors import InvalidParameter, NotFound


@pytest.fixture
def df():
    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]})


@pytest.mark.parametrize(("raw", "cls", "kind"), [
    ("data/train.csv", sources.LocalArtifactDatasetSource, "local"),
    ("file:///tmp/train.csv", sources.LocalArtifactDatasetSource, "local"),
    ("https://example.com/train.csv", sources.HTTPDatasetSource, "http"),
    ("s3://bucket/train.parquet", sources.S3ArtifactDatasetSource, "s3"),
    ("gs://bucket/train.parquet", sources.GCSArtifactDatasetSource, "gs"),
])
def test_raw_sources_resolve_to_mlflow_classes(raw, cls, kind):
    source = resolve_dataset_source(raw)
    assert type(source) is cls and source._get_source_type() == kind
    assert type(source).from_json(source.to_json()) == source


def test_unknown_scheme_and_remote_load_say_what_to_do(df):
    with pytest.raises(NotFound, match="local path, an http"):
        nbtrack.data.from_pandas(df, source="nosuch://x")
    with pytest.raises(InvalidParameter, match="does not download s3"):
        resolve_dataset_source("s3://b/k").load()


def test_local_source_loads_the_path_or_a_copy(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("x\n1\n")
    source = resolve_dataset_source(data.as_uri())
    assert source.load() == str(data)
    copy = source.load(str(tmp_path / "copy"))
    assert open(copy).read() == "x\n1\n" and copy != str(data)
    with pytest.raises(InvalidParameter, match="does not exist"):
        resolve_dataset_source(str(tmp_path / "gone.csv")).load()


def test_from_dict_rebuilds_what_to_dict_gave(df):
    for dataset in (nbtrack.data.from_pandas(df, source="t.csv", name="train"),
                    nbtrack.data.from_numpy(np.ones((4, 2)), targets=np.arange(4), source="https://e.com/a.npz")):
        again = nbtrack.data.from_dict(dataset.to_dict())
        assert again.to_dict() == dataset.to_dict()
        assert again.source == dataset.source
        assert again.profile == json.loads(json.dumps(dataset.profile))  # shapes come back as lists
        assert str(again.schema) == str(dataset.schema)
    with pytest.raises(InvalidParameter, match="needs \\['digest'"):
        nbtrack.data.from_dict({"name": "x", "source": "{}", "source_type": "code"})


def test_get_source_of_logged_inputs_and_bad_values(df):
    with nbtrack.start_run() as run:
        nbtrack.log_input(nbtrack.data.from_pandas(df, source="https://example.com/t.csv"), context="training")
    [logged] = nbtrack.get_run(run.info.run_id).inputs.dataset_inputs
    assert nbtrack.data.get_source(logged).url == "https://example.com/t.csv"
    assert nbtrack.data.get_source(logged.dataset) == sources.HTTPDatasetSource("https://example.com/t.csv")
    with pytest.raises(InvalidParameter, match="Unrecognized dataset type"):
        nbtrack.data.get_source(df)


def test_a_raw_dataframe_logs_with_the_same_digest(df):
    with nbtrack.start_run() as run:
        nbtrack.log_input(df)
    [logged] = nbtrack.get_run(run.info.run_id).inputs.dataset_inputs
    assert logged.dataset.digest == nbtrack.data.from_pandas(df).digest


def test_registered_sources_take_precedence(df, monkeypatch):
    from nbtrack.data import dataset_source

    monkeypatch.setattr(dataset_source, "_registry", list(dataset_source._registry))

    class WarehouseSource(DatasetSource):
        source_type = "warehouse"

        def __init__(self, table):
            self.table = table

        @staticmethod
        def _can_resolve(raw):
            return isinstance(raw, str) and raw.startswith("wh:")

        @classmethod
        def _resolve(cls, raw):
            return cls(raw[3:])

        def to_dict(self):
            return {"table": self.table}

        @classmethod
        def from_dict(cls, d):
            return cls(d["table"])

    register_dataset_source(WarehouseSource)
    dataset = nbtrack.data.from_pandas(df, source="wh:sales")
    assert json.loads(dataset.to_dict()["source"]) == {"table": "sales"}
    assert nbtrack.data.get_source(nbtrack.data.from_dict(dataset.to_dict())).table == "sales"


def test_digest_and_targets_are_checked(df):
    assert nbtrack.data.from_pandas(df, digest="given").digest == "given"
    with pytest.raises(InvalidParameter, match="targets column 'y'"):
        nbtrack.data.from_pandas(df, targets="y")
    inputs, outputs = nbtrack.data.from_pandas(df, targets="label").to_pyfunc()
    assert list(inputs.columns) == ["x"] and outputs.tolist() == ["a", "b", "a"]


def test_importing_nbtrack_data_loads_no_pandas():
    code = "import sys, nbtrack.data; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), check=True)
    assert out.stdout.split() == ["False", "False"]
