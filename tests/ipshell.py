"""Helpers for tests on IPython's real test shell with nbtrack loaded (the ``ip`` fixture is in conftest)."""

from __future__ import annotations

from typing import Any

from IPython.utils.capture import capture_output

import nbtrack


def run(ip: Any, code: str, cell_id: str | None = None) -> tuple[Any, Any]:
    """Run ``code`` as a notebook cell; return (ExecutionResult, captured output)."""
    with capture_output() as out:
        result = ip.run_cell(code, store_history=True, cell_id=cell_id)
    return result, out


def runs() -> dict[str, Any]:
    """Every run of the store, by name."""
    nbtrack.flush()
    return {r.info.run_name: r for r in nbtrack.search_runs(output_format="list", search_all_experiments=True)}
