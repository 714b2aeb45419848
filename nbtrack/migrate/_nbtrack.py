"""Read another nbtrack store (for merging two stores: ``nbtrack import nbtrack SRC``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from nbtrack.migrate._source import InvalidSource, copy_local_tree
from nbtrack.store.artifacts import local_path_of
from nbtrack.store.duckdb import importing
from nbtrack.store.duckdb.importing import (
    ExperimentRow,
    LoggedModelRow,
    RegisteredModelRow,
    RunBatch,
)

__all__ = ["NbtrackSource"]


class NbtrackSource:
    """An nbtrack store folder, read through its own archive (pending segments are folded first)."""

    local_artifacts = True

    def __init__(self, uri: str) -> None:
        from nbtrack.store import is_server_uri, open_store, resolve_root

        if is_server_uri(uri):
            raise InvalidSource(f"{uri!r} is a tracking server; merge from a store folder.")
        self.root = resolve_root(uri)
        if not os.path.isfile(os.path.join(self.root, "nbtrack.duckdb")):
            raise InvalidSource(f"No nbtrack store at {self.root}: it has no nbtrack.duckdb. Give the folder "
                                "your runs were logged to (the one holding nbtrack.duckdb and segments/).")
        store: Any = open_store(self.root)  # a DuckDBStore: the path is a folder
        store.sync()
        self.store, self.archive = store, store.archive
        self.description = f"nbtrack store {self.root}"

    def close(self) -> None:
        pass

    def experiments(self) -> list[ExperimentRow]:
        return importing.read_experiments(self.archive)

    def run_index(self) -> list[tuple[str, str]]:
        return importing.read_run_index(self.archive)

    def run_batch(self, run_ids: Sequence[str]) -> RunBatch:
        return importing.read_run_batch(self.archive, run_ids)

    def logged_models(self) -> list[LoggedModelRow]:
        return importing.read_logged_models(self.archive)

    def registry(self) -> list[RegisteredModelRow]:
        return importing.read_registry(self.archive)

    def local_path(self, uri: str) -> str | None:
        if not uri or ("://" in uri and not uri.startswith("file:")):
            return None
        return os.path.abspath(local_path_of(uri))

    def copy_artifacts(self, uri: str, dest: str, run_id: str | None, model_id: str | None) -> int:
        return copy_local_tree(self.local_path(uri), dest)
