"""Column, tensor and parameter specifications, with MLflow's JSON forms.

A :class:`Schema` is a list of :class:`ColSpec` (tabular data: a name, an MLflow
:class:`DataType` or a composite type, and whether the column is required) or of
:class:`TensorSpec` (a numpy dtype and a shape where ``-1`` is a free dimension).
A :class:`ParamSchema` lists the inference parameters a model accepts.

The JSON written by ``to_dict``/``to_json`` is exactly what MLflow writes into the
``signature`` section of an MLmodel file, so signatures round-trip between the two.
numpy is imported inside the functions that need it, keeping ``import nbtrack`` light.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from typing import Any

from nbtrack.errors import InvalidParameter

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
]

_NUMPY_NAME = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "str",
    "binary": "bytes",
    "datetime": "datetime64[ns]",
}
_PYTHON_TYPE: dict[str, type] = {
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "string": str,
    "binary": bytes,
    "datetime": dt.date,
}


class DataType(Enum):
    """MLflow's scalar column types (same names and numbers as ``mlflow.types.DataType``)."""

    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> Any:
        """The numpy dtype that holds this type."""
        import numpy as np

        return np.dtype(_NUMPY_NAME[self.name])

    def to_pandas(self) -> Any:
        """The pandas dtype that holds this type (``object`` for strings and bytes)."""
        import numpy as np

        if self.name in ("string", "binary"):
            return np.dtype("O")
        return np.dtype(_NUMPY_NAME[self.name])

    def to_python(self) -> type:
        return _PYTHON_TYPE[self.name]

    @classmethod
    def check_type(cls, data_type: DataType, value: Any) -> bool:
        """True when ``value`` is exactly of a Python or numpy type of ``data_type``."""
        import numpy as np

        kind = type(value)
        if kind is data_type.to_python():
            return True
        if isinstance(value, np.generic) and np.dtype(kind) == data_type.to_numpy():
            return True
        if data_type is DataType.datetime:
            return isinstance(value, (dt.date, np.datetime64))
        if data_type is DataType.binary:
            return isinstance(value, (bytes, bytearray, np.bytes_))
        if data_type is DataType.string:
            return isinstance(value, (str, np.str_))
        return False

    @classmethod
    def from_numpy_type(cls, np_type: Any) -> DataType | None:
        return next((t for t in cls if t.to_numpy() == np_type), None)

    @classmethod
    def all_types(cls) -> list[DataType]:
        return list(cls)


def _data_type(value: Any, what: str) -> Any:
    """Accept a DataType, a composite type, or a DataType name."""
    if isinstance(value, str):
        try:
            return DataType[value]
        except KeyError:
            raise InvalidParameter(
                f"Unsupported {what} '{value}'. Use one of {[t.name for t in DataType]}, "
                "or an Array, Object, Map or AnyType."
            ) from None
    if not isinstance(value, (DataType, Array, Object, Map, AnyType)):
        raise InvalidParameter(
            f"Expected {what} to be a DataType, Array, Object, Map or AnyType, "
            f"got {type(value).__name__}."
        )
    return value


def _type_dict(value: Any) -> dict[str, Any]:
    return {"type": value.name} if isinstance(value, DataType) else value.to_dict()


def _type_from_dict(d: dict[str, Any]) -> Any:
    """Parse the ``{"type": ...}`` JSON of a scalar or composite type."""
    if not isinstance(d, dict) or "type" not in d:
        raise InvalidParameter(f"Expected a type dictionary with a 'type' key, got {d!r}.")
    kind = d["type"]
    if kind == "array":
        return Array.from_json_dict(**d)
    if kind == "object":
        return Object.from_json_dict(**d)
    if kind == "map":
        return Map.from_json_dict(**d)
    if kind == "any":
        return AnyType()
    if kind == "sparkml_vector":
        return Array(DataType.double)
    return _data_type(kind, "type")


class AnyType:
    """A value of any JSON type, including None; nothing is checked."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash("any")

    def __repr__(self) -> str:
        return "Any"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}


class Array:
    """A list whose items all have type ``dtype``."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = _data_type(dtype, "array item type")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("array", repr(self.dtype)))

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "array", "items": _type_dict(self.dtype)}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Array:
        if "items" not in kwargs:
            raise InvalidParameter("Array JSON needs an 'items' key, e.g. {'type': 'array', "
                                   "'items': {'type': 'string'}}.")
        return cls(_type_from_dict(kwargs["items"]))


class Property:
    """One named field of an :class:`Object`."""

    def __init__(self, name: str, dtype: Any, required: bool = True) -> None:
        if not isinstance(name, str):
            raise InvalidParameter(f"Expected name to be a string, got {type(name).__name__}.")
        self.name = name
        self.dtype = _data_type(dtype, "property type")
        self.required = required

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Property)
            and (self.name, self.dtype, self.required) == (other.name, other.dtype, other.required)
        )

    def __lt__(self, other: Property) -> bool:
        return self.name < other.name

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        return {self.name: {**_type_dict(self.dtype), "required": self.required}}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Property:
        if len(kwargs) != 1:
            raise InvalidParameter("Property JSON must have exactly one key, the property name.")
        name, body = next(iter(kwargs.items()))
        body = dict(body)
        required = body.pop("required", True)
        return cls(name, _type_from_dict(body), required)


class Object:
    """A dictionary with named, typed properties (sorted by name, as MLflow does)."""

    def __init__(self, properties: list[Property]) -> None:
        if not isinstance(properties, list) or not properties:
            raise InvalidParameter("An Object needs a non-empty list of Property.")
        if not all(isinstance(p, Property) for p in properties):
            raise InvalidParameter("Object properties must be Property instances.")
        names = [p.name for p in properties]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise InvalidParameter(f"Found duplicated property names: `{', '.join(dupes)}`")
        self.properties = sorted(properties)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self.properties == other.properties

    def __hash__(self) -> int:
        return hash(("object", repr(self.properties)))

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self.properties)) + "}"

    def to_dict(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for p in self.properties:
            props.update(p.to_dict())
        return {"type": "object", "properties": props}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Object:
        props = kwargs.get("properties")
        if not isinstance(props, dict):
            raise InvalidParameter("Object JSON needs a 'properties' dictionary.")
        return cls([Property.from_json_dict(**{k: v}) for k, v in props.items()])


class Map:
    """A dictionary from string keys to values of ``value_type``."""

    def __init__(self, value_type: Any) -> None:
        self.value_type = _data_type(value_type, "map value type")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and self.value_type == other.value_type

    def __hash__(self) -> int:
        return hash(("map", repr(self.value_type)))

    def __repr__(self) -> str:
        return f"Map(str -> {self.value_type!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "map", "values": _type_dict(self.value_type)}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Map:
        if "values" not in kwargs:
            raise InvalidParameter("Map JSON needs a 'values' key.")
        return cls(_type_from_dict(kwargs["values"]))


class ColSpec:
    """One column: a type, an optional name and whether it must be present."""

    def __init__(self, type: Any, name: str | None = None, required: bool = True) -> None:
        self.type = _data_type(type, "column type")
        self.name = name
        self.required = True if required is None else bool(required)

    def to_dict(self) -> dict[str, Any]:
        d = _type_dict(self.type)
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ColSpec)
            and (self.name, self.type, self.required) == (other.name, other.type, other.required)
        )

    def __repr__(self) -> str:
        req = "required" if self.required else "optional"
        return f"{self.type!r} ({req})" if self.name is None else f"{self.name!r}: {self.type!r} ({req})"

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ColSpec:
        body = dict(kwargs)
        name = body.pop("name", None)
        required = body.pop("required", True)
        return cls(_type_from_dict(body), name=name, required=required)


class TensorSpec:
    """A tensor: a numpy dtype and a shape (``-1`` marks a variable dimension)."""

    def __init__(self, type: Any, shape: tuple[int, ...] | list[int], name: str | None = None) -> None:
        import numpy as np

        if not isinstance(type, np.dtype):
            raise InvalidParameter(
                f"Expected `type` to be a numpy.dtype, got {type.__class__.__name__}; "
                "write e.g. np.dtype('float32')."
            )
        if type.char in ("U", "S") and not type.name.isalpha():
            base = type.name.rstrip("0123456789")
            raise InvalidParameter(
                "Size information in flexible numpy dtypes is not supported. "
                f'Use np.dtype("{base}") instead of np.dtype("{type.name}").'
            )
        if not isinstance(shape, (tuple, list)):
            raise InvalidParameter(f"Expected `shape` to be a tuple or list, got {shape!r}.")
        self.type = type
        self.shape = tuple(shape)
        self.name = name

    @property
    def required(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        spec = {"dtype": self.type.name, "shape": list(self.shape)}
        if self.name is None:
            return {"type": "tensor", "tensor-spec": spec}
        return {"name": self.name, "type": "tensor", "tensor-spec": spec}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and (self.name, self.type, self.shape) == (other.name, other.type, other.shape)
        )

    def __repr__(self) -> str:
        info = f"Tensor({self.type.name!r}, {self.shape!r})"
        return info if self.name is None else f"{self.name!r}: {info}"

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> TensorSpec:
        import numpy as np

        spec = kwargs.get("tensor-spec")
        if kwargs.get("type") != "tensor" or not isinstance(spec, dict):
            raise InvalidParameter("TensorSpec JSON needs type 'tensor' and a 'tensor-spec'.")
        if not {"dtype", "shape"} <= spec.keys():
            raise InvalidParameter("A 'tensor-spec' needs 'dtype' and 'shape' keys.")
        return cls(np.dtype(spec["dtype"]), tuple(spec["shape"]), kwargs.get("name"))


class Schema:
    """An ordered list of all-ColSpec or all-TensorSpec inputs (or outputs)."""

    def __init__(self, inputs: list[ColSpec | TensorSpec]) -> None:
        if not isinstance(inputs, list) or not inputs:
            raise InvalidParameter("A Schema needs a non-empty list of ColSpec or TensorSpec.")
        named = [x.name is not None for x in inputs]
        if any(named) and not all(named):
            raise InvalidParameter(
                "Creating Schema with a combination of named and unnamed inputs is not allowed. "
                f"Got input names {[x.name for x in inputs]}"
            )
        tensors = [isinstance(x, TensorSpec) for x in inputs]
        if not (all(tensors) or all(isinstance(x, ColSpec) for x in inputs)):
            raise InvalidParameter(
                "A Schema must be all ColSpec or all TensorSpec, not a mixture."
            )
        if all(tensors) and len(inputs) > 1 and not all(named):
            raise InvalidParameter(
                "Creating Schema with multiple unnamed TensorSpecs is not supported. "
                "Please provide names for each TensorSpec."
            )
        if not any(named) and not all(x.required for x in inputs):
            raise InvalidParameter(
                "Creating Schema with unnamed optional inputs is not supported. "
                "Please name all inputs or make all inputs required."
            )
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.inputs)

    def __iter__(self) -> Any:
        return iter(self.inputs)

    def is_tensor_spec(self) -> bool:
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        return [x.name if x.name is not None else i for i, x in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        return [n for n, x in zip(self.input_names(), self.inputs, strict=True) if x.required]

    def optional_input_names(self) -> list[str | int]:
        return [n for n, x in zip(self.input_names(), self.inputs, strict=True) if not x.required]

    def input_types(self) -> list[Any]:
        return [x.type for x in self.inputs]

    def input_dict(self) -> dict[str, ColSpec | TensorSpec]:
        if not self.has_input_names():
            raise InvalidParameter("This schema has no input names.")
        return {x.name: x for x in self.inputs}  # type: ignore[misc]

    def input_types_dict(self) -> dict[str, Any]:
        return {k: v.type for k, v in self.input_dict().items()}

    def numpy_types(self) -> list[Any]:
        if self.is_tensor_spec():
            return [x.type for x in self.inputs]
        if not all(isinstance(x.type, DataType) for x in self.inputs):
            raise InvalidParameter("Only schemas of scalar DataTypes map to numpy types.")
        return [x.type.to_numpy() for x in self.inputs]  # type: ignore[union-attr]

    def pandas_types(self) -> list[Any]:
        if self.is_tensor_spec() or not all(isinstance(x.type, DataType) for x in self.inputs):
            raise InvalidParameter("Only schemas of scalar DataTypes map to pandas types.")
        return [x.type.to_pandas() for x in self.inputs]  # type: ignore[union-attr]

    def to_dict(self) -> list[dict[str, Any]]:
        return [x.to_dict() for x in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str) -> Schema:
        items = json.loads(json_str)
        if not isinstance(items, list):
            raise InvalidParameter(f"A schema's JSON must be a list, got {json_str!r}.")
        return cls([
            TensorSpec.from_json_dict(**x) if x.get("type") == "tensor" else ColSpec.from_json_dict(**x)
            for x in items
        ])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return repr(self.inputs)


class ParamSpec:
    """An inference parameter: name, type, default and shape (None = scalar, (-1,) = list)."""

    def __init__(self, name: str, dtype: Any, default: Any, shape: tuple[int, ...] | None = None) -> None:
        self.name = str(name)
        self.shape = tuple(shape) if shape is not None else None
        if isinstance(dtype, str):
            dtype = _data_type(dtype, "param type")
        if not isinstance(dtype, (DataType, Object)):
            raise InvalidParameter(f"A ParamSpec's dtype must be a DataType or Object, got {dtype!r}.")
        if dtype is DataType.binary:
            raise InvalidParameter(
                f"Binary type is not supported for parameters, ParamSpec '{self.name}' has dtype 'binary'"
            )
        if self.shape not in (None, (-1,)):
            raise InvalidParameter(
                f"Shape must be None (scalar) or (-1,) (1D list) for ParamSpec '{self.name}', "
                f"got {self.shape}."
            )
        self.dtype = dtype
        self.default = None
        self.default = self.validate_type_and_shape(repr(self), default, dtype, self.shape)

    @classmethod
    def validate_param_spec(cls, value: Any, spec: ParamSpec) -> Any:
        return cls.validate_type_and_shape(repr(spec), value, spec.dtype, spec.shape)

    @classmethod
    def validate_type_and_shape(cls, spec: str, value: Any, dtype: Any, shape: tuple[int, ...] | None) -> Any:
        from nbtrack.models._enforce import enforce_object, enforce_param_value

        if shape == (-1,):
            if not isinstance(value, (list, tuple)) and type(value).__name__ != "ndarray":
                raise InvalidParameter(
                    f"Value must be a 1D array with shape (-1,) for param {spec}, "
                    f"received {type(value).__name__}"
                )
            return [enforce_param_value(v, dtype, spec) for v in value]
        if isinstance(dtype, Object):
            import copy

            enforce_object(copy.deepcopy(value), dtype)
            return value
        return enforce_param_value(value, dtype, spec)

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if self.dtype is DataType.datetime and default is not None:
            default = [v.isoformat() for v in default] if self.shape else default.isoformat()
        out = {"name": self.name, "default": default, "shape": list(self.shape) if self.shape else None}
        out.update(_type_dict(self.dtype))
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and (
            (self.name, self.dtype, self.default, self.shape)
            == (other.name, other.dtype, other.default, other.shape)
        )

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {self.dtype!r} (default: {self.default}){shape}"

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ParamSpec:
        kind = kwargs.get("type") or kwargs.get("dtype")
        if "name" not in kwargs or kind is None or "default" not in kwargs:
            raise InvalidParameter(
                "Missing keys in ParamSpec JSON. Expected to find keys `name`, `type`(or `dtype`) "
                f"and `default`. Received keys: {sorted(kwargs)}"
            )
        dtype = Object.from_json_dict(**kwargs) if kind == "object" else _data_type(kind, "param type")
        return cls(kwargs["name"], dtype, kwargs["default"], kwargs.get("shape"))


class ParamSchema:
    """The inference parameters a model accepts."""

    def __init__(self, params: list[ParamSpec]) -> None:
        if not all(isinstance(p, ParamSpec) for p in params):
            raise InvalidParameter("ParamSchema takes a list of ParamSpec.")
        names = [p.name for p in params]
        if dupes := [n for i, n in enumerate(names) if n in names[:i]]:
            raise InvalidParameter(f"Duplicated parameters found in schema: {dupes}")
        self.params = params

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Any:
        return iter(self.params)

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str) -> ParamSchema:
        return cls([ParamSpec.from_json_dict(**x) for x in json.loads(json_str)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params

    def __repr__(self) -> str:
        return repr(self.params)
