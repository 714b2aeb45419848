"""A Hugging Face ``datasets.Dataset`` as a dataset (MLflow's ``mlflow.data.huggingface_dataset``).

Its digest, schema and profile are MLflow's: the digest and schema come from the first 10,000
rows as a DataFrame, the profile from the dataset's own sizes. ``datasets`` is imported only when
a dataset is built (``pip install datasets``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from nbtrack.data.dataset import Dataset, PyFuncInputsOutputs, resolve_source
from nbtrack.data.dataset_source import DatasetSource
from nbtrack.data.huggingface_dataset_source import HuggingFaceDatasetSource
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking.datasets import MAX_ROWS, compute_pandas_digest

__all__ = ["HuggingFaceDataset", "from_huggingface"]

_log = logging.getLogger(__name__)


class HuggingFaceDataset(Dataset):
    """A ``datasets.Dataset`` (``.ds``) with an optional target column (``.targets``)."""

    def __init__(self, ds: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None) -> None:
        if targets is not None and targets not in ds.column_names:
            raise InvalidParameter(f"The specified Hugging Face dataset does not contain the specified targets "
                                   f"column '{targets}'. Its columns are {ds.column_names}.")
        self._ds = ds
        self._targets = targets
        super().__init__(source=source, name=name, digest=digest)

    def _head(self) -> Any:
        return next(iter(self._ds.to_pandas(batch_size=MAX_ROWS, batched=True)))

    def _compute_digest(self) -> str:
        return compute_pandas_digest(self._head())

    @property
    def ds(self) -> Any:
        """The ``datasets.Dataset``."""
        return self._ds

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def source(self) -> Any:
        return self._source

    @property
    def profile(self) -> dict[str, Any]:
        return {"num_rows": self._ds.num_rows, "dataset_size": self._ds.dataset_size,
                "size_in_bytes": self._ds.size_in_bytes}

    @cached_property
    def schema(self) -> Any:
        """The column schema of the first rows, or None when it cannot be inferred."""
        from nbtrack.models.signature import infer_schema

        try:
            return infer_schema(self._head())
        except NbtrackError as e:
            _log.warning("Failed to infer schema for Hugging Face dataset. Exception: %s", e)
            return None

    def to_dict(self) -> dict[str, str]:
        return self._logged_dict("mlflow_colspec")

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        df = self._ds.to_pandas()
        if self._targets is not None:
            return PyFuncInputsOutputs(df.drop(columns=self._targets), df[self._targets])
        return PyFuncInputsOutputs(df)


def from_huggingface(ds: Any, path: str | None = None, targets: str | None = None, data_dir: str | None = None,
                     data_files: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None = None,
                     revision: Any = None, name: str | None = None, digest: str | None = None,
                     trust_remote_code: bool | None = None,
                     source: str | DatasetSource | None = None) -> HuggingFaceDataset:
    """A :class:`HuggingFaceDataset` for ``ds`` (a ``datasets.Dataset``), as ``mlflow.data.from_huggingface``.

    ``path`` (with ``data_dir``, ``data_files``, ``revision``, ``trust_remote_code``) is what
    ``datasets.load_dataset`` loads it from, recorded as a :class:`HuggingFaceDatasetSource`;
    ``source`` instead records any other source (it wins over ``path``); with neither, the
    source is the code that is running.

    Examples
    --------
    >>> ds = datasets.load_dataset("csv", data_files="train.csv", split="train")
    >>> nbtrack.log_input(nbtrack.data.from_huggingface(ds, path="csv", data_files="train.csv", targets="label"))
    """
    try:
        import datasets
    except ImportError:
        raise NbtrackError("from_huggingface needs the `datasets` package: pip install datasets.") from None
    if not isinstance(ds, datasets.Dataset):
        raise InvalidParameter("The specified Hugging Face dataset must be an instance of `datasets.Dataset`. "
                               f"Instead, found an instance of: {type(ds)} (pick a split of a DatasetDict, "
                               "e.g. ds['train']).")
    if source is not None and path is not None:
        _log.warning("Both 'source' and 'path' are provided. 'source' will take precedence, and 'path' will be "
                     "ignored.")
    if source is None and path is not None:
        source = HuggingFaceDatasetSource(path=path, config_name=ds.config_name, data_dir=data_dir,
                                          data_files=data_files, split=ds.split, revision=revision,
                                          trust_remote_code=trust_remote_code)
    return HuggingFaceDataset(ds, resolve_source(source), targets=targets, name=name, digest=digest)
