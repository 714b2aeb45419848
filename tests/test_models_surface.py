"""``nbtrack.models``' small helpers MLflow has: validate_schema, list_evaluators and
convert_input_example_to_serving_input, compared with the real mlflow where it is installed."""

from __future__ import annotations

import json

import pytest

import nbtrack.models
from nbtrack.errors import InvalidParameter
from nbtrack.types import ColSpec, Schema

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

SCHEMA = Schema([ColSpec("double", "x"), ColSpec("string", "y")])


def test_validate_schema_accepts_matching_data_and_names_what_is_wrong():
    assert nbtrack.models.validate_schema(pd.DataFrame({"x": [1.0], "y": ["a"]}), SCHEMA) is None
    assert nbtrack.models.validate_schema({"x": 1.0, "y": "a"}, SCHEMA) is None
    with pytest.raises(InvalidParameter, match=r"missing inputs \['y'\]"):
        nbtrack.models.validate_schema(pd.DataFrame({"x": [1.0]}), SCHEMA)
    with pytest.raises(InvalidParameter, match="column x"):
        nbtrack.models.validate_schema(pd.DataFrame({"x": ["s"], "y": ["a"]}), SCHEMA)


def test_list_evaluators_names_the_ones_evaluate_takes():
    assert nbtrack.models.list_evaluators() == ["default", "classifier", "regressor"]


EXAMPLES = {
    "frame": lambda: pd.DataFrame({"x": [1.0, 2.5], "y": ["a", "b"]}),
    "array": lambda: np.arange(6).reshape(2, 3),
    "dict_of_arrays": lambda: {"a": np.ones(2), "b": np.zeros(2)},
    "list": lambda: ["q1", "q2"],
    "with_params": lambda: (pd.DataFrame({"x": [1]}), {"temperature": 0.5}),
}


@pytest.mark.parametrize("case", sorted(EXAMPLES))
def test_serving_input_is_mlflows(case):
    mlflow_models = pytest.importorskip("mlflow.models")
    ours = nbtrack.models.convert_input_example_to_serving_input(EXAMPLES[case]())
    theirs = mlflow_models.convert_input_example_to_serving_input(EXAMPLES[case]())
    assert json.loads(ours) == json.loads(theirs)


def test_serving_input_of_nothing_is_none_and_missing_values_are_null():
    assert nbtrack.models.convert_input_example_to_serving_input(None) is None
    body = json.loads(nbtrack.models.convert_input_example_to_serving_input(pd.DataFrame({"x": [1.0, None]})))
    assert body == {"dataframe_split": {"columns": ["x"], "data": [[1.0], [None]]}}  # MLflow writes NaN, not JSON


def test_evaluators_are_mlflows_without_shap():
    mlflow_models = pytest.importorskip("mlflow.models")
    assert nbtrack.models.list_evaluators() == [e for e in mlflow_models.list_evaluators() if e != "shap"]
