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

Dialects: the same tree compiles for DuckDB (the default) and PostgreSQL (``dialect="postgresql"``).
One compiler with a small :class:`Dialect` table, rather than SQLGlot or SQLAlchemy Core, because the
two engines differ in exactly three places this module emits, and each is a *semantic* choice, not
syntax a transpiler knows: how to test NaN (``isnan(x)`` vs ``x = 'NaN'::float8``; both engines
sort NaN above +inf), LIKE without an escape character (DuckDB has none by default; PostgreSQL's
is a backslash, so it gets ``ESCAPE ''`` to match MLflow's SQLite behaviour), and a cast that
yields NULL for a non-number (``TRY_CAST`` vs a guarded ``CASE``). Placeholders stay ``?``; the
PostgreSQL backend converts them to psycopg's ``%s`` in one place (``store/postgres/_db.pyformat``).
A library would add a dependency and a second representation of the tree for three lines of text.

Past ``_SEMI_JOINS_UP_TO`` joins the *grouped* shape is used instead: one ``LEFT JOIN`` per
relation, ``(SELECT run_id, bool_or(key = ? AND <test>) AS c0, ... GROUP BY run_id)``, and each
comparison becomes ``COALESCE(g.c0, FALSE)`` (``NOT ...`` for ``IS NULL``). It means the same
(some row of the run passes the test) but costs one hash table per relation instead of one per
comparison: DuckDB 2.0 gives each hash join about 4 MB, so under the archive's 128 MB memory
limit the semi-join shape ran out of memory at 16 comparisons on 2,000 runs, while the grouped
shape ran 2,000 comparisons in 0.35 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeAlias

from nbtrack.search._grammar import ALL_OPS, EXPERIMENTS, RUNS
from nbtrack.search._parser import parse_order_keys, parse_with
from nbtrack.search.ast import And, Comparison, Expr, Not, Or, OrderKey, Value, chips

__all__ = ["DIALECTS", "Dialect", "Query", "compile_experiment_search", "compile_run_search"]

# entity -> (relation, alias); each relation has one row per (run_id, key)
_RUN_RELATIONS = {
    "metric": ("latest_metrics", "m"),
    "param": ("params", "p"),
    "tag": ("tags", "t"),
}
_DATASET_COLUMNS = {"name": "i.dataset_name", "digest": "i.dataset_digest", "context": "i.context"}
#: The semi-join shape is used while a search needs at most this many joins (comparisons on
#: metrics, params, tags or datasets, plus order_by keys); past it, the grouped shape.
_SEMI_JOINS_UP_TO = 8


@dataclass(frozen=True)
class Query:
    """A compiled search: run ``sql`` with ``params``; ``description`` holds the chips.

    The caller appends ``" LIMIT ? OFFSET ?"`` (and the two values) to page.
    """

    sql: str
    params: list[object] = field(default_factory=list)
    description: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Dialect:
    """What differs between the SQL engines the compiler targets (templates take ``{x}``)."""

    name: str
    isnan: str  # true for NaN, false for numbers and infinities
    like_suffix: str  # appended to LIKE/ILIKE tests: no escape character
    bigint_or_null: str  # a decimal string as BIGINT, NULL when it is not one


DIALECTS = {
    "duckdb": Dialect("duckdb", "isnan({x})", "", "TRY_CAST({x} AS BIGINT)"),
    "postgresql": Dialect("postgresql", "({x} = 'NaN'::float8)", " ESCAPE ''",
                          "CASE WHEN {x} ~ '^-?[0-9]{{1,18}}$' THEN CAST({x} AS BIGINT) END"),
}


def dialect_of(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown SQL dialect {name!r}; one of {sorted(DIALECTS)}") from None


class _Params:
    """Collects parameters in the order their ``?`` appear in the text (and the target dialect)."""

    def __init__(self, dialect: str = "duckdb") -> None:
        self.values: list[object] = []
        self.dialect = dialect_of(dialect)

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
    suffix = params.dialect.like_suffix if op in ("LIKE", "ILIKE") else ""
    return f"{column} {op} {params.one(value)}{suffix}"


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
        return f"({test} AND NOT {params.dialect.isnan.format(x=column)})"
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


def _relation_terms(expr: Expr | None, entities: frozenset[str]) -> list[Comparison]:
    """Every comparison on ``entities`` in ``expr``, repeats included, in reading order."""
    found: list[Comparison] = []
    stack: list[Expr] = [expr] if expr is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            if node.entity in entities:
                found.append(node)
        elif isinstance(node, Not):
            stack.append(node.term)
        else:
            stack.extend(reversed(node.terms))
    return found


@dataclass(frozen=True)
class _Relation:
    """Where the grouped shape reads one entity: ``relation`` keyed by ``id_column``."""

    relation: str
    alias: str
    id_column: str
    outer_id: str
    keyed: bool = True  # rows have a ``key`` column the comparisons name


def _grouped_join(rel: _Relation, terms: list[Comparison], params: _Params,
                  columns: dict[Comparison, str]) -> str:
    """``LEFT JOIN (SELECT id, bool_or(...) AS c0, ... GROUP BY id) AS g<alias> ON ...``."""
    a, g = rel.alias, f"g{rel.alias}"
    flags = []
    for n, term in enumerate(terms):
        if rel.keyed:
            test = f"{a}.key = {params.one(term.key)}"
            if term.op not in ("IS NULL", "IS NOT NULL"):
                test += f" AND {_value_test(term, a, params)}"
        else:
            test = _test(_DATASET_COLUMNS[term.key], term.op, term.value, params)
        flags.append(f"bool_or({test}) AS c{n}")
        columns[term] = f"{g}.c{n}"
    where = ""
    if rel.keyed:
        keys = list(dict.fromkeys(t.key for t in terms))
        where = f" WHERE {a}.key IN ({params.many(keys)})"
    return (f"LEFT JOIN (SELECT {a}.{rel.id_column}, {', '.join(flags)} FROM {rel.relation} AS {a}"
            f"{where} GROUP BY {a}.{rel.id_column}) AS {g} ON {g}.{rel.id_column} = {rel.outer_id}")


def _flag_leaf(term: Comparison, params: _Params, columns: dict[Comparison, str], other: _Leaf) -> str:
    """A comparison in the grouped shape: its flag column, or ``other`` for attributes."""
    if term not in columns:
        return other(term, params)
    flag = f"COALESCE({columns[term]}, FALSE)"
    return f"NOT {flag}" if term.op == "IS NULL" else flag


_RUN_GROUPED = {
    "metric": _Relation("latest_metrics", "m", "run_id", "r.run_id"),
    "param": _Relation("params", "p", "run_id", "r.run_id"),
    "tag": _Relation("tags", "t", "run_id", "r.run_id"),
    "dataset": _Relation("inputs", "i", "run_id", "r.run_id", keyed=False),
}
_EXPERIMENT_GROUPED = {"tag": _Relation("experiment_tags", "t", "experiment_id", "e.experiment_id")}


def _grouped_joins(expr: Expr | None, relations: dict[str, _Relation], params: _Params,
                   columns: dict[Comparison, str]) -> list[str]:
    terms = list(dict.fromkeys(_relation_terms(expr, frozenset(relations))))  # one flag per distinct test
    return [
        _grouped_join(rel, [t for t in terms if t.entity == entity], params, columns)
        for entity, rel in relations.items() if any(t.entity == entity for t in terms)
    ]


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
            isnan = params.dialect.isnan.format(x=f"{a}.value")
            rank = f"CASE WHEN {a}.value IS NULL THEN 2 WHEN {isnan} THEN 1 ELSE 0 END"
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
    dialect: str = "duckdb",
) -> Query:
    """Compile a ``search_runs`` request into one query over the store's views.

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
    dialect
        ``"duckdb"`` (the embedded store) or ``"postgresql"``; see :class:`Dialect`.

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
    return _compile_runs(expr, keys, experiment_ids, lifecycle_stages, dialect=dialect)


def _compile_runs(expr: Expr | None, keys: list[OrderKey], experiment_ids: list[str],
                  lifecycle_stages: tuple[str, ...], grouped: bool | None = None,
                  dialect: str = "duckdb") -> Query:
    """The run query for a parsed search; ``grouped`` forces a shape (None: by join count)."""
    params = _Params(dialect)
    joins, order = _run_order(keys, params)
    joined = _joined_keys(keys)
    leaf: _Leaf = partial(_run_comparison, joined=joined)
    if grouped is None:
        relation_terms = _relation_terms(expr, frozenset(_RUN_GROUPED))
        semi_joins = sum((t.entity, t.key) not in joined for t in relation_terms)
        grouped = semi_joins + len(joined) > _SEMI_JOINS_UP_TO
    if grouped:
        columns: dict[Comparison, str] = {}
        joins += _grouped_joins(expr, _RUN_GROUPED, params, columns)
        leaf = partial(_flag_leaf, columns=columns, other=leaf)
    scope = [
        _in_list("r.experiment_id", experiment_ids, params),
        _in_list("r.lifecycle_stage", lifecycle_stages, params),
    ]
    where = _where(scope, expr, params, leaf)
    sql = "\n".join(
        ["SELECT r.run_id", "FROM runs AS r", *joins, where, "ORDER BY " + ", ".join(order)]
    )
    return Query(sql, params.values, chips(expr))


def _experiment_order(keys: list[OrderKey], dialect: Dialect) -> list[str]:
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
            terms.append(f"{dialect.bigint_or_null.format(x='e.experiment_id')} {direction} NULLS LAST")
            terms.append(f"e.experiment_id {direction}")
        else:
            terms.append(f"e.{key.key} {direction} NULLS LAST")
    return terms


def compile_experiment_search(
    filter_string: str | None,
    order_by: list[str] | None,
    lifecycle_stages: tuple[str, ...],
    dialect: str = "duckdb",
    workspace: str | None = None,
) -> Query:
    """Compile a ``search_experiments`` request into one query (``dialect`` as for runs).

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
    return _compile_experiments(expr, keys, lifecycle_stages, dialect=dialect, workspace=workspace)


def _compile_experiments(expr: Expr | None, keys: list[OrderKey], lifecycle_stages: tuple[str, ...],
                         grouped: bool | None = None, dialect: str = "duckdb",
                         workspace: str | None = None) -> Query:
    """The experiment query for a parsed search; ``grouped`` as in :func:`_compile_runs`;
    ``workspace``: only that workspace's experiments (backends with workspaces)."""
    params = _Params(dialect)
    if grouped is None:
        grouped = len(_relation_terms(expr, frozenset(_EXPERIMENT_GROUPED))) > _SEMI_JOINS_UP_TO
    joins: list[str] = []
    leaf: _Leaf = _experiment_comparison
    if grouped:
        columns: dict[Comparison, str] = {}
        joins = _grouped_joins(expr, _EXPERIMENT_GROUPED, params, columns)
        leaf = partial(_flag_leaf, columns=columns, other=leaf)
    scope = [_in_list("e.lifecycle_stage", lifecycle_stages, params)]
    if workspace is not None:
        scope.append(_in_list("e.workspace", (workspace,), params))
    where = _where(scope, expr, params, leaf)
    order = "ORDER BY " + ", ".join(_experiment_order(keys, params.dialect))
    sql = "\n".join(["SELECT e.experiment_id", "FROM experiments AS e", *joins, where, order])
    return Query(sql, params.values, chips(expr))
