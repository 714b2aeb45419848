"""A Delta Lake table as a dataset source (MLflow's ``DeltaDatasetSource``, type ``delta_table``):
a path or a table name, and the table version. ``load()`` needs Spark with Delta Lake (the
``delta-spark`` package); recording and reading back the source needs neither.

The helpers ``from_spark`` uses to tell a Delta table from other Spark data live here too, with
MLflow's rules: a local folder with a ``_delta_log`` is a Delta path; a table is Delta when
``DESCRIBE DETAIL`` says so; the latest version comes from Delta Lake's own ``DeltaTable.history``
(so it is None, with a warning, in a Spark without Delta Lake).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from nbtrack.data.dataset_source import DatasetSource, register_dataset_source
from nbtrack.data.spark_dataset_source import spark_session
from nbtrack.errors import InvalidParameter

__all__ = ["DeltaDatasetSource"]

_log = logging.getLogger(__name__)
# Catalogs that are a workspace's own metastore, not Unity Catalog (MLflow's list)
_LOCAL_CATALOGS = ("hive_metastore", "spark_catalog", "samples")


class DeltaDatasetSource(DatasetSource):
    """Exactly one of ``path`` or ``delta_table_name``, and optionally the table version."""

    source_type = "delta_table"

    def __init__(self, path: str | None = None, delta_table_name: str | None = None,
                 delta_table_version: int | str | None = None, delta_table_id: str | None = None) -> None:
        if (path, delta_table_name).count(None) != 1:
            raise InvalidParameter('Must specify exactly one of "path" or "table_name" for a DeltaDatasetSource, '
                                   "e.g. DeltaDatasetSource(path='/data/train', delta_table_version=3).")
        self._path = path
        self._delta_table_name = None if delta_table_name is None else _full_table_name(delta_table_name)
        self._delta_table_version, self._delta_table_id = delta_table_version, delta_table_id

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def delta_table_name(self) -> str | None:
        return self._delta_table_name

    @property
    def delta_table_version(self) -> int | str | None:
        return self._delta_table_version

    @property
    def delta_table_id(self) -> str | None:
        return self._delta_table_id

    def load(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """The table (at its version, when known) as a ``pyspark.sql.DataFrame``."""
        reader = spark_session().read.format("delta")
        if self._delta_table_version is not None:
            reader = reader.option("versionAsOf", self._delta_table_version)
        if self._path is not None:
            return reader.load(self._path)
        return reader.table(_backticked(str(self._delta_table_name)))

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if self._path:
            info["path"] = self._path
        if self._delta_table_name:
            info["delta_table_name"] = self._delta_table_name
        if self._delta_table_version:  # version 0 is left out, as MLflow leaves it out
            info["delta_table_version"] = self._delta_table_version
        if self._delta_table_name and self._delta_table_name.split(".", 1)[0] not in _LOCAL_CATALOGS:
            # MLflow's mark of a Unity Catalog table; it asks Databricks for the id, which is None
            # anywhere else (nbtrack does not call Databricks: the id is the one given, if any)
            info["is_databricks_uc_table"] = True
            info["delta_table_id"] = self._delta_table_id
        return info

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DeltaDatasetSource:
        return cls(path=source_dict.get("path"), delta_table_name=source_dict.get("delta_table_name"),
                   delta_table_version=source_dict.get("delta_table_version"),
                   delta_table_id=source_dict.get("delta_table_id"))


register_dataset_source(DeltaDatasetSource)


def _backticked(name: str) -> str:
    return ".".join(part if part.startswith("`") and part.endswith("`") else f"`{part}`"
                    for part in name.split("."))


def _full_table_name(name: str) -> str:
    """``name`` qualified with the active Spark session's catalog (and schema) when that catalog is
    not the default one, as MLflow does; unchanged without an active session."""
    if len(name.split(".")) >= 3 or "pyspark" not in sys.modules:
        return name
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        return name
    catalog = spark.sql("SELECT current_catalog() AS catalog").collect()[0]["catalog"]
    if catalog in ("spark_catalog", "hive_metastore"):
        return name
    if len(name.split(".")) == 2:
        return f"{catalog}.{name}"
    schema = spark.sql("SELECT current_database() AS schema").collect()[0]["schema"]
    return f"{catalog}.{schema}.{name}"


def is_delta_path(path: str) -> bool:
    """Whether ``path`` is a local folder holding a Delta table (it has a ``_delta_log``)."""
    return os.path.isdir(path) and "_delta_log" in os.listdir(path)


def is_delta_table(table_name: str) -> bool:
    """Whether the Spark catalog's ``table_name`` is a Delta table."""
    from pyspark.errors import AnalysisException

    try:
        spark_session().sql(f"DESCRIBE DETAIL {table_name}").filter("format = 'delta'").count()
        return True
    except AnalysisException:  # not a Delta table, no such table, or no Delta Lake in this Spark
        return False


def latest_delta_version(path: str | None = None, table_name: str | None = None) -> int | None:
    """The latest version of a Delta table, or None (with a warning) when Delta Lake cannot tell."""
    what = f"at path '{path}'" if path is not None else f"with name '{table_name}'"
    try:
        spark = spark_session()
        tables = spark._jvm.io.delta.tables.DeltaTable
        table = (tables.forPath(spark._jsparkSession, path) if path is not None
                 else tables.forName(spark._jsparkSession, _backticked(str(table_name))))
        row = table.history(1).head()
        return row.get(row.fieldIndex("version"))
    except Exception as e:  # no Delta Lake in this Spark, or not a Delta table: log it without a version
        _log.warning("Failed to obtain version information for Delta table %s (is the delta-spark package "
                     "on this Spark?); it is logged without a version: %s", what, e)
        return None
