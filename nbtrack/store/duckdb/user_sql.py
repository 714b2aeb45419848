"""``nbtrack.sql``: one read-only SELECT over the query views, read-only by construction.

Nothing here looks for dangerous words. A query runs only if all of this holds:

1. It is a ``str`` of valid UTF-8 and the parameters are a list, tuple or dict.
2. DuckDB's own parser (``extract_statements``) finds exactly one statement, of type SELECT
   (which covers ``WITH``, ``FROM``-first, ``VALUES``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``).
3. Its parse tree (``json_serialize_sql``) holds only SELECT query nodes: DuckDB classifies
   ``WITH x AS (DELETE ... RETURNING *) SELECT ...`` as a SELECT, the tree shows the DELETE.
4. It runs on a connection of its own whose configuration is locked, with external access
   off (no file readers, COPY, extensions or network), no temp directory, and the archive
   attached READ_ONLY for the length of the query only (under the store's shared lock, like
   every reader). The one file that connection may open is the archive, and only through
   that read-only ATTACH, which the parser check already refuses to users. Its own catalog
   holds nothing but the views, so not even a statement that slipped past 2-3 could write.

The connection is kept between calls (one per archive and process), because making one and
its views costs about 20 ms. So is its read-only attachment of the archive, while the file is
unchanged, holding no lock between calls (``kept.py``: re-attaching costs 3-6 ms a call); the
connection is dropped after any error.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidQuery, StoreIOError
from nbtrack.store.duckdb.kept import KeptAttachment

if TYPE_CHECKING:
    import duckdb

    from nbtrack.store.duckdb.archive import Archive

__all__ = ["read_only_sql"]

VIEWS = (
    "runs, params, tags, metrics, latest_metrics, inputs, experiments, experiment_tags, "
    "registered_models, model_versions, model_aliases, registry_history, logged_models, "
    "logged_model_params, logged_model_tags, logged_model_metrics"
)
ALLOWED = (
    "nbtrack.sql runs exactly one read-only SELECT (WITH ... SELECT, FROM ..., VALUES, DESCRIBE, "
    f"SHOW and SUMMARIZE too) over the views {VIEWS}, with ? or $name parameters; it cannot "
    "write, ATTACH, COPY, EXPORT, INSTALL or LOAD extensions, change settings (SET, PRAGMA, CALL) "
    "or read files."
)
#: Query-node kinds a read-only statement is made of (DuckDB's parse tree names).
_READ_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})


def read_only_sql(archive: Archive, query: object, params: object = None) -> Any:
    """Run one read-only SELECT over the views of ``archive``; return a pandas DataFrame.

    Raises
    ------
    InvalidQuery
        For anything but one SELECT over the views (several statements, a write, a file
        reader, a setting), a query DuckDB cannot run, or a query or parameters of the
        wrong type.
    """
    text = _checked_query(query)
    values = _checked_params(params)
    reader = _reader(archive)
    with archive.lock.shared(), reader.lock:
        return reader.run(archive, text, values)


def _checked_query(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidQuery(
            f"nbtrack.sql takes the query as a str, got {type(query).__name__}. {ALLOWED}", query)
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidQuery(
            f"The query is not valid UTF-8: {query[e.start]!r} at character {e.start + 1} is a lone "
            f"surrogate. Remove it, or decode the text it came from with errors='replace'.",
            query) from None
    return query


def _checked_params(params: object) -> list[Any] | dict[str, Any]:
    """Parameters as DuckDB takes them: a list for ``?``, a dict for ``$name``."""
    if params is None:
        return []
    if isinstance(params, Mapping):
        if not all(isinstance(k, str) for k in params):
            raise InvalidQuery("nbtrack.sql named parameters need str keys (for $name), e.g. "
                               "{'name': 'rf'}.", params)
        values: list[Any] | dict[str, Any] = dict(params)
        items = list(params.values())
    elif isinstance(params, Sequence) and not isinstance(params, str | bytes | bytearray):
        values = items = list(params)
    else:
        raise InvalidQuery(
            f"nbtrack.sql takes params as a list or tuple (for ?) or a dict (for $name), got "
            f"{type(params).__name__}: e.g. nbtrack.sql('SELECT * FROM runs WHERE status = ?', "
            "['FINISHED']).", params)
    for n, value in enumerate(items, 1):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidQuery(f"Parameter {n} is not valid UTF-8 (it holds a lone surrogate); "
                                   "remove it or encode the text with errors='replace'.",
                                   params) from None
    return values


_CHECKED_MAX = 256  # distinct query texts remembered per connection
_READERS: weakref.WeakKeyDictionary[Archive, _Reader] = weakref.WeakKeyDictionary()
_READERS_LOCK = threading.Lock()


def _reader(archive: Archive) -> _Reader:
    with _READERS_LOCK:
        reader = _READERS.get(archive)
        if reader is None or reader.pid != os.getpid():  # a forked child makes its own
            reader = _READERS[archive] = _Reader(archive.root, archive.db_path)
        return reader


class _Reader:
    """The kept connection of one archive. Holds no reference to the archive (weak cache)."""

    def __init__(self, root: str, db_path: str) -> None:
        self.root, self.db_path = root, os.path.abspath(db_path)
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._views_ready = False
        # Query text -> its checked statement. The check is a pure function of the text (DuckDB's
        # parser), so a query seen before skips it: about 1 ms of every call (2 parses and a tree walk).
        self._checked: dict[str, Any] = {}
        self._kept = KeptAttachment(self.db_path)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            import duckdb

            con = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                                     "autoinstall_known_extensions": False})
            con.execute("SET VARIABLE nbtrack_root = ?", [self.root])
            con.execute("SET enable_progress_bar = false")
            con.execute("SET temp_directory = ''")  # no spill folder to read from either
            # the WAL must be reachable for ATTACH to check it; DuckDB adds the same two itself
            con.execute("SET allowed_paths = ?", [[self.db_path, self.db_path + ".wal"]])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            self._con, self._views_ready = con, False
        return self._con

    def discard(self) -> None:
        self._kept.forget()
        con, self._con, self._views_ready = self._con, None, False
        self._checked.clear()
        if con is not None:
            import duckdb

            with contextlib.suppress(duckdb.Error):  # a broken connection is thrown away anyway
                con.close()

    def run(self, archive: Archive, query: str, params: list[Any] | dict[str, Any]) -> Any:
        import duckdb

        con = self._connection()
        statement = self._checked.get(query)
        if statement is None:
            statement = _one_select(con, query)  # raises InvalidQuery: nothing refused is kept
            if len(self._checked) >= _CHECKED_MAX:
                self._checked.clear()
            self._checked[query] = statement
        reuse = self._kept.begin(con)
        if not reuse:
            try:
                con.execute("ATTACH ? AS arc (READ_ONLY)", [self.db_path])
            except duckdb.Error as e:
                from nbtrack.store.duckdb.archive import _translate_open_error

                self._kept.end(con, ok=False)
                self.discard()
                raise _translate_open_error(self.db_path, e) from None
            self._kept.attached(con)
        done = False
        try:
            if not self._views_ready:
                archive._create_views(con)
                self._views_ready = True
            frame = con.execute(statement, params).df()
            done = True
            return frame
        except duckdb.Error as e:
            raise _query_error(e, query, self.db_path) from None
        finally:
            if not self._kept.end(con, ok=done):
                try:
                    con.execute("DETACH arc")
                except duckdb.Error:
                    done = False
            if not done:  # after any failure start afresh: never reuse a doubtful connection
                self.discard()


def _one_select(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The query's only statement, if DuckDB's parser says it is one read-only SELECT."""
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.Error as e:
        raise InvalidQuery(f"nbtrack.sql could not parse the query: {_first_line(e)}. {ALLOWED}",
                           query) from None
    if not statements:
        raise InvalidQuery(f"The query is empty (no SQL statement in {query!r}). {ALLOWED}", query)
    if len(statements) > 1:
        kinds = ", ".join(s.type.name for s in statements)
        raise InvalidQuery(f"The query holds {len(statements)} statements ({kinds}); run one per "
                           f"call. {ALLOWED}", query)
    statement = statements[0]
    if statement.type.name != "SELECT":
        raise InvalidQuery(f"The query is a statement of type {statement.type.name}. {ALLOWED}", query)
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
    if tree.get("error"):
        raise InvalidQuery(f"nbtrack.sql could not check the query: {tree.get('error_message')}. "
                           f"{ALLOWED}", query)
    writes = sorted(_node_kinds(tree) - _READ_NODES)
    if writes:
        shown = ", ".join(k.removesuffix("_QUERY_NODE").removesuffix("_NODE") for k in writes)
        raise InvalidQuery(f"The query's WITH clause holds a write ({shown}). {ALLOWED}", query)
    return statement


def _node_kinds(tree: object) -> set[str]:
    """Every query-node kind in a ``json_serialize_sql`` tree (``SELECT_NODE``, ``DELETE_QUERY_NODE``)."""
    kinds: set[str] = set()
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            if isinstance(kind, str) and kind.endswith("_NODE"):
                kinds.add(kind)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return kinds


def _query_error(error: Exception, query: str, db_path: str) -> Exception:
    import duckdb

    if isinstance(error, duckdb.IOException):
        return StoreIOError(
            f"nbtrack.sql could not read the store: {_first_line(error)}. Run `nbtrack doctor "
            f"{os.path.dirname(db_path)}` to check it.", db_path)
    if isinstance(error, duckdb.PermissionException):
        return InvalidQuery(f"nbtrack.sql cannot read files or reach the network "
                            f"({_first_line(error)}). {ALLOWED}", query)
    return InvalidQuery(f"nbtrack.sql could not run the query: {_first_line(error)}. {ALLOWED}",
                        query)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".!") if text else type(error).__name__
