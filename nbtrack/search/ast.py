"""The typed filter tree that :func:`nbtrack.search.parse_filter` returns.

Nodes are frozen dataclasses with no behaviour beyond :meth:`describe`, which renders
the short sentence shown on a filter chip (``metrics.acc > 0.9`` -> ``acc > 0.9``).
Entities and keys are canonical: ``metrics``/``metric`` both become ``"metric"``,
``created`` becomes ``start_time`` and ``Run Name`` becomes ``run_name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["And", "Comparison", "Expr", "Not", "Or", "OrderKey", "Value", "chips"]

#: A comparison's right-hand side: a number (metrics, numeric attributes), a string,
#: a tuple of strings (``IN``/``NOT IN``) or ``None`` (``IS NULL``/``IS NOT NULL``).
Value: TypeAlias = "float | int | str | tuple[str, ...] | None"

_PHRASES = {
    "=": "is",
    "!=": "is not",
    "LIKE": "matches",
    "ILIKE": "matches (any case)",
    "IN": "is one of",
    "NOT IN": "is none of",
}


def _quote(text: str) -> str:
    return repr(text)


def _number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _render_value(value: Value) -> str:
    if isinstance(value, tuple):
        return ", ".join(_quote(v) for v in value)
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return ""
    return _number(value)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``<entity>.<key> <op> <value>`` term.

    ``entity`` is one of ``metric``, ``param``, ``tag``, ``attribute``, ``dataset``;
    ``op`` is upper case (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``,
    ``ILIKE``, ``IN``, ``NOT IN``, ``IS NULL``, ``IS NOT NULL``).
    """

    entity: str
    key: str
    op: str
    value: Value = None

    def describe(self) -> str:
        """Return the chip text, e.g. ``"acc > 0.9"`` or ``"param model is 'rf'"``."""
        if self.op == "IS NULL":
            return f"{self._subject()} is not set"
        if self.op == "IS NOT NULL":
            return f"{self._subject()} is set"
        if self.entity == "metric" or isinstance(self.value, int | float):
            return f"{self._subject()} {self.op} {_render_value(self.value)}"
        return f"{self._subject()} {_PHRASES[self.op]} {_render_value(self.value)}"

    def _subject(self) -> str:
        if self.entity in ("metric", "attribute"):
            return self.key
        return f"{self.entity} {self.key}"


@dataclass(frozen=True, slots=True)
class And:
    """All of ``terms`` hold."""

    terms: tuple[Expr, ...]

    def describe(self) -> str:
        return " and ".join(_grouped(t, Or) for t in self.terms)


@dataclass(frozen=True, slots=True)
class Or:
    """At least one of ``terms`` holds."""

    terms: tuple[Expr, ...]

    def describe(self) -> str:
        return " or ".join(_grouped(t, And) for t in self.terms)


@dataclass(frozen=True, slots=True)
class Not:
    """``term`` does not hold (a run lacking the key is *not* matched by ``term``)."""

    term: Expr

    def describe(self) -> str:
        return f"not {_grouped(self.term, And, Or)}"


def _grouped(term: Expr, *needs_parens: type) -> str:
    text = term.describe()
    return f"({text})" if isinstance(term, needs_parens) else text


Expr: TypeAlias = "Comparison | And | Or | Not"


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``order_by`` entry: ``entity`` is ``metric``, ``param``, ``tag`` or ``attribute``."""

    entity: str
    key: str
    ascending: bool = True

    def describe(self) -> str:
        """Return e.g. ``"acc descending"`` or ``"param lr ascending"``."""
        subject = (
            self.key if self.entity in ("metric", "attribute") else f"{self.entity} {self.key}"
        )
        return f"{subject} {'ascending' if self.ascending else 'descending'}"


def chips(expr: Expr | None) -> list[str]:
    """Return one description per top-level AND term of ``expr`` (none for None)."""
    if expr is None:
        return []
    terms = expr.terms if isinstance(expr, And) else (expr,)
    return [term.describe() for term in terms]
