"""What every history source provides, and the errors a bad one gives."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import Protocol

from nbtrack.errors import NbtrackError
from nbtrack.store.duckdb.importing import (
    ExperimentRow,
    LoggedModelRow,
    RegisteredModelRow,
    RunBatch,
)

__all__ = ["InvalidSource", "Source", "copy_local_tree"]


class InvalidSource(NbtrackError, ValueError):
    """The history to import (or the place to export to) cannot be read or is not what it claims."""

    error_code = "INVALID_PARAMETER_VALUE"


class Source(Protocol):
    """A history to import: experiments, runs in batches, logged models, the registry, files.

    Experiment ids and artifact locations are the source's own; the importer maps them."""

    description: str
    local_artifacts: bool  # artifact URIs are local paths (so ``--artifacts reference`` works)

    def experiments(self) -> list[ExperimentRow]: ...
    def run_index(self) -> list[tuple[str, str]]: ...          # (run_id, experiment_id), oldest first
    def run_batch(self, run_ids: Sequence[str]) -> RunBatch: ...
    def logged_models(self) -> list[LoggedModelRow]: ...
    def registry(self) -> list[RegisteredModelRow]: ...
    def copy_artifacts(self, uri: str, dest: str, run_id: str | None, model_id: str | None) -> int: ...
    def local_path(self, uri: str) -> str | None: ...
    def close(self) -> None: ...


def copy_local_tree(src: str | None, dest: str) -> int:
    """Copy the folder ``src`` into ``dest`` (merging, byte for byte); the number of files copied.

    A missing ``src`` is a run without artifacts: nothing to copy."""
    if src is None or not os.path.isdir(src):
        return 0
    count = 0
    for folder, _dirs, files in os.walk(src):
        rel = os.path.relpath(folder, src)
        target = dest if rel == "." else os.path.join(dest, rel)
        os.makedirs(target, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))
            count += 1
    return count
