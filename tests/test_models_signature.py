"""Signatures: MLflow's JSON forms, inference from real data, and enforcement at predict time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbtrack.errors import InvalidParameter
from nbtrack.models import ModelSignature, infer_signature
from nbtrack.models._enforce import enforce_params, enforce_schema
from nbtrack.models.schema import (
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)

# Strings copied from MLmodel files written by mlflow 3.18.0 (reference section 4).
MLFLOW_INPUTS = (
    '[{"type": "double", "name": "sepal length (cm)", "required": true}, '
    '{"type": "double", "name": "sepal width (cm)", "required": true}]'
)
MLFLOW_TENSOR = '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
MLFLOW_PARAMS = (
    '[{"name": "temperature", "default": 0.5, "shape": null, "type": "float"}, '
    '{"name": "stops", "default": ["a"], "shape": [-1], "type": "string"}]'
)


def test_schema_json_round_trips_mlflow_strings_exactly():
    for text in (MLFLOW_INPUTS, MLFLOW_TENSOR):
        assert Schema.from_json(text).to_json() == text
    assert ParamSchema.from_json(MLFLOW_PARAMS).to_json() == MLFLOW_PARAMS


def test_composite_types_round_trip():
    schema = Schema([
        ColSpec(Array(DataType.long), "ids"),
        ColSpec(Object([Property("a", DataType.string), Property("b", DataType.double, False)]), "obj"),
        ColSpec(Map(DataType.double), "scores", required=False),
    ])
    again = Schema.from_json(schema.to_json())
    assert again == schema
    assert json.loads(schema.to_json())[1]["properties"]["b"] == {"type": "double", "required": False}


def test_signature_to_dict_holds_json_strings():
    sig = ModelSignature(Schema.from_json(MLFLOW_INPUTS), Schema.from_json(MLFLOW_TENSOR),
                         ParamSchema.from_json(MLFLOW_PARAMS))
    d = sig.to_dict()
    assert d == {"inputs": MLFLOW_INPUTS, "outputs": MLFLOW_TENSOR, "params": MLFLOW_PARAMS}
    assert ModelSignature.from_dict(d) == sig


def test_infer_from_dataframe_and_predictions():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": np.array([1, 2], dtype="int32"), "c": ["x", "y"]})
    sig = infer_signature(X, np.array([0, 1]))
    assert sig.inputs.to_dict() == [
        {"type": "double", "name": "a", "required": True},
        {"type": "integer", "name": "b", "required": True},
        {"type": "string", "name": "c", "required": True},
    ]
    assert sig.outputs.to_dict() == [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]


def test_infer_marks_columns_with_missing_values_optional():
    sig = infer_signature(pd.DataFrame({"a": [1.0, None]}))
    assert sig.inputs.inputs[0].required is False


def test_infer_tensor_shapes_match_mlflow():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    assert infer_signature(images).inputs.to_dict() == [
        {"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 28, 28]}}
    ]
    named = infer_signature({"x": np.zeros((3, 2), dtype="float32")}).inputs
    assert named.to_dict() == [{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]


def test_infer_lists_records_and_params():
    assert infer_signature(["a", "b"]).inputs.to_dict() == [{"type": "string", "required": True}]
    records = infer_signature([{"q": "hi", "k": 1}, {"q": "yo"}]).inputs
    assert records.input_dict()["k"].required is False
    params = infer_signature(params={"t": 0.5, "n": 3, "stops": ["a", "b"], "flag": True}).params
    assert [(p.name, p.dtype, p.shape) for p in params] == [
        ("t", DataType.double, None), ("n", DataType.long, None),
        ("stops", DataType.string, (-1,)), ("flag", DataType.boolean, None)]


def test_bad_params_are_rejected_with_the_reason():
    with pytest.raises(InvalidParameter, match="1D array or scalar"):
        infer_signature(params={"nested": [[1, 2]]})
    with pytest.raises(InvalidParameter, match="Binary type is not supported"):
        ParamSpec("b", "binary", b"x")


def test_schema_rejects_mixed_and_unnamed_optional_inputs():
    with pytest.raises(InvalidParameter, match="named and unnamed"):
        Schema([ColSpec("long", "a"), ColSpec("long")])
    with pytest.raises(InvalidParameter, match="ColSpec or all TensorSpec"):
        Schema([ColSpec("long", "a"), TensorSpec(np.dtype("float32"), (-1,), "b")])
    with pytest.raises(InvalidParameter, match="unnamed optional"):
        Schema([ColSpec("long", required=False)])
    with pytest.raises(InvalidParameter, match="Unsupported column type 'decimal'"):
        ColSpec("decimal", "a")


# ---- enforcement ----------------------------------------------------------------------

SCHEMA = Schema([ColSpec("double", "x"), ColSpec("long", "n"), ColSpec("string", "s", required=False)])


def test_enforcement_reorders_drops_extras_and_allows_optional():
    df = pd.DataFrame({"extra": [1], "n": [3], "x": [1.5]})
    out = enforce_schema(df, SCHEMA)
    assert list(out.columns) == ["x", "n"]


def test_safe_int_to_float_conversions_follow_mlflow():
    small = pd.DataFrame({"x": np.array([1, 2], dtype="int32"), "n": np.array([1, 2], dtype="int32")})
    out = enforce_schema(small, SCHEMA)
    assert out["x"].dtype == np.float64
    assert out["n"].dtype == np.int64
    zero_one = pd.DataFrame({"x": np.array([0, 1], dtype="int64"), "n": [1, 2]})
    assert enforce_schema(zero_one, SCHEMA)["x"].dtype == np.float64
    with pytest.raises(InvalidParameter, match=r"column x\. Can not safely convert int64 to float64"):
        enforce_schema(pd.DataFrame({"x": np.array([5, 7], dtype="int64"), "n": [1, 2]}), SCHEMA)


def test_float_to_long_is_refused_with_missing_value_hint():
    df = pd.DataFrame({"x": [1.0, 2.0], "n": [1.0, None]})
    with pytest.raises(InvalidParameter, match="missing values") as err:
        enforce_schema(df, SCHEMA)
    assert "column n" in err.value.message


def test_missing_required_column_names_it():
    with pytest.raises(InvalidParameter, match=r"Model is missing inputs \['n'\]"):
        enforce_schema(pd.DataFrame({"x": [1.0]}), SCHEMA)


def test_dict_and_records_inputs_become_frames():
    out = enforce_schema({"x": 1.0, "n": 2}, SCHEMA)
    assert out.shape == (1, 2)


def test_tensor_enforcement_checks_shape_and_dtype():
    schema = Schema([TensorSpec(np.dtype("float32"), (-1, 3))])
    ok = np.zeros((4, 3), dtype="float32")
    assert enforce_schema(ok, schema) is ok
    with pytest.raises(InvalidParameter, match="Shape of input"):
        enforce_schema(np.zeros((4, 2), dtype="float32"), schema)
    with pytest.raises(InvalidParameter, match="dtype of input float64"):
        enforce_schema(np.zeros((4, 3)), schema)
    frame = pd.DataFrame(np.zeros((2, 3), dtype="float32"))
    assert enforce_schema(frame, schema).shape == (2, 3)


def test_params_widen_ints_fill_defaults_and_refuse_narrowing():
    schema = ParamSchema([ParamSpec("t", "double", 0.5), ParamSpec("k", "long", 3)])
    assert enforce_params({"t": 1}, schema) == {"t": 1.0, "k": 3}
    assert enforce_params(None, schema) == {"t": 0.5, "k": 3}
    with pytest.raises(InvalidParameter, match="Invalid parameters found"):
        enforce_params({"k": 1.5}, schema)
    with pytest.raises(InvalidParameter, match="must be a dictionary"):
        enforce_params([1], schema)
    assert enforce_params({"unknown": 1}, schema) == {"t": 0.5, "k": 3}


def test_composite_values_are_checked():
    schema = Schema([ColSpec(Array(DataType.long), "ids"),
                     ColSpec(Object([Property("a", DataType.string)]), "o")])
    out = enforce_schema(pd.DataFrame({"ids": [[1, 2]], "o": [{"a": "x"}]}), schema)
    assert out["ids"][0] == [1, 2]
    with pytest.raises(InvalidParameter, match="Missing required properties"):
        enforce_schema(pd.DataFrame({"ids": [[1]], "o": [{"b": "x"}]}), schema)
