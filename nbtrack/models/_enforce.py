"""Signature enforcement at predict time, with MLflow's rules.

Column signatures: missing required columns fail, extra columns are dropped (with a
warning), and each column is converted only when the conversion cannot change a value:
int -> long, float -> double, (u)int up to 6 bytes -> double, int64 of only 0/1 -> float,
object -> string, any datetime64 precision -> datetime. Anything else (double -> long,
double -> float, string -> double ...) is an error that names the column, both types and
what to do. Tensor signatures check shape (``-1`` is free) and dtype exactly.
"""

from __future__ import annotations

import logging
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models.schema import (
    AnyType,
    Array,
    DataType,
    Map,
    Object,
    ParamSchema,
    Schema,
    TensorSpec,
)

_log = logging.getLogger(__name__)

_INT_MISSING_HINT = (
    " Hint: the column is float because it has missing values, and integers cannot hold "
    "missing values. Infer the signature from data that includes missing values, or declare "
    "the column as double."
)


def _is_missing(x: Any) -> bool:
    import pandas as pd

    if isinstance(x, float):
        return x != x
    return x is None or x is pd.NA or x is pd.NaT


def enforce_column(name: Any, values: Any, t: DataType) -> Any:
    """Return the pandas Series ``values`` converted to ``t``, or raise if that is unsafe."""
    import numpy as np
    import pandas as pd

    if values.dtype == object and t not in (DataType.binary, DataType.string):
        values = values.infer_objects()
    if t in (DataType.string, DataType.binary) and (
        values.dtype == object or isinstance(values.dtype, pd.StringDtype)
    ):
        return values
    if values.dtype == t.to_pandas() or values.dtype == t.to_numpy():
        return values
    kind = values.dtype.kind
    if t is DataType.binary and kind == "S":
        return values
    if t is DataType.datetime and (kind == "M" or values.dtype == object):
        try:
            return values.astype("datetime64[ns]")
        except (TypeError, ValueError) as e:
            raise InvalidParameter(
                f"Failed to convert column {name} from type {values.dtype} to datetime: {e}. "
                "Send timezone-naive datetimes or ISO-8601 strings."
            ) from e
    if t is DataType.boolean and values.dtype == object:
        return values  # None would become False if cast
    target = t.to_numpy()
    if kind == target.kind:
        safe = values.dtype.itemsize <= target.itemsize
    elif kind == "u" and target.kind == "i":
        safe = values.dtype.itemsize < target.itemsize
    elif kind in ("i", "u") and target == np.float64:
        safe = values.dtype.itemsize <= 6
    else:
        safe = False
    if not safe and values.dtype == np.int64 and target.kind == "f":
        safe = all(_is_missing(x) or x in (0, 1) for x in values)
    if safe:
        return values.astype(target)
    hint = ""
    if (values.dtype == np.float64 and target.kind in "iu" and values.hasnans
            and all(_is_missing(x) or int(x) == x for x in values)):
        hint = _INT_MISSING_HINT
    raise InvalidParameter(
        f"Incompatible input types for column {name}. "
        f"Can not safely convert {values.dtype} to {target}.{hint or _fix(name, target)}"
    )


def _fix(name: Any, target: Any) -> str:
    return (f" Send values of the declared type, e.g. convert with df[{name!r}].astype('{target}') "
            "if no precision is lost.")


def enforce_tensor_spec(values: Any, spec: TensorSpec) -> Any:
    """Check an array's shape and dtype against ``spec``; return it unchanged."""
    import numpy as np

    actual_shape = values.shape
    actual_type = values.dtype if isinstance(values, np.ndarray) else values.data.dtype
    expected = spec.shape
    # ragged inputs: an object array of rows is accepted for specs with free inner dimensions
    if len(expected) == 1 and expected[0] == -1 and spec.type == np.dtype("O"):
        return values
    if len(expected) > 1 and -1 in expected[1:] and len(actual_shape) == 1 and actual_type == np.dtype("O"):
        return values
    if len(expected) != len(actual_shape) or any(
        e not in (-1, a) for e, a in zip(expected, actual_shape, strict=True)
    ):
        raise InvalidParameter(
            f"Shape of input {actual_shape} does not match expected shape {expected}."
        )
    if _clean_dtype(actual_type) != spec.type:
        raise InvalidParameter(
            f"dtype of input {actual_type} does not match expected dtype {spec.type}. "
            f"Convert it first, e.g. x.astype('{spec.type}')."
        )
    return values


def _clean_dtype(dtype: Any) -> Any:
    import numpy as np

    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


def _to_frame(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return pd.DataFrame(data)
    if np.isscalar(data):
        return pd.DataFrame([data])
    if isinstance(data, dict):
        composite = any(isinstance(c.type, (Array, Object)) for c in schema.inputs)
        scalar_like = all(
            np.isscalar(v) or v is None or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in data.values()
        )
        try:
            if composite or scalar_like:
                return pd.DataFrame([data])
            return pd.DataFrame({
                k: v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v
                for k, v in data.items()
            })
        except ValueError as e:
            raise InvalidParameter(
                "This model has a column-based signature, so it expects a DataFrame-like input; "
                f"the dictionary given could not be made into one: {e}"
            ) from e
    if isinstance(data, (list, np.ndarray)):
        return pd.DataFrame(data)
    raise InvalidParameter(
        f"Expected input to be DataFrame. Found: {type(data).__name__}. Pass a pandas DataFrame, "
        "a dict of columns, a list of records or a numpy array."
    )


def _check_columns(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    required = schema.required_input_names()
    if len(required) == 1 and isinstance(data, np.ndarray):
        return {required[0]: data}
    if isinstance(data, pd.DataFrame):
        actual = list(data.columns)
    elif isinstance(data, dict):
        actual = list(data.keys())
    else:
        actual = []
    optional = set(schema.optional_input_names())
    missing = [c for c in required if c not in set(actual)]
    extra = [c for c in actual if c not in set(required) and c not in optional]
    if missing:
        message = f"Model is missing inputs {missing}."
        if extra:
            message += f" Note that there were extra inputs: {extra}."
        raise InvalidParameter(message + f" The model expects columns {schema.input_names()}.")
    if extra:
        _log.warning(
            "Found extra inputs in the model input that are not defined in the model "
            "signature: `%s`. These inputs will be ignored.", extra,
        )
    return data


def enforce_schema(data: Any, schema: Schema) -> Any:
    """Convert ``data`` to what ``schema`` declares, or raise :class:`InvalidParameter`."""
    import pandas as pd

    if isinstance(data, pd.Series):
        data = pd.DataFrame(data)
    if not schema.is_tensor_spec():
        data = _to_frame(data, schema)
    if schema.has_input_names():
        data = _check_columns(data, schema)
    elif not schema.is_tensor_spec() and len(data.columns) < len(schema.inputs):
        raise InvalidParameter(
            "Model inference is missing inputs. The model signature declares "
            f"{len(schema.inputs)} inputs  but the provided value only has {len(data.columns)} "
            "inputs. Note: the inputs were not named in the signature so we can only verify "
            "their count."
        )
    if schema.is_tensor_spec():
        return _enforce_tensor_schema(data, schema)
    return _enforce_columns(data, schema)


def _enforce_columns(frame: Any, schema: Schema) -> Any:
    import pandas as pd

    if schema.has_input_names():
        pairs = [(c.name, c) for c in schema.inputs if c.name in frame]
    else:
        pairs = list(zip(frame.columns[: len(schema.inputs)], schema.inputs, strict=True))
    if all(isinstance(spec.type, DataType) for _, spec in pairs) and not any(
        frame[name].dtype == object for name, _ in pairs
    ):
        return _enforce_scalar_columns(frame, pairs)
    out = {}
    for name, spec in pairs:
        if isinstance(spec.type, DataType):
            out[name] = enforce_column(name, frame[name], spec.type)
        else:
            out[name] = pd.Series(
                [enforce_type(v, spec.type, spec.required) for v in frame[name]],
                index=frame.index, name=name, dtype=object,
            )
    return pd.DataFrame(out, index=frame.index)


def _enforce_scalar_columns(frame: Any, pairs: list[Any]) -> Any:
    """Fast path (the common serving case): select and cast in one pandas call each."""
    names = [name for name, _ in pairs]
    out = frame if list(frame.columns) == names else frame[names]
    casts = {}
    for name, spec in pairs:
        converted = enforce_column(name, frame[name], spec.type)
        if converted.dtype != frame[name].dtype:
            casts[name] = converted.dtype
    return out.astype(casts) if casts else out


def _enforce_tensor_schema(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if schema.has_input_names():
        if isinstance(data, dict):
            out = {}
            for name, spec in zip(schema.input_names(), schema.inputs, strict=True):
                value = data[name]
                if not isinstance(value, np.ndarray):
                    raise InvalidParameter(
                        "This model has a tensor signature with input names, so it expects a "
                        f"dict of name -> numpy array, but input '{name}' is a {type(value).__name__}."
                    )
                out[name] = enforce_tensor_spec(value, spec)  # type: ignore[arg-type]
            return out
        if isinstance(data, pd.DataFrame):
            return {
                name: _column_to_tensor(name, data[name], spec)
                for name, spec in zip(schema.input_names(), schema.inputs, strict=True)
            }
        raise InvalidParameter(
            "This model has a tensor signature with input names; pass a dict of name -> numpy "
            f"array or a DataFrame with those columns, not a {type(data).__name__}."
        )
    spec = schema.inputs[0]
    assert isinstance(spec, TensorSpec)
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise InvalidParameter("Input DataFrame is empty.")
        if len(data.columns) == 1:
            return _column_to_tensor(None, data[data.columns[0]], spec)
        if spec.shape != (-1, len(data.columns)):
            raise InvalidParameter(
                f"The model expects one tensor of shape {spec.shape}, but the DataFrame has "
                f"{len(data.columns)} columns. Send a DataFrame with {spec.shape[-1]} columns "
                "or an array of that shape."
            )
        return enforce_tensor_spec(data.to_numpy(), spec)
    if isinstance(data, list):
        data = np.asarray(data)
    if isinstance(data, np.ndarray) or hasattr(data, "toarray"):
        return enforce_tensor_spec(data, spec)
    raise InvalidParameter(
        "This model has a tensor signature with no input names; pass a numpy array or a "
        f"DataFrame, not a {type(data).__name__}."
    )


def _column_to_tensor(name: Any, series: Any, spec: Any) -> Any:
    import numpy as np

    label = f"column '{name}'" if name is not None else "the unnamed input"
    if spec.shape[0] != -1 or -1 in spec.shape[1:]:
        raise InvalidParameter(
            "For DataFrame input the first dimension of a tensor shape must be -1 and the others "
            f"fixed, but the signature gives {label} shape {spec.shape}."
        )
    first = series.iloc[0]
    if np.isscalar(first):
        if spec.shape in ((-1,), (-1, 1)):
            return enforce_tensor_spec(np.array(series, dtype=spec.type).reshape(spec.shape), spec)
        raise InvalidParameter(
            f"The DataFrame {label} holds scalars, which needs shape (-1,) or (-1, 1), "
            f"but the signature says {spec.shape}."
        )
    try:
        arr = np.vstack(series.tolist()).reshape(spec.shape)
        if isinstance(first, list):
            arr = arr.astype(spec.type)
    except ValueError:
        raise InvalidParameter(
            f"The values of {label} could not be reshaped to {spec.shape}. Make every row "
            f"the same length and convertible to {spec.type}."
        ) from None
    if len(arr) != len(series):
        raise InvalidParameter(f"The values of {label} could not be reshaped to {spec.shape}.")
    return enforce_tensor_spec(arr, spec)


# ---- composite values (arrays, objects, maps) ---------------------------------------------


def enforce_type(data: Any, t: Any, required: bool = True) -> Any:
    if isinstance(t, DataType):
        return _enforce_scalar(data, t, required)
    if isinstance(t, Array):
        return enforce_array(data, t, required)
    if isinstance(t, Object):
        return enforce_object(data, t, required)
    if isinstance(t, Map):
        return _enforce_map(data, t, required)
    if isinstance(t, AnyType):
        return data
    raise InvalidParameter(f"Invalid data type: {t!r}")


def _enforce_scalar(data: Any, t: DataType, required: bool) -> Any:
    import numpy as np
    import pandas as pd

    if not required and _is_missing(data):
        return None
    if not np.isscalar(data):
        raise InvalidParameter(f"Expected data to be scalar, got {type(data).__name__}")
    try:
        return enforce_column("", pd.Series([data]), t)[0]
    except InvalidParameter:
        raise InvalidParameter(
            f"Failed to enforce schema of data `{data!r}` with dtype `{t.name}`"
        ) from None


def enforce_array(data: Any, t: Array, required: bool = True) -> Any:
    import numpy as np
    import pandas as pd

    if (not required or isinstance(t.dtype, AnyType)) and (
        data is None or (isinstance(data, (list, np.ndarray)) and len(data) == 0)
    ):
        return data
    if not isinstance(data, (list, np.ndarray)):
        raise InvalidParameter(f"Expected data to be list or numpy array, got {type(data).__name__}")
    if isinstance(t.dtype, DataType):
        if len(data) == 0:
            return data
        converted = enforce_column("", pd.Series(list(data)), t.dtype).to_numpy(dtype=t.dtype.to_numpy())
        if isinstance(data, list):
            return pd.Series(converted).tolist() if t.dtype is DataType.datetime else converted.tolist()
        return converted
    items = [enforce_type(x, t.dtype, required) for x in data]
    return np.array(items) if isinstance(data, np.ndarray) else items


def enforce_object(data: Any, t: Object, required: bool = True) -> Any:
    if not required and (data is None or data == {}):
        return data
    if not isinstance(data, dict):
        raise InvalidParameter(
            f"Failed to enforce schema of '{data}' with type '{t}'. "
            f"Expected data to be dictionary, got {type(data).__name__}"
        )
    props = {p.name: p for p in t.properties}
    if missing := {k for k, p in props.items() if p.required} - data.keys():
        raise InvalidParameter(f"Missing required properties: {missing}")
    if invalid := data.keys() - props.keys():
        raise InvalidParameter(f"Invalid properties not defined in the schema found: {invalid}")
    for k, v in data.items():
        try:
            data[k] = enforce_type(v, props[k].dtype, props[k].required)
        except InvalidParameter as e:
            raise InvalidParameter(
                f"Failed to enforce schema for key `{k}`. Expected type "
                f"{props[k].to_dict()[k]['type']}, received type {type(v).__name__}"
            ) from e
    return data


def _enforce_map(data: Any, t: Map, required: bool) -> Any:
    if (not required or isinstance(t.value_type, AnyType)) and (data is None or data == {}):
        return data
    if not isinstance(data, dict):
        raise InvalidParameter(f"Expected data to be a dict, got {type(data).__name__}")
    if not all(isinstance(k, str) for k in data):
        raise InvalidParameter("Expected all keys in the map type data are string type.")
    return {k: enforce_type(v, t.value_type, required) for k, v in data.items()}


# ---- params --------------------------------------------------------------------------------

_PARAM_WIDENING = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}


def enforce_param_value(value: Any, t: DataType, spec: str = "") -> Any:
    """Return ``value`` as the Python type of ``t``; int widens to float, nothing narrows."""
    import numpy as np

    if value is None:
        return None
    where = f" for param {spec}" if spec else ""
    if t is DataType.datetime:
        try:
            converted = np.datetime64(value).item()
        except ValueError as e:
            raise InvalidParameter(
                f"Failed to convert value `{value}` from type `{type(value)}` to `{t}`{where}"
            ) from e
        if isinstance(converted, int):
            raise InvalidParameter(
                f"Failed to convert value to `{t}`. It must be convertible to "
                f"datetime.date/datetime, got `{value}`{where}"
            )
        return converted
    if not np.isscalar(value):
        raise InvalidParameter(f"Value must be a scalar for type `{t}`, got `{value}`{where}")
    if DataType.check_type(t, value) or any(
        DataType.check_type(w, value) for w in _PARAM_WIDENING.get(t, ())
    ):
        if isinstance(value, bool) and t is not DataType.boolean:
            raise InvalidParameter(f"Can not safely convert `{type(value)}` to `{t}` for value `{value!r}`{where}")
        return t.to_python()(value)
    raise InvalidParameter(
        f"Can not safely convert `{type(value)}` to `{t}` for value `{value!r}`{where}"
    )


def enforce_params(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any] | None:
    """Validate inference ``params`` against the model's params schema and fill defaults."""
    from nbtrack.models.schema import ParamSpec

    if schema is None:
        if params in (None, {}):
            return params
        _log.warning(
            "`params` can only be specified at inference time if the model signature defines a "
            "params schema. This model does not define a params schema. Ignoring provided "
            "params: %s", list(params) if isinstance(params, dict) else params,
        )
        return {}
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise InvalidParameter(f"Parameters must be a dictionary. Got type '{type(params).__name__}'.")
    params = {str(k): v for k, v in params.items()}
    allowed = {p.name for p in schema.params}
    if ignored := sorted(set(params) - allowed):
        _log.warning(
            "Unrecognized params %s are ignored for inference. Supported params are: %s. "
            "To enable them, add them to the model signature's params schema.", ignored, sorted(allowed),
        )
    out: dict[str, Any] = {}
    invalid = []
    for spec in schema.params:
        if spec.name in params:
            try:
                out[spec.name] = ParamSpec.validate_param_spec(params[spec.name], spec)
            except InvalidParameter as e:
                invalid.append((spec.name, e.message))
        else:
            out[spec.name] = spec.default
    if invalid:
        raise InvalidParameter(f"Invalid parameters found: {invalid!r}")
    return out
