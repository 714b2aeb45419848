"""Recursive-descent parser for MLflow filter strings and ``order_by`` clauses.

It reads characters directly (no separate token list) so every error can name the
exact 1-based column. Grammar, loosest binding first::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*          -- OR: nbtrack extension
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | primary            -- NOT: nbtrack extension
    primary    := "(" or_expr ")" | comparison        -- parens: nbtrack extension
    comparison := identifier comparator [value]
    identifier := [entity "."] key                    -- a bare key is an attribute
    order_by   := identifier ["ASC" | "DESC"]

Keywords are case-insensitive. Entities may be backticked; keys may be quoted with
backticks, double or single quotes, and an unquoted key may contain dots
(``tags.mlflow.runName``) because MLflow splits on the first dot only. Inside a quoted
string a doubled quote stands for itself (``'it''s'``).
"""

from __future__ import annotations

import re

from nbtrack.errors import InvalidFilter, InvalidParameter
from nbtrack.search._grammar import EXPERIMENTS, LIST_OPS, NULL_OPS, RUNS, Grammar
from nbtrack.search.ast import And, Comparison, Expr, Not, Or, OrderKey, Value

__all__ = ["MAX_COMPARISONS", "MAX_DEPTH", "MAX_ORDER_KEYS", "parse_experiment_filter", "parse_filter",
           "parse_order_keys"]

#: Limits no real filter reaches, set well inside what DuckDB 2.0 binds and runs (README, Search):
#: parentheses and NOT nested at most this deep ...
MAX_DEPTH = 100
#: ... at most this many comparisons in one filter ...
MAX_COMPARISONS = 500
#: ... and at most this many order_by entries (each is a join).
MAX_ORDER_KEYS = 10

_WORD = re.compile(r"\w+")
_DOTTED_WORD = re.compile(r"[\w.]+")
_SYMBOLS = re.compile(r"[=!<>~]+")
_BARE_VALUE = re.compile(r"[^\s(),;]+")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_QUOTES = "'\"`"
_SYMBOLIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_NEEDS_QUOTING = "-/:+*@#$%^&|?"


class _Parser:
    """One pass over ``text``; ``pos`` is the 0-based read position."""

    def __init__(self, text: str, grammar: Grammar) -> None:
        self.text = text
        self.grammar = grammar
        self.pos = 0
        self.depth = 0  # parentheses and NOTs open around the read position
        self.comparisons = 0

    # ---- low-level reading -------------------------------------------------------

    def error(self, problem: str, pos: int, hint: str = "") -> InvalidFilter:
        """``<problem> at column <n>[; <hint>]``, pointing at 0-based ``pos``."""
        message = f"{problem} at column {pos + 1}" + (f"; {hint}" if hint else "")
        return InvalidFilter(message, self.text, pos + 1)

    def skip_ws(self) -> int:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos

    def at_end(self) -> bool:
        return self.skip_ws() >= len(self.text)

    def peek_word(self) -> str:
        match = _WORD.match(self.text, self.skip_ws())
        return match.group() if match else ""

    def keyword(self, word: str) -> int | None:
        """Consume ``word`` (any case) if it is next; return its position."""
        start = self.skip_ws()
        if self.peek_word().upper() != word:
            return None
        self.pos = start + len(word)
        return start

    def snippet(self, pos: int) -> str:
        """The text at ``pos`` for an error message: one bare run of characters."""
        if pos >= len(self.text):
            return "the end of the filter"
        match = _BARE_VALUE.match(self.text, pos)
        return repr(match.group() if match else self.text[pos])

    def quoted(self) -> str:
        """Read a string quoted with the character at ``pos``; a doubled quote escapes."""
        start, quote = self.pos, self.text[self.pos]
        parts, i = [], start + 1
        while True:
            end = self.text.find(quote, i)
            if end < 0:
                raise self.error(
                    f"unterminated quote ({quote}) starting", start, f"close it with {quote}"
                )
            parts.append(self.text[i:end])
            if self.text.startswith(quote, end + 1):
                parts.append(quote)
                i = end + 2
                continue
            self.pos = end + 1
            return "".join(parts)

    # ---- boolean structure -------------------------------------------------------

    def parse(self) -> Expr | None:
        if self.at_end():
            return None
        expr = self.or_expr()
        if not self.at_end():
            pos = self.pos
            if self.text[pos] == ")":
                raise self.error("unexpected ')'", pos, "it has no matching '('")
            if self.text[pos] == ";":
                raise self.error("unexpected ';'", pos, "join conditions with AND")
            raise self.error(
                f"expected AND, OR or the end of the filter, found {self.snippet(pos)}", pos
            )
        return expr

    def or_expr(self) -> Expr:
        terms = [self.and_expr()]
        while (at := self.keyword("OR")) is not None:
            self.need_operand("OR", at)
            terms.append(self.and_expr())
        return _join(Or, terms)

    def and_expr(self) -> Expr:
        terms = [self.not_expr()]
        while (at := self.keyword("AND")) is not None:
            self.need_operand("AND", at)
            terms.append(self.not_expr())
        return _join(And, terms)

    def not_expr(self) -> Expr:
        at = self.keyword("NOT")
        if at is None:
            return self.primary()
        self.need_operand("NOT", at)
        self.enter(at)
        term = self.not_expr()
        self.depth -= 1
        return Not(term)

    def enter(self, at: int) -> None:
        """Open one level of nesting (a '(' or NOT at ``at``), refusing to go past MAX_DEPTH."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"the filter nests parentheses and NOT more than {MAX_DEPTH} levels deep",
                at, "flatten it (NOT (a OR b) is NOT a AND NOT b)",
            )

    def need_operand(self, word: str, at: int) -> None:
        if self.at_end() or self.text[self.pos] == ")":
            raise self.error(f"dangling {word}", at, f"add a comparison after {word} or remove it")

    def primary(self) -> Expr:
        pos = self.skip_ws()
        if self.at_end():
            raise self.error("expected a comparison, found the end of the filter", pos)
        if self.text[pos] == "(":
            self.pos += 1
            if not self.at_end() and self.text[self.pos] == ")":
                raise self.error(
                    "empty parentheses", pos, "put a comparison inside them or remove them"
                )
            self.enter(pos)
            expr = self.or_expr()
            if self.at_end() or self.text[self.pos] != ")":
                raise self.error("missing ')' to close '('", pos)
            self.pos += 1
            self.depth -= 1
            return expr
        word = self.peek_word().upper()
        if word in ("AND", "OR"):
            raise self.error(f"expected a comparison before {word}", pos)
        return self.comparison()

    # ---- one comparison ----------------------------------------------------------

    def comparison(self) -> Comparison:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.error(
                f"the filter has more than {MAX_COMPARISONS} comparisons", self.pos,
                "use IN ('a', 'b', ...) for many values of one key, or search in several calls",
            )
        entity, key = self.identifier(self.grammar.attributes)
        op, op_pos = self.comparator(entity, key)
        self.check_op(entity, key, op, op_pos)
        return Comparison(entity, key, op, self.value(entity, key, op))

    def identifier(self, attributes: dict[str, str]) -> tuple[str, str]:
        """Read ``[entity.]key`` and return the canonical (entity, key)."""
        start = self.skip_ws()
        first, quote = self.name_part(dotted=False)
        if not self.text.startswith(".", self.pos):
            return "attribute", self.attribute(first, start, attributes, bare=not quote)
        if quote not in ("", "`"):
            raise self.error(
                f"Invalid entity type {quote}{first}{quote}", start, "quote entities with backticks"
            )
        self.pos += 1
        key_pos = self.pos
        if key_pos >= len(self.text) or self.text[key_pos].isspace():
            raise self.error(f"expected a key after '{first}.'", key_pos, f"e.g. {first}.my_key")
        key, _ = self.name_part(dotted=True)
        entity = self.grammar.entity(first)
        if entity is None:
            valid = self.grammar.entity_names()
            raise self.error(f"Invalid entity type '{first}'", start, f"valid entities are {valid}")
        if entity == "attribute":
            return entity, self.attribute(key, key_pos, attributes, bare=False)
        if entity == "dataset" and key not in self.grammar.dataset_keys:
            valid = ", ".join(self.grammar.dataset_keys)
            raise self.error(f"Invalid dataset key '{key}'", key_pos, f"valid keys are {valid}")
        return entity, key

    def name_part(self, *, dotted: bool) -> tuple[str, str]:
        """Read a quoted or bare name; return (text, quote character or "")."""
        pos = self.pos
        if pos < len(self.text) and self.text[pos] in _QUOTES:
            return self.quoted(), self.text[pos]
        match = (_DOTTED_WORD if dotted else _WORD).match(self.text, pos)
        if match is None:
            raise self.error(
                f"expected a key such as metrics.acc or params.model, found {self.snippet(pos)}",
                pos,
            )
        self.pos = match.end()
        if self.pos < len(self.text) and self.text[self.pos] in _NEEDS_QUOTING:
            whole = _BARE_VALUE.match(self.text, pos)
            name = whole.group() if whole else match.group()
            raise self.error(
                f"key '{name}' contains '{self.text[self.pos]}' and must be quoted",
                pos,
                f"wrap it in backticks, e.g. metrics.`{name}`",
            )
        return match.group(), ""

    def attribute(self, key: str, pos: int, attributes: dict[str, str], *, bare: bool) -> str:
        if key in attributes:
            return attributes[key]
        valid = ", ".join(sorted(attributes))
        hint = f"valid keys are {valid}"
        if bare and self.grammar is RUNS:
            hint += f" (for a metric, param or tag write e.g. metrics.{key})"
        raise self.error(f"Invalid attribute key '{key}'", pos, hint)

    def comparator(self, entity: str, key: str) -> tuple[str, int]:
        pos = self.skip_ws()
        if pos >= len(self.text):
            raise self.error(
                f"expected a comparator after '{key}'", pos, self.grammar.hint(entity, key)
            )
        symbols = _SYMBOLS.match(self.text, pos)
        if symbols:
            self.pos = symbols.end()
            if symbols.group() in _SYMBOLIC_OPS:
                return symbols.group(), pos
            raise self.error(
                f"unknown comparator '{symbols.group()}'", pos, self.grammar.hint(entity, key)
            )
        word = self.peek_word().upper()
        if word in ("LIKE", "ILIKE", "IN"):
            self.pos += len(word)
            return word, pos
        if word == "NOT":
            self.pos += 3
            if self.keyword("IN") is None:
                raise self.error(
                    "expected IN after NOT", self.skip_ws(), self.grammar.hint(entity, key)
                )
            return "NOT IN", pos
        if word == "IS":
            self.pos += 2
            negated = self.keyword("NOT") is not None
            if self.keyword("NULL") is None:
                raise self.error(
                    "expected NULL after IS", self.skip_ws(), "write IS NULL or IS NOT NULL"
                )
            return ("IS NOT NULL" if negated else "IS NULL"), pos
        raise self.error(
            f"unknown comparator {self.snippet(pos)}", pos, self.grammar.hint(entity, key)
        )

    def check_op(self, entity: str, key: str, op: str, pos: int) -> None:
        allowed = self.grammar.comparators(entity, key)
        if op in allowed:
            return
        if op in NULL_OPS:
            raise self.error(self.grammar.null_message.format(entity=entity, key=key), pos)
        if op in LIST_OPS and entity == "attribute" and key not in self.grammar.numeric_attributes:
            only = ", ".join(f"'{k}'" for k in sorted(self.grammar.list_attributes))
            raise self.error(
                f"{op} is not supported for attribute '{key}'",
                pos,
                f"Only the {only} attribute supports comparison with a list of quoted string values",
            )
        raise self.error(
            f"Invalid comparator '{op}' for {entity} '{key}'", pos, self.grammar.hint(entity, key)
        )

    def order_key(self) -> tuple[OrderKey, int]:
        """Read ``identifier [ASC|DESC]`` up to the end; return the key and its column."""
        start = self.skip_ws()
        entity, key = self.identifier(self.grammar.order_attributes)
        if entity not in self.grammar.order_entities:
            allowed = ", ".join(sorted(self.grammar.order_entities))
            raise self.error(f"Invalid order_by entity: {entity}", start, f"order by {allowed}")
        ascending = True
        pos = self.skip_ws()
        word = self.peek_word()
        if word.upper() in ("ASC", "DESC"):
            self.pos = pos + len(word)
            ascending = word.upper() == "ASC"
        elif pos < len(self.text):
            raise self.error(f"invalid order direction {self.snippet(pos)}", pos, "use ASC or DESC")
        if not self.at_end():
            raise self.error(
                f"unexpected {self.snippet(self.pos)} after the order direction", self.pos
            )
        return OrderKey(entity, key, ascending), start

    def value(self, entity: str, key: str, op: str) -> Value:
        if op in NULL_OPS:
            return None
        pos = self.skip_ws()
        if op in LIST_OPS:
            return self.string_list(op)
        if pos >= len(self.text):
            raise self.error(f"expected a value after {op}", pos)
        char = self.text[pos]
        if char in _QUOTES:
            text, kind = self.quoted(), ("string" if char != "`" else "backticked")
        else:
            match = _BARE_VALUE.match(self.text, pos)
            text = match.group() if match else char
            self.pos = pos + len(text)
            kind = "number" if _NUMBER.fullmatch(text) else "bare"
        if self.grammar.expects_number(entity, key):
            if kind != "number":
                shown = self.text[pos : self.pos]
                raise self.error(
                    f"Expected numeric value type for {entity} '{key}', found {shown}",
                    pos,
                    f"compare with a number, e.g. {key} > 0.5",
                )
            return _to_number(text, integral=entity == "attribute")
        if kind != "string":
            raise self.error(
                f"Expected a quoted string value for {entity} '{key}', found {self.text[pos : self.pos]}",
                pos,
                f"use single or double quotes, e.g. '{text}'",
            )
        return text

    def string_list(self, op: str) -> tuple[str, ...]:
        start = self.pos
        if not self.text.startswith("(", start):
            raise self.error(f"expected a list after {op}", start, "e.g. IN ('a', 'b')")
        self.pos += 1
        values: list[str] = []
        while True:
            pos = self.skip_ws()
            if pos >= len(self.text):
                raise self.error("missing ')' to close the list", start)
            if self.text[pos] == ")" and values:
                self.pos += 1
                return tuple(values)
            if self.text[pos] not in "'\"":
                what = "empty list" if self.text[pos] == ")" else f"{self.snippet(pos)} in list"
                raise self.error(
                    f"{what} after {op}", pos, "the list needs quoted strings, e.g. ('a', 'b')"
                )
            values.append(self.quoted())
            pos = self.skip_ws()
            if pos >= len(self.text):
                raise self.error("missing ')' to close the list", start)
            if self.text.startswith(",", pos):
                self.pos += 1
            elif not self.text.startswith(")", pos):
                raise self.error(f"expected ',' or ')' in the list, found {self.snippet(pos)}", pos)


def _to_number(text: str, *, integral: bool) -> float | int:
    if integral and re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


def _join(kind: type[And] | type[Or], terms: list[Expr]) -> Expr:
    if len(terms) == 1:
        return terms[0]
    flat: list[Expr] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, kind) else (term,))
    return kind(tuple(flat))


def parse_with(filter_string: object, grammar: Grammar) -> Expr | None:
    """Parse ``filter_string`` under ``grammar``; None or blank means "match everything"."""
    if filter_string is None:
        return None
    if not isinstance(filter_string, str):
        raise InvalidParameter(
            f"filter_string must be a str, got {type(filter_string).__name__} "
            f"{_shown(filter_string)}: e.g. filter_string=\"metrics.acc > 0.9\""
        )
    _check_text(filter_string, "the filter")
    return _Parser(filter_string, grammar).parse()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_text(text: str, what: str) -> None:
    """Refuse text that is not valid UTF-8 (a lone surrogate), pointing at the character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidFilter(
            f"{what} holds {text[e.start]!r} at column {e.start + 1}, a lone surrogate that is not "
            "valid UTF-8; remove it, or decode the text it came from with errors='replace'",
            text.encode("utf-8", "backslashreplace").decode("utf-8"), e.start + 1,
        ) from None


def parse_filter(filter_string: str | None) -> Expr | None:
    """Parse a ``search_runs`` filter string into a typed tree.

    Parameters
    ----------
    filter_string
        MLflow filter syntax, e.g. ``"metrics.acc > 0.9 AND params.model = 'rf'"``;
        nbtrack also accepts ``OR``, ``NOT`` and parentheses, and ``IN``/``NOT IN``
        on params and tags.

    Returns
    -------
    Expr or None
        A :class:`~nbtrack.search.ast.Comparison`, ``And``, ``Or`` or ``Not``; None
        when the filter is empty or blank.

    Raises
    ------
    InvalidFilter
        With the problem and its 1-based column, e.g. ``unknown comparator '>>' at
        column 13; metrics support = != < <= > >=``.

    Examples
    --------
    >>> parse_filter("metrics.acc > 0.9")
    Comparison(entity='metric', key='acc', op='>', value=0.9)
    """
    return parse_with(filter_string, RUNS)


def parse_experiment_filter(filter_string: str | None) -> Expr | None:
    """Parse a ``search_experiments`` filter string (attributes and tags only)."""
    return parse_with(filter_string, EXPERIMENTS)


def parse_order_keys(order_by: object, grammar: Grammar) -> list[OrderKey]:
    """Parse ``order_by`` entries under ``grammar``; duplicates raise InvalidFilter."""
    if order_by is None:
        return []
    if not isinstance(order_by, list | tuple):
        raise InvalidParameter(
            f"order_by must be a list of strings, got {type(order_by).__name__} "
            f"{_shown(order_by)}: e.g. order_by=[\"metrics.acc DESC\"]"
        )
    if len(order_by) > MAX_ORDER_KEYS:
        raise InvalidFilter(
            f"order_by has {len(order_by)} entries; at most {MAX_ORDER_KEYS} are supported "
            "(sort the result further in pandas if you need more)"
        )
    keys: list[OrderKey] = []
    for clause in order_by:
        if not isinstance(clause, str):
            raise InvalidFilter(
                f"order_by entries must be strings, got {type(clause).__name__} {_shown(clause)}: "
                "e.g. order_by=[\"metrics.acc DESC\"]"
            )
        _check_text(clause, "the order_by entry")
        parser = _Parser(clause, grammar)
        if parser.at_end():
            raise parser.error("empty order_by clause", 0, "write e.g. 'metrics.acc DESC'")
        key, pos = parser.order_key()
        if any((k.entity, k.key) == (key.entity, key.key) for k in keys):
            raise parser.error(
                f"`order_by` contains duplicate fields: {clause.strip()!r}",
                pos,
                "order by each field once",
            )
        keys.append(key)
    return keys
