"""Run the type-hint cases on one library and print what happened as JSON.

``python type_hint_cases.py mlflow|nbtrack OUT_DIR`` (with ``--load SAVED_DIR`` it also loads
the models the other library saved there and predicts the same inputs). Each case defines a custom model whose
``predict`` has type hints, saves it with an input example, calls it before saving and after
loading, and records: whether the class definition was refused, the signature written into
MLmodel (with the type-hint flags), the stored input example, and, for every input, what the
model's ``predict`` received (types and values) or that the call was refused. The model
returns ``[json.dumps(describe(model_input))]`` so ``-> list[str]`` is a true return hint.
"""

import dataclasses
import datetime
import json
import os
import sys
import textwrap
import warnings

warnings.simplefilter("ignore")
import logging  # noqa: E402

logging.disable(logging.CRITICAL)

LIB = sys.argv[1]
OUT = sys.argv[2]
if LIB == "mlflow":
    import mlflow
    from mlflow.types.type_hints import TypeFromExample
else:
    import nbtrack as mlflow
    from nbtrack.types.type_hints import TypeFromExample

import pandas as pd  # noqa: E402
import pydantic  # noqa: E402


def describe(x):
    import numpy as np

    if isinstance(x, pd.DataFrame):
        return ["DataFrame", [str(c) for c in x.columns], describe(x.to_dict("records"))]
    if isinstance(x, pd.Series):
        return ["Series", str(x.name), describe(x.tolist())]
    if isinstance(x, np.ndarray):
        return ["ndarray", str(x.dtype), describe(x.tolist())]
    if isinstance(x, list):
        return ["list", [describe(i) for i in x]]
    if isinstance(x, dict):
        return ["dict", {str(k): describe(v) for k, v in x.items()}]
    if isinstance(x, pydantic.BaseModel):
        return [type(x).__name__, describe(dict(x))]
    if dataclasses.is_dataclass(x):
        return [type(x).__name__, describe(dataclasses.asdict(x))]
    if isinstance(x, (bool, int, float, str)) or x is None:
        return [type(x).__name__, x]
    if isinstance(x, (datetime.datetime, bytes)):
        return [type(x).__name__, repr(x)]
    return [type(x).__name__, repr(x)]


PRELUDE = """
class Address(pydantic.BaseModel):
    city: str
    zip: str | None = None

class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str] = []
    address: Address | None = None

@dataclasses.dataclass
class Point:
    x: float
    y: float
"""

# name -> (model code defining `Model`, input example, inputs given after loading)
CASES = {
    "list_str": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str], params=None) -> list[str]:
        return [json.dumps(describe(model_input))]
""", ["a", "b"], [["x", "y"], "DF:{'t': ['p', 'q']}", "DF:{'n': [1, 2], 't': ['p', 'q']}", [1, 2], "solo"]),
    "list_str_with_context": ("""
class Model(PythonModel):
    def predict(self, context, model_input: list[str]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", ["a"], [["z"], "DF:{'t': ['p']}"]),
    "list_int": ("""
class Model(PythonModel):
    def predict(self, model_input: list[int]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [1, 2], [[3, 4], [True], [1.5], "DF:{'n': [7, 8]}"]),
    "list_float_bool": ("""
class Model(PythonModel):
    def predict(self, model_input: list[float]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [1.5], [[2.5], [1], "DF:{'f': [0.5, None]}"]),
    "list_dict_str_str": ("""
class Model(PythonModel):
    def predict(self, model_input: list[dict[str, str]]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [{"role": "user", "content": "hi"}], [[{"role": "a", "content": "b"}], "DF:{'role': ['a'], 'content': ['b']}",
                                           [{"role": 1}]]),
    "list_dict_str_int": ("""
class Model(PythonModel):
    def predict(self, model_input: list[dict[str, int]]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [{"a": 1}], [[{"a": 2, "b": 3}], [{"a": "x"}]]),
    "list_list_str": ("""
class Model(PythonModel):
    def predict(self, model_input: list[list[str]]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [["a", "b"]], [[["c"], []], [["c", 1]]]),
    "pydantic": ("""
class Model(PythonModel):
    def predict(self, model_input: list[Person], params=None) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [{"name": "Ann", "age": 31, "tags": ["x"], "address": {"city": "Oslo"}}],
        [[{"name": "Bo", "age": 2}], [{"name": "Bo", "age": "2"}], [{"name": "Bo"}],
         "DF:{'name': ['Cy'], 'age': [4]}"]),
    "pydantic_example_instances": ("""
class Model(PythonModel):
    def predict(self, model_input: list[Person]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", "PERSONS", [[{"name": "Di", "age": 5}]]),
    "any": ("""
class Model(PythonModel):
    def predict(self, model_input: list[typing.Any]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [1, "a"], [[None, 2.5, {"k": 1}]]),
    "union": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str | int]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", ["a", 1], [["b", 2], [1.5]]),
    "optional_element": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str | None]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", ["a"], [["b"]]),
    "bare_list": ("""
class Model(PythonModel):
    def predict(self, model_input: list) -> list[str]:
        return [json.dumps(describe(model_input))]
""", ["a"], [["b"]]),
    "dict_int_keys": ("""
class Model(PythonModel):
    def predict(self, model_input: list[dict[int, str]]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [{1: "a"}], [[{1: "b"}]]),
    "not_a_list": ("""
class Model(PythonModel):
    def predict(self, model_input: str) -> list[str]:
        return [json.dumps(describe(model_input))]
""", "a", ["b", "DF:{'t': ['p']}"]),
    "dataframe_hint": ("""
class Model(PythonModel):
    def predict(self, model_input: pd.DataFrame) -> list[str]:
        return [json.dumps(describe(model_input))]
""", "DF:{'a': [1, 2], 'b': ['x', 'y']}", ["DF:{'a': [3], 'b': ['z']}", "DF:{'a': [1.5], 'b': ['z']}"]),
    "dataclass_elements": ("""
class Model(PythonModel):
    def predict(self, model_input: list[Point]) -> list[str]:
        return [json.dumps(describe(model_input))]
""", [{"x": 1.0, "y": 2.0}], [[{"x": 3.0, "y": 4.0}]]),
    "output_mismatch": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str]) -> list[str]:
        return [len(s) for s in model_input]
""", ["abc"], [["de"]]),
    "dict_output": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str]) -> dict[str, int]:
        return {s: len(s) for s in model_input}
""", ["abc"], [["de"]]),
    "no_output_hint": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str]):
        return [json.dumps(describe(model_input))]
""", ["a"], [["b"]]),
    "with_params": ("""
class Model(PythonModel):
    def predict(self, model_input: list[str], params: dict | None = None) -> list[str]:
        return [json.dumps([describe(model_input), describe(params)])]
""", "PARAMS", [["b"]]),
    "type_from_example": ("""
class Model(PythonModel):
    def predict(self, model_input: TypeFromExample) -> list[str]:
        return [json.dumps(describe(model_input))]
""", ["a", "b"], [["c"], "DF:{0: ['d']}"]),
    "function": ("""
def Model(model_input: list[str]) -> list[str]:
    return [json.dumps(describe(model_input))]
""", ["a"], [["b"], [3]]),
}


def materialise(value, ns):
    if value == "PERSONS":
        return [ns["Person"](name="Ann", age=3)]
    if value == "PARAMS":
        return (["a"], {"k": 1, "mode": "x"})
    if isinstance(value, str) and value.startswith("DF:"):
        return pd.DataFrame(eval(value[3:]))
    return value


def outcome(fn):
    try:
        return {"ok": _jsonable(fn())}
    except Exception as e:  # the differential compares *whether* each side refuses
        return {"error": type(e).__name__}


def _jsonable(result):
    if isinstance(result, list) and result and isinstance(result[0], str) and result[0].startswith("["):
        return [json.loads(r) for r in result]
    if isinstance(result, pd.DataFrame):
        return ["DataFrame", result.to_dict("list")]
    if hasattr(result, "tolist"):
        return result.tolist()
    return result


def run_case(name, code, example, inputs):
    import typing

    import yaml

    ns = {"__name__": "__main__", "PythonModel": mlflow.pyfunc.PythonModel, "pydantic": pydantic, "json": json,
          "describe": describe, "dataclasses": dataclasses, "typing": typing, "pd": pd,
          "TypeFromExample": TypeFromExample}
    exec(textwrap.dedent(PRELUDE), ns)
    try:
        exec(textwrap.dedent(code), ns)
    except Exception as e:
        return {"class_error": type(e).__name__}
    model = ns["Model"] if not isinstance(ns["Model"], type) else ns["Model"]()
    example = materialise(example, ns)
    first = materialise(inputs[0], ns)
    result = {"direct": outcome(lambda: model(first) if callable(model) and not hasattr(model, "predict")
                                else model.predict(first))}
    path = os.path.join(OUT, name)
    saved = outcome(lambda: mlflow.pyfunc.save_model(path, python_model=model, input_example=example,
                                                     pip_requirements=["cloudpickle"]))
    result["save"] = "ok" if "ok" in saved else saved
    if "ok" not in saved:
        return result
    with open(os.path.join(path, "MLmodel")) as f:
        meta = yaml.safe_load(f)
    result["signature"] = meta.get("signature")
    result["flags"] = [meta.get("is_signature_from_type_hint"), meta.get("type_hint_from_example")]
    example_file = os.path.join(path, "input_example.json")
    result["input_example"] = json.load(open(example_file)) if os.path.exists(example_file) else None
    loaded = mlflow.pyfunc.load_model(path)
    params = {"k": 2} if name == "with_params" else None
    result["loaded"] = [outcome(lambda x=x: loaded.predict(materialise(x, ns), params=params)) for x in inputs]
    return result


DATACLASSES = """
@dataclasses.dataclass
class Inner:
    label: str
    weight: float | None = None

@dataclasses.dataclass
class Row:
    id: int
    score: float
    flag: bool
    blob: bytes
    day: datetime.date
    names: list[str]
    inner: Inner
    inners: list[Inner]
    note: str | None = None
"""


def dataclass_signatures():
    from mlflow.models import ModelSignature

    ns = {"dataclasses": dataclasses, "datetime": datetime}
    exec(textwrap.dedent(DATACLASSES), ns)
    return {"row": ModelSignature(inputs=ns["Row"], outputs=ns["Inner"]).to_dict()}


def load_saved(saved_dir):
    """Load every model another run of this script saved into ``saved_dir`` and predict."""
    results = {}
    for name, (_, _, inputs) in CASES.items():
        path = os.path.join(saved_dir, name)
        if not os.path.exists(os.path.join(path, "MLmodel")):
            continue
        loaded = mlflow.pyfunc.load_model(path)
        params = {"k": 2} if name == "with_params" else None
        results[name] = [outcome(lambda x=x, m=loaded, p=params: m.predict(materialise(x, {}), params=p))
                         for x in inputs]
    return results


def main():
    args = sys.argv[3:]
    other = None
    if "--load" in args:
        at = args.index("--load")
        other, args = args[at + 1], args[:at] + args[at + 2:]
    cases = {name: run_case(name, *CASES[name]) for name in args or list(CASES)}
    out = {"cases": cases, "dataclass_signatures": dataclass_signatures()}
    if other is not None:
        out["loaded_from_other"] = load_saved(other)
    print(json.dumps(out, default=repr))


main()
