"""Turn a parsed filter and order_by into one parameterised DuckDB query.

Every value *and* every key is a ``?`` parameter. The only text spliced into the SQL
comes from fixed tables (attribute columns from the grammar's whitelist, comparators
from ``ALL_OPS``), so no user input can change the statement.

Shape: each comparison on a metric, param, tag or dataset is an uncorrelated
``r.run_id IN (SELECT run_id FROM <relation> WHERE key = ? AND <test>)``, which DuckDB
plans as a hash semi-join (a mark join under OR/NOT) rather than a per-row subquery.
Each metric/param/tag order_by key is a ``LEFT JOIN`` on (run_id, key); a comparison on
the same field tests that join's column instead of scanning the relation again.

Semantics carried into SQL:

* A run lacking the key never matches a comparison (no row, or a NULL joined column),
  except ``IS NULL``.
* DuckDB orders NaN above every number, so ``>`` and ``>=`` on metrics exclude NaN
  explicitly; ``!=`` matches NaN as in MLflow.
* ``NOT x`` is ``NOT COALESCE(x, FALSE)``: a NULL (``end_time`` of a running run, a
  missing joined key) counts as "no match", so its negation is a match.
* Ordering puts NULL last in both directions and, for metrics, NaN just before NULL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeAlias

from nbtrack.search._grammar import ALL_OPS, EXPERIMENTS, RUNS
from nbtrack.search._parser import parse_order_keys, parse_with
from nbtrack.search.ast import And, Comparison, Expr, Not, Or, OrderKey, Value, chips

__all__ = ["Query", "compile_experiment_search", "compile_run_search"]

# entity -> (relation, alias); each relation has one row per (run_id, key)
_RUN_RELATIONS = {
    "metric": ("latest_metrics", "m"),
    "param": ("params", "p"),
    "tag": ("tags", "t"),
}
_DATASET_COLUMNS = {"name": "i.dataset_name", "digest": "i.dataset_digest", "context": "i.context"}


@dataclass(frozen=True)
class Query:
    """A compiled search: run ``sql`` with ``params``; ``description`` holds the chips.

    The caller appends ``" LIMIT ? OFFSET ?"`` (and the two values) to page.
    """

    sql: str
    params: list[object] = field(default_factory=list)
    description: list[str] = field(default_factory=list)


class _Params:
    """Collects parameters in the order their ``?`` appear in the text."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def one(self, value: object) -> str:
        self.values.append(value)
        return "?"

    def many(self, values: Iterable[object]) -> str:
        return ", ".join(self.one(v) for v in values)


#: Renders one comparison; one per endpoint (runs, experiments).
_Leaf: TypeAlias = "Callable[[Comparison, _Params], str]"


def _test(column: str, op: str, value: Value, params: _Params) -> str:
    """``<column> <op> <value>`` with the value as parameter(s); ``op`` is whitelisted."""
    if op not in ALL_OPS:  # the parser guarantees this; guard the one splice point anyway
        raise ValueError(f"unexpected comparator {op!r}")
    if op in ("IN", "NOT IN"):
        assert isinstance(value, tuple)
        return f"{column} {op} ({params.many(value)})"
    return f"{column} {op} {params.one(value)}"


def _run_comparison(term: Comparison, params: _Params, joined: dict[tuple[str, str], str]) -> str:
    if term.entity == "attribute":
        return _test(f"r.{term.key}", term.op, term.value, params)
    if term.entity == "dataset":
        test = _test(_DATASET_COLUMNS[term.key], term.op, term.value, params)
        return f"r.run_id IN (SELECT i.run_id FROM inputs AS i WHERE {test})"
    if (term.entity, term.key) in joined:
        # the order_by LEFT JOIN already holds this key (NULL when missing): test it in place
        # rather than scanning the table a second time
        return _value_test(term, joined[term.entity, term.key], params)
    relation, a = _RUN_RELATIONS[term.entity]
    key = params.one(term.key)
    subquery = f"SELECT {a}.run_id FROM {relation} AS {a} WHERE {a}.key = {key}"
    if term.op == "IS NULL":
        return f"r.run_id NOT IN ({subquery})"
    if term.op == "IS NOT NULL":
        return f"r.run_id IN ({subquery})"
    return f"r.run_id IN ({subquery} AND {_value_test(term, a, params)})"


def _value_test(term: Comparison, alias: str, params: _Params) -> str:
    """Test ``<alias>.value``, which is NULL for a run lacking the key."""
    column = f"{alias}.value"
    if term.op in ("IS NULL", "IS NOT NULL"):
        return f"{column} {term.op}"
    test = _test(column, term.op, term.value, params)
    if term.entity == "metric" and term.op in (">", ">="):
        # DuckDB sorts NaN above +inf, so `NaN > x` is true there; MLflow never matches NaN
        return f"({test} AND NOT isnan({column}))"
    return test


def _experiment_comparison(term: Comparison, params: _Params) -> str:
    if term.entity == "attribute":
        return _test(f"e.{term.key}", term.op, term.value, params)
    key = params.one(term.key)
    subquery = "SELECT t.experiment_id FROM experiment_tags AS t WHERE t.key = "
    if term.op in ("IS NULL", "IS NOT NULL"):
        negate = "NOT " if term.op == "IS NULL" else ""
        return f"e.experiment_id {negate}IN ({subquery}{key})"
    test = _test("t.value", term.op, term.value, params)
    return f"e.experiment_id IN ({subquery}{key} AND {test})"


def _render(expr: Expr, params: _Params, leaf: _Leaf) -> str:
    if isinstance(expr, Comparison):
        return leaf(expr, params)
    if isinstance(expr, Not):
        return f"NOT COALESCE({_render(expr.term, params, leaf)}, FALSE)"
    joiner = " AND " if isinstance(expr, And) else " OR "
    return joiner.join(_grouped(t, params, leaf) for t in expr.terms)


def _grouped(expr: Expr, params: _Params, leaf: _Leaf) -> str:
    text = _render(expr, params, leaf)
    return f"({text})" if isinstance(expr, And | Or) else text


def _where(scope: list[str], expr: Expr | None, params: _Params, leaf: _Leaf) -> str:
    """The WHERE clause: scope conditions, then one line per top-level AND term."""
    terms = list(expr.terms) if isinstance(expr, And) else [expr] if expr else []
    lines = [" AND ".join(scope)] + [_grouped(t, params, leaf) for t in terms]
    return "WHERE " + "\n  AND ".join(lines)


def _in_list(column: str, values: Sequence[str], params: _Params) -> str:
    # `IN ()` is a syntax error; no experiments or stages means no rows.
    return f"{column} IN ({params.many(values)})" if values else "FALSE"


def _run_order(keys: list[OrderKey], params: _Params) -> tuple[list[str], list[str]]:
    """LEFT JOINs for metric/param/tag keys and the ORDER BY terms, tiebreak included."""
    joins: list[str] = []
    terms: list[str] = []
    for n, key in enumerate(keys):
        direction = "ASC" if key.ascending else "DESC"
        if key.entity == "attribute":
            terms.append(f"r.{key.key} {direction} NULLS LAST")
            continue
        a = f"o{n}"
        relation = _RUN_RELATIONS[key.entity][0]
        on = f"{a}.run_id = r.run_id AND {a}.key = {params.one(key.key)}"
        joins.append(f"LEFT JOIN {relation} AS {a} ON {on}")
        if key.entity == "metric":
            # numbers, then NaN, then missing - in both directions (MLflow's order)
            rank = f"CASE WHEN {a}.value IS NULL THEN 2 WHEN isnan({a}.value) THEN 1 ELSE 0 END"
            terms += [rank, f"{a}.value {direction}"]
        else:
            terms.append(f"{a}.value {direction} NULLS LAST")
    ordered = {(k.entity, k.key) for k in keys}
    if ("attribute", "start_time") not in ordered:
        terms.append("r.start_time DESC")
    if ("attribute", "run_id") not in ordered:
        terms.append("r.run_id ASC")
    return joins, terms


def _joined_keys(keys: list[OrderKey]) -> dict[tuple[str, str], str]:
    """(entity, key) -> alias of its order_by LEFT JOIN, as named by :func:`_run_order`."""
    return {(k.entity, k.key): f"o{n}" for n, k in enumerate(keys) if k.entity != "attribute"}


def compile_run_search(
    filter_string: str | None,
    order_by: list[str] | None,
    experiment_ids: list[str],
    lifecycle_stages: tuple[str, ...],
) -> Query:
    """Compile a ``search_runs`` request into one DuckDB query over the store's views.

    Parameters
    ----------
    filter_string
        MLflow filter syntax (plus ``OR``/``NOT``/parentheses); None or blank matches all.
    order_by
        Entries like ``"metrics.acc DESC"``; missing values sort last, NaN metrics just
        before them. The tiebreak ``start_time DESC, run_id ASC`` is always appended.
    experiment_ids
        Experiments to search; an empty list matches nothing.
    lifecycle_stages
        e.g. ``("active",)``; see :meth:`nbtrack.entities.ViewType.stages`.

    Returns
    -------
    Query
        ``SELECT r.run_id FROM runs AS r ... ORDER BY ...``; append ``" LIMIT ? OFFSET ?"``.

    Raises
    ------
    InvalidFilter
        When the filter or an order_by entry is malformed.

    Examples
    --------
    >>> q = compile_run_search("params.model = 'rf'", ["metrics.acc DESC"], ["0"], ("active",))
    >>> q.params
    ['acc', '0', 'active', 'model', 'rf']
    """
    expr = parse_with(filter_string, RUNS)
    keys = parse_order_keys(order_by, RUNS)
    params = _Params()
    joins, order = _run_order(keys, params)
    scope = [
        _in_list("r.experiment_id", experiment_ids, params),
        _in_list("r.lifecycle_stage", lifecycle_stages, params),
    ]
    leaf = partial(_run_comparison, joined=_joined_keys(keys))
    where = _where(scope, expr, params, leaf)
    sql = "\n".join(
        ["SELECT r.run_id", "FROM runs AS r", *joins, where, "ORDER BY " + ", ".join(order)]
    )
    return Query(sql, params.values, chips(expr))


def _experiment_order(keys: list[OrderKey]) -> list[str]:
    if not keys:
        keys = [
            OrderKey("attribute", "creation_time", False),
            OrderKey("attribute", "experiment_id"),
        ]
    elif not any(k.key == "experiment_id" for k in keys):
        # MLflow's SQL store breaks ties on experiment_id *descending* when order_by is given
        keys = [*keys, OrderKey("attribute", "experiment_id", False)]
    terms = []
    for key in keys:
        direction = "ASC" if key.ascending else "DESC"
        if key.key == "experiment_id":
            # ids are decimal strings: compare as numbers, then as text for odd ids
            terms.append(f"TRY_CAST(e.experiment_id AS BIGINT) {direction} NULLS LAST")
            terms.append(f"e.experiment_id {direction}")
        else:
            terms.append(f"e.{key.key} {direction} NULLS LAST")
    return terms


def compile_experiment_search(
    filter_string: str | None,
    order_by: list[str] | None,
    lifecycle_stages: tuple[str, ...],
) -> Query:
    """Compile a ``search_experiments`` request into one DuckDB query.

    Parameters
    ----------
    filter_string
        Attributes ``name``, ``experiment_id``, ``creation_time``, ``last_update_time``
        and ``tags.<key>`` (``= != LIKE ILIKE IS NULL IS NOT NULL``); ``IN`` only on
        ``experiment_id`` and tags. ``OR``/``NOT``/parentheses are accepted too.
    order_by
        The four attributes only; default ``creation_time DESC, experiment_id ASC``.
    lifecycle_stages
        e.g. ``("active",)``.

    Returns
    -------
    Query
        ``SELECT e.experiment_id FROM experiments AS e ...``; append ``" LIMIT ? OFFSET ?"``.

    Examples
    --------
    >>> compile_experiment_search("name LIKE 'a%'", None, ("active",)).params
    ['active', 'a%']
    """
    expr = parse_with(filter_string, EXPERIMENTS)
    keys = parse_order_keys(order_by, EXPERIMENTS)
    params = _Params()
    scope = [_in_list("e.lifecycle_stage", lifecycle_stages, params)]
    where = _where(scope, expr, params, _experiment_comparison)
    order = "ORDER BY " + ", ".join(_experiment_order(keys))
    sql = "\n".join(["SELECT e.experiment_id", "FROM experiments AS e", where, order])
    return Query(sql, params.values, chips(expr))
