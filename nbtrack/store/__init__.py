"""Stores: where runs live. ``open_store(uri)`` returns the one store per location per process."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from nbtrack.errors import InvalidStore

if TYPE_CHECKING:
    from nbtrack.store.base import Store

__all__ = ["is_postgres_uri", "is_server_uri", "open_store", "resolve_root"]

_stores: dict[str, Store] = {}
_lock = threading.Lock()


def refuse_mlflow_database(uri: str) -> None:
    """Raise :class:`InvalidStore` for an MLflow SQLite database, saying how to bring it over."""
    if urlparse(uri).scheme.split("+")[0] != "sqlite":
        return
    raise InvalidStore(
        f"{uri!r} is an MLflow tracking database; nbtrack stores runs in its own DuckDB store and "
        "cannot use it as the tracking URI. Bring its history over (experiments, runs with their ids, "
        f"every metric point, artifacts, the registry) with `nbtrack import mlflow {uri} --store "
        "./.nbtrack`, then point nbtrack at that folder: set_tracking_uri('./.nbtrack') or "
        "duckdb:///abs/folder. Running the import again adds only what is new."
    )


def resolve_root(uri: str) -> str:
    """The absolute store folder of a tracking URI (plain path, ``duckdb:///``, ``file:``)."""
    refuse_mlflow_database(uri)
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file", "duckdb") or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = unquote(parsed.path) if parsed.scheme in ("file", "duckdb") else uri
        if parsed.scheme == "duckdb" and parsed.netloc:
            path = parsed.netloc + path  # duckdb://relative/path
        path = os.path.expanduser(path)
        return os.path.abspath(path)
    if is_server_uri(uri):
        raise InvalidStore(f"{uri!r} names a tracking server, not a store folder; this command needs a "
                           "folder path, duckdb:///abs/folder or file:///abs/folder.")
    if is_postgres_uri(uri):
        raise InvalidStore("This names a PostgreSQL database, not a store folder; this command needs a "
                           "folder path, duckdb:///abs/folder or file:///abs/folder.")
    raise InvalidStore(
        f"Unsupported tracking URI {uri!r}. Use a folder path, duckdb:///abs/folder or file:///abs/folder."
    )


def is_server_uri(uri: str) -> bool:
    """True for ``http://`` and ``https://`` tracking URIs (the ``rest`` backend)."""
    return urlparse(uri).scheme.lower() in ("http", "https")


def is_postgres_uri(uri: str) -> bool:
    """True for ``postgresql://`` (also ``postgres://``, ``postgresql+psycopg://``) URIs."""
    return urlparse(uri).scheme.lower() in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2",
                                            "postgres+psycopg")


def open_store(uri: str) -> Store:
    if is_server_uri(uri):
        return _open_server(uri)
    if is_postgres_uri(uri):
        return _open_postgres(uri)
    root = resolve_root(uri)
    with _lock:
        store = _stores.get(root)
        if store is None or getattr(store, "_closed", False):
            from nbtrack.store.duckdb.store import DuckDBStore

            store = DuckDBStore(root)
            _stores[root] = store
        return store


def _open_server(uri: str) -> Store:
    parsed = urlparse(uri)
    if not parsed.netloc:
        raise InvalidStore(f"Tracking URI {uri!r} has no host; use e.g. http://127.0.0.1:5000.")
    url = f"{parsed.scheme.lower()}://{parsed.netloc}{parsed.path.rstrip('/')}"
    with _lock:
        store = _stores.get(url)
        if store is None or getattr(store, "_closed", False):
            from nbtrack.store.rest.store import RestStore

            store = RestStore(url)
            _stores[url] = store
        return store


def _open_postgres(uri: str) -> Store:
    with _lock:
        store = _stores.get(uri)
        if store is None or getattr(store, "_closed", False):
            try:
                from nbtrack.store.postgres.store import PostgresStore
            except ImportError as e:
                raise InvalidStore(f"PostgreSQL tracking URIs need psycopg 3 and psycopg_pool ({e}); install them "
                                   "with `pip install 'nbtrack[postgres]'`.") from None
            store = PostgresStore(uri)
            _stores[uri] = store
        return store


def close_all(timeout: float | None = None) -> None:
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close(timeout)
