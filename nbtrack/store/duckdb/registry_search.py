"""``search_registered_models`` and ``search_model_versions`` filters compiled to DuckDB SQL.

The filter and ``order_by`` text is parsed by the shared search parser (so the registry
accepts the same quoting, ``OR``/``NOT``/parentheses and gives the same column-pointing
errors as ``search_runs``) under two grammars that carry MLflow's vocabulary:

* registered models: ``name`` (``= != LIKE ILIKE IN NOT IN``) and ``tags.<key>``
  (``= != LIKE ILIKE``); order by ``name``, ``creation_timestamp``,
  ``last_updated_timestamp``; ties broken by name ascending.
* model versions: ``name`` and ``run_id`` (``= != LIKE ILIKE IN NOT IN``), ``source_path``
  (``= != LIKE ILIKE``), ``version_number`` (``= != < <= > >=``) and ``tags.<key>``; order by
  ``name``, ``version_number``, ``creation_timestamp``, ``last_updated_timestamp``; by default
  ``last_updated_timestamp DESC, name ASC, version_number DESC``.

Every value and tag key is a ``?`` parameter; column names and comparators come from the
fixed tables below. A filter with more than a few tag comparisons is compiled to one grouped
``LEFT JOIN`` of flags instead of one subquery per comparison, as in ``nbtrack.search._compile``
(each DuckDB hash join takes about 4 MB of the archive's 128 MB).
"""

from __future__ import annotations

from typing import Any

from nbtrack.search._compile import _SEMI_JOINS_UP_TO, _relation_terms, dialect_of
from nbtrack.search._grammar import ALL_OPS, STRING_OPS, Grammar
from nbtrack.search._parser import parse_order_keys, parse_with
from nbtrack.search.ast import And, Comparison, Expr, Not, Or, OrderKey

__all__ = ["MODEL_VERSIONS", "REGISTERED_MODELS", "model_version_query", "registered_model_query"]

_TIME_KEYS = {
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
    "timestamp": "last_updated_timestamp",
}

REGISTERED_MODELS = Grammar(
    name="registered_models",
    entities={"attribute": "attribute", "attributes": "attribute", "tag": "tag", "tags": "tag"},
    attributes={"name": "name"},
    numeric_attributes=frozenset(),
    list_attributes=frozenset({"name"}),
    order_attributes={"name": "name", **_TIME_KEYS},
    order_entities=frozenset({"attribute"}),
    ops={"tag": STRING_OPS},
    hints={"tag": "registered model tags support = != LIKE ILIKE"},
    null_message="IS NULL / IS NOT NULL is not supported for {entity} '{key}' in a registered model search",
)

MODEL_VERSIONS = Grammar(
    name="model_versions",
    entities={"attribute": "attribute", "attributes": "attribute", "tag": "tag", "tags": "tag"},
    attributes={k: k for k in ("name", "run_id", "source_path", "version_number")},
    numeric_attributes=frozenset({"version_number"}),
    list_attributes=frozenset({"name", "run_id"}),
    order_attributes={"name": "name", "version_number": "version_number", **_TIME_KEYS},
    order_entities=frozenset({"attribute"}),
    ops={"tag": STRING_OPS},
    hints={"tag": "model version tags support = != LIKE ILIKE"},
    null_message="IS NULL / IS NOT NULL is not supported for {entity} '{key}' in a model version search",
)

_MODEL_COLUMNS = {
    "name": "m.name",
    "creation_timestamp": "m.creation_time",
    "last_updated_timestamp": "m.last_updated_time",
}
_VERSION_COLUMNS = {
    "name": "m.name",
    "run_id": "v.run_id",
    "source_path": "v.source",
    "version_number": "v.version",
    "creation_timestamp": "v.creation_time",
    "last_updated_timestamp": "v.last_updated_time",
}
_MODEL_TAG = "m.model_id IN (SELECT t.model_id FROM arc.registered_model_tags AS t WHERE t.key = ? AND {test})"
_VERSION_TAG = (
    "EXISTS (SELECT 1 FROM arc.model_version_tags AS t WHERE t.model_id = v.model_id "
    "AND t.version = v.version AND t.key = ? AND {test})"
)


def _render(expr: Expr, columns: dict[str, str], tag_sql: str, params: list[Any],
            flags: dict[Comparison, str] | None = None, like: str = "") -> str:
    if isinstance(expr, Not):
        return f"NOT COALESCE({_render(expr.term, columns, tag_sql, params, flags, like)}, FALSE)"
    if isinstance(expr, And | Or):
        joiner = " AND " if isinstance(expr, And) else " OR "
        return "(" + joiner.join(_render(t, columns, tag_sql, params, flags, like) for t in expr.terms) + ")"
    assert isinstance(expr, Comparison)
    if expr.op not in ALL_OPS:  # the parser guarantees this; guard the one splice point anyway
        raise ValueError(f"unexpected comparator {expr.op!r}")
    if flags is not None and expr in flags:
        return f"COALESCE({flags[expr]}, FALSE)"
    if expr.entity == "tag":
        params.append(expr.key)
        return tag_sql.format(test=_test("t.value", expr, params, like))
    return _test(columns[expr.key], expr, params, like)


def _test(column: str, term: Comparison, params: list[Any], like: str = "") -> str:
    """``like`` follows LIKE/ILIKE: the dialect's "no escape character" (see nbtrack.search.Dialect)."""
    if term.op in ("IN", "NOT IN"):
        assert isinstance(term.value, tuple)
        params.extend(term.value)
        return f"{column} {term.op} ({', '.join('?' * len(term.value))})"
    params.append(term.value)
    return f"{column} {term.op} ?{like if term.op in ('LIKE', 'ILIKE') else ''}"


def _tag_flags(expr: Expr | None, table: str, ids: tuple[str, ...], outer: str,
               params: list[Any], like: str = "") -> tuple[str, dict[Comparison, str] | None]:
    """Past a few tag comparisons, one ``LEFT JOIN`` computing a flag per comparison."""
    terms = _relation_terms(expr, frozenset({"tag"}))
    if len(terms) <= _SEMI_JOINS_UP_TO:
        return "", None
    terms = list(dict.fromkeys(terms))
    flags: dict[Comparison, str] = {}
    selected = []
    for n, term in enumerate(terms):
        params.append(term.key)
        selected.append(f"bool_or(t.key = ? AND {_test('t.value', term, params, like)}) AS c{n}")
        flags[term] = f"g.c{n}"
    keys = list(dict.fromkeys(t.key for t in terms))
    params.extend(keys)
    id_list = ", ".join(f"t.{c}" for c in ids)
    on = " AND ".join(f"g.{c} = {outer}.{c}" for c in ids)
    join = (f" LEFT JOIN (SELECT {id_list}, {', '.join(selected)} FROM {table} AS t WHERE t.key IN "
            f"({', '.join('?' * len(keys))}) GROUP BY {id_list}) AS g ON {on}")
    return join, flags


def _order(keys: list[OrderKey], columns: dict[str, str], tiebreak: list[OrderKey]) -> str:
    seen = {k.key for k in keys}
    keys = keys + [k for k in tiebreak if k.key not in seen]
    return ", ".join(f"{columns[k.key]} {'ASC' if k.ascending else 'DESC'}" for k in keys)


def registered_model_query(filter_string: str | None, order_by: list[str] | None,
                           dialect: str = "duckdb", workspace: str | None = None) -> tuple[str, list[Any]]:
    """``SELECT m.model_id ...`` for a registered model search; append LIMIT/OFFSET. The SQL names
    the ``arc.`` tables, which both backends have (PostgreSQL's are in the schema ``arc``).
    ``workspace``: only that workspace's models (backends with workspaces)."""
    like = dialect_of(dialect).like_suffix
    expr = parse_with(filter_string, REGISTERED_MODELS)
    keys = parse_order_keys(order_by, REGISTERED_MODELS)
    params: list[Any] = []
    join, flags = _tag_flags(expr, "arc.registered_model_tags", ("model_id",), "m", params, like)
    where = _render(expr, _MODEL_COLUMNS, _MODEL_TAG, params, flags, like) if expr is not None else "TRUE"
    order = _order(keys, _MODEL_COLUMNS, [OrderKey("attribute", "name")])
    where, params = _in_workspace(where, params, workspace)
    return f"SELECT m.model_id FROM arc.registered_models AS m{join} WHERE {where} ORDER BY {order}", params


def _in_workspace(where: str, params: list[Any], workspace: str | None) -> tuple[str, list[Any]]:
    if workspace is None:
        return where, params
    return f"({where}) AND m.workspace = ?", [*params, workspace]


def model_version_query(filter_string: str | None, order_by: list[str] | None,
                        dialect: str = "duckdb", workspace: str | None = None) -> tuple[str, list[Any]]:
    """``SELECT v.model_id, v.version ...`` for a model version search; append LIMIT/OFFSET."""
    like = dialect_of(dialect).like_suffix
    expr = parse_with(filter_string, MODEL_VERSIONS)
    keys = parse_order_keys(order_by, MODEL_VERSIONS) or [
        OrderKey("attribute", "last_updated_timestamp", False),
        OrderKey("attribute", "name"),
        OrderKey("attribute", "version_number", False),
    ]
    params: list[Any] = []
    join, flags = _tag_flags(expr, "arc.model_version_tags", ("model_id", "version"), "v", params, like)
    where = _render(expr, _VERSION_COLUMNS, _VERSION_TAG, params, flags, like) if expr is not None else "TRUE"
    order = _order(keys, _VERSION_COLUMNS,
                   [OrderKey("attribute", "name"), OrderKey("attribute", "version_number", False)])
    where, params = _in_workspace(where, params, workspace)
    sql = (
        "SELECT v.model_id, v.version FROM arc.model_versions AS v "
        f"JOIN arc.registered_models AS m ON m.model_id = v.model_id{join} WHERE {where} ORDER BY {order}"
    )
    return sql, params
