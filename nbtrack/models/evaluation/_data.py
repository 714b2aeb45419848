"""The data under evaluation, split as MLflow splits it: features (a DataFrame with the feature
names as columns), labels and, for static evaluation, the predictions column."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import InvalidParameter


@dataclass
class EvalData:
    features: Any  # the original features: a DataFrame or a 2-D ndarray
    labels: Any  # ndarray or None
    predictions: Any  # ndarray or None
    feature_names: list[str]
    targets_name: str | None
    predictions_name: str | None

    def frame(self) -> Any:
        """A fresh copy of the features as a DataFrame whose columns are the feature names."""
        import pandas as pd

        df = pd.DataFrame(self.features).copy(deep=True)
        return df.rename(columns=dict(zip(df.columns, self.feature_names, strict=False)))


def _feature_name(c: Any) -> str:
    return c if isinstance(c, str) else f"feature_{c}"


def from_frame(df: Any, targets: Any, predictions: str | None, feature_names: list[str] | None) -> EvalData:
    if targets is not None and not isinstance(targets, str):
        raise InvalidParameter("If data is a pandas DataFrame, `targets` must be the name of the column that "
                               "holds the labels, e.g. evaluate(model, df, targets='label', ...).")
    for what, col in (("targets", targets), ("predictions", predictions)):
        if col is not None and col not in df.columns:
            raise InvalidParameter(f"The {what} column '{col}' is not in the data; its columns are {list(df.columns)}.")
    labels = df[targets].to_numpy() if targets is not None else None
    preds = df[predictions].to_numpy() if predictions is not None else None
    if feature_names is not None:
        return EvalData(df[list(feature_names)], labels, preds, list(feature_names), targets, predictions)
    features = df.drop(columns=[c for c in (targets, predictions) if c is not None])
    return EvalData(features, labels, preds, [_feature_name(c) for c in features.columns], targets, predictions)


def from_arrays(data: Any, targets: Any, feature_names: list[str] | None) -> EvalData:
    import numpy as np

    shape_message = ("If the `data` argument is a numpy array, it must be a 2-dimensional array, with the "
                     "second dimension representing the number of features. If the `data` argument is a "
                     "list, each of its elements must be a feature array of the numpy array or list, and "
                     "all elements must have the same length.")
    try:
        array = np.asarray(data)
    except ValueError:
        raise InvalidParameter(shape_message) from None
    if array.ndim != 2:
        raise InvalidParameter(shape_message)
    labels = None if targets is None else np.asarray(targets)
    if labels is not None and len(labels) != len(array):
        raise InvalidParameter("The input features example rows must be the same length with labels array.")
    n = array.shape[1]
    if feature_names is not None:
        if len(feature_names) != n:
            raise InvalidParameter("feature name list must be the same length with feature data.")
        names = list(feature_names)
    else:
        width = math.ceil(math.log10(n + 1))
        names = [f"feature_{str(i + 1).zfill(width)}" for i in range(n)]
    return EvalData(array, labels, None, names, None, None)


def split(data: Any, targets: Any, predictions: str | None, feature_names: list[str] | None) -> EvalData:
    """``data`` as given to ``evaluate`` (a DataFrame, an array, a list, an nbtrack/mlflow dataset)."""
    import numpy as np
    import pandas as pd

    if feature_names is not None and len(set(feature_names)) < len(list(feature_names)):
        raise InvalidParameter("`feature_names` argument must be a list containing unique feature names.")
    df = getattr(data, "df", None)
    if isinstance(df, pd.DataFrame):  # a PandasDataset (ours or mlflow's)
        return from_frame(df, getattr(data, "targets", None), getattr(data, "predictions", None), feature_names)
    if hasattr(data, "features") and hasattr(data, "digest"):  # a NumpyDataset
        return from_arrays(data.features, data.targets, feature_names)
    if isinstance(data, pd.DataFrame):
        return from_frame(data, targets, predictions, feature_names)
    if isinstance(data, list) and data and not isinstance(data[0], (list, np.ndarray)):
        data = [[x] for x in data]  # a flat list: one feature per sample
    if isinstance(data, (list, np.ndarray)):
        return from_arrays(data, targets, feature_names)
    raise InvalidParameter(f"The data argument must be a pandas DataFrame, a numpy array, a list or an "
                           f"nbtrack.data dataset, not {type(data).__name__}.")


_SAMPLE_ROWS = 5  # MLflow hashes the first and last 5 rows of evaluation data (all of it below 10)


def _u64(values: Any) -> bytes:
    import numpy as np

    return np.asarray(values, dtype=np.uint64).astype(">u8").tobytes()


def _hash_rows(data: Any) -> bytes:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        def element(v: Any) -> Any:  # unhashable cells count as empty, as in MLflow
            if isinstance(v, (dict, list, np.ndarray)):
                return b""
            try:
                pd.util.hash_array(np.array([v]))
                return v
            except TypeError:
                return b""

        if any(pd.api.types.is_object_dtype(dtype) for dtype in data.dtypes):
            data = data.map(element)
        return _u64(pd.util.hash_pandas_object(data))
    array = np.asarray(data)
    return _u64(pd.util.hash_array(array.flatten(order="C"))) + _u64(array.shape)


def evaluation_hash(data: EvalData) -> str:
    """The 32-digit MD5 MLflow records for evaluation data in the ``mlflow.datasets`` run tag."""
    import hashlib

    md5 = hashlib.md5(usedforsecurity=False)
    for part in (data.features, data.labels, data.predictions):
        if part is None:
            continue
        md5.update(_u64([len(part)]))
        if len(part) < 2 * _SAMPLE_ROWS:
            md5.update(_hash_rows(part))
        else:
            head = part.iloc[:_SAMPLE_ROWS] if hasattr(part, "iloc") else part[:_SAMPLE_ROWS]
            tail = part.iloc[-_SAMPLE_ROWS:] if hasattr(part, "iloc") else part[-_SAMPLE_ROWS:]
            md5.update(_hash_rows(head))
            md5.update(_hash_rows(tail))
    md5.update(",".join(map(str, data.feature_names)).encode("UTF-8"))
    return md5.hexdigest()
