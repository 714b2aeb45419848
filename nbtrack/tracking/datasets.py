"""Datasets as run inputs: digests computed as MLflow computes them, and the entity conversion.

The dataset classes users build (``nbtrack.data.from_pandas`` ...) live in :mod:`nbtrack.data`;
this module holds what the tracking layer itself needs: MLflow's digest of a DataFrame or of
numpy arrays (so the same data gets the same digest in both tools), and turning whatever
``log_input`` was given into a :class:`DatasetInput` entity.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import InvalidParameter

__all__ = ["CONTEXT_TAG", "MAX_ROWS", "compute_numpy_digest", "compute_pandas_digest", "to_dataset_input"]

MAX_ROWS = 10_000  # rows (pandas) or leading elements (numpy) that enter a digest, as MLflow
CONTEXT_TAG = "mlflow.data.context"


def _md5_8(parts: list[Any]) -> str:
    if not parts:
        raise InvalidParameter("No hashable elements were provided for md5 digest creation.")
    md5 = hashlib.md5(usedforsecurity=False)
    for part in parts:
        md5.update(part)
    return md5.hexdigest()[:8]


def _all_str(column: Any) -> bool:
    return all(type(v) is str for v in column.tolist())


def compute_pandas_digest(df: Any) -> str:
    """MLflow's 8-character digest of a DataFrame.

    The first 10,000 rows of the numeric columns and of the columns whose every value is a
    ``str`` are hashed (with the index) by pandas, together with the row count and every
    column name.
    """
    import numpy as np
    import pandas as pd

    head = df.head(MAX_ROWS)
    # Only object-like columns can hold nothing but str; numeric dtypes never do.
    numeric = head.select_dtypes(include=[np.number]).columns
    maybe_text = [i for i, dtype in enumerate(df.dtypes) if not pd.api.types.is_numeric_dtype(dtype)]
    text = head.columns[[i for i in maybe_text if _all_str(df.iloc[:, i])]]
    kept = head[text.union(numeric)]  # Index.union sorts, and the digest depends on that order
    return _md5_8([pd.util.hash_pandas_object(kept).values, np.int64(len(df))]
                  + [str(c).encode() for c in df.columns])


def compute_numpy_digest(features: Any, targets: Any = None) -> str:
    """MLflow's 8-character digest of numpy features (and targets), arrays or dicts of arrays."""
    import numpy as np
    import pandas as pd

    parts: list[Any] = []

    def add(array: Any) -> None:
        head = array.flatten()[:MAX_ROWS]
        try:
            parts.append(pd.util.hash_array(head))
        except TypeError:  # object arrays of unhashable values: only their size counts
            parts.append(np.int64(head.size))
        parts.extend(np.int64(n) for n in array.shape)

    for item in (features, targets):
        if isinstance(item, dict):
            for key in sorted(item):
                add(item[key])
        elif item is not None:
            add(item)
    return _md5_8(parts)


def _fallback_pandas(df: Any) -> Dataset:
    """A DataFrame given to ``log_input`` without wrapping it: a dataset with a code source."""
    schema = json.dumps({"mlflow_colspec": [{"type": str(t), "name": str(c)} for c, t in df.dtypes.items()]})
    profile = json.dumps({"num_rows": len(df), "num_elements": int(df.size)})
    return Dataset("dataset", compute_pandas_digest(df), "code", json.dumps({"tags": {}}), schema, profile)


def to_dataset_input(dataset: Any, context: str | None = None, tags: dict[str, str] | None = None) -> DatasetInput:
    """The :class:`DatasetInput` ``log_input`` records for ``dataset`` (with its context tag)."""
    if dataset is None:
        raise InvalidParameter("log_input needs a dataset: nbtrack.data.from_pandas(df) or an mlflow Dataset.")
    if not isinstance(dataset, Dataset):
        if hasattr(dataset, "_to_mlflow_entity"):  # nbtrack.data or mlflow.data datasets
            entity = dataset._to_mlflow_entity()
            dataset = Dataset(entity.name, entity.digest, entity.source_type, entity.source,
                              getattr(entity, "schema", None), getattr(entity, "profile", None))
        elif hasattr(dataset, "columns") and hasattr(dataset, "dtypes"):
            dataset = _fallback_pandas(dataset)
        else:
            raise InvalidParameter(f"Cannot log {type(dataset).__name__} as a dataset input; pass a dataset "
                                   "from nbtrack.data.from_pandas / from_numpy / from_dict.")
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context is not None:
        input_tags.append(InputTag(CONTEXT_TAG, context))
    return DatasetInput(dataset, input_tags)
