"""Signatures from ``predict``'s type hints, and the input checks and conversions they imply.

MLflow 3 reads ``def predict(self, model_input: list[str]) -> list[str]`` as a signature:
the input must be ``list[...]`` (one element per row) of ``str``, ``int``, ``float``,
``bool``, ``bytes``, ``datetime``, ``list[...]``, ``dict[str, ...]``, ``Optional``/``Union``,
``typing.Any`` or a pydantic model; a DataFrame, Series, ndarray or sparse matrix hint means
"no inference". Every call of a hinted ``predict`` is checked against the hint: a one-column
DataFrame becomes a list, a dict becomes the pydantic model, anything else that does not
match raises. The rules, names and messages follow ``mlflow.types.type_hints``.

pydantic is used only when the user's hints name pydantic models, so it is looked up in
``sys.modules`` and never imported here.
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import logging
import sys
import types
import typing
from typing import Any, NamedTuple, TypeVar, get_args, get_origin

from nbtrack.errors import InvalidParameter
from nbtrack.models.schema import AnyType, Array, ColSpec, DataType, Map, Object, Property, Schema

_log = logging.getLogger(__name__)

#: ``predict(self, model_input: TypeFromExample)``: the input is converted back to the
#: input example's type (DataFrame, Series or list) after the signature check.
TypeFromExample = TypeVar("TypeFromExample")

SCALARS: dict[Any, DataType] = {
    int: DataType.long, str: DataType.string, bool: DataType.boolean,
    float: DataType.double, bytes: DataType.binary, dt.datetime: DataType.datetime,
}
_UNIONS = (typing.Union, types.UnionType)
_NONE = type(None)
SUPPORTED = (
    "Type hints must be a list[...] where collection element type is one of these types: "
    f"{list(SCALARS)}, pydantic BaseModel subclasses, lists and dictionaries of primitive types, "
    "or typing.Any."
)
OPTIONAL_INPUT = (
    "Input cannot be Optional type. Fix this by removing the Optional wrapper from the type hint. "
    "To use optional fields, use a Pydantic-based type hint definition."
)


class InvalidTypeHint(InvalidParameter):
    """A type hint that cannot be right (``list`` without an element type, ``dict[int, str]``)."""


class UnsupportedTypeHint(InvalidParameter):
    """A well-formed hint nbtrack (like MLflow) cannot turn into a schema, e.g. a dataclass."""

    def __init__(self, hint: Any) -> None:
        super().__init__(f"Unsupported type hint `{hint_repr(hint)}`. {SUPPORTED}")


class Hints(NamedTuple):
    input: Any = None
    output: Any = None


def hint_repr(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) and get_origin(hint) is None else str(hint)


def is_pydantic(hint: Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    try:
        return pydantic is not None and isinstance(hint, type) and issubclass(hint, pydantic.BaseModel)
    except TypeError:  # list[int] looks like a class to isinstance but not to issubclass
        return False


def no_inference(hint: Any) -> bool:
    """DataFrame, Series, ndarray and sparse hints: valid, but say nothing about the schema."""
    names = {("pandas", "DataFrame"), ("pandas", "Series"), ("numpy", "ndarray"),
             ("scipy", "csr_matrix"), ("scipy", "csc_matrix")}
    return isinstance(hint, type) and (hint.__module__.split(".")[0], hint.__name__) in names


# -- hints -> schema ------------------------------------------------------------------------
def colspec_type(hint: Any) -> tuple[Any, bool]:
    """The (type, required) a hint stands for inside a schema."""
    if hint is Any:
        _log.info("Any type hint is inferred as AnyType; the data is not validated.")
        return AnyType(), True
    if hint in SCALARS:
        return SCALARS[hint], True
    if is_pydantic(hint):
        return pydantic_object(hint), True
    origin, args = get_origin(hint), get_args(hint)
    if origin is list:
        return Array(colspec_type(list_element(hint))[0]), True
    if origin is dict:
        if len(args) != 2:
            raise InvalidTypeHint(f"Dictionary type hint must contain two element types, got {hint_repr(hint)}")
        if args[0] is not str:
            raise InvalidTypeHint(f"Dictionary key type must be str, got {args[0]} in type hint {hint_repr(hint)}")
        return Map(colspec_type(args[1])[0]), True
    if origin in _UNIONS:
        rest = [a for a in args if a is not _NONE]
        if _NONE in args and len(rest) == 1:
            return colspec_type(rest[0])[0], False
        _log.info("Union type hint %s is inferred as AnyType; its element types are not validated.", hint)
        return AnyType(), _NONE not in args
    if hint in (list, dict, typing.Optional, *_UNIONS):
        raise InvalidTypeHint(f"Invalid type hint `{hint_repr(hint)}`, it must include a valid element type. {SUPPORTED}")
    raise UnsupportedTypeHint(hint)


def pydantic_object(model: Any) -> Object:
    props, missing = [], []
    for name, field in model.model_fields.items():
        if field.annotation is None:
            missing.append(name)
            continue
        dtype, required = colspec_type(field.annotation)
        if not required and field.is_required():
            raise InvalidTypeHint(
                f"Optional field `{name}` in Pydantic model `{model.__name__}` doesn't have a default "
                "value. Please set default value to None for this field."
            )
        props.append(Property(name, dtype, required))
    if missing:
        raise InvalidTypeHint(f"The following fields in the Pydantic model do not have type annotations: {missing}.")
    return Object(props)


def list_element(hint: Any) -> Any:
    args = get_args(hint)
    if _NONE in args:
        raise InvalidParameter(OPTIONAL_INPUT)
    if not args:
        raise InvalidTypeHint(
            f"Type hint `{hint_repr(hint)}` doesn't contain a collection element type. Fix by adding an "
            "element type to the collection type definition, e.g. `list[str]` instead of `list`."
        )
    if len(args) > 1:
        raise InvalidTypeHint(f"Type hint `{hint_repr(hint)}` contains {len(args)} element types. "
                              "Collections must have only a single type definition.")
    return args[0]


def origin(hint: Any) -> Any:
    """``get_origin``, looking through ``Optional[X]``; a real Union counts as Any."""
    found = get_origin(hint)
    if found in _UNIONS:
        rest = [a for a in get_args(hint) if a is not _NONE]
        return origin(rest[0]) if len(rest) == 1 and _NONE in get_args(hint) else Any
    return found


def is_list_hint(hint: Any) -> bool:
    return hint is list or origin(hint) is list


def schema_from_list_hint(hint: Any) -> Schema:
    """``list[X]`` -> a one-column schema of X; anything else is refused (MLflow's rule)."""
    if not is_list_hint(hint):
        raise InvalidParameter(
            "Type hints must be wrapped in list[...] because MLflow assumes the predict method to take "
            f"multiple input instances. Specify your type hint as `list[{hint_repr(hint)}]` for a valid signature."
        )
    return schema_from_hint(list_element(hint))


def schema_from_hint(hint: Any) -> Schema:
    dtype, required = colspec_type(hint)
    if not required:
        raise InvalidTypeHint(OPTIONAL_INPUT)
    return Schema([ColSpec(dtype, required=True)])


# -- data against hints ---------------------------------------------------------------------
def validate(data: Any, hint: Any) -> Any:
    """Return ``data`` as ``hint`` wants it (dicts become pydantic models), or raise."""
    if is_pydantic(hint):
        return _validate_pydantic(data, hint)
    if hint is Any:
        return data
    if hint in SCALARS:
        if isinstance(data, hint):
            return data
        raise InvalidParameter(f"Expected type {hint_repr(hint)}, but got {type(data).__name__}")
    found, args = get_origin(hint), get_args(hint)
    if found is list:
        return _validate_list(data, args[0])
    if found is dict:
        return _validate_dict(data, args[1])
    if found in _UNIONS:
        rest = [a for a in args if a is not _NONE]
        if data is None and _NONE in args:
            return data
        return validate(data, rest[0]) if _NONE in args and len(rest) == 1 else data
    colspec_type(hint)  # raises the right error for list, dict, Optional and unsupported hints
    raise UnsupportedTypeHint(hint)


def _validate_pydantic(data: Any, hint: Any) -> Any:
    pydantic = sys.modules["pydantic"]
    if isinstance(data, pydantic.BaseModel):
        values = data.model_dump()
    elif isinstance(data, dict):
        values = data
    else:
        raise InvalidParameter(
            f"Expecting example to be a dictionary or pydantic model instance for Pydantic type hint, got {type(data)}"
        )
    try:
        hint.model_validate(values, strict=True)  # strict: "123" is not an int
    except pydantic.ValidationError as e:
        raise InvalidParameter(
            f"Data doesn't match type hint, error: {e}. Expected fields in the type hint: "
            f"{list(hint.model_fields)}; passed data: {values}."
        ) from e
    return hint(**values) if isinstance(data, dict) else data


def from_json(data: Any, hint: Any) -> Any:
    """A scoring request's JSON as the hint means it: JSON has no bytes or datetimes, so those
    arrive as base64 and ISO-8601 strings (MLflow's serving rule); everything else is kept."""
    if hint is bytes and isinstance(data, str):
        return base64.decodebytes(data.encode("utf8"))
    if hint is dt.datetime and isinstance(data, str):
        return dt.datetime.fromisoformat(data)
    found, args = get_origin(hint), get_args(hint)
    if found is list and args and isinstance(data, list):
        return [from_json(x, args[0]) for x in data]
    if found is dict and len(args) == 2 and isinstance(data, dict):
        return {k: from_json(v, args[1]) for k, v in data.items()}
    if found in _UNIONS and data is not None:
        rest = [a for a in args if a is not _NONE]
        return from_json(data, rest[0]) if len(rest) == 1 else data
    return data


def _validate_list(data: Any, element: Any) -> list[Any]:
    if not isinstance(data, list):
        raise InvalidParameter(f"Expected list, but got {type(data).__name__}")
    out, invalid = [], []
    for item in data:
        try:
            out.append(validate(item, element))
        except InvalidParameter as e:
            invalid.append((str(item), e.message))
    if invalid:
        shown = f"{invalid[:5]} ... (truncated)" if len(invalid) > 5 else invalid
        raise InvalidParameter(f"Failed to validate data against type hint `list[{hint_repr(element)}]`, "
                               f"invalid elements: {shown}")
    return out


def _validate_dict(data: Any, value_hint: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidParameter(f"Expected dict, but got {type(data).__name__}")
    out, invalid = {}, {}
    for key, value in data.items():
        if not isinstance(key, str):
            invalid[str(key)] = f"Key must be a string, got {type(key).__name__}"
            continue
        try:
            out[key] = validate(value, value_hint)
        except InvalidParameter as e:
            invalid[key] = e.message
    if invalid:
        raise InvalidParameter(f"Failed to validate data against type hint `dict[str, {hint_repr(value_hint)}]`, "
                               f"invalid elements: {invalid}")
    return out


def from_dataframe(data: Any, hint: Any) -> Any:
    """A DataFrame given to a ``list[...]``-hinted predict (evaluate, serving) -> the list."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(data, pd.DataFrame) or hint is pd.DataFrame:
        return data
    if origin(hint) is not list:
        raise InvalidParameter("Only `list[...]` type hint supports pandas DataFrame input with a single "
                               f"column. But got {hint_repr(hint)}.")
    element = list_element(hint)
    if element is dict or is_pydantic(element):
        rows = data.iloc[:, 0].tolist() if list(data.columns) == [0] else data.to_dict(orient="records")
    else:
        if len(data.columns) != 1:
            _log.warning("`predict` function with list[...] type hints of non-dictionary collection type only "
                         "supports pandas DataFrame with a single column. But got %d columns. The data will "
                         "be converted to a list of the first column.", len(data.columns))
        rows = data.iloc[:, 0].tolist()
    return _plain(rows)


def _plain(data: Any) -> Any:
    """numpy arrays -> lists and NaN -> None, all the way down (what pandas hands back)."""
    if type(data).__name__ == "ndarray":
        data = data.tolist()
    if isinstance(data, list):
        return [_plain(x) for x in data]
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, float) and data != data:
        return None
    return data


# -- predict functions ----------------------------------------------------------------------
def takes_context(fn: Any) -> bool:
    params = inspect.signature(fn).parameters
    return "context" in params or len([p for p in params if p not in ("self", "params")]) == 2


def extract(fn: Any, input_index: int) -> Hints:
    """The hints of ``fn``'s model input (argument ``input_index``, self excluded) and return."""
    if not hasattr(fn, "__annotations__") and callable(fn):
        return extract(fn.__call__, input_index)
    if not getattr(fn, "__annotations__", None):
        return Hints()
    names = [n for n in inspect.signature(fn).parameters if n != "self"]
    if input_index >= len(names):
        raise InvalidParameter(f"The specified input argument index ({input_index}) is out of range for "
                               f"the function signature: {names}")
    try:
        hints = typing.get_type_hints(fn)
    except (TypeError, NameError) as e:
        _log.warning("Failed to resolve the type hints of %s: %r", getattr(fn, "__name__", fn), e)
        return Hints()
    return Hints(hints.get(names[input_index]), hints.get("return"))


class FuncInfo(NamedTuple):
    hint: Any
    name: str


def func_info(fn: Any) -> FuncInfo | None:
    """The input hint ``fn`` is validated against, or None when there is nothing to check."""
    names = [n for n in inspect.signature(fn).parameters if n != "self"]
    if invalid := set(names) - {"context", "model_input", "params"}:
        _log.info("Model's `predict` method contains invalid parameters: %s. Only the following parameter "
                  "names are allowed: context, model_input, and params.", invalid)
    index = 1 if takes_context(fn) else 0
    hint = extract(fn, index).input
    if hint is None or no_inference(hint) or hint is TypeFromExample:
        return None
    try:
        schema_from_list_hint(hint)
    except InvalidTypeHint as e:
        raise InvalidTypeHint(f"{e.message} To disable data validation, remove the type hint from the "
                              "predict function. Otherwise, fix the type hint.") from None
    except InvalidParameter as e:
        _log.warning("Type hint used in the model's predict function is not supported for schema "
                     "validation. %s Remove the type hint to silence this, or give an input example or "
                     "signature when logging the model to validate the input.", e.message)
        return None
    return FuncInfo(hint, names[index])


def wrap_predict(fn: Any) -> Any:
    """``fn`` checking and converting its model input against its type hint on every call."""
    import functools

    info = func_info(fn)
    if info is None:
        return fn
    params = inspect.signature(fn).parameters
    index = ("self" in params) + takes_context(fn)

    @functools.wraps(fn)
    def predict(*args: Any, **kwargs: Any) -> Any:
        if info.name in kwargs:
            kwargs[info.name] = convert(kwargs[info.name], info.hint)
        elif len(args) > index:
            args = (*args[:index], convert(args[index], info.hint), *args[index + 1:])
        return fn(*args, **kwargs)

    predict._is_pyfunc = True  # type: ignore[attr-defined]
    return predict


def convert(data: Any, hint: Any) -> Any:
    try:
        return validate(from_dataframe(data, hint), hint)
    except InvalidParameter:
        raise
    except Exception as e:
        raise InvalidParameter(f"Failed to validate the input data against the type hint `{hint}`. Error: {e}") from e


# -- dataclasses as signatures (ModelSignature(inputs=MyDataclass)) --------------------------
_DATACLASS_FIELD = {bool: DataType.boolean, int: DataType.long, float: DataType.float,
                    str: DataType.string, bytes: DataType.binary, dt.date: DataType.datetime}


def dataclass_schema(cls: Any) -> Schema:
    """A schema with one column per field of a dataclass (nested dataclasses become Objects)."""
    return Schema([ColSpec(dtype, name, required) for name, dtype, required in _dataclass_fields(cls)])


def _dataclass_fields(cls: Any) -> list[tuple[str, Any, bool]]:
    import dataclasses

    owner = cls if isinstance(cls, type) else type(cls)
    hints = typing.get_type_hints(owner)
    out = []
    for field in dataclasses.fields(owner):
        hint, required = hints[field.name], True
        if get_origin(hint) in _UNIONS:
            rest = [a for a in get_args(hint) if a is not _NONE]
            if _NONE not in get_args(hint) or len(rest) != 1:
                raise InvalidParameter("Only Optional[...] is supported as a Union type in dataclass fields")
            hint, required = rest[0], False
        out.append((field.name, _dataclass_type(hint, owner), required))
    return out


def _dataclass_type(hint: Any, owner: type) -> Any:
    import dataclasses

    if get_origin(hint) is list:
        return Array(_dataclass_type(get_args(hint)[0], owner))
    if dataclasses.is_dataclass(hint):
        return Object([Property(n, t, r) for n, t, r in _dataclass_fields(hint)])
    if hint in _DATACLASS_FIELD:
        return _DATACLASS_FIELD[hint]
    raise InvalidParameter(f"Unsupported field type {hint} in dataclass {owner.__name__}")


# -- saving: the signature a hinted predict implies ------------------------------------------
def signature_from_hints(model: Any, context: Any, hints: Hints, input_example: Any = None) -> Any:
    """MLflow's ``_infer_signature_from_type_hints``: input schema from the input hint, output
    schema from the return hint (else Any), checked by running ``predict`` on the example."""
    from nbtrack.models.signature import ModelSignature, infer_param_schema

    if hints.input is None:
        return None
    params = None
    if isinstance(input_example, tuple) and len(input_example) == 2 and isinstance(input_example[1], dict):
        input_example, params = input_example
    try:
        inputs = schema_from_list_hint(hints.input)
    except InvalidTypeHint as e:
        raise InvalidTypeHint(
            "The `predict` function has unsupported type hints for the model input arguments. Update it to "
            f"one of supported type hints, or remove type hints to bypass this check. Error: {e.message}"
        ) from None
    except InvalidParameter as e:
        _log.warning("Failed to infer signature from type hint: %s", e.message)
        return None
    outputs, output_ok = _output_schema(hints.output)
    fn = model if callable(model) and not hasattr(model, "predict") else model.predict
    if input_example is not None:
        validated = getattr(fn, "_is_pyfunc", False)  # a wrapped predict checks the example itself
        problem = None if validated else _problem(input_example, hints.input)
        if problem:
            _log.warning("Input example is not compatible with the type hint of the `predict` function. Error: %s", problem)
        else:
            output = _run_example(model, fn, context, input_example, params)
            if output is not _FAILED and output_ok and (problem := _problem(output, hints.output)):
                _log.warning("Failed to validate output `%s` against type hint `%s`, setting output schema to "
                             "AnyType. Error: %s", output, hints.output, problem)
                outputs = Schema([ColSpec(AnyType())])
    signature = ModelSignature(inputs, outputs, infer_param_schema(params) if params else None)
    signature._is_signature_from_type_hint = True
    return signature


def _output_schema(hint: Any) -> tuple[Schema, bool]:
    if hint is None:
        return Schema([ColSpec(AnyType())]), False
    try:
        return (schema_from_list_hint(hint) if is_list_hint(hint) else schema_from_hint(hint)), True
    except InvalidParameter as e:
        _log.info("Failed to infer output type hint, setting output schema to AnyType. %s", e.message)
        return Schema([ColSpec(AnyType())]), False


def _problem(data: Any, hint: Any) -> str | None:
    try:
        validate(data, hint)
    except InvalidParameter as e:
        return e.message
    return None


_FAILED = object()


def _run_example(model: Any, fn: Any, context: Any, example: Any, params: Any) -> Any:
    kwargs = {"params": params} if params and "params" in inspect.signature(fn).parameters else {}
    args = (context, example) if takes_context(fn) else (example,)
    try:
        if hasattr(model, "load_context"):
            model.load_context(context)
        return fn(*args, **kwargs)
    except Exception as e:  # boundary: a failing example must not lose the model (MLflow warns too)
        _log.warning("Failed to run the predict function on input example: %r", e)
        return _FAILED


def to_example_format(data: Any, example: Any) -> Any:
    """For ``TypeFromExample`` hints: the checked DataFrame back in the input example's form."""
    import numpy as np
    import pandas as pd

    if not isinstance(data, pd.DataFrame) or isinstance(example, pd.DataFrame):
        return data
    if isinstance(example, pd.Series):
        series = data.iloc[:, 0]
        series.name = example.name
        return series
    if np.isscalar(example):
        return data.iloc[0, 0]
    if isinstance(example, dict):
        return data.to_dict(orient="records")[0] if len(data) == 1 else data
    if isinstance(example, list):
        if len(data.columns) == 1 and all(np.isscalar(x) for x in example):
            return data.iloc[:, 0].tolist()
        return data.to_dict(orient="records")
    return data
