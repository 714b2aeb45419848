"""``search_logged_models``: MLflow 3's filter grammar over logged models, compiled to one query.

The filter is parsed by the shared parser with a grammar of its own (MLflow's
``SearchLoggedModelsUtils``: attributes ``name``, ``model_id``, ``model_type``, ``status``,
``source_run_id`` and the creation/update times; ``metrics.``, ``params.``, ``tags.``).
``order_by`` is MLflow 3's list of dicts (``{"field_name": "metrics.acc", "ascending": False,
"dataset_name": ...}``); the default order is ``creation_timestamp DESC, model_id ASC``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nbtrack.errors import InvalidFilter
from nbtrack.search._compile import Query, _in_list, _Params, _test, _where
from nbtrack.search._grammar import LIST_OPS, NUMERIC_OPS, STRING_OPS, Grammar, _aliases
from nbtrack.search._parser import parse_with
from nbtrack.search.ast import Comparison, chips

__all__ = ["LOGGED_MODELS", "compile_logged_model_search"]

_TIMES = {"creation_timestamp": "creation_timestamp", "creation_time": "creation_timestamp",
          "last_updated_timestamp": "last_updated_timestamp", "last_updated_time": "last_updated_timestamp"}
_TEXT = ("name", "model_id", "model_type", "status", "source_run_id")

LOGGED_MODELS = Grammar(
    name="logged_models",
    entities=_aliases(
        metric=("metric", "metrics"),
        param=("param", "params"),
        tag=("tag", "tags"),
        attribute=("attribute", "attributes", "attr"),
    ),
    attributes={**{k: k for k in _TEXT}, **_TIMES},
    numeric_attributes=frozenset({"creation_timestamp", "last_updated_timestamp"}),
    list_attributes=frozenset(_TEXT),
    order_attributes={**{k: k for k in _TEXT}, **_TIMES},
    order_entities=frozenset({"metric", "attribute"}),
    ops={"metric": NUMERIC_OPS, "param": STRING_OPS + LIST_OPS, "tag": STRING_OPS + LIST_OPS},
    hints={
        "metric": "metrics support = != < <= > >=",
        "param": "params support = != LIKE ILIKE IN NOT IN",
        "tag": "tags support = != LIKE ILIKE IN NOT IN",
    },
    null_message="IS NULL / IS NOT NULL is not supported in search_logged_models ({entity} '{key}')",
)

_RELATIONS = {"param": "logged_model_params", "tag": "logged_model_tags", "metric": "logged_model_metrics"}


def _dataset_test(datasets: Sequence[Mapping[str, Any]], alias: str, params: _Params) -> str:
    """``(name = ? [AND digest = ?]) OR ...`` over ``alias``; empty when no dataset is given."""
    terms = []
    for d in datasets:
        term = f"{alias}.dataset_name = {params.one(d['dataset_name'])}"
        if d.get("dataset_digest"):
            term += f" AND {alias}.dataset_digest = {params.one(d['dataset_digest'])}"
        terms.append(f"({term})")
    return f" AND ({' OR '.join(terms)})" if terms else ""


def _leaf(datasets: Sequence[Mapping[str, Any]]) -> Any:
    def leaf(term: Comparison, params: _Params) -> str:
        if term.entity == "attribute":
            return _test(f"m.{term.key}", term.op, term.value, params)
        relation = _RELATIONS[term.entity]
        key = params.one(term.key)
        test = _test("x.value", term.op, term.value, params)
        if term.entity == "metric" and term.op in (">", ">="):
            test = f"({test} AND NOT {params.dialect.isnan.format(x='x.value')})"  # NaN sorts above +inf
        extra = _dataset_test(datasets, "x", params) if term.entity == "metric" else ""
        return f"m.model_id IN (SELECT x.model_id FROM {relation} AS x WHERE x.key = {key} AND {test}{extra})"
    return leaf


def _order(order_by: Sequence[Mapping[str, Any]] | None, params: _Params) -> tuple[list[str], list[str]]:
    """(joins, ORDER BY terms) for MLflow 3's order_by dicts; nulls sort last, as MLflow."""
    joins: list[str] = []
    terms: list[str] = []
    for i, ob in enumerate(order_by or []):
        field_name = ob.get("field_name") if isinstance(ob, Mapping) else None
        if not isinstance(field_name, str) or not field_name:
            raise InvalidFilter(f"Invalid order_by entry {ob!r}: pass dicts such as "
                                "{'field_name': 'metrics.accuracy', 'ascending': False}.")
        direction = "ASC" if ob.get("ascending", True) else "DESC"
        if "." not in field_name:
            column = LOGGED_MODELS.order_attributes.get(field_name)
            if column is None:
                raise InvalidFilter(f"Invalid order by field name: {field_name}. Use one of "
                                    f"{', '.join(sorted(LOGGED_MODELS.order_attributes))} or metrics.<key>.")
            terms.append(f"m.{column} {direction} NULLS LAST")
            continue
        entity, key = field_name.split(".", 1)
        if entity != "metrics":
            raise InvalidFilter(f"Invalid order by field name: {field_name}. Only metrics are supported.")
        a = f"o{i}"
        wanted = params.one(key)  # placeholders are numbered in the order they are made
        extra = _dataset_test([ob] if ob.get("dataset_name") else [], "x", params)
        if params.dialect.name == "postgresql":  # the latest value per model: DISTINCT ON, no arg_max
            latest = (f"SELECT DISTINCT ON (x.model_id) x.model_id, x.value FROM logged_model_metrics AS x "
                      f"WHERE x.key = {wanted}{extra} ORDER BY x.model_id, x.timestamp DESC, x.step DESC")
        else:
            latest = (f"SELECT x.model_id, arg_max(x.value, struct_pack(t := x.timestamp, s := x.step)) AS value "
                      f"FROM logged_model_metrics AS x WHERE x.key = {wanted}{extra} GROUP BY x.model_id")
        joins.append(f"LEFT JOIN ({latest}) AS {a} ON {a}.model_id = m.model_id")
        terms.append(f"{a}.value {direction} NULLS LAST")
    if not any(t.startswith("m.creation_timestamp ") for t in terms):
        terms.append("m.creation_timestamp DESC")
    if not any(t.startswith("m.model_id ") for t in terms):
        terms.append("m.model_id ASC")
    return joins, terms


def compile_logged_model_search(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    datasets: Sequence[Mapping[str, Any]] | None = None,
    order_by: Sequence[Mapping[str, Any]] | None = None,
    dialect: str = "duckdb",
) -> Query:
    """Compile a ``search_logged_models`` request into ``SELECT m.model_id FROM logged_models AS m ...``.

    ``datasets`` (``[{"dataset_name": ..., "dataset_digest": ...}]``) restricts which metric values
    the metric filters look at, as MLflow 3 does. Append ``" LIMIT ? OFFSET ?"`` to page.

    Examples
    --------
    >>> compile_logged_model_search(["1"], "params.alpha = '0.5'").params
    ['1', 'alpha', '0.5']
    """
    for d in datasets or []:
        if not isinstance(d, Mapping) or not d.get("dataset_name"):
            raise InvalidFilter(f"Each dataset must be a dict with a 'dataset_name' (and optionally "
                                f"'dataset_digest'), got {d!r}.")
    expr = parse_with(filter_string, LOGGED_MODELS)
    params = _Params(dialect)
    joins, terms = _order(order_by, params)
    scope = [_in_list("m.experiment_id", experiment_ids, params), "m.lifecycle_stage = 'active'"]
    where = _where(scope, expr, params, _leaf(datasets or []))
    sql = "\n".join(["SELECT m.model_id", "FROM logged_models AS m", *joins, where, "ORDER BY " + ", ".join(terms)])
    return Query(sql, params.values, chips(expr))

