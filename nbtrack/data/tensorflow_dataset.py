"""TensorFlow data as datasets (MLflow's ``mlflow.data.tensorflow_dataset``): ``from_tensorflow``.

Features (and targets) are a ``tf.data.Dataset`` or tensors. The digest is MLflow's: for a
tensor, the numpy digest of its values; for a ``tf.data.Dataset``, a hash of the first 10,000
values of each element (the dataset is iterated once). ``profile`` gives the cardinalities,
``schema`` the tensor specs of one element. TensorFlow is imported only when one is used.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from nbtrack.data.dataset import Dataset, PyFuncInputsOutputs, resolve_source
from nbtrack.data.dataset_source import DatasetSource
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking.datasets import MAX_ROWS, _md5_8, compute_numpy_digest

__all__ = ["TensorFlowDataset", "from_tensorflow"]

_log = logging.getLogger(__name__)


def _dataset_digest(parts: list[Any], dataset: Any) -> None:
    """Add each element's hash (its flattened values, the first 10,000) to ``parts``."""
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    for element in dataset.as_numpy_iterator():
        if element is None:
            continue
        values = np.concatenate([np.asarray(x).flatten() for x in tf.nest.flatten(element)])[:MAX_ROWS]
        try:
            parts.append(pd.util.hash_array(values))
        except TypeError:  # values pandas cannot hash: only their number counts
            parts.append(np.int64(values.size))


class TensorFlowDataset(Dataset):
    """A ``tf.data.Dataset`` or tensor of features, and optional targets of the same kind."""

    def __init__(self, features: Any, source: DatasetSource, targets: Any = None, name: str | None = None,
                 digest: str | None = None) -> None:
        try:
            import tensorflow as tf
        except ImportError:
            raise NbtrackError("TensorFlow datasets need TensorFlow: pip install 'nbtrack[bigdata]' "
                               "(or tensorflow).") from None
        is_dataset = isinstance(features, tf.data.Dataset)
        if not is_dataset and not tf.is_tensor(features):
            raise InvalidParameter(f"'features' must be an instance of tf.data.Dataset or a TensorFlow Tensor. "
                                   f"Found: {type(features)}. Convert numpy arrays with tf.constant(...).")
        if targets is not None and not is_dataset and not tf.is_tensor(targets):
            raise InvalidParameter(f"If 'features' is a TensorFlow Tensor, then 'targets' must also be a TensorFlow "
                                   f"Tensor. Found: {type(targets)}.")
        if targets is not None and is_dataset and not isinstance(targets, tf.data.Dataset):
            raise InvalidParameter("If 'features' is an instance of tf.data.Dataset, then 'targets' must also be an "
                                   f"instance of tf.data.Dataset. Found: {type(targets)}.")
        self._features, self._targets = features, targets
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        import tensorflow as tf

        if not isinstance(self._features, tf.data.Dataset):
            return compute_numpy_digest(self._features.numpy(),
                                        None if self._targets is None else self._targets.numpy())
        parts: list[Any] = []
        _dataset_digest(parts, self._features)
        if self._targets is not None:
            _dataset_digest(parts, self._targets)
        return _md5_8(parts)

    @property
    def data(self) -> Any:
        """The features (a ``tf.data.Dataset`` or tensor)."""
        return self._features

    @property
    def features(self) -> Any:
        return self._features

    @property
    def targets(self) -> Any:
        return self._targets

    @property
    def profile(self) -> dict[str, Any]:
        """``features_cardinality`` (and ``targets_cardinality``): a dataset's element count
        (-1 infinite, -2 unknown, as TensorFlow), a tensor's number of values."""
        profile = {"features_cardinality": _cardinality(self._features)}
        if self._targets is not None:
            profile["targets_cardinality"] = _cardinality(self._targets)
        return profile

    @cached_property
    def schema(self) -> Any:
        """The tensor specs of the features and targets (None when they cannot be inferred)."""
        from nbtrack.data.schema import TensorDatasetSchema

        try:
            targets = None if self._targets is None else _schema_of(self._targets)
            return TensorDatasetSchema(_schema_of(self._features), targets)
        except Exception as e:
            _log.warning("Failed to infer schema for TensorFlow dataset: %s", e)
            return None

    def to_dict(self) -> dict[str, str]:
        return self._logged_dict(None)

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        return PyFuncInputsOutputs(self._features, self._targets)


def _cardinality(data: Any) -> int:
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        return int(data.cardinality().numpy())
    return int(tf.size(data).numpy())


def _schema_of(data: Any) -> Any:
    """The schema of a tensor, or of a dataset's first element (an array, a dict or a tuple of arrays)."""
    import numpy as np
    import tensorflow as tf

    from nbtrack.models.signature import infer_schema

    if not isinstance(data, tf.data.Dataset):
        return infer_schema(data.numpy())
    first = next(data.as_numpy_iterator())
    if isinstance(first, np.ndarray):
        return infer_schema(first)
    if isinstance(first, dict | tuple):
        items = first.items() if isinstance(first, dict) else ((str(i), v) for i, v in enumerate(first))
        named = dict(items)
        if not all(isinstance(v, np.ndarray) for v in named.values()):
            raise InvalidParameter("Failed to infer schema for tf.data.Dataset. Schemas can only be inferred if the "
                                   "dataset consists of tensors. Ragged tensors, tensor arrays, and other types are "
                                   "not supported. Additionally, datasets with nested tensors are not supported.")
        return infer_schema(named)
    raise InvalidParameter(f"Failed to infer schema for tf.data.Dataset due to unrecognized numpy iterator data type. "
                           f"Numpy iterator data types 'np.ndarray', 'dict', and 'tuple' are supported. Found: "
                           f"{type(first)}.")


def from_tensorflow(features: Any, source: str | DatasetSource | None = None, targets: Any = None,
                    name: str | None = None, digest: str | None = None) -> TensorFlowDataset:
    """A :class:`TensorFlowDataset`, as ``mlflow.data.from_tensorflow``.

    Examples
    --------
    >>> ds = nbtrack.data.from_tensorflow(tf.data.Dataset.from_tensor_slices(x), source="data/train.npz")
    >>> nbtrack.log_input(ds, context="training")
    """
    return TensorFlowDataset(features, resolve_source(source), targets=targets, name=name, digest=digest)
