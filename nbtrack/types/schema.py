"""``nbtrack.types.schema``: MLflow's ``mlflow.types.schema``."""

from __future__ import annotations

from nbtrack.models._type_hints import dataclass_schema as convert_dataclass_to_schema
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
    "convert_dataclass_to_schema",
]
