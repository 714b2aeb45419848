"""The schema of a tensor dataset (MLflow's ``mlflow.data.schema.TensorDatasetSchema``)."""

from __future__ import annotations

from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models.schema import Schema

__all__ = ["TensorDatasetSchema"]


class TensorDatasetSchema:
    """The :class:`~nbtrack.models.schema.Schema` of a dataset's features and (optional) targets."""

    def __init__(self, features: Schema, targets: Schema | None = None) -> None:
        if not isinstance(features, Schema):
            raise InvalidParameter(f"features must be a nbtrack.models.schema.Schema, got {type(features).__name__}.")
        if targets is not None and not isinstance(targets, Schema):
            raise InvalidParameter(f"targets must be None or a Schema, got {type(targets).__name__}.")
        self.features = features
        self.targets = targets

    def to_dict(self) -> dict[str, Any]:
        """``{"mlflow_tensorspec": {"features": <json>, "targets": <json or None>}}``, as MLflow."""
        targets = self.targets.to_json() if self.targets is not None else None
        return {"mlflow_tensorspec": {"features": self.features.to_json(), "targets": targets}}

    @classmethod
    def from_dict(cls, schema_dict: dict[str, Any]) -> TensorDatasetSchema:
        if "mlflow_tensorspec" not in schema_dict:
            raise InvalidParameter("TensorDatasetSchema dictionary is missing expected key 'mlflow_tensorspec'.")
        spec = schema_dict["mlflow_tensorspec"]
        targets = spec.get("targets")
        return cls(Schema.from_json(spec["features"]), Schema.from_json(targets) if targets else None)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TensorDatasetSchema) and self.to_dict() == other.to_dict())

    def __hash__(self) -> int:
        return hash(str(self.to_dict()))

    def __repr__(self) -> str:
        return f"features:\n  {self.features!r}\ntargets:\n  {self.targets!r}\n"
