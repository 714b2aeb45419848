"""``nbtrack.types``: MLflow's ``mlflow.types`` (schemas, column and tensor specs, data types).

``from nbtrack.types import Schema, ColSpec`` and ``from nbtrack.types.schema import ...``
work as their ``mlflow.types`` counterparts; ``nbtrack.types.type_hints.TypeFromExample`` is
MLflow's hint for "convert the input back to the input example's type".
"""

from __future__ import annotations

from nbtrack.types import schema, type_hints
from nbtrack.types.schema import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

__all__ = ["ColSpec", "DataType", "ParamSchema", "ParamSpec", "Schema", "TensorSpec", "schema", "type_hints"]
