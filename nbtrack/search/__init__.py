"""MLflow's search grammar compiled to one parameterised DuckDB query.

``compile_run_search`` and ``compile_experiment_search`` turn a ``filter_string`` and
``order_by`` into a :class:`Query` (SQL text, parameters, filter-chip sentences).
``parse_filter`` exposes the typed tree (:mod:`nbtrack.search.ast`). Pure library: it
imports no database driver.
"""

from __future__ import annotations

from nbtrack.search._compile import Query, compile_experiment_search, compile_run_search
from nbtrack.search._grammar import RUNS
from nbtrack.search._parser import parse_filter, parse_order_keys
from nbtrack.search.ast import Expr, OrderKey, chips

__all__ = [
    "Expr",
    "OrderKey",
    "Query",
    "compile_experiment_search",
    "compile_run_search",
    "describe_filter",
    "parse_filter",
    "parse_order_by",
]


def describe_filter(filter_string: str | None) -> list[str]:
    """Return one chip sentence per top-level AND term of a ``search_runs`` filter.

    Examples
    --------
    >>> describe_filter("metrics.acc > 0.9 AND params.model = 'rf'")
    ['acc > 0.9', "param model is 'rf'"]
    """
    return chips(parse_filter(filter_string))


def parse_order_by(order_by: list[str] | None) -> list[OrderKey]:
    """Parse ``search_runs`` ``order_by`` entries (``"metrics.acc DESC"``).

    Raises
    ------
    InvalidFilter
        On an unknown key or entity, a direction other than ASC/DESC, or a field
        given twice.

    Examples
    --------
    >>> parse_order_by(["metrics.acc DESC", "created"])
    [OrderKey(entity='metric', key='acc', ascending=False), OrderKey(entity='attribute', key='start_time', ascending=True)]
    """
    return parse_order_keys(order_by, RUNS)
