"""What each search grammar allows: entities, keys and comparators per kind of key.

Two grammars share one parser: ``search_runs`` and ``search_experiments`` (MLflow's
``SearchUtils`` and ``SearchExperimentsUtils``). The tables here are the only place the
two differ, so the parser and the error messages read everything from them.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
LIST_OPS = ("IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")
ALL_OPS = frozenset(NUMERIC_OPS + STRING_OPS + LIST_OPS + NULL_OPS)


@dataclass(frozen=True)
class Grammar:
    """The vocabulary of one search endpoint.

    ``kinds`` maps a canonical entity to the kind of its keys (``number`` or
    ``string``) and ``ops`` maps an entity (or ``attribute:<key>``) to its comparators.
    """

    name: str
    entities: dict[str, str]
    attributes: dict[str, str]
    numeric_attributes: frozenset[str]
    list_attributes: frozenset[str]
    order_attributes: dict[str, str]
    order_entities: frozenset[str]
    ops: dict[str, tuple[str, ...]]
    hints: dict[str, str]
    null_message: str
    dataset_keys: tuple[str, ...] = ()

    def entity(self, name: str) -> str | None:
        """Return the canonical entity for ``name`` (``metrics`` -> ``metric``) or None."""
        return self.entities.get(name)

    def entity_names(self) -> str:
        """The accepted entity spellings, grouped: ``metric|metrics, tag|tags, ...``."""
        groups: dict[str, list[str]] = {}
        for alias, canonical in self.entities.items():
            groups.setdefault(canonical, []).append(alias)
        return ", ".join("|".join(names) for names in groups.values())

    def comparators(self, entity: str, key: str) -> tuple[str, ...]:
        """Return the comparators allowed on ``entity``.``key`` (key already canonical)."""
        if entity != "attribute":
            return self.ops[entity]
        if key in self.numeric_attributes:
            return NUMERIC_OPS
        if key in self.list_attributes:
            return STRING_OPS + LIST_OPS
        return STRING_OPS

    def hint(self, entity: str, key: str) -> str:
        """Return the "what is allowed" half of a comparator error."""
        if entity == "attribute":
            return f"attribute '{key}' supports {' '.join(self.comparators(entity, key))}"
        return self.hints[entity]

    def expects_number(self, entity: str, key: str) -> bool:
        """Whether the value compared with ``entity``.``key`` must be a numeric literal."""
        return entity == "metric" or (entity == "attribute" and key in self.numeric_attributes)


def _aliases(**groups: tuple[str, ...]) -> dict[str, str]:
    return {alias: canonical for canonical, names in groups.items() for alias in names}


RUNS = Grammar(
    name="runs",
    entities=_aliases(
        metric=("metric", "metrics"),
        param=("param", "params", "parameter", "parameters"),
        tag=("tag", "tags"),
        attribute=("attribute", "attributes", "attr", "run"),
        dataset=("dataset", "datasets"),
    ),
    attributes={
        **{k: k for k in ("run_id", "run_name", "status", "user_id", "artifact_uri")},
        **{k: k for k in ("start_time", "end_time")},
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
    },
    numeric_attributes=frozenset({"start_time", "end_time"}),
    list_attributes=frozenset({"run_id"}),
    order_attributes={
        **{k: k for k in ("artifact_uri", "end_time", "run_id", "run_name", "status", "user_id")},
        "start_time": "start_time",
        "created": "start_time",
        "Created": "start_time",
    },
    order_entities=frozenset({"metric", "param", "tag", "attribute"}),
    ops={
        "metric": NUMERIC_OPS,
        "param": STRING_OPS + LIST_OPS + NULL_OPS,
        "tag": STRING_OPS + LIST_OPS + NULL_OPS,
        "dataset": STRING_OPS + LIST_OPS,
    },
    hints={
        "metric": "metrics support = != < <= > >=",
        "param": "params support = != LIKE ILIKE IN NOT IN IS NULL IS NOT NULL",
        "tag": "tags support = != LIKE ILIKE IN NOT IN IS NULL IS NOT NULL",
        "dataset": "dataset keys support = != LIKE ILIKE IN NOT IN",
    },
    null_message=(
        "IS NULL / IS NOT NULL is only supported for tags and params, not for '{entity}' '{key}'"
    ),
    dataset_keys=("name", "digest", "context"),
)

EXPERIMENTS = Grammar(
    name="experiments",
    entities=_aliases(attribute=("attribute", "attributes"), tag=("tag", "tags")),
    attributes={k: k for k in ("name", "experiment_id", "creation_time", "last_update_time")},
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
    list_attributes=frozenset({"experiment_id"}),
    order_attributes={k: k for k in ("name", "experiment_id", "creation_time", "last_update_time")},
    order_entities=frozenset({"attribute"}),
    ops={"tag": STRING_OPS + LIST_OPS + NULL_OPS},
    hints={"tag": "tags support = != LIKE ILIKE IN NOT IN IS NULL IS NOT NULL"},
    null_message="IS NULL / IS NOT NULL is only supported for tags, not for {entity} '{key}'",
)
