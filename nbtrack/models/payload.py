"""MLflow's scoring payloads: JSON/CSV in, model input out; predictions back to JSON.

Shared by the scoring server, ``nbtrack models predict`` and input-example loading, so all
three read data the same way. A JSON body is a dict with exactly one of
``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``, and optionally
``params``. Errors are :class:`~nbtrack.errors.InvalidParameter` with MLflow's
``BAD_REQUEST`` code and say what shape was expected.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models.schema import AnyType, Array, DataType, Map, Object, Schema, TensorSpec

__all__ = [
    "FORMATS",
    "dataframe_from_json",
    "dumps_predictions",
    "parse_csv",
    "parse_json_request",
    "parse_tf_serving",
]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)
_EXAMPLE = (
    'For example: {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}} or '
    '{"dataframe_records": [{"a": 1, "b": 2}]} or {"inputs": [[1, 2]]}.'
)


def bad_input(message: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid input. {message}", error_code="BAD_REQUEST")


def parse_json_request(body: str | bytes | dict[str, Any], schema: Schema | None) -> tuple[Any, dict[str, Any] | None]:
    """Decode a JSON request body into ``(model_input, params)``."""
    if isinstance(body, dict):
        decoded: Any = body
    else:
        try:
            decoded = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise bad_input(f"Ensure that input is a valid JSON formatted string. Error: '{e}'") from None
    if isinstance(decoded, list):
        raise bad_input(f"{REQUIRED_INPUT_FORMAT}. Received a list. {_EXAMPLE}")
    if not isinstance(decoded, dict):
        raise bad_input(f"{REQUIRED_INPUT_FORMAT}. Received unexpected input type '{type(decoded).__name__}'.")
    keys = [k for k in decoded if k in FORMATS]
    if len(keys) != 1:
        raise InvalidParameter(
            f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: {list(decoded)}. "
            f"{_EXAMPLE}",
            error_code="BAD_REQUEST",
        )
    params = decoded.get("params")
    if params is not None and not isinstance(params, dict):
        raise bad_input(f"'params' must be a JSON object mapping names to values, got {type(params).__name__}.")
    key = keys[0]
    if key in ("instances", "inputs"):
        return parse_tf_serving({key: decoded[key]}, schema), params
    return dataframe_from_json(decoded[key], key[len("dataframe_"):], schema), params


def parse_json_for(model: Any, body: str | bytes) -> tuple[Any, dict[str, Any] | None]:
    """Decode a JSON request for ``model`` (a loaded pyfunc model), as MLflow's scoring server:
    a model whose signature comes from ``predict``'s type hints takes the ``inputs`` value as it
    is (bytes and datetimes decoded where the hint says so); any other model is parsed by its
    schema with :func:`parse_json_request`."""
    from nbtrack.models._type_hints import from_json

    if not model.metadata._is_signature_from_type_hint():
        return parse_json_request(body, model.metadata.get_input_schema())
    try:
        decoded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise bad_input(f"Ensure that input is a valid JSON formatted string. Error: '{e}'") from None
    if not isinstance(decoded, dict) or "inputs" not in decoded:
        keys = list(decoded) if isinstance(decoded, dict) else type(decoded).__name__
        raise bad_input("Request payload must be a dictionary with 'inputs' key when the model contains a "
                        f"valid type hint. Found keys in payload: {keys}.")
    params = decoded.get("params")
    if params is not None and not isinstance(params, dict):
        raise bad_input(f"'params' must be a JSON object mapping names to values, got {type(params).__name__}.")
    python_model = getattr(getattr(model, "_model_impl", None), "python_model", None)
    hint = getattr(getattr(python_model, "predict_type_hints", None), "input", None)
    return from_json(decoded["inputs"], hint), params


def dataframe_from_json(decoded: Any, orient: str, schema: Schema | None = None) -> Any:
    """Build a DataFrame from ``split`` (dict) or ``records`` (list) JSON, cast to ``schema``."""
    import pandas as pd

    if orient == "records":
        if not isinstance(decoded, list):
            kind = "dictionary" if isinstance(decoded, dict) else f"type {type(decoded).__name__}"
            raise bad_input(f"Dataframe records format must be a list of records. Got {kind}.")
        try:
            frame = pd.DataFrame(data=decoded)
        except (ValueError, TypeError) as e:
            raise bad_input(f"Provided dataframe_records field is not a valid dataframe representation in 'records' format. Error: '{e}'") from None
    else:
        if not isinstance(decoded, dict):
            kind = "list" if isinstance(decoded, list) else f"type {type(decoded).__name__}"
            raise bad_input(f"Dataframe split format must be a dictionary. Got {kind}.")
        if "data" not in decoded or set(decoded) - {"columns", "data", "index"}:
            raise bad_input(
                "Dataframe split format must have 'data' field and optionally 'columns' and 'index' "
                f"fields. Got {sorted(decoded)}."
            )
        try:
            frame = pd.DataFrame(index=decoded.get("index"), columns=decoded.get("columns"),
                                 data=decoded["data"])
        except (ValueError, TypeError, AssertionError) as e:
            raise bad_input(f"Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '{e}'") from None
    return cast_frame(frame, schema) if schema is not None else frame


_PLAIN = (DataType.integer, DataType.long, DataType.float, DataType.double)


def cast_frame(frame: Any, schema: Schema) -> Any:
    """Cast JSON-decoded DataFrame columns to the schema's types (base64 for binary)."""
    import pandas as pd

    if schema.has_input_names():
        pairs = list(zip(schema.input_names(), schema.inputs, strict=True))
    elif schema.is_tensor_spec():
        pairs = [(c, schema.inputs[0]) for c in frame.columns]
    else:
        pairs = list(zip(frame.columns, schema.inputs, strict=False))
    simple = {name: spec.type.to_numpy() for name, spec in pairs  # type: ignore[union-attr]
              if name in frame.columns and spec.type in _PLAIN and not frame[name].isna().any()}
    if simple and any(frame[n].dtype != d for n, d in simple.items()):
        try:
            frame = frame.astype(simple)
        except (ValueError, TypeError, OverflowError):
            simple = {}  # let the per-column loop name the column that failed
    for name, spec in pairs:
        if name not in frame.columns or name in simple:
            continue
        col = frame[name]
        try:
            frame[name] = _cast_column(col, spec)
        except InvalidParameter:
            raise
        except (ValueError, TypeError, OverflowError) as e:
            want = spec.type.name if isinstance(spec.type, DataType) else spec.type
            raise bad_input(
                f"Data is not compatible with model signature. Failed to convert column {name} "
                f"to type '{want}'. Error: '{e!r}'"
            ) from None
    return frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)


def _cast_column(col: Any, spec: Any) -> Any:
    import numpy as np
    import pandas as pd

    from nbtrack.models._enforce import enforce_type

    t = spec.type
    if isinstance(spec, TensorSpec):
        if len(col) and isinstance(col.iloc[0], list):
            return col  # reshaped at predict time
        return col.astype(t)
    if isinstance(t, (Array, Object, Map)):
        return col.map(lambda x: enforce_type(x, t, spec.required))
    if isinstance(t, AnyType):
        return col
    if t is DataType.binary:
        return col.map(lambda x: x if x is None else base64.decodebytes(bytes(x, "utf8")))
    if t is DataType.boolean and col.isna().any():
        return col.where(col.isna(), col.astype(bool))
    if t is DataType.datetime:
        parsed = pd.to_datetime(col)
        return parsed.dt.as_unit("ns") if pd.api.types.is_datetime64_any_dtype(parsed) else parsed
    target = t.to_pandas()
    if (target == np.dtype("O")) and isinstance(col.dtype, pd.StringDtype):
        return col
    return col.astype(target)


def parse_csv(text: str | Any, schema: Schema | None) -> Any:
    """Read CSV (as written by ``DataFrame.to_csv(index=False)``) with the schema's dtypes."""
    import io

    import pandas as pd

    source = io.StringIO(text) if isinstance(text, str) else text
    try:
        if schema is not None and not schema.is_tensor_spec() and schema.has_input_names() and all(
            isinstance(c.type, DataType) for c in schema.inputs
        ):
            return pd.read_csv(source, dtype=dict(zip(schema.input_names(), schema.pandas_types(), strict=True)))
        return pd.read_csv(source)
    except (ValueError, TypeError, pd.errors.ParserError) as e:
        raise bad_input(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. "
            f"Error: '{e}'"
        ) from None


# ---- TF-serving style: instances (rows) and inputs (columns or one tensor) -----------------


def parse_tf_serving(payload: dict[str, Any], schema: Schema | None = None) -> Any:
    if "instances" in payload:
        return _parse_instances(payload["instances"], schema)
    return cast_inputs(payload["inputs"], schema)


def _convert(data: Any, spec: Any) -> Any:
    import numpy as np

    from nbtrack.models._enforce import enforce_array, enforce_object, enforce_type

    try:
        if spec is None:
            return np.array(data)
        if isinstance(spec, TensorSpec):
            return np.array(data, dtype=spec.type)
        t = spec.type
        if isinstance(t, DataType):
            if t in (DataType.boolean, DataType.string, DataType.binary):
                if data is None:
                    return None
                if isinstance(data, list) and any(x is None for x in data):
                    return np.array([x if x is None else _convert(x, spec) for x in data], dtype=object)
            if isinstance(data, (list, np.ndarray)):
                return np.array(data, t.to_numpy())
            return np.array([data], t.to_numpy())[0]
        if isinstance(t, Array):
            return np.array(enforce_array(data, t, spec.required))
        if isinstance(t, Object):
            return enforce_object(data, t, spec.required)
        return enforce_type(data, t, spec.required)
    except InvalidParameter as e:
        raise bad_input(e.message) from None
    except (ValueError, TypeError, OverflowError) as e:
        raise bad_input(f"Failed to convert data `{_short(data)}` to `{spec}`: {e}") from None


def _short(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 200 else text[:200] + "..."


def cast_inputs(data: Any, schema: Schema | None) -> Any:
    """Convert the ``inputs`` value (a tensor, a list, or a dict of columns) to numpy."""
    import copy

    import numpy as np

    data = copy.deepcopy(data)
    specs = schema.input_dict() if schema is not None and schema.has_input_names() else {}
    if schema is not None:
        if len(specs) == 1 and isinstance(data, list) and not any(isinstance(x, dict) for x in data):
            data = {next(iter(specs)): data}
        elif not schema.has_input_names() and not (isinstance(data, list) or np.isscalar(data)):
            raise bad_input(
                "This model has an unnamed signature, which expects a single n-dimensional array "
                f"or a single value as input, but an input of type {type(data).__name__} was found."
            )
    if isinstance(data, dict):
        return {col: _convert(v, specs.get(col)) for col, v in data.items()}
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        return [{c: _convert(v, specs.get(c)) for c, v in row.items()} for row in data]
    return _convert(data, schema.inputs[0] if schema is not None else None)


def _parse_instances(rows: Any, schema: Schema | None) -> Any:
    import numpy as np

    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        specs = schema.input_dict() if schema is not None and schema.has_input_names() else {}
        columns: dict[str, list[Any]] = {}
        for row in rows:
            if not isinstance(row, dict):
                raise bad_input("Every item of 'instances' must be an object when the first one is.")
            for col, v in row.items():
                columns.setdefault(col, []).append(_convert(v, specs.get(col)))
        data: Any = {c: np.array(v) for c, v in columns.items()}
    else:
        data = cast_inputs(rows, schema)
    if isinstance(data, dict):
        sized = {k: v for k, v in data.items() if isinstance(v, (list, np.ndarray))}
        check = list(sized)
        if schema is not None and schema.has_input_names():
            scalar_cols = {n for n, s in schema.input_dict().items() if not isinstance(s.type, Array)}
            check = [c for c in check if c in scalar_cols and c in schema.required_input_names()]
        if check and len({len(sized[c]) for c in check}) > 1:
            raise bad_input("The length of values for each input/column name are not the same")
    return data


# ---- output --------------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """``json.dumps`` default hook for numpy, pandas, bytes and datetimes."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "S":
            return [base64.encodebytes(x).decode("ascii") for x in obj.ravel().tolist()]
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (bytes, bytearray)):
        return base64.encodebytes(bytes(obj)).decode("ascii")
    if isinstance(obj, (pd.Timestamp, dt.date, dt.datetime, dt.time)):
        return obj.isoformat()
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return _predictions(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _predictions(raw: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(raw, np.ndarray):
        return raw.tolist()
    if isinstance(raw, pd.DataFrame):
        return raw.to_dict(orient="records")
    if isinstance(raw, pd.Series):
        return pd.DataFrame(raw).to_dict(orient="records")
    return raw


def dumps_predictions(raw: Any) -> str:
    """MLflow's response body: ``{"predictions": ...}`` with DataFrames as records."""
    return json.dumps({"predictions": _predictions(raw)}, default=jsonable)

