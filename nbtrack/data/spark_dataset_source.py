"""Where a Spark DataFrame came from (MLflow's ``SparkDatasetSource``, type ``spark``): a path of
Parquet files, a table name or a Spark SQL statement. ``load()`` reads it with the active (or a
new local) SparkSession; pyspark is imported only then."""

from __future__ import annotations

from typing import Any

from nbtrack.data.dataset_source import DatasetSource, register_dataset_source
from nbtrack.errors import InvalidParameter

__all__ = ["SparkDatasetSource"]


def spark_session() -> Any:
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


class SparkDatasetSource(DatasetSource):
    """Exactly one of ``path`` (Parquet), ``table_name`` or ``sql``."""

    source_type = "spark"

    def __init__(self, path: str | None = None, table_name: str | None = None, sql: str | None = None) -> None:
        if (path, table_name, sql).count(None) != 2:
            raise InvalidParameter('Must specify exactly one of "path", "table_name", or "sql" for a '
                                   "SparkDatasetSource, e.g. SparkDatasetSource(table_name='db.train').")
        self._path, self._table_name, self._sql = path, table_name, sql

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def table_name(self) -> str | None:
        return self._table_name

    @property
    def sql(self) -> str | None:
        return self._sql

    def load(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """The data as a ``pyspark.sql.DataFrame``."""
        spark = spark_session()
        if self._path is not None:
            return spark.read.parquet(self._path)
        if self._table_name is not None:
            return spark.read.table(self._table_name)
        return spark.sql(self._sql)

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # built by from_spark, never guessed from a string

    def to_dict(self) -> dict[str, Any]:
        for key, value in (("path", self._path), ("table_name", self._table_name), ("sql", self._sql)):
            if value is not None:
                return {key: value}
        return {}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> SparkDatasetSource:
        return cls(path=source_dict.get("path"), table_name=source_dict.get("table_name"), sql=source_dict.get("sql"))


register_dataset_source(SparkDatasetSource)
