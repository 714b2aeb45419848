"""NumPy arrays as a dataset (MLflow's ``mlflow.data.numpy_dataset``)."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from nbtrack.data.dataset import Dataset, PyFuncInputsOutputs, resolve_source
from nbtrack.data.dataset_source import DatasetSource
from nbtrack.errors import NbtrackError
from nbtrack.tracking.datasets import compute_numpy_digest

__all__ = ["NumpyDataset", "from_numpy"]

_log = logging.getLogger(__name__)


def _attr(data: Any, name: str) -> Any:
    if isinstance(data, dict):
        return {k: getattr(v, name) for k, v in data.items()}
    return getattr(data, name)


class NumpyDataset(Dataset):
    """Features (an array or a dict of named arrays) and optional targets.

    ``profile`` gives the shapes, sizes and byte counts; ``schema`` is a
    :class:`~nbtrack.data.schema.TensorDatasetSchema`.
    """

    def __init__(self, features: Any, source: DatasetSource, targets: Any = None, name: str | None = None,
                 digest: str | None = None) -> None:
        self._features = features
        self._targets = targets
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        return compute_numpy_digest(self._features, self._targets)

    @property
    def features(self) -> Any:
        """The feature array (or dict of arrays)."""
        return self._features

    @property
    def targets(self) -> Any:
        """The target array (or dict of arrays), or None."""
        return self._targets

    @property
    def profile(self) -> dict[str, Any]:
        profile = {f"features_{a}": _attr(self._features, a) for a in ("shape", "size", "nbytes")}
        if self._targets is not None:
            profile.update({f"targets_{a}": _attr(self._targets, a) for a in ("shape", "size", "nbytes")})
        return profile

    @cached_property
    def schema(self) -> Any:
        """Tensor specs of the features and targets, or None if they cannot be inferred."""
        from nbtrack.data.schema import TensorDatasetSchema
        from nbtrack.models.signature import infer_schema

        try:
            targets = infer_schema(self._targets) if self._targets is not None else None
            return TensorDatasetSchema(infer_schema(self._features), targets)
        except NbtrackError as e:
            _log.warning("Failed to infer schema for NumPy dataset: %s", e)
            return None

    def to_dict(self) -> dict[str, str]:
        return self._logged_dict(None, _jsonable)

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        """``(features, targets)`` as model inputs and outputs."""
        return PyFuncInputsOutputs(self._features, self._targets)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def from_numpy(features: Any, source: str | DatasetSource | None = None, targets: Any = None,
               name: str | None = None, digest: str | None = None) -> NumpyDataset:
    """A :class:`NumpyDataset`, as ``mlflow.data.from_numpy``.

    Parameters
    ----------
    features : numpy.ndarray or dict of str to numpy.ndarray
        The features.
    source : str or DatasetSource, optional
        Where they came from (a path or URI); by default the running code.
    targets : numpy.ndarray or dict of str to numpy.ndarray, optional
        The labels.
    name : str, optional
        The dataset's name (``"dataset"`` by default).
    digest : str, optional
        A digest to use instead of computing MLflow's.

    Examples
    --------
    >>> ds = nbtrack.data.from_numpy(X, targets=y, source="data/train.npz")
    >>> ds.digest, ds.profile["features_shape"]
    """
    return NumpyDataset(features, resolve_source(source), targets=targets, name=name, digest=digest)
