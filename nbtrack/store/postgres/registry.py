"""The model registry in PostgreSQL: the same rules as the embedded store's registry.

Every change is one read-check-write transaction that first locks the registered model's row
(``SELECT ... FOR UPDATE``), so writers from every process and replica take turns on one model:
two servers moving one alias, or promoting with ``archive_existing_versions``, each see the
other's committed state, no alias has two holders, and each change lands in ``registry_history``
exactly once. Version numbers come from ``last_version``, which only grows.

Registering a model with a local copy gives the version its own copy of the files
(:mod:`nbtrack.store.model_copies`), so it outlives its run's artifacts: on a server whose
artifacts are on S3 (``copies_root`` is ``s3://...``), uploaded under the bucket before the
transaction, its URI recorded, so replicas share nothing on disk; otherwise in
``<files root>/registry/<model_id>/<version>`` (copied outside any transaction, moved into place
inside it), as the embedded store does under its root. Arguments arrive validated and canonical.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from nbtrack import config
from nbtrack.entities import ModelVersion, ModelVersionStage, RegisteredModel, RegistryEvent
from nbtrack.errors import AliasNotFound, NotFound, ResourceExists
from nbtrack.store import model_copies
from nbtrack.store.duckdb.registry_search import model_version_query, registered_model_query
from nbtrack.store.postgres._db import Database, pyformat
from nbtrack.store.postgres.workspaces import require_workspace
from nbtrack.store.s3 import is_s3_uri

__all__ = ["PostgresRegistryStore"]

_VERSION_COLS = ("m.name, v.version, v.creation_time, v.last_updated_time, v.description, v.user_id, "
                 "v.current_stage, v.source, v.run_id, v.status, v.status_message, v.run_link, v.model_id, "
                 "v.model_link")
_HISTORY_COLS = "kind, version, from_value, to_value, user_id, timestamp, alias"


def _now() -> int:
    return time.time_ns() // 1_000_000


class PostgresRegistryStore:
    """Registered models, versions, tags, aliases and their history in one database."""

    def __init__(self, db: Database, files_root: str, copies_root: str | None = None) -> None:
        self.db = db
        self.root = files_root
        self.registry_dir = os.path.join(files_root, "registry")
        self.copies_root = copies_root  # s3://...: version copies go there instead of registry_dir

    def __repr__(self) -> str:
        return f"PostgresRegistryStore({self.db.where!r})"

    # == registered models =============================================================
    def create_registered_model(self, name: str, tags: Sequence[tuple[str, str]] = (),
                                description: str | None = None) -> RegisteredModel:
        now = _now()
        with self.db.transaction() as con:
            workspace = require_workspace(con, config.active_workspace())
            model_id = uuid.uuid4().hex
            if con.execute("INSERT INTO arc.registered_models VALUES (%s, %s, %s, %s, %s, 0, %s) "
                           "ON CONFLICT (workspace, name) DO NOTHING RETURNING 1",
                           [model_id, name, now, now, description, workspace]).fetchone() is None:
                raise ResourceExists(f"Registered Model (name={name}) already exists. Use "
                                     f"get_registered_model('{name}'), or choose another name.")
            for key, value in dict(tags).items():
                con.execute("INSERT INTO arc.registered_model_tags VALUES (%s, %s, %s)", [model_id, key, value])
            return _models(con, [model_id])[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as con:
            return _models(con, [_model_id(con, name)])[0]

    def rename_registered_model(self, name: str, new_name: str, user_id: str | None) -> RegisteredModel:
        now = _now()
        with self.db.transaction() as con:
            model_id = _model_id(con, name, lock=True)
            if new_name != name and con.execute(
                    "SELECT 1 FROM arc.registered_models WHERE name = %s AND workspace = %s",
                    [new_name, config.active_workspace()]).fetchone():
                raise ResourceExists(f"Registered Model (name={new_name}) already exists. Choose another name.")
            con.execute("UPDATE arc.registered_models SET name = %s, last_updated_time = %s WHERE model_id = %s",
                        [new_name, now, model_id])
            con.execute("UPDATE arc.model_versions SET last_updated_time = %s WHERE model_id = %s", [now, model_id])
            _record(con, model_id, "renamed", None, name, new_name, user_id, now)
            return _models(con, [model_id])[0]

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self.db.transaction() as con:
            model_id = _model_id(con, name, lock=True)
            con.execute("UPDATE arc.registered_models SET description = %s, last_updated_time = %s "
                        "WHERE model_id = %s", [description, _now(), model_id])
            return _models(con, [model_id])[0]

    def delete_registered_model(self, name: str) -> None:
        with self.db.transaction() as con:
            model_id = _model_id(con, name, lock=True)
            copies = _s3_copies(con, model_id)
            for table in ("registered_model_tags", "model_version_tags", "registered_model_aliases",
                          "model_versions", "registry_history", "registered_models"):
                con.execute(f"DELETE FROM arc.{table} WHERE model_id = %s", [model_id])
        shutil.rmtree(os.path.join(self.registry_dir, model_id), ignore_errors=True)
        for uri in copies:
            model_copies.remove(uri)

    def search_registered_models(self, filter_string: str | None, max_results: int,
                                 order_by: list[str] | None, offset: int = 0) -> list[RegisteredModel]:
        sql, params = registered_model_query(filter_string, order_by, dialect="postgresql",
                                             workspace=config.active_workspace())
        with self.db.read() as con:
            ids = [r[0] for r in con.execute(pyformat(sql) + " LIMIT %s OFFSET %s", [*params, max_results, offset])]
            return _models(con, ids)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self.db.transaction() as con:
            con.execute("INSERT INTO arc.registered_model_tags VALUES (%s, %s, %s) "
                        "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
                        [_model_id(con, name), key, value])

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self.db.transaction() as con:
            con.execute("DELETE FROM arc.registered_model_tags WHERE model_id = %s AND key = %s",
                        [_model_id(con, name), key])

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (canonical; all stages when empty)."""
        wanted = list(stages) if stages else list(ModelVersionStage.ALL)
        with self.db.read() as con:
            model_id = _model_id(con, name)
            latest = dict(con.execute(
                "SELECT current_stage, max(version) FROM arc.model_versions WHERE model_id = %s "
                "AND current_stage = ANY(%s) GROUP BY current_stage", [model_id, wanted]).fetchall())
            return _versions(con, [(model_id, latest[s]) for s in ModelVersionStage.ALL if s in latest])

    # == model versions ================================================================
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: Sequence[tuple[str, str]] = (), run_link: str | None = None,
                             description: str | None = None, user_id: str | None = None,
                             local_path: str | None = None, logged_model_id: str | None = None) -> ModelVersion:
        """Create the next version; with ``local_path``, copy that model first (to S3 or the files root)."""
        uploaded = staged = placed = None
        if local_path and self.copies_root is not None:
            with self.db.read() as con:
                uploaded = model_copies.upload(local_path, self.copies_root, _model_id(con, name))
        elif local_path:
            staged = model_copies.stage(local_path, self.registry_dir, self.root)
        try:
            with self.db.transaction() as con:
                model_id, now = _model_id(con, name, lock=True), _now()
                if logged_model_id is not None and con.execute(
                        "SELECT 1 FROM arc.logged_models WHERE model_id = %s", [logged_model_id]).fetchone() is None:
                    raise NotFound(f"Logged model '{logged_model_id}' not found; find models with "
                                   "nbtrack.search_logged_models().")
                version = con.execute(
                    "UPDATE arc.registered_models SET last_version = last_version + 1, last_updated_time = %s "
                    "WHERE model_id = %s RETURNING last_version", [now, model_id]).fetchone()[0]  # type: ignore[index]
                location = uploaded
                if staged is not None:
                    location = f"registry/{model_id}/{version}"
                    placed = model_copies.place(staged, os.path.join(self.root, location))
                con.execute("INSERT INTO arc.model_versions VALUES (%s, %s, %s, %s, %s, %s, 'None', %s, %s, %s, "
                            "'READY', NULL, %s, %s)",
                            [model_id, version, now, now, description, user_id, source, run_id, run_link, location,
                             logged_model_id])
                for key, value in dict(tags).items():
                    con.execute("INSERT INTO arc.model_version_tags VALUES (%s, %s, %s, %s)",
                                [model_id, version, key, value])
                _record(con, model_id, "created", version, None, ModelVersionStage.NONE, user_id, now)
                return _versions(con, [(model_id, version)])[0]
        except BaseException:
            model_copies.discard(placed)
            if uploaded is not None:
                with contextlib.suppress(Exception):  # the registration's own error is the one to report
                    model_copies.remove(uploaded)
            raise
        finally:
            model_copies.discard(staged)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as con:
            return _versions(con, [_version_key(con, name, version)])[0]

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        with self.db.transaction() as con:
            key = _version_key(con, name, version, lock=True)
            con.execute("UPDATE arc.model_versions SET description = %s, last_updated_time = %s "
                        "WHERE model_id = %s AND version = %s", [description, _now(), *key])
            return _versions(con, [key])[0]

    def transition_model_version_stage(self, name: str, version: int, stage: str,
                                       archive_existing_versions: bool, user_id: str | None) -> ModelVersion:
        """Move ``version`` to ``stage`` (canonical); optionally archive the others in that stage."""
        now = _now()
        with self.db.transaction() as con:
            model_id, version = key = _version_key(con, name, version, lock=True)
            if archive_existing_versions:
                for (other,) in con.execute(
                        "SELECT version FROM arc.model_versions WHERE model_id = %s AND version != %s "
                        "AND current_stage = %s ORDER BY version", [model_id, version, stage]).fetchall():
                    _set_stage(con, model_id, other, stage, ModelVersionStage.ARCHIVED, user_id, now)
            old = con.execute("SELECT current_stage FROM arc.model_versions WHERE model_id = %s AND version = %s",
                              list(key)).fetchone()[0]  # type: ignore[index]
            _set_stage(con, model_id, version, old, stage, user_id, now)
            con.execute("UPDATE arc.registered_models SET last_updated_time = %s WHERE model_id = %s", [now, model_id])
            return _versions(con, [key])[0]

    def delete_model_version(self, name: str, version: int, user_id: str | None) -> None:
        now = _now()
        with self.db.transaction() as con:
            model_id, version = key = _version_key(con, name, version, lock=True)
            copies = _s3_copies(con, model_id, version)
            for (alias,) in con.execute("SELECT alias FROM arc.registered_model_aliases WHERE model_id = %s "
                                        "AND version = %s ORDER BY alias", list(key)).fetchall():
                _record(con, model_id, "alias", None, str(version), None, user_id, now, alias)
            stage = con.execute("SELECT current_stage FROM arc.model_versions WHERE model_id = %s AND version = %s",
                                list(key)).fetchone()[0]  # type: ignore[index]
            for table in ("registered_model_aliases", "model_version_tags", "model_versions"):
                con.execute(f"DELETE FROM arc.{table} WHERE model_id = %s AND version = %s", list(key))
            _record(con, model_id, "deleted", version, stage, None, user_id, now)
            con.execute("UPDATE arc.registered_models SET last_updated_time = %s WHERE model_id = %s", [now, model_id])
        shutil.rmtree(os.path.join(self.registry_dir, model_id, str(version)), ignore_errors=True)
        for uri in copies:
            model_copies.remove(uri)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The copied model folder, or the source URI of a version registered by reference."""
        with self.db.read() as con:
            key = _version_key(con, name, version)
            location, source = con.execute("SELECT storage_location, source FROM arc.model_versions "
                                           "WHERE model_id = %s AND version = %s", list(key)).fetchone()  # type: ignore[misc]
        if not location:
            return str(source)
        return location if is_s3_uri(location) else os.path.join(self.root, *location.split("/"))

    def search_model_versions(self, filter_string: str | None, max_results: int,
                              order_by: list[str] | None, offset: int = 0) -> list[ModelVersion]:
        sql, params = model_version_query(filter_string, order_by, dialect="postgresql",
                                          workspace=config.active_workspace())
        with self.db.read() as con:
            keys = [(r[0], r[1]) for r in con.execute(pyformat(sql) + " LIMIT %s OFFSET %s",
                                                      [*params, max_results, offset])]
            return _versions(con, keys)

    def latest_version(self, name: str, stage: str | None = None) -> ModelVersion | None:
        """The highest version (in ``stage`` when given), as ``models:/name/<stage|latest>`` means."""
        with self.db.read() as con:
            model_id = _model_id(con, name)
            where, params = ("AND current_stage = %s", [stage]) if stage else ("", [])
            top = con.execute(f"SELECT max(version) FROM arc.model_versions WHERE model_id = %s {where}",
                              [model_id, *params]).fetchone()[0]  # type: ignore[index]
            return _versions(con, [(model_id, top)])[0] if top is not None else None

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self.db.transaction() as con:
            con.execute("INSERT INTO arc.model_version_tags VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value",
                        [*_version_key(con, name, version), key, value])

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        with self.db.transaction() as con:
            con.execute("DELETE FROM arc.model_version_tags WHERE model_id = %s AND version = %s AND key = %s",
                        [*_version_key(con, name, version), key])

    # == aliases =======================================================================
    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None) -> None:
        with self.db.transaction() as con:
            model_id, version = _version_key(con, name, version, lock=True)
            row = con.execute("SELECT version FROM arc.registered_model_aliases WHERE model_id = %s AND alias = %s",
                              [model_id, alias]).fetchone()
            con.execute("INSERT INTO arc.registered_model_aliases VALUES (%s, %s, %s) "
                        "ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version",
                        [model_id, alias, version])
            _record(con, model_id, "alias", version, str(row[0]) if row else None, str(version), user_id, _now(),
                    alias)

    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None) -> None:
        with self.db.transaction() as con:
            model_id = _model_id(con, name, lock=True)
            row = con.execute("DELETE FROM arc.registered_model_aliases WHERE model_id = %s AND alias = %s "
                              "RETURNING version", [model_id, alias]).fetchone()
            if row:
                _record(con, model_id, "alias", None, str(row[0]), None, user_id, _now(), alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as con:
            model_id = _model_id(con, name)
            row = con.execute("SELECT version FROM arc.registered_model_aliases WHERE model_id = %s AND alias = %s",
                              [model_id, alias]).fetchone()
            if row is None:
                raise AliasNotFound(name, alias)
            return _versions(con, [(model_id, row[0])])[0]

    # == history =======================================================================
    def get_history(self, name: str, version: int | None = None, until: int | None = None) -> list[RegistryEvent]:
        """Every recorded change of ``name`` (of one version, if given), oldest first."""
        where, params = "", []
        if version is not None:
            where += " AND version = %s"
            params.append(int(version))
        if until is not None:
            where += " AND timestamp <= %s"
            params.append(int(until))
        with self.db.read() as con:
            model_id = _model_id(con, name)
            rows = con.execute(f"SELECT {_HISTORY_COLS} FROM arc.registry_history WHERE model_id = %s{where} "
                               "ORDER BY seq", [model_id, *params]).fetchall()
        return [RegistryEvent(name, kind, v, frm, to, user, ts, alias) for kind, v, frm, to, user, ts, alias in rows]


# -- helpers (each takes the connection of the caller's transaction) -------------------------
def _model_id(con: Any, name: str, lock: bool = False) -> str:
    """The model's internal id; ``lock`` holds its row until the transaction ends (writers take turns)."""
    row = con.execute("SELECT model_id FROM arc.registered_models WHERE name = %s AND workspace = %s"
                      + (" FOR UPDATE" if lock else ""), [name, config.active_workspace()]).fetchone()
    if row is None:
        raise NotFound(f"Registered Model with name={name} not found. List models with search_registered_models().")
    return str(row[0])


def _s3_copies(con: Any, model_id: str, version: int | None = None) -> list[str]:
    """The S3 copies of a model's versions (or of one), to remove once their rows are gone."""
    rows = con.execute("SELECT storage_location FROM arc.model_versions WHERE model_id = %s "
                       "AND (%s::bigint IS NULL OR version = %s) AND storage_location LIKE 's3://%%'",
                       [model_id, version, version]).fetchall()
    return [r[0] for r in rows]


def _version_key(con: Any, name: str, version: int, lock: bool = False) -> tuple[str, int]:
    model_id = _model_id(con, name, lock)
    if con.execute("SELECT 1 FROM arc.model_versions WHERE model_id = %s AND version = %s",
                   [model_id, int(version)]).fetchone() is None:
        raise NotFound(f"Model Version (name={name}, version={version}) not found. List its versions with "
                       f"search_model_versions(\"name = '{name}'\").")
    return model_id, int(version)


def _record(con: Any, model_id: str, kind: str, version: int | None, from_value: str | None,
            to_value: str | None, user_id: str | None, timestamp: int, alias: str | None = None) -> None:
    con.execute("INSERT INTO arc.registry_history (model_id, kind, version, alias, from_value, to_value, user_id, "
                "timestamp) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [model_id, kind, version, alias, from_value, to_value, user_id, timestamp])


def _set_stage(con: Any, model_id: str, version: int, old: str, new: str, user_id: str | None, now: int) -> None:
    con.execute("UPDATE arc.model_versions SET current_stage = %s, last_updated_time = %s "
                "WHERE model_id = %s AND version = %s", [new, now, model_id, version])
    _record(con, model_id, "stage", version, old, new, user_id, now)


def _versions(con: Any, keys: list[tuple[str, int]]) -> list[ModelVersion]:
    """ModelVersion entities for (model_id, version) keys, in that order (missing keys skipped)."""
    if not keys:
        return []
    ids, numbers = [k[0] for k in keys], [int(k[1]) for k in keys]
    pairs = "(SELECT * FROM unnest(%s::text[], %s::bigint[]) AS k(model_id, version))"
    rows = con.execute(f"SELECT {_VERSION_COLS} FROM arc.model_versions v JOIN arc.registered_models m "
                       f"ON m.model_id = v.model_id JOIN {pairs} k ON k.model_id = v.model_id "
                       "AND k.version = v.version", [ids, numbers]).fetchall()
    tags: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for model_id, version, key, value in con.execute(
            f"SELECT t.model_id, t.version, t.key, t.value FROM arc.model_version_tags t JOIN {pairs} k "
            "ON k.model_id = t.model_id AND k.version = t.version ORDER BY t.key", [ids, numbers]):
        tags[model_id, version][key] = value
    aliases: dict[tuple[str, int], list[str]] = defaultdict(list)
    for model_id, version, alias in con.execute(
            f"SELECT a.model_id, a.version, a.alias FROM arc.registered_model_aliases a JOIN {pairs} k "
            "ON k.model_id = a.model_id AND k.version = a.version ORDER BY a.alias", [ids, numbers]):
        aliases[model_id, version].append(alias)
    linked = sorted({r[13] for r in rows if r[13]})
    models: dict[str, Any] = {}
    if linked:
        from nbtrack.store.postgres.logged_models import read_models

        models = {m.model_id: m for m in read_models(con, linked)}
    found = {}
    for r in rows:
        key = (r[12], r[1])
        m = models.get(r[13]) if r[13] else None
        found[key] = ModelVersion(
            name=r[0], version=r[1], creation_timestamp=r[2], last_updated_timestamp=r[3], description=r[4],
            user_id=r[5], current_stage=r[6], source=r[7], run_id=r[8], status=r[9], status_message=r[10],
            tags=tags.get(key, {}), run_link=r[11], aliases=aliases.get(key, []), model_id=r[13],
            params=None if m is None else m.params, metrics=None if m is None else m.metrics)
    return [found[k] for k in keys if k in found]


def _models(con: Any, ids: list[str]) -> list[RegisteredModel]:
    """RegisteredModel entities (with latest version per stage, tags, aliases), in ``ids`` order."""
    if not ids:
        return []
    rows = {r[0]: r for r in con.execute(
        "SELECT model_id, name, creation_time, last_updated_time, description, workspace FROM arc.registered_models "
        "WHERE model_id = ANY(%s)", [ids])}
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for model_id, key, value in con.execute("SELECT model_id, key, value FROM arc.registered_model_tags "
                                            "WHERE model_id = ANY(%s) ORDER BY key", [ids]):
        tags[model_id][key] = value
    aliases: dict[str, dict[str, int]] = defaultdict(dict)
    for model_id, alias, version in con.execute("SELECT model_id, alias, version FROM arc.registered_model_aliases "
                                                "WHERE model_id = ANY(%s) ORDER BY alias", [ids]):
        aliases[model_id][alias] = version
    order = {s: i for i, s in enumerate(ModelVersionStage.ALL)}
    latest_keys = sorted(
        ((m, v, s) for m, s, v in con.execute(
            "SELECT model_id, current_stage, max(version) FROM arc.model_versions "
            "WHERE model_id = ANY(%s) GROUP BY model_id, current_stage", [ids])),
        key=lambda k: order.get(k[2], len(order)))
    latest: dict[str, list[ModelVersion]] = defaultdict(list)
    for mv, (model_id, _, _) in zip(_versions(con, [(m, v) for m, v, _ in latest_keys]), latest_keys, strict=True):
        latest[model_id].append(mv)
    return [
        RegisteredModel(name=r[1], creation_timestamp=r[2], last_updated_timestamp=r[3], description=r[4],
                        latest_versions=latest.get(i, []), tags=tags.get(i, {}), aliases=aliases.get(i, {}),
                        workspace=r[5])
        for i in ids if (r := rows.get(i)) is not None
    ]
