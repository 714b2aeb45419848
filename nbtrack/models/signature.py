"""Model signatures: what a model takes and returns, inferred from real data.

``infer_signature(X, y, params)`` follows MLflow: DataFrames and Series give named
:class:`ColSpec` columns; numpy arrays and dicts of arrays give :class:`TensorSpec` with a
free first dimension; lists, dicts and scalars give (possibly composite) column types.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.models.schema import (
    AnyType,
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

__all__ = ["ModelSignature", "infer_signature", "set_signature"]

_log = logging.getLogger(__name__)


class ModelSignature:
    """The input and output :class:`Schema` of a model, and its :class:`ParamSchema`.

    ``inputs`` and ``outputs`` may also be dataclasses (a column per field, as MLflow).

    Examples
    --------
    >>> import numpy as np
    >>> sig = infer_signature(np.zeros((2, 3), dtype="float32"), np.zeros(2))
    >>> sig.to_dict()["inputs"]
    '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]'
    """

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        import dataclasses

        from nbtrack.models._type_hints import dataclass_schema

        for label, value, kind in (("inputs", inputs, Schema), ("outputs", outputs, Schema),
                                   ("params", params, ParamSchema)):
            if value is not None and not isinstance(value, kind) and not (
                    kind is Schema and dataclasses.is_dataclass(value)):
                raise InvalidParameter(
                    f"{label} must be None, a {kind.__name__}"
                    f"{' or a dataclass' if kind is Schema else ''}, got '{type(value).__name__}'"
                )
        if inputs is None and outputs is None and params is None:
            raise InvalidParameter("At least one of inputs, outputs or params must be provided")
        self.inputs = dataclass_schema(inputs) if dataclasses.is_dataclass(inputs) else inputs
        self.outputs = dataclass_schema(outputs) if dataclasses.is_dataclass(outputs) else outputs
        self.params = params
        self._is_signature_from_type_hint = False
        self._is_type_hint_from_example = False

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's form: each part is a JSON *string* (compact inside the YAML file)."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSignature:
        return cls(
            Schema.from_json(x) if (x := d.get("inputs")) else None,
            Schema.from_json(x) if (x := d.get("outputs")) else None,
            ParamSchema.from_json(x) if (x := d.get("params")) else None,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and (
            (self.inputs, self.outputs, self.params) == (other.inputs, other.outputs, other.params)
        )

    def __repr__(self) -> str:
        return f"inputs:\n  {self.inputs!r}\noutputs:\n  {self.outputs!r}\nparams:\n  {self.params!r}\n"


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Infer a :class:`ModelSignature` from example input, output and inference params.

    Parameters
    ----------
    model_input, model_output
        pandas DataFrame/Series, numpy array, dict of name -> array, scipy sparse matrix,
        list of scalars or records, dict of JSON values, or a scalar.
    params
        Inference parameters with their defaults, e.g. ``{"threshold": 0.5}``.
    """
    schemas: dict[str, Any] = {"inputs": None, "outputs": None}
    for key, data in (("inputs", model_input), ("outputs", model_output)):
        if data is None:
            continue
        try:
            schemas[key] = infer_schema(data)
        except InvalidParameter as e:
            _log.warning(
                "Failed to infer schema for %s (%s). Setting it to Schema([ColSpec(AnyType())]); "
                "nothing will be checked for this part.", key, e,
            )
            schemas[key] = Schema([ColSpec(AnyType())])
    return ModelSignature(schemas["inputs"], schemas["outputs"],
                          infer_param_schema(params) if params else None)


# ---- schema inference -------------------------------------------------------------------


def _is_missing(x: Any) -> bool:
    import pandas as pd

    if isinstance(x, float):
        return x != x
    return x is None or x is pd.NA or x is pd.NaT


def _numpy_datatype(dtype: Any) -> DataType:
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in "iu":
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    if kind == "f":
        return DataType.float if size <= 4 else DataType.double
    if kind == "U":
        return DataType.string
    if kind == "S":
        return DataType.binary
    if kind == "M":
        return DataType.datetime
    raise InvalidParameter(f"Unsupported numpy data type '{dtype}', kind '{kind}'")


def _scalar_datatype(value: Any) -> DataType:
    import datetime as dt

    import numpy as np

    exact = {bool: DataType.boolean, int: DataType.long, float: DataType.double,
             str: DataType.string, bytes: DataType.binary, bytearray: DataType.binary}
    if (t := exact.get(type(value))) is not None:
        return t
    if isinstance(value, np.generic) and not isinstance(value, np.datetime64):
        return _numpy_datatype(np.dtype(type(value)))
    if isinstance(value, (dt.date, np.datetime64)):
        return DataType.datetime
    raise InvalidParameter(f"Data {value!r} is not one of the supported DataType")


def _merge(a: Any, b: Any) -> Any:
    """Combine two types seen for the same field; missing (Any) makes a field optional."""
    if isinstance(a, AnyType):
        return _optional(b)
    if isinstance(b, AnyType):
        return _optional(a)
    if a == b:
        return a
    if isinstance(a, Array) and isinstance(b, Array):
        return Array(_merge(a.dtype, b.dtype))
    if isinstance(a, Map) and isinstance(b, Map):
        return Map(_merge(a.value_type, b.value_type))
    if isinstance(a, Object) and isinstance(b, Object):
        pa, pb = {p.name: p for p in a.properties}, {p.name: p for p in b.properties}
        props = []
        for name in sorted(pa.keys() | pb.keys()):
            if name in pa and name in pb:
                props.append(Property(name, _merge(pa[name].dtype, pb[name].dtype),
                                      pa[name].required and pb[name].required))
            else:
                p = pa.get(name) or pb[name]
                props.append(Property(name, p.dtype, required=False))
        return Object(props)
    raise InvalidParameter(
        "Expected all values in list to be of same type, but found "
        f"{a!r} and {b!r}. Make the values one type, or declare the signature by hand."
    )


def _optional(t: Any) -> Any:
    if isinstance(t, Object):
        return Object([Property(p.name, p.dtype, required=False) for p in t.properties])
    return t


def infer_datatype(data: Any) -> Any:
    """The ColSpec type of one value: scalar DataType, Array, Object, or AnyType for None."""
    import numpy as np

    if _is_missing(data) or (isinstance(data, (list, dict)) and not data):
        return AnyType()
    if isinstance(data, dict):
        props = []
        for k, v in data.items():
            t = infer_datatype(v)
            if t is None:
                raise InvalidParameter("Dictionary value must not be an empty numpy array.")
            props.append(Property(str(k), t, required=not isinstance(t, AnyType)))
        return Object(props)
    if isinstance(data, (list, np.ndarray)):
        result = None
        for item in data:
            t = infer_datatype(item)
            if t is None:
                continue
            result = t if result is None else _merge(result, t)
        return None if result is None else Array(result)
    return _scalar_datatype(data)


def _column_type(col: Any) -> Any:
    import pandas as pd

    if col.values.ndim > 1:
        raise InvalidParameter(f"Expected 1d array, got array with shape {col.shape}")
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind == "O" or isinstance(col.dtype, pd.StringDtype):
        try:
            t = infer_datatype(col.to_list())
            if t is None:
                raise InvalidParameter("no non-empty item")
            return t.dtype
        except InvalidParameter:
            if pd.api.types.is_string_dtype(col):
                return DataType.string
            raise
    return _numpy_datatype(col.dtype)


def _required(values: Any) -> bool:
    if type(values).__name__ == "Series" and values.dtype.kind in "biufmM":
        # Numeric and datetime columns: NaN/NaT are their only missing values, so no Python loop
        # (it was 150 ms of every 8,000 x 20 dataset logged by autolog or nbtrack.data).
        return not bool(values.isna().any())
    if isinstance(values, (list, tuple)) or type(values).__name__ == "Series":
        return not any(_is_missing(x) for x in values)
    return not _is_missing(values)


def _tensor(data: Any, name: str | None = None) -> TensorSpec:
    import numpy as np

    dtype = data.dtype if isinstance(data, np.ndarray) else data.data.dtype
    if dtype.char == "U":
        dtype = np.dtype("str")
    elif dtype.char == "S":
        dtype = np.dtype("bytes")
    return TensorSpec(dtype, (-1, *data.shape[1:]), name)


def tensors_to_numpy(data: Any) -> Any:
    """torch tensors (alone, in a dict, list or tuple) -> numpy arrays; anything else unchanged.

    MLflow gives a tensor example an ``AnyType`` signature and drops the example; nbtrack keeps
    both, as the tensor's numpy form (what ``nbtrack.pytorch`` models take through pyfunc).
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return data
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    if isinstance(data, dict) and any(isinstance(v, torch.Tensor) for v in data.values()):
        return {k: tensors_to_numpy(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in data):
        return type(data)(tensors_to_numpy(v) for v in data)
    return data


def infer_schema(data: Any) -> Schema:
    """Infer a :class:`Schema` from one dataset (see :func:`infer_signature`)."""
    import numpy as np
    import pandas as pd

    data = tensors_to_numpy(data)
    if isinstance(data, list) and not data:
        return Schema([ColSpec(DataType.string)])
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        columns: dict[str, list[Any]] = {}
        for row in data:
            for k, v in row.items():
                columns.setdefault(k, []).append(v)
        specs: list[ColSpec | TensorSpec] = []
        for name, values in columns.items():
            t = infer_datatype(values)
            specs.append(ColSpec(t.dtype if isinstance(t, Array) else AnyType(), name,
                                 all(r.get(name) is not None for r in data)))
        return Schema(specs)
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensor(v, k) for k, v in data.items()])
        if not all(isinstance(k, str) for k in data):
            raise InvalidParameter("The dictionary keys are not all strings.")
        return Schema([ColSpec(_checked(infer_datatype(v), v), k, _required(v)) for k, v in data.items()])
    if isinstance(data, pd.Series):
        return Schema([ColSpec(_column_type(data), data.name,
                               _required(data) if data.name is not None else True)])
    if isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_column_type(data[c]), c, _required(data[c])) for c in data.columns])
    if isinstance(data, np.ndarray) or _is_sparse(data):
        return Schema([_tensor(data)])
    if isinstance(data, list):
        t = infer_datatype(data)
        return Schema([ColSpec(_checked(t, data).dtype)])
    try:
        return Schema([ColSpec(_checked(infer_datatype(data), data))])
    except InvalidParameter as e:
        raise InvalidParameter(
            "Failed to infer schema. Expected a pandas DataFrame or Series, a numpy array, a dict "
            "of name -> numpy array, a scipy sparse matrix, a scalar, a list of scalars, a dict "
            f"of JSON values or a list of such dicts, but got {type(data).__name__}: {e}"
        ) from None


def _checked(t: Any, data: Any) -> Any:
    if t is None:
        raise InvalidParameter(f"Numpy array must include at least one non-empty item. Invalid input `{data}`.")
    return t


def _is_sparse(data: Any) -> bool:
    return type(data).__name__ in ("csr_matrix", "csc_matrix", "csr_array", "csc_array")


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """Infer a :class:`ParamSchema` from a dict of parameter defaults."""
    import numpy as np

    if not isinstance(params, dict):
        raise InvalidParameter(f"Expected parameters to be dict, got {type(params).__name__}")
    specs, invalid = [], []
    for name, value in params.items():
        try:
            if isinstance(value, (list, np.ndarray)):
                if any(isinstance(v, (list, np.ndarray)) for v in value):
                    raise InvalidParameter("Expected parameters to be 1D array or scalar, got a nested array")
                kinds = {_scalar_datatype(v) for v in value}
                dtype = kinds.pop() if len(kinds) == 1 else _numpy_datatype(np.array(value).dtype)
                specs.append(ParamSpec(name, dtype, copy.deepcopy(value), (-1,)))
            elif isinstance(value, dict):
                specs.append(ParamSpec(name, infer_datatype(value), copy.deepcopy(value)))
            else:
                specs.append(ParamSpec(name, _scalar_datatype(value), copy.deepcopy(value)))
        except InvalidParameter as e:
            invalid.append((name, value, e.message))
    if invalid:
        raise InvalidParameter(f"Failed to infer schema for parameters: {invalid}")
    return ParamSchema(specs)


def set_signature(model_uri: str, signature: ModelSignature) -> None:
    """Replace the signature in the MLmodel file of a saved or logged model (MLflow's function).

    ``model_uri`` is a local path, ``file:`` URI or ``runs:/<run_id>/<path>``. Registered
    versions (``models:/name/version``) are read-only, as in MLflow: load the model and log a
    new version with the signature instead.
    """
    import os
    import tempfile

    from nbtrack.models.model import MLMODEL_FILE_NAME
    from nbtrack.models.uri import resolve_model_uri

    if not isinstance(signature, ModelSignature):
        raise InvalidParameter(f"The signature argument must be a ModelSignature object, got {type(signature).__name__}.")
    from nbtrack.tracking.logged_models import logged_model_id

    if (model_id := logged_model_id(str(model_uri))) is not None:  # MLflow 3: a logged model's files
        _set_on_logged_model(model_id, signature)
        return
    if str(model_uri).startswith("models:"):
        raise InvalidParameter(
            f"Failed to set signature on {model_uri!r}. Model URIs with the `models:/` scheme are not "
            "supported: load the model and log it again (or register a new version) with the signature."
        )
    if not str(model_uri).startswith("runs:"):
        path = os.path.join(resolve_model_uri(model_uri), MLMODEL_FILE_NAME)
        _rewrite(path, signature)
        return
    from nbtrack.tracking.artifacts import parse_runs_uri
    from nbtrack.tracking.client import Client

    run_id, artifact_path = parse_runs_uri(str(model_uri))
    client = Client()
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, f"{artifact_path}/{MLMODEL_FILE_NAME}".lstrip("/"), tmp)
        _rewrite(local, signature)
        client.log_artifact(run_id, local, artifact_path or None)


def _set_on_logged_model(model_id: str, signature: ModelSignature) -> None:
    """Rewrite the logged model's MLmodel, and the copy log_model put in its run's artifacts."""
    import os

    from nbtrack.models.model import MLMODEL_FILE_NAME
    from nbtrack.tracking.client import Client

    logged = Client().get_logged_model(model_id)
    _rewrite(os.path.join(logged.artifact_location, MLMODEL_FILE_NAME), signature)
    if logged.source_run_id is not None:
        runs_uri = f"runs:/{logged.source_run_id}/{logged.name}"
        with contextlib.suppress(NbtrackError):  # a model logged without a run copy
            set_signature(runs_uri, signature)


def _rewrite(mlmodel_path: str, signature: ModelSignature) -> None:
    import os

    from nbtrack.errors import NotFound
    from nbtrack.models.model import Model

    if not os.path.isfile(mlmodel_path):
        raise NotFound(f"No MLmodel file at {mlmodel_path}; point model_uri at a model folder.")
    model = Model.load(mlmodel_path)
    model.signature = signature
    model.save(mlmodel_path)
