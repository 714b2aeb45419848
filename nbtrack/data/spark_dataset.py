"""Spark DataFrames as datasets (MLflow's ``mlflow.data.spark_dataset``): ``from_spark``.

The digest is MLflow's: the DataFrame's semantic hash (of its analysed plan, so the same query
over the same source gives the same digest without reading the data). ``profile`` is the
approximate row count Spark gives within 5 seconds; ``schema`` the column specs of the
DataFrame's schema. pyspark is imported only when a Spark dataset is used; a path with a
``_delta_log`` folder or a Delta table name becomes a :class:`DeltaDatasetSource`.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from nbtrack.data.dataset import Dataset, PyFuncInputsOutputs, resolve_source
from nbtrack.data.dataset_source import DatasetSource
from nbtrack.data.delta_dataset_source import (
    DeltaDatasetSource,
    is_delta_path,
    is_delta_table,
    latest_delta_version,
)
from nbtrack.data.spark_dataset_source import SparkDatasetSource
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking.datasets import _md5_8

__all__ = ["SparkDataset", "from_spark"]

_log = logging.getLogger(__name__)
_PYFUNC_ROWS = 10_000  # rows converted to pandas for evaluation, as MLflow (driver memory)


class SparkDataset(Dataset):
    """A ``pyspark.sql.DataFrame`` with its source, optional targets and predictions columns."""

    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None, predictions: str | None = None) -> None:
        _check_spark_df(df)
        for what, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidParameter(f"The specified Spark dataset does not contain the specified {what} column "
                                       f"'{column}'. Its columns: {list(df.columns)}.")
        self._df, self._targets, self._predictions = df, targets, predictions
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        import numpy as np

        return _md5_8([np.int64(self._df.semanticHash())])

    @property
    def df(self) -> Any:
        """The ``pyspark.sql.DataFrame``."""
        return self._df

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def predictions(self) -> str | None:
        return self._predictions

    @property
    def profile(self) -> dict[str, Any] | None:
        """``{"approx_count": n}``: the row count Spark reaches within 5 s ("unknown" when none)."""
        try:
            count: Any = _approx_count(self._df)
        except Exception as e:  # a profile is a nicety: never fail logging over it
            _log.warning("Encountered an unexpected exception while computing Spark dataset profile. "
                         "Exception: %s", e)
            return None
        return {"approx_count": count if count > 0 else "unknown"}

    @cached_property
    def schema(self) -> Any:
        """The column specs of the DataFrame (None when a column type has no MLflow equivalent)."""
        from nbtrack.models.schema import ColSpec, Schema

        try:
            return Schema([ColSpec(_spark_type(f.dataType, self._df, f.name), f.name)
                           for f in self._df.schema.fields])
        except Exception as e:
            _log.warning("Failed to infer schema for Spark dataset: %s", e)
            return None

    def to_dict(self) -> dict[str, str]:
        return self._logged_dict("mlflow_colspec")

    def to_pyfunc(self) -> PyFuncInputsOutputs:
        """The first 10,000 rows as pandas: features, and the targets column when there is one."""
        df = self._df.limit(_PYFUNC_ROWS).toPandas()
        if self._targets is None:
            return PyFuncInputsOutputs(df, None)
        return PyFuncInputsOutputs(df.drop(columns=self._targets), df[self._targets])


def _check_spark_df(df: Any) -> None:
    try:
        from pyspark.sql import DataFrame
    except ImportError:
        raise NbtrackError("Spark datasets need pyspark (and a Java runtime): pip install 'nbtrack[bigdata]'.") from None
    if not isinstance(df, DataFrame):
        what = f"{type(df).__module__}.{type(df).__name__}"
        raise InvalidParameter(f"from_spark takes a pyspark.sql.DataFrame, got {what}; use nbtrack.data.from_pandas "
                               "for a pandas DataFrame.")


def _approx_count(df: Any) -> int:
    """The rows counted within 5 s, by Spark's ``sumApprox`` on the JVM (PySpark's own waits for
    the whole count, whatever its timeout; this is MLflow's way around that)."""
    per_partition = df.rdd.mapPartitions(lambda rows: [float(sum(1 for _ in rows))])
    summed = per_partition.mapPartitions(lambda counts: [float(sum(counts))])._to_java_object_rdd()
    doubles = per_partition.ctx._jvm.JavaDoubleRDD.fromRDD(summed.rdd())
    return int(doubles.sumApprox(5000, 0.9).initialValue().mean())


def _spark_ml_vector() -> Any:
    """A Spark ML vector column's type (MLflow's ``SparkMLVector``): an array of doubles, written
    as ``{"type": "sparkml_vector"}``."""
    from nbtrack.models.schema import Array, DataType

    class SparkMLVector(Array):
        def __init__(self) -> None:
            super().__init__(DataType.double)

        def to_dict(self) -> dict[str, Any]:
            return {"type": "sparkml_vector"}

    return SparkMLVector()


def _spark_type(t: Any, df: Any = None, column: str | None = None) -> Any:
    """The MLflow type of a Spark SQL type (Spark's dates and timestamps are both datetime)."""
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import types as st

    from nbtrack.models.schema import Array, DataType, Object, Property

    if isinstance(t, st.LongType):
        return DataType.long
    if isinstance(t, st.IntegralType):
        return DataType.integer
    simple = ((st.FloatType, DataType.float), (st.DoubleType, DataType.double), (st.BooleanType, DataType.boolean),
              (st.StringType, DataType.string), (st.BinaryType, DataType.binary),
              ((st.DateType, st.TimestampType), DataType.datetime))
    for spark_types, ours in simple:
        if isinstance(t, spark_types):
            return ours
    if isinstance(t, st.ArrayType):
        return Array(_spark_type(t.elementType))
    if isinstance(t, st.StructType):
        return Object([Property(f.name, _spark_type(f.dataType), required=not f.nullable) for f in t.fields])
    if isinstance(t, st.MapType) and df is not None and column is not None:
        if isinstance(t.valueType, st.MapType):
            raise NbtrackError("Nested map columns have no MLflow schema; build the DataFrame with a StructType.")
        from pyspark.sql.functions import col, collect_list

        found = df.selectExpr(f"map_keys(`{column}`) as keys").agg(collect_list(col("keys")).alias("k")).head().k
        return Object([Property(k, _spark_type(t.valueType)) for k in {k for keys in found for k in keys}])
    if isinstance(t, VectorUDT):
        return _spark_ml_vector()
    raise InvalidParameter(f"Unsupported Spark Type '{type(t)}' for MLflow schema.")


def from_spark(df: Any, path: str | None = None, table_name: str | None = None, version: str | int | None = None,
               sql: str | None = None, targets: str | None = None, name: str | None = None,
               digest: str | None = None, predictions: str | None = None) -> SparkDataset:
    """A :class:`SparkDataset`, as ``mlflow.data.from_spark``.

    ``path``, ``table_name`` or ``sql`` (at most one) say where the DataFrame came from, so
    ``dataset.source.load()`` can read it again; none of them: the running code is the source.
    ``version`` is a Delta table's version (found from the table when omitted).

    Examples
    --------
    >>> df = spark.read.parquet("/data/train")
    >>> ds = nbtrack.data.from_spark(df, path="/data/train", targets="label")
    >>> nbtrack.log_input(ds, context="training")
    """
    _check_spark_df(df)  # before a table lookup would start a Spark session for nothing
    if (path, table_name, sql).count(None) < 2:
        raise InvalidParameter("Must specify at most one of `path`, `table_name`, or `sql`.")
    if sql is not None and version is not None:
        raise InvalidParameter("`version` may not be specified when `sql` is specified. `version` may only be "
                               "specified when `table_name` or `path` is specified.")
    source: DatasetSource
    if sql is not None:
        source = SparkDatasetSource(sql=sql)
    elif path is not None:
        if is_delta_path(path):
            source = DeltaDatasetSource(path=path, delta_table_version=version or latest_delta_version(path=path))
        elif version is None:
            source = SparkDatasetSource(path=path)
        else:
            raise InvalidParameter(f"Version '{version}' was specified, but the path '{path}' does not refer to a "
                                   "Delta table (it has no _delta_log folder).")
    elif table_name is not None:
        if is_delta_table(table_name):
            source = DeltaDatasetSource(delta_table_name=table_name,
                                        delta_table_version=version or latest_delta_version(table_name=table_name))
        elif version is None:
            source = SparkDatasetSource(table_name=table_name)
        else:
            raise InvalidParameter(f"Version '{version}' was specified, but could not find a Delta table with name "
                                   f"'{table_name}'.")
    else:
        source = resolve_source(None)
    return SparkDataset(df, source, targets=targets, name=name, digest=digest, predictions=predictions)
