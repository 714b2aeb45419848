"""A pandas DataFrame as a dataset (MLflow's ``mlflow.data.pandas_dataset``)."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from nbtrack.data.dataset import Dataset, PyFuncInputsOutputs, resolve_source
from nbtrack.data.dataset_source import DatasetSource
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking.datasets import compute_pandas_digest

__all__ = ["PandasDataset", "from_pandas"]

_log = logging.getLogger(__name__)


class PandasDataset(Dataset):
    """A DataFrame with an optional target column and predictions column.

    ``digest`` is MLflow's digest of the same frame, ``schema`` its column schema, ``profile``
    ``{"num_rows", "num_elements"}``.
    """

    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None, predictions: str | None = None) -> None:
        for what, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidParameter(f"The specified pandas DataFrame does not contain the specified {what} "
                                       f"column '{column}'. Its columns are {list(df.columns)}.")
        self._df = df
        self._targets = targets
        self._predictions = predictions
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        return compute_pandas_digest(self._df)

    @property
    def df(self) -> Any:
        """The DataFrame."""
        return self._df

    @property
    def targets(self) -> str | None:
        """The name of the target column, or None."""
        return self._targets

    @property
    def predictions(self) -> str | None:
        """The name of the predictions column, or None."""
        return self._predictions

    @property
    def profile(self) -> dict[str, int]:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    @cached_property
    def schema(self) -> Any:
        """The :class:`~nbtrack.models.schema.Schema` of the columns, or None if it cannot be inferred."""
        from nbtrack.models.signature import infer_schema

        try:
            return infer_schema(self._df)
        except NbtrackError as e:
            _log.debug("No schema for this DataFrame: %s", e)
            return None

    def to_dict(self) -> dict[str, str]:
        return self._logged_dict("mlflow_colspec")

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        """``(inputs, outputs)``: the frame without the target column, and that column (or None)."""
        if self._targets:
            return PyFuncInputsOutputs(self._df.drop(columns=[self._targets]), self._df[self._targets])
        return PyFuncInputsOutputs(self._df)


def from_pandas(df: Any, source: str | DatasetSource | None = None, targets: str | None = None,
                name: str | None = None, digest: str | None = None, predictions: str | None = None) -> PandasDataset:
    """A :class:`PandasDataset` for ``df``, as ``mlflow.data.from_pandas``.

    Parameters
    ----------
    df : pandas.DataFrame
        The data.
    source : str or DatasetSource, optional
        Where it came from: a path, a ``file:``/``http(s)``/``s3:``... URI or a DatasetSource.
        By default the code that is running (a ``code`` source with the run context as tags).
    targets, predictions : str, optional
        Names of the label column and of a column of model outputs (for ``evaluate``).
    name : str, optional
        The dataset's name (``"dataset"`` by default).
    digest : str, optional
        A digest to use instead of computing MLflow's.

    Examples
    --------
    >>> ds = nbtrack.data.from_pandas(df, source="data/train.csv", targets="label", name="train")
    >>> nbtrack.log_input(ds, context="training")
    """
    return PandasDataset(df, resolve_source(source), targets=targets, name=name, digest=digest,
                         predictions=predictions)
