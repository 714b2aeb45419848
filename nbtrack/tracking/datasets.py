"""Datasets as run inputs: MLflow's ``mlflow.data`` datasets or our own light ones."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import InvalidParameter

__all__ = ["from_numpy", "from_pandas", "to_dataset_input"]


def _digest(payload: bytes) -> str:
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()[:8]


def from_pandas(df: Any, source: str | None = None, targets: str | None = None, name: str | None = None) -> Dataset:
    """A Dataset describing a DataFrame (schema from its dtypes, digest from its content)."""
    import pandas as pd

    sample = df.head(10_000)
    digest = _digest(pd.util.hash_pandas_object(sample, index=False).values.tobytes()
                     + json.dumps(list(map(str, df.columns))).encode())
    schema = json.dumps({"mlflow_colspec": [{"name": str(c), "type": str(t)} for c, t in df.dtypes.items()]})
    profile = json.dumps({"num_rows": len(df), "num_elements": int(df.size)})
    return Dataset(name or "dataset", digest, "code" if source is None else "local",
                   json.dumps({"tags": {}} if source is None else {"uri": str(source)}), schema, profile)


def from_numpy(features: Any, source: str | None = None, targets: Any = None, name: str | None = None) -> Dataset:
    import numpy as np

    array = np.ascontiguousarray(features)
    digest = _digest(array[:10_000].tobytes() + str(array.shape).encode())
    schema = json.dumps({"mlflow_tensorspec": {"features": json.dumps(
        {"type": "tensor", "tensor-spec": {"dtype": str(array.dtype), "shape": [-1, *array.shape[1:]]}})}})
    profile = json.dumps({"features_shape": list(array.shape), "features_size": int(array.size)})
    return Dataset(name or "dataset", digest, "code" if source is None else "local",
                   json.dumps({"tags": {}} if source is None else {"uri": str(source)}), schema, profile)


def to_dataset_input(dataset: Any, context: str | None = None, tags: dict[str, str] | None = None) -> DatasetInput:
    if dataset is None:
        raise InvalidParameter("log_input needs a dataset: nbtrack.data.from_pandas(df) or an mlflow Dataset.")
    if not isinstance(dataset, Dataset):
        if hasattr(dataset, "columns") and hasattr(dataset, "dtypes"):
            dataset = from_pandas(dataset)
        elif hasattr(dataset, "name") and hasattr(dataset, "digest"):  # an mlflow.data Dataset
            entity = dataset._to_mlflow_entity() if hasattr(dataset, "_to_mlflow_entity") else dataset
            dataset = Dataset(entity.name, entity.digest, getattr(entity, "source_type", "unknown"),
                              getattr(entity, "source", ""), getattr(entity, "schema", None),
                              getattr(entity, "profile", None))
        else:
            raise InvalidParameter(f"Cannot log {type(dataset).__name__} as a dataset input; pass a Dataset "
                                   "from nbtrack.data.from_pandas / from_numpy or a DataFrame.")
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context is not None:
        input_tags.append(InputTag("mlflow.data.context", context))
    return DatasetInput(dataset, input_tags)
