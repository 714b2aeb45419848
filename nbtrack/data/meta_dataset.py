"""A dataset known only by its metadata (MLflow's ``mlflow.data.meta_dataset.MetaDataset``),
and :func:`from_dict`, which rebuilds a logged dataset from its ``to_dict()`` form."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nbtrack.data.dataset import Dataset
from nbtrack.data.dataset_source import DatasetSource, get_dataset_source_from_json
from nbtrack.errors import InvalidParameter

__all__ = ["MetaDataset", "from_dict"]


class MetaDataset(Dataset):
    """A dataset with a source, a name and a schema but no data (a URL you only record).

    Its digest is MLflow's: the first 8 hex digits of the SHA-256 of its name, source and schema.
    """

    def __init__(self, source: DatasetSource, name: str | None = None, digest: str | None = None,
                 schema: Any = None) -> None:
        self._schema = schema
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        config = {"name": self.name, "source": self.source.to_json(), "source_type": self._get_source_type(),
                  "schema": self._schema.to_dict() if self._schema else ""}
        return hashlib.sha256(json.dumps(config).encode("utf-8")).hexdigest()[:8]

    @property
    def schema(self) -> Any:
        return self._schema

    def to_dict(self) -> dict[str, str]:
        d = super().to_dict()
        if self._schema:
            d["schema"] = json.dumps({"mlflow_colspec": self._schema.to_dict()})
        return d


class _LoggedDataset(MetaDataset):
    """A dataset rebuilt from its logged form: the schema and profile strings are kept verbatim."""

    def __init__(self, source: DatasetSource, name: str, digest: str, schema_json: str | None,
                 profile_json: str | None) -> None:
        self._schema_json, self._profile_json = schema_json, profile_json
        super().__init__(source, name=name, digest=digest)

    @property
    def schema(self) -> Any:
        from nbtrack.data.schema import TensorDatasetSchema
        from nbtrack.models.schema import Schema

        if not self._schema_json:
            return None
        parsed = json.loads(self._schema_json)
        if "mlflow_tensorspec" in parsed:
            return TensorDatasetSchema.from_dict(parsed)
        return Schema.from_json(json.dumps(parsed["mlflow_colspec"])) if "mlflow_colspec" in parsed else parsed

    @property
    def profile(self) -> Any:
        return json.loads(self._profile_json) if self._profile_json else None

    def to_dict(self) -> dict[str, str]:
        d = Dataset.to_dict(self)
        if self._schema_json is not None:
            d["schema"] = self._schema_json
        if self._profile_json is not None:
            d["profile"] = self._profile_json
        return d


def from_dict(dataset_dict: dict[str, Any]) -> Dataset:
    """Rebuild a dataset from the dictionary ``Dataset.to_dict()`` returns (or a logged dataset's
    fields): name, digest, source, source type, schema and profile come back unchanged.

    MLflow has no ``mlflow.data.from_dict``; this is the inverse of its ``Dataset.to_dict``.

    Examples
    --------
    >>> again = nbtrack.data.from_dict(ds.to_dict())
    >>> again.digest == ds.digest and again.source == ds.source
    True
    """
    missing = [k for k in ("name", "digest", "source", "source_type") if k not in dataset_dict]
    if missing:
        raise InvalidParameter(f"A dataset dictionary needs {missing}; pass what Dataset.to_dict() returns.")
    source = dataset_dict["source"]
    source_json = source if isinstance(source, str) else json.dumps(source)
    return _LoggedDataset(get_dataset_source_from_json(source_json, dataset_dict["source_type"]),
                          dataset_dict["name"], dataset_dict["digest"], dataset_dict.get("schema"),
                          dataset_dict.get("profile"))
