"""Input examples: stored beside the model as ``input_example.json`` and
``serving_input_example.json`` in MLflow's layout, and read back typed by the signature.

| input                        | ``type``       | ``input_example.json``       | serving payload        |
|------------------------------|----------------|------------------------------|------------------------|
| DataFrame                    | dataframe      | ``{"columns": .., "data": ..}`` | ``dataframe_split``  |
| ndarray / dict of ndarrays   | ndarray        | nested lists / dict of lists | ``inputs``             |
| list, dict, scalar           | json_object    | the JSON itself              | ``inputs``             |
| scipy csr/csc matrix         | sparse_matrix_* | data/indices/indptr/shape   | ``inputs`` (dense)     |

A ``(data, params)`` tuple stores ``{"inputs": data, "params": params}``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from typing import Any

from nbtrack.errors import InvalidParameter, NotFound

EXAMPLE_FILENAME = "input_example.json"
SERVING_INPUT_FILENAME = "serving_input_example.json"
_TYPES = ("dataframe", "ndarray", "sparse_matrix_csc", "sparse_matrix_csr", "json_object")


def _nan_to_none(arr: Any) -> Any:
    import numpy as np

    if np.issubdtype(arr.dtype, np.number):
        return np.where(np.isnan(arr), None, arr)
    return arr


class Example:
    """An input example converted to JSON, with the metadata the MLmodel file records."""

    def __init__(self, input_example: Any) -> None:
        import numpy as np
        import pandas as pd

        from nbtrack.models.payload import jsonable

        self.info: dict[str, Any] = {"artifact_path": EXAMPLE_FILENAME}
        data, params = input_example, None
        if isinstance(input_example, tuple) and len(input_example) == 2 and isinstance(input_example[1], dict):
            data, params = input_example
            from nbtrack.models.signature import infer_param_schema

            infer_param_schema(params)  # fail early on params that cannot be typed
            self.info["params"] = "true"
        from nbtrack.models.signature import tensors_to_numpy

        data = _pydantic_to_dict(tensors_to_numpy(data))
        self.inference_data = copy.deepcopy(data)
        self.inference_params = params
        stored: Any
        if isinstance(data, dict) and any(isinstance(v, np.ndarray) for v in data.values()):
            if not all(isinstance(v, np.ndarray) for v in data.values()):
                raise InvalidParameter(
                    "Mixed types in dictionary are not supported as input examples. "
                    "Found numpy arrays and other types."
                )
            stored = {k: _nan_to_none(v).tolist() for k, v in data.items()}
            self.info["type"], serving = "ndarray", {"inputs": stored}
        elif isinstance(data, np.ndarray):
            stored = _nan_to_none(data).tolist()
            self.info["type"], serving = "ndarray", {"inputs": stored}
        elif isinstance(data, pd.DataFrame):
            split = data.astype(object).where(data.notnull(), None).to_dict(orient="split")
            del split["index"]
            if list(data.columns) == list(range(len(data.columns))):
                del split["columns"]
            stored = split
            self.info.update(type="dataframe", pandas_orient="split" if "columns" in split else "values")
            serving = {"dataframe_split": split}
        elif type(data).__name__ in ("csr_matrix", "csc_matrix"):
            stored = {"data": _nan_to_none(data.data).tolist(), "indices": data.indices.tolist(),
                      "indptr": data.indptr.tolist(), "shape": list(data.shape)}
            self.info["type"] = f"sparse_matrix_{type(data).__name__[:3]}"
            serving = {"inputs": data.toarray()}
        elif isinstance(data, (dict, list)) or np.isscalar(data) or isinstance(data, dt.datetime):
            if isinstance(data, list) and any(isinstance(x, np.ndarray) for x in data):
                raise InvalidParameter("Numpy arrays in list are not supported as input examples.")
            stored = data
            self.info["type"], serving = "json_object", {"inputs": data}
        else:
            raise InvalidParameter(
                "Expected the input example to be a pandas DataFrame, numpy array, dict of "
                "name -> numpy array, scipy csr/csc matrix, dict, list or scalar, "
                f"but got '{type(data).__name__}'."
            )
        if params is not None:
            stored = {"inputs": stored, "params": params}
            serving = {**serving, "params": params}
        self.json_input_example = json.dumps(stored, default=jsonable)
        self.json_serving_input = json.dumps(serving, default=jsonable, indent=2)
        self.info["serving_input_path"] = SERVING_INPUT_FILENAME

    def save(self, model_dir: str) -> None:
        with open(os.path.join(model_dir, EXAMPLE_FILENAME), "w") as f:
            f.write(self.json_input_example)
        with open(os.path.join(model_dir, SERVING_INPUT_FILENAME), "w") as f:
            f.write(self.json_serving_input)


def _pydantic_to_dict(data: Any) -> Any:
    """A pydantic model instance (or a list of them) is stored as its dict, as MLflow does."""
    import sys

    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return data
    if isinstance(data, pydantic.BaseModel):
        return data.model_dump()
    if isinstance(data, list) and any(isinstance(x, pydantic.BaseModel) for x in data):
        return [x.model_dump() if isinstance(x, pydantic.BaseModel) else x for x in data]
    return data


def save_example(model: Any, input_example: Any, path: str) -> Example | None:
    """Write the example files into ``path`` and record them in ``model``."""
    if input_example is None:
        return None
    example = Example(input_example)
    example.save(path)
    model.saved_input_example_info = example.info
    return example


def _read_json(model: Any, path: str) -> Any:
    info = model.saved_input_example_info
    if info["type"] not in _TYPES:
        raise InvalidParameter(f"This version of nbtrack can not load an input example of type {info['type']}")
    file = os.path.join(path, info.get("artifact_path", EXAMPLE_FILENAME))
    if not os.path.exists(file):
        raise NotFound(f"The model's MLmodel names an input example, but {file} is missing.")
    with open(file) as f:
        return json.load(f)


def load_input_example(model: Any, path: str) -> Any:
    """Read the model's input example back as the type it was saved from (or None)."""
    import numpy as np

    from nbtrack.models.payload import cast_inputs, dataframe_from_json

    if model.saved_input_example_info is None:
        return None
    data = _read_json(model, path)
    info = model.saved_input_example_info
    if info.get("params"):
        data = data["inputs"]
    schema = model.signature.inputs if model.signature is not None else None
    kind = info["type"]
    if kind == "json_object":
        return data
    if kind == "ndarray":
        return cast_inputs(data, schema)
    if kind == "dataframe":
        return dataframe_from_json(data, "split", schema)
    from scipy.sparse import csc_matrix, csr_matrix

    cls = csc_matrix if kind == "sparse_matrix_csc" else csr_matrix
    return cls((np.array(data["data"]), data["indices"], data["indptr"]), shape=data["shape"])


def load_input_example_params(model: Any, path: str) -> dict[str, Any] | None:
    info = model.saved_input_example_info
    if info is None or not info.get("params"):
        return None
    return _read_json(model, path)["params"]


def load_serving_example(model: Any, path: str) -> str | None:
    info = model.saved_input_example_info
    if info is None or "serving_input_path" not in info:
        return None
    with open(os.path.join(path, info["serving_input_path"])) as f:
        return f.read()
