"""``nbtrack.data.from_huggingface``: a Hugging Face ``datasets.Dataset`` as a run input, with MLflow's
digest, schema, profile and source (compared with the real mlflow in tests/test_logged_model_links_vs_mlflow.py)."""

from __future__ import annotations

import json

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter

datasets = pytest.importorskip("datasets")


@pytest.fixture
def hf():
    return datasets.Dataset.from_dict({"text": ["a", "bb", "ccc"], "label": [0, 1, 0]})


def test_a_dataset_in_memory_has_a_digest_schema_profile_and_code_source(hf):
    ds = nbtrack.data.from_huggingface(hf, targets="label", name="train")
    assert (ds.name, ds.targets, len(ds.digest)) == ("train", "label", 8)
    assert ds.digest == nbtrack.data.from_pandas(hf.to_pandas()).digest  # the digest of its rows as a frame
    assert ds.profile["num_rows"] == 3 and set(ds.profile) == {"num_rows", "dataset_size", "size_in_bytes"}
    assert ds.schema.input_names() == ["text", "label"]
    assert type(ds.source).__name__ == "CodeDatasetSource"
    inputs, outputs = ds.to_pyfunc()
    assert list(inputs.columns) == ["text"] and outputs.tolist() == [0, 1, 0]


def test_a_dataset_loaded_by_path_round_trips_through_log_input(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    csv = tmp_path / "train.csv"
    csv.write_text("x,y\n1,p\n2,q\n")
    loaded = datasets.load_dataset("csv", data_files=str(csv), split="train")
    ds = nbtrack.data.from_huggingface(loaded, path="csv", data_files=str(csv))
    assert ds.source.to_dict() == {"path": "csv", "config_name": "default", "data_dir": None,
                                   "data_files": str(csv), "split": "train", "revision": None}
    with nbtrack.start_run() as run:
        nbtrack.log_input(ds, context="training")
    logged = nbtrack.get_run(run.info.run_id).inputs.dataset_inputs[0]
    assert (logged.dataset.source_type, logged.dataset.digest) == ("hugging_face", ds.digest)
    assert json.loads(logged.dataset.profile)["num_rows"] == 2
    again = nbtrack.data.get_source(logged).load()
    assert again.num_rows == 2 and again.column_names == ["x", "y"]
    with pytest.raises(KeyError, match="duplicated"):
        nbtrack.data.get_source(logged).load(split="train")


def test_what_is_not_a_dataset_is_refused(hf):
    with pytest.raises(InvalidParameter, match="datasets.Dataset.*DatasetDict"):
        nbtrack.data.from_huggingface(datasets.DatasetDict({"train": hf}))
    with pytest.raises(InvalidParameter, match="targets column 'y'"):
        nbtrack.data.from_huggingface(hf, targets="y")
    given = nbtrack.data.from_huggingface(hf, source="s3://bucket/x.parquet", digest="abc")
    assert (given.digest, given.source._get_source_type()) == ("abc", "s3")
