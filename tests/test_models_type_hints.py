"""Type-hinted custom models, ``nbtrack.types``, ``set_signature``, dataclass signatures and
torch tensor input examples (the MLflow comparison is in test_type_hints_vs_mlflow.py)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pandas as pd
import pytest
from procenv import python_env

import nbtrack
import nbtrack.pyfunc
from nbtrack.models import ModelSignature, infer_signature, set_signature
from nbtrack.models._type_hints import InvalidTypeHint
from nbtrack.models.model import Model


class Upper(nbtrack.pyfunc.PythonModel):
    def predict(self, model_input: list[str], params: dict | None = None) -> list[str]:
        return [s.upper() for s in model_input]


def test_a_hinted_predict_checks_its_input_before_any_logging():
    assert Upper().predict(["a"]) == ["A"]
    assert Upper().predict(pd.DataFrame({"t": ["b"]})) == ["B"]
    with pytest.raises(nbtrack.InvalidParameter, match=r"list\[str\].*Expected type str, but got int"):
        Upper().predict(["a", 1])


def test_the_signature_comes_from_the_hints_without_an_example(tmp_path):
    nbtrack.pyfunc.save_model(tmp_path / "m", python_model=Upper())
    meta = Model.load(tmp_path / "m" / "MLmodel")
    assert meta.signature.to_dict()["inputs"] == '[{"type": "string", "required": true}]'
    assert meta._is_signature_from_type_hint()
    loaded = nbtrack.pyfunc.load_model(tmp_path / "m")
    assert loaded.predict(["x", "y"]) == ["X", "Y"]
    with pytest.raises(nbtrack.InvalidParameter):
        loaded.predict([3])


def test_a_hint_that_cannot_be_right_is_refused_when_the_class_is_defined():
    with pytest.raises(InvalidTypeHint, match="doesn.t contain a collection element type"):
        class Bad(nbtrack.pyfunc.PythonModel):
            def predict(self, model_input: list) -> list:
                return model_input


def test_pydantic_is_not_imported_for_models_without_pydantic_hints():
    code = ("import sys, nbtrack.pyfunc as p\n"
            "class M(p.PythonModel):\n"
            "    def predict(self, model_input: list[str]) -> list[str]:\n"
            "        return model_input\n"
            "assert M().predict(['a']) == ['a']\n"
            "print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), check=True)
    assert out.stdout.strip() == "False"


def test_nbtrack_types_is_mlflow_types():
    import nbtrack.types as types

    assert {"Schema", "ColSpec", "TensorSpec", "DataType", "ParamSchema", "ParamSpec"} <= set(types.__all__)
    from nbtrack.types.schema import Array, ColSpec, Object, Property, Schema

    schema = Schema([ColSpec(Array(Object([Property("a", "long")])), "rows")])
    assert Schema.from_json(schema.to_json()) == schema
    assert nbtrack.types.type_hints.TypeFromExample.__name__ == "TypeFromExample"


@dataclasses.dataclass
class Inner:
    label: str


@dataclasses.dataclass
class Request:
    text: str
    k: int
    inner: Inner | None = None


def test_a_dataclass_is_a_signature():
    sig = ModelSignature(inputs=Request, outputs=Inner)
    assert sig.inputs.input_names() == ["text", "k", "inner"]
    assert not sig.inputs.inputs[2].required
    with pytest.raises(nbtrack.InvalidParameter, match="or a dataclass"):
        ModelSignature(inputs=42)


def test_set_signature_rewrites_a_logged_model(tmp_path):
    class Echo(nbtrack.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    with nbtrack.start_run():
        info = nbtrack.pyfunc.log_model(name="m", python_model=Echo())
    sig = infer_signature(pd.DataFrame({"a": [1]}), pd.Series([1]))
    set_signature(info.model_uri, sig)
    assert nbtrack.pyfunc.load_model(info.model_uri).metadata.signature == sig
    nbtrack.pyfunc.save_model(tmp_path / "local", python_model=Echo())
    set_signature(str(tmp_path / "local"), sig)
    assert Model.load(tmp_path / "local" / "MLmodel").signature == sig
    with pytest.raises(nbtrack.InvalidParameter, match="models:/"):
        set_signature("models:/iris/1", sig)


def test_torch_tensor_input_examples_are_kept_with_a_tensor_signature(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    nbtrack.pytorch.save_model(model, tmp_path / "t", input_example=x)
    loaded = nbtrack.pyfunc.load_model(tmp_path / "t")
    assert loaded.metadata.signature.inputs.to_dict() == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]
    assert loaded.input_example.shape == (4, 3)
    assert infer_signature(x).inputs == loaded.metadata.signature.inputs
    assert loaded.predict(x.numpy()).shape == (4, 2)


class Sizes(nbtrack.pyfunc.PythonModel):
    def predict(self, model_input: list[bytes]) -> list[int]:
        return [len(b) for b in model_input]


def test_serving_a_hinted_model_takes_raw_inputs_and_decodes_bytes(tmp_path):
    import base64
    import json

    from nbtrack.server.scoring import _predict

    nbtrack.pyfunc.save_model(tmp_path / "s", python_model=Sizes())
    sizes = nbtrack.pyfunc.load_model(tmp_path / "s")
    body = json.dumps({"inputs": [base64.encodebytes(b"hi").decode(), base64.encodebytes(b"").decode()]})
    assert json.loads(_predict(sizes, body.encode(), "application/json")) == {"predictions": [2, 0]}
    nbtrack.pyfunc.save_model(tmp_path / "u", python_model=Upper())
    upper = nbtrack.pyfunc.load_model(tmp_path / "u")
    assert json.loads(_predict(upper, b'{"inputs": ["a", "b"]}', "application/json")) == {"predictions": ["A", "B"]}
    with pytest.raises(nbtrack.InvalidParameter, match="'inputs' key"):
        _predict(upper, b'{"dataframe_records": [{"a": "x"}]}', "application/json")


def test_bytes_and_datetime_hints_are_decoded_from_json():
    import datetime

    from nbtrack.models._type_hints import from_json

    got = from_json([{"when": "2025-01-02T03:04:05"}], list[dict[str, datetime.datetime]])
    assert got == [{"when": datetime.datetime(2025, 1, 2, 3, 4, 5)}]
    assert from_json(["aGk=\n"], list[bytes]) == [b"hi"]
    assert from_json([None, "aGk="], list[bytes | None]) == [None, b"hi"]


def test_the_pyfunc_decorator_is_importable_as_in_mlflow(tmp_path):
    from nbtrack.pyfunc.utils import pyfunc

    @pyfunc
    def shout(model_input: list[str]) -> list[str]:
        return [s.upper() + "!" for s in model_input]

    assert shout(["a"]) == ["A!"]
    with pytest.raises(nbtrack.InvalidParameter):
        shout([1])
    nbtrack.pyfunc.save_model(tmp_path / "f", python_model=shout, input_example=["x"])
    loaded = nbtrack.pyfunc.load_model(tmp_path / "f")
    assert loaded.metadata._is_signature_from_type_hint()
    assert loaded.predict(pd.DataFrame({"t": ["b"]})) == ["B!"]
