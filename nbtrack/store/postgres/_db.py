"""Connections to one PostgreSQL database: URI parsing, the pool, transactions, error translation.

This module and its siblings are the only ones that import psycopg (an import-linter contract),
and only when a ``postgresql://`` URI is opened. Every psycopg error is translated here into an
:class:`~nbtrack.errors.NbtrackError` subclass that says what to do; no raw driver traceback
reaches a caller.
"""

from __future__ import annotations

import contextlib
import re
import time
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from nbtrack.errors import InvalidParameter, InvalidStore, NbtrackError, ResourceExists, StoreBusy
from nbtrack.store import is_postgres_uri

__all__ = ["Database", "connect_once", "conninfo", "display_uri", "pyformat"]

def conninfo(uri: str) -> str:
    """The libpq URI for ``uri`` (SQLAlchemy's ``+driver`` suffix dropped)."""
    parsed = urlparse(uri)
    if not is_postgres_uri(uri):
        raise InvalidStore(f"{display_uri(uri)!r} is not a PostgreSQL URI; use postgresql://user:pass@host:5432/db.")
    if not parsed.path.strip("/"):
        raise InvalidStore(f"{display_uri(uri)!r} names no database; use postgresql://user:pass@host:5432/db.")
    return urlunparse(parsed._replace(scheme="postgresql"))


def display_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages and repr)."""
    parsed = urlparse(uri)
    if parsed.password is None:
        return uri
    netloc = parsed.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunparse(parsed._replace(netloc=f"{user}:***@{netloc[1]}"))


def pyformat(sql: str) -> str:
    """qmark SQL (``?``, as :mod:`nbtrack.search` compiles) as psycopg's ``%s`` placeholders.

    Outside single-quoted literals each ``?`` becomes ``%s``; every ``%`` is doubled (psycopg reads
    ``%%`` as a literal percent sign). The compilers never splice user text into SQL, so the only
    ``?`` characters are placeholders and literals are fixed words."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


_POSITION = re.compile(r"\s*LINE \d+:.*", re.S)


def translate(error: Exception, where: str) -> NbtrackError:
    """A psycopg error as the NbtrackError a caller can act on."""
    text = _POSITION.sub("", str(error).strip()).splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, PoolTimeout):
        return StoreBusy(f"No connection to PostgreSQL {where} became free in time ({text}). The database may "
                         "be overloaded or unreachable; check it, or raise its max_connections.")
    if isinstance(error, pg_errors.UniqueViolation):
        return ResourceExists(f"{text} ({where}).")
    if isinstance(error, pg_errors.NumericValueOutOfRange | pg_errors.InvalidTextRepresentation
                  | pg_errors.StringDataRightTruncation | pg_errors.CharacterNotInRepertoire
                  | pg_errors.UntranslatableCharacter | pg_errors.DataError):
        return InvalidParameter(f"PostgreSQL refused a value: {text}.")
    if isinstance(error, pg_errors.UndefinedTable | pg_errors.UndefinedColumn):
        return InvalidStore(f"The database {where} lacks part of nbtrack's schema ({text}). Run "
                            "`nbtrack db upgrade URI` with this nbtrack, or check the URI names an nbtrack database.")
    if isinstance(error, psycopg.OperationalError):
        return StoreBusy(f"PostgreSQL {where} cannot be reached or dropped the connection: {text}. Check that the "
                         "server is running and the URI (host, port, user, password, database) is right.")
    return NbtrackError(f"PostgreSQL {where} failed: {text}.")


#: A connection handed back less than this many seconds ago is lent again without the pool's
#: check (an empty query: one more round trip on every call). A connection the server dropped in
#: that window fails one call, which the pool then replaces, as it replaces any broken one.
FRESH_SECONDS = 1.0


class Database:
    """A connection pool for one database; ``transaction()``, ``read()`` and ``statement()`` lend a connection.

    Connections are in autocommit mode: each ``transaction()`` is one BEGIN ... COMMIT (ROLLBACK on
    any exception), and ``statement()`` lends the connection for calls that are one statement each
    (atomic and one snapshot on their own, so BEGIN and COMMIT would be two round trips more). The
    pool opens lazily, checks a connection that sat idle before lending it and replaces broken ones,
    so a database restart costs a failed call per pooled connection at most."""

    def __init__(self, uri: str, max_size: int = 8) -> None:
        self.uri = uri
        self.where = display_uri(uri)
        self._conninfo = conninfo(uri)
        self._max_size = max_size
        self._pool: ConnectionPool | None = None
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def _check(self, con: psycopg.Connection[Any]) -> None:
        if time.monotonic() - self._returned.get(con, -FRESH_SECONDS) >= FRESH_SECONDS:
            ConnectionPool.check_connection(con)

    def _reset(self, con: psycopg.Connection[Any]) -> None:
        self._returned[con] = time.monotonic()

    def _get_pool(self) -> ConnectionPool:
        if self._pool is None:
            pool = ConnectionPool(self._conninfo, min_size=1, max_size=self._max_size, open=False, timeout=30,
                                  check=self._check, reset=self._reset, name="nbtrack",
                                  kwargs={"connect_timeout": 10, "application_name": "nbtrack", "autocommit": True,
                                          "options": "-c search_path=nbtrack"})
            try:
                pool.open(wait=True, timeout=15)
            except PoolTimeout:
                pool.close()
                self.probe()  # raises the real reason (a refused connection, a bad password)
                raise
            self._pool = pool
        return self._pool

    def probe(self) -> None:
        """Connect once, raising InvalidStore with the server's reason when that fails."""
        try:
            psycopg.connect(self._conninfo, connect_timeout=10).close()
        except psycopg.Error as e:
            raise InvalidStore(f"Cannot connect to PostgreSQL {self.where}: {_first_line(e)}. Check that the "
                               "server runs and the URI (host, port, user, password, database) is right.") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._get_pool().connection() as con, con.transaction():
                yield con
        except psycopg.Error as e:
            raise translate(e, self.where) from None
        except PoolTimeout as e:
            raise translate(e, self.where) from None

    read = transaction

    @contextlib.contextmanager
    def statement(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one statement (its own transaction): a write or a read in one round trip."""
        try:
            with self._get_pool().connection() as con:
                yield con
        except psycopg.Error as e:
            raise translate(e, self.where) from None
        except PoolTimeout as e:
            raise translate(e, self.where) from None

    def close(self) -> None:
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.close(timeout=5)
            self._pool = None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def connect_once(uri: str) -> psycopg.Connection[Any]:
    """One autocommit connection outside any pool (migrations, the CLI)."""
    try:
        return psycopg.connect(conninfo(uri), autocommit=True, connect_timeout=10)
    except psycopg.Error as e:
        raise InvalidStore(f"Cannot connect to PostgreSQL {display_uri(uri)}: {_first_line(e)}. Check that the "
                           "server runs and the URI (host, port, user, password, database) is right.") from None
