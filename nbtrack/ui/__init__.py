"""Inline views of runs, rendered from the kernel: no server, no iframe.

``runs_table``, ``metric_chart``, ``parallel_coordinates``, ``compare``, ``dashboard``,
``registry_view`` and ``models_view`` (MLflow 3 logged models) return objects that display as live widgets in JupyterLab and carry a static HTML/SVG copy
for saved notebooks. Each name is imported on first use, so ``import nbtrack.ui`` loads
no widget library.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["compare", "dashboard", "metric_chart", "models_view", "parallel_coordinates", "registry_view", "runs_table"]

_HOMES = {
    "runs_table": "nbtrack.ui.table",
    "metric_chart": "nbtrack.ui.chart",
    "parallel_coordinates": "nbtrack.ui.parcoords",
    "compare": "nbtrack.ui.compare",
    "dashboard": "nbtrack.ui.dashboard",
    "registry_view": "nbtrack.ui.registry_view",
    "models_view": "nbtrack.ui.models_view",
}


def __getattr__(name: str) -> Any:
    # Not cached here: importing nbtrack.ui.compare (or .dashboard, .registry_view) binds the
    # submodule under the same name on this package, so those modules are callable themselves.
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nbtrack.ui' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
