"""Bring history in and out: MLflow (database, ``mlruns/`` folder, server) and other nbtrack stores.

>>> report = import_mlflow("sqlite:///mlflow.db", "./.nbtrack")    # doctest: +SKIP
>>> print(report.render())                                          # doctest: +SKIP

Runs keep their ids, experiments their ids where they are free, metric points their steps and
timestamps, registry versions their numbers. Running an import again adds what is new and
duplicates nothing. The command line is ``nbtrack import mlflow SOURCE`` (see ``nbtrack/cli/migrate.py``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from nbtrack.migrate._report import Report
from nbtrack.migrate._source import InvalidSource

if TYPE_CHECKING:
    from nbtrack.migrate._source import Source

__all__ = ["InvalidSource", "Report", "export_mlflow", "import_mlflow", "import_nbtrack", "open_mlflow_source"]


def open_mlflow_source(source: str) -> Source:
    """The reader for an MLflow history: ``sqlite:///`` database, ``mlruns/`` folder or ``http(s)://`` server."""
    scheme = urlparse(source).scheme.lower().split("+")[0]
    if scheme == "sqlite":
        from nbtrack.migrate._mlflow_sql import MlflowSqlSource

        return MlflowSqlSource(source)
    if scheme in ("http", "https"):
        from nbtrack.migrate._mlflow_rest import MlflowRestSource

        return MlflowRestSource(source)
    if scheme in ("postgresql", "postgres", "mysql", "mssql"):
        raise InvalidSource(
            f"{source.split('@')[-1]!r}: importing straight from a {scheme} MLflow database is not supported yet. "
            "Import through a running MLflow server on it instead: nbtrack import mlflow http://host:5000")
    if scheme in ("", "file") or len(scheme) == 1:
        from nbtrack.migrate._mlflow_files import MlflowFileSource
        from nbtrack.store.artifacts import local_path_of

        path = os.path.abspath(local_path_of(source))
        if os.path.isfile(path):
            raise InvalidSource(f"{path} is a file; for an MLflow SQLite database write sqlite:///{path}, "
                                "for a file store give its mlruns/ folder.")
        return MlflowFileSource(path)
    raise InvalidSource(f"Cannot import from {source!r}: give an MLflow database (sqlite:///mlflow.db), an mlruns/ "
                        "folder or a tracking server (http://host:5000).")


def _embedded(store: str | None) -> Any:
    from nbtrack.store import is_server_uri, open_store
    from nbtrack.tracking.fluent import get_tracking_uri

    uri = store or get_tracking_uri()
    if is_server_uri(uri):
        raise InvalidSource(f"{uri!r} is a tracking server; import into a store folder (then serve it with "
                            "`nbtrack server`).")
    return open_store(uri)


def import_mlflow(source: str, store: str | None = None, artifacts: str = "copy", progress: bool = False) -> Report:
    """Import an MLflow history into the nbtrack store ``store`` (default: the tracking URI).

    Parameters
    ----------
    source
        ``sqlite:///path/mlflow.db``, an ``mlruns/`` folder (``file://`` or a path), or ``http(s)://`` server.
    store
        The nbtrack store folder to import into.
    artifacts
        ``"copy"`` (byte for byte into the store) or ``"reference"`` (leave them where they are).
    progress
        Show a progress bar on stderr.
    """
    from nbtrack.migrate._runner import run_import

    reader = open_mlflow_source(source)
    try:
        return run_import(reader, _embedded(store), artifacts, progress)
    finally:
        reader.close()


def import_nbtrack(source: str, store: str | None = None, artifacts: str = "copy", progress: bool = False) -> Report:
    """Merge the nbtrack store ``source`` into ``store``: run ids kept, conflicts in the report."""
    from nbtrack.migrate._nbtrack import NbtrackSource
    from nbtrack.migrate._runner import run_import

    target = _embedded(store)
    reader = NbtrackSource(source)
    if os.path.realpath(reader.root) == os.path.realpath(target.root):
        raise InvalidSource(f"{reader.root} is the store being imported into; give another store to merge.")
    try:
        return run_import(reader, target, artifacts, progress)
    finally:
        reader.close()


def export_mlflow(store: str | None, dest: str, progress: bool = False) -> Report:
    """Write the nbtrack store ``store`` into an MLflow store that MLflow reads: a ``sqlite:///`` database
    or an ``mlruns/`` folder. Run ids are kept; what is already there is skipped."""
    from nbtrack.migrate._to_mlflow import export

    return export(_embedded(store), dest, progress)
