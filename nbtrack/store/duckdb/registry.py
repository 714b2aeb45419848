"""The model registry, kept in the archive beside the runs.

Every change is one read-check-write transaction inside ``Archive.writing()``, which holds
the store's exclusive lock for its whole length. Writers from every process are therefore
serialised: two processes moving one alias, or promoting with ``archive_existing_versions``,
take turns, each seeing the other's committed state, so no alias ever has two holders and
each change lands in ``registry_history`` exactly once.

A registered model has an internal ``model_id`` (a uuid) that survives renames and names its
folder: registering a model copies the model directory to ``<root>/registry/<model_id>/<version>``
(prepared outside the lock, moved into place inside the transaction), so a version keeps
working after its run is deleted or its artifacts are overwritten, and the store root stays
self-contained when copied elsewhere. Version numbers come from ``last_version``, which only
grows, so a number is never issued twice.

Arguments arrive validated and canonical (the tracking layer checks names, stages, aliases).
"""

from __future__ import annotations

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
from nbtrack.store.duckdb.archive import Archive
from nbtrack.store.duckdb.registry_search import model_version_query, registered_model_query
from nbtrack.store.duckdb.workspaces import require_workspace

__all__ = ["RegistryStore"]

_VERSION_COLS = (
    "m.name, v.version, v.creation_time, v.last_updated_time, v.description, v.user_id, "
    "v.current_stage, v.source, v.run_id, v.status, v.status_message, v.run_link, v.model_id"
)
_KEY = "{t}.model_id || ':' || CAST({t}.version AS VARCHAR)"  # one (model, version) as text
_HISTORY_COLS = "kind, version, from_value, to_value, user_id, timestamp, alias"


class RegistryStore:
    """Registered models, versions, tags, aliases and their history in one archive."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.root = archive.root
        self.registry_dir = os.path.join(self.root, "registry")

    def __repr__(self) -> str:
        return f"RegistryStore({self.root!r})"

    @property
    def webhooks(self) -> Any:
        """The registry's webhooks (MLflow 3), called after each change below is committed."""
        if "_webhooks" not in self.__dict__:
            from nbtrack.store.duckdb.webhooks import WebhookStore

            self.__dict__["_webhooks"] = WebhookStore(self.archive)
        return self.__dict__["_webhooks"]

    def _notify(self, entity: str, action: str, data: dict[str, Any]) -> None:
        from nbtrack.entities import WebhookEvent

        self.webhooks.deliver(WebhookEvent(entity, action), data)

    # == registered models =============================================================
    def create_registered_model(self, name: str, tags: Sequence[tuple[str, str]] = (),
                                description: str | None = None) -> RegisteredModel:
        now = _now()
        with self.archive.writing() as con:
            workspace = require_workspace(con, config.active_workspace())
            if con.execute("SELECT 1 FROM arc.registered_models WHERE name = ? AND workspace = ?",
                           [name, workspace]).fetchall():
                raise ResourceExists(
                    f"Registered Model (name={name}) already exists. Use get_registered_model('{name}'), "
                    "or choose another name.")
            model_id = uuid.uuid4().hex
            con.execute("INSERT INTO arc.registered_models VALUES (?, ?, ?, ?, ?, 0, ?)",
                        [model_id, name, now, now, description, workspace])
            for key, value in dict(tags).items():
                con.execute("INSERT INTO arc.registered_model_tags VALUES (?, ?, ?)", [model_id, key, value])
            created = _models(con, [model_id])[0]
        self._notify("registered_model", "created", {"name": name, "tags": dict(tags), "description": description})
        return created

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.archive.reading() as con:
            return _models(con, [_model_id(con, name)])[0]

    def rename_registered_model(self, name: str, new_name: str, user_id: str | None) -> RegisteredModel:
        now = _now()
        with self.archive.writing() as con:
            model_id = _model_id(con, name)
            if new_name != name and con.execute(
                    "SELECT 1 FROM arc.registered_models WHERE name = ? AND workspace = ?",
                    [new_name, config.active_workspace()]).fetchall():
                raise ResourceExists(f"Registered Model (name={new_name}) already exists. Choose another name.")
            con.execute("UPDATE arc.registered_models SET name = ?, last_updated_time = ? WHERE model_id = ?",
                        [new_name, now, model_id])
            con.execute("UPDATE arc.model_versions SET last_updated_time = ? WHERE model_id = ?", [now, model_id])
            _record(con, model_id, "renamed", None, name, new_name, user_id, now)
            return _models(con, [model_id])[0]

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self.archive.writing() as con:
            model_id = _model_id(con, name)
            con.execute("UPDATE arc.registered_models SET description = ?, last_updated_time = ? "
                        "WHERE model_id = ?", [description, _now(), model_id])
            return _models(con, [model_id])[0]

    def delete_registered_model(self, name: str) -> None:
        with self.archive.writing() as con:
            model_id = _model_id(con, name)
            for table in ("registered_model_tags", "model_version_tags", "registered_model_aliases",
                          "model_version_models", "model_versions", "registry_history", "registered_models"):
                con.execute(f"DELETE FROM arc.{table} WHERE model_id = ?", [model_id])
        shutil.rmtree(os.path.join(self.registry_dir, model_id), ignore_errors=True)

    def search_registered_models(self, filter_string: str | None, max_results: int,
                                 order_by: list[str] | None, offset: int = 0) -> list[RegisteredModel]:
        sql, params = registered_model_query(filter_string, order_by, workspace=config.active_workspace())
        with self.archive.reading() as con:
            ids = [r[0] for r in con.execute(f"{sql} LIMIT ? OFFSET ?", [*params, max_results, offset]).fetchall()]
            return _models(con, ids)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self.archive.writing() as con:
            con.execute("INSERT OR REPLACE INTO arc.registered_model_tags VALUES (?, ?, ?)",
                        [_model_id(con, name), key, value])

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self.archive.writing() as con:
            con.execute("DELETE FROM arc.registered_model_tags WHERE model_id = ? AND key = ?",
                        [_model_id(con, name), key])

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (canonical; all stages when empty)."""
        wanted = list(stages) if stages else list(ModelVersionStage.ALL)
        with self.archive.reading() as con:
            model_id = _model_id(con, name)
            rows = con.execute(
                "SELECT current_stage, max(version) FROM arc.model_versions WHERE model_id = ? "
                "AND list_contains(?, current_stage) GROUP BY current_stage", [model_id, wanted]).fetchall()
            latest = dict(rows)
            keys = [(model_id, latest[s]) for s in ModelVersionStage.ALL if s in latest]
            return _versions(con, keys)

    # == model versions ================================================================
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: Sequence[tuple[str, str]] = (), run_link: str | None = None,
                             description: str | None = None, user_id: str | None = None,
                             local_path: str | None = None, logged_model_id: str | None = None) -> ModelVersion:
        """Create the next version; with ``local_path``, copy that model into the store first.
        ``logged_model_id`` links it to an MLflow 3 logged model of this archive (which must exist)."""
        staged = model_copies.stage(local_path, self.registry_dir, self.root) if local_path else None
        placed: str | None = None
        try:
            with self.archive.writing() as con:
                model_id, now = _model_id(con, name), _now()
                if logged_model_id is not None and not con.execute(
                        "SELECT 1 FROM arc.logged_models WHERE model_id = ?", [logged_model_id]).fetchall():
                    raise NotFound(f"Logged model '{logged_model_id}' not found; find models with "
                                   "nbtrack.search_logged_models().")
                version = con.execute(
                    "UPDATE arc.registered_models SET last_version = last_version + 1, last_updated_time = ? "
                    "WHERE model_id = ? RETURNING last_version", [now, model_id]).fetchall()[0][0]
                location = None
                if staged is not None:
                    location = f"registry/{model_id}/{version}"
                    placed = model_copies.place(staged, os.path.join(self.root, location))
                con.execute(
                    "INSERT INTO arc.model_versions VALUES (?, ?, ?, ?, ?, ?, 'None', ?, ?, ?, 'READY', NULL, ?)",
                    [model_id, version, now, now, description, user_id, source, run_id, run_link, location])
                if logged_model_id is not None:
                    con.execute("INSERT INTO arc.model_version_models VALUES (?, ?, ?)",
                                [model_id, version, logged_model_id])
                for key, value in dict(tags).items():
                    con.execute("INSERT INTO arc.model_version_tags VALUES (?, ?, ?, ?)",
                                [model_id, version, key, value])
                _record(con, model_id, "created", version, None, ModelVersionStage.NONE, user_id, now)
                created = _versions(con, [(model_id, version)])[0]
        except BaseException:
            model_copies.discard(placed)
            raise
        finally:
            model_copies.discard(staged)
        self._notify("model_version", "created", {"name": name, "version": str(created.version), "source": source,
                                                  "run_id": run_id, "tags": dict(tags), "description": description})
        return created

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self.archive.reading() as con:
            return _versions(con, [_version_key(con, name, version)])[0]

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        with self.archive.writing() as con:
            key = _version_key(con, name, version)
            con.execute("UPDATE arc.model_versions SET description = ?, last_updated_time = ? "
                        "WHERE model_id = ? AND version = ?", [description, _now(), *key])
            return _versions(con, [key])[0]

    def transition_model_version_stage(self, name: str, version: int, stage: str,
                                       archive_existing_versions: bool, user_id: str | None) -> ModelVersion:
        """Move ``version`` to ``stage`` (canonical); optionally archive the others in that stage."""
        now = _now()
        with self.archive.writing() as con:
            model_id, version = key = _version_key(con, name, version)
            if archive_existing_versions:
                others = con.execute(
                    "SELECT version FROM arc.model_versions WHERE model_id = ? AND version != ? "
                    "AND current_stage = ? ORDER BY version", [model_id, version, stage]).fetchall()
                for (other,) in others:
                    _set_stage(con, model_id, other, stage, ModelVersionStage.ARCHIVED, user_id, now)
            old = con.execute("SELECT current_stage FROM arc.model_versions WHERE model_id = ? AND version = ?",
                              list(key)).fetchall()[0][0]
            _set_stage(con, model_id, version, old, stage, user_id, now)
            con.execute("UPDATE arc.registered_models SET last_updated_time = ? WHERE model_id = ?", [now, model_id])
            return _versions(con, [key])[0]

    def delete_model_version(self, name: str, version: int, user_id: str | None) -> None:
        now = _now()
        with self.archive.writing() as con:
            model_id, version = key = _version_key(con, name, version)
            aliases = con.execute("SELECT alias FROM arc.registered_model_aliases WHERE model_id = ? "
                                  "AND version = ? ORDER BY alias", list(key)).fetchall()
            for (alias,) in aliases:
                _record(con, model_id, "alias", None, str(version), None, user_id, now, alias)
            stage = con.execute("SELECT current_stage FROM arc.model_versions WHERE model_id = ? AND version = ?",
                                list(key)).fetchall()[0][0]
            for table in ("registered_model_aliases", "model_version_tags", "model_version_models", "model_versions"):
                con.execute(f"DELETE FROM arc.{table} WHERE model_id = ? AND version = ?", list(key))
            _record(con, model_id, "deleted", version, stage, None, user_id, now)
            con.execute("UPDATE arc.registered_models SET last_updated_time = ? WHERE model_id = ?", [now, model_id])
        shutil.rmtree(os.path.join(self.registry_dir, model_id, str(version)), ignore_errors=True)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The copied model folder, or the source URI of a version registered by reference."""
        with self.archive.reading() as con:
            key = _version_key(con, name, version)
            location, source = con.execute(
                "SELECT storage_location, source FROM arc.model_versions WHERE model_id = ? AND version = ?",
                list(key)).fetchall()[0]
        return os.path.join(self.root, *location.split("/")) if location else source

    def search_model_versions(self, filter_string: str | None, max_results: int,
                              order_by: list[str] | None, offset: int = 0) -> list[ModelVersion]:
        sql, params = model_version_query(filter_string, order_by, workspace=config.active_workspace())
        with self.archive.reading() as con:
            keys = [(r[0], r[1]) for r in con.execute(
                f"{sql} LIMIT ? OFFSET ?", [*params, max_results, offset]).fetchall()]
            return _versions(con, keys)

    def latest_version(self, name: str, stage: str | None = None) -> ModelVersion | None:
        """The highest version (in ``stage`` when given), as ``models:/name/<stage|latest>`` means."""
        with self.archive.reading() as con:
            model_id = _model_id(con, name)
            where, params = ("AND current_stage = ?", [stage]) if stage else ("", [])
            rows = con.execute(f"SELECT max(version) FROM arc.model_versions WHERE model_id = ? {where}",
                               [model_id, *params]).fetchall()
            return _versions(con, [(model_id, rows[0][0])])[0] if rows[0][0] is not None else None

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self.archive.writing() as con:
            con.execute("INSERT OR REPLACE INTO arc.model_version_tags VALUES (?, ?, ?, ?)",
                        [*_version_key(con, name, version), key, value])
        self._notify("model_version_tag", "set", {"name": name, "version": str(version), "key": key, "value": value})

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        with self.archive.writing() as con:
            con.execute("DELETE FROM arc.model_version_tags WHERE model_id = ? AND version = ? AND key = ?",
                        [*_version_key(con, name, version), key])
        self._notify("model_version_tag", "deleted", {"name": name, "version": str(version), "key": key})

    # == aliases =======================================================================
    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None) -> None:
        with self.archive.writing() as con:
            model_id, version = _version_key(con, name, version)
            rows = con.execute("SELECT version FROM arc.registered_model_aliases WHERE model_id = ? AND alias = ?",
                               [model_id, alias]).fetchall()
            old = str(rows[0][0]) if rows else None
            con.execute("INSERT OR REPLACE INTO arc.registered_model_aliases VALUES (?, ?, ?)",
                        [model_id, alias, version])
            _record(con, model_id, "alias", version, old, str(version), user_id, _now(), alias)
        self._notify("model_version_alias", "created", {"name": name, "alias": alias, "version": str(version)})

    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None) -> None:
        with self.archive.writing() as con:
            model_id = _model_id(con, name)
            rows = con.execute("DELETE FROM arc.registered_model_aliases WHERE model_id = ? AND alias = ? "
                               "RETURNING version", [model_id, alias]).fetchall()
            if rows:
                _record(con, model_id, "alias", None, str(rows[0][0]), None, user_id, _now(), alias)
        self._notify("model_version_alias", "deleted", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.archive.reading() as con:
            model_id = _model_id(con, name)
            rows = con.execute("SELECT version FROM arc.registered_model_aliases WHERE model_id = ? AND alias = ?",
                               [model_id, alias]).fetchall()
            if not rows:
                raise AliasNotFound(name, alias)
            return _versions(con, [(model_id, rows[0][0])])[0]

    # == history =======================================================================
    def get_history(self, name: str, version: int | None = None, until: int | None = None) -> list[RegistryEvent]:
        """Every recorded change of ``name`` (of one version, if given), oldest first."""
        where, params = "", []
        if version is not None:
            where += " AND version = ?"
            params.append(int(version))
        if until is not None:
            where += " AND timestamp <= ?"
            params.append(int(until))
        with self.archive.reading() as con:
            model_id = _model_id(con, name)
            rows = con.execute(f"SELECT {_HISTORY_COLS} FROM arc.registry_history WHERE model_id = ?{where} "
                               "ORDER BY seq", [model_id, *params]).fetchall()
        return [RegistryEvent(name, kind, v, frm, to, user, ts, alias) for kind, v, frm, to, user, ts, alias in rows]


# -- helpers (each takes the open connection of the caller's transaction) -----------------
def _now() -> int:
    return time.time_ns() // 1_000_000


def _model_id(con: Any, name: str) -> str:
    rows = con.execute("SELECT model_id FROM arc.registered_models WHERE name = ? AND workspace = ?",
                       [name, config.active_workspace()]).fetchall()
    if not rows:
        raise NotFound(f"Registered Model with name={name} not found. List models with search_registered_models().")
    return str(rows[0][0])


def _version_key(con: Any, name: str, version: int) -> tuple[str, int]:
    model_id = _model_id(con, name)
    if not con.execute("SELECT 1 FROM arc.model_versions WHERE model_id = ? AND version = ?",
                       [model_id, int(version)]).fetchall():
        raise NotFound(f"Model Version (name={name}, version={version}) not found. List its versions with "
                       f"search_model_versions(\"name = '{name}'\").")
    return model_id, int(version)


def _record(con: Any, model_id: str, kind: str, version: int | None, from_value: str | None,
            to_value: str | None, user_id: str | None, timestamp: int, alias: str | None = None) -> None:
    con.execute(
        "INSERT INTO arc.registry_history SELECT COALESCE(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? "
        "FROM arc.registry_history", [model_id, kind, version, alias, from_value, to_value, user_id, timestamp])


def _set_stage(con: Any, model_id: str, version: int, old: str, new: str, user_id: str | None, now: int) -> None:
    con.execute("UPDATE arc.model_versions SET current_stage = ?, last_updated_time = ? "
                "WHERE model_id = ? AND version = ?", [new, now, model_id, version])
    _record(con, model_id, "stage", version, old, new, user_id, now)


def _versions(con: Any, keys: list[tuple[str, int]]) -> list[ModelVersion]:
    """ModelVersion entities for (model_id, version) keys, in that order (missing keys skipped)."""
    if not keys:
        return []
    wanted = [f"{model_id}:{version}" for model_id, version in keys]
    rows = con.execute(
        f"SELECT {_VERSION_COLS} FROM arc.model_versions v JOIN arc.registered_models m "
        f"ON m.model_id = v.model_id WHERE list_contains(?, {_KEY.format(t='v')})", [wanted]).fetchall()
    tags: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for model_id, version, key, value in con.execute(
            f"SELECT model_id, version, key, value FROM arc.model_version_tags t "
            f"WHERE list_contains(?, {_KEY.format(t='t')}) ORDER BY key", [wanted]).fetchall():
        tags[model_id, version][key] = value
    aliases: dict[tuple[str, int], list[str]] = defaultdict(list)
    for model_id, version, alias in con.execute(
            f"SELECT model_id, version, alias FROM arc.registered_model_aliases a "
            f"WHERE list_contains(?, {_KEY.format(t='a')}) ORDER BY alias", [wanted]).fetchall():
        aliases[model_id, version].append(alias)
    logged = _logged_models_of(con, wanted)
    found = {}
    for r in rows:
        key = (r[12], r[1])
        model_id, params, metrics = logged.get(key, (None, None, None))
        found[key] = ModelVersion(
            name=r[0], version=r[1], creation_timestamp=r[2], last_updated_timestamp=r[3], description=r[4],
            user_id=r[5], current_stage=r[6], source=r[7], run_id=r[8], status=r[9], status_message=r[10],
            tags=tags.get(key, {}), run_link=r[11], aliases=aliases.get(key, []), model_id=model_id,
            params=params, metrics=metrics)
    return [found[k] for k in keys if k in found]


def _logged_models_of(con: Any, wanted: list[str]) -> dict[tuple[str, int], tuple[str, Any, Any]]:
    """(model_id, version) -> (logged model id, its params, its metrics) for versions linked to one, as
    MLflow 3 shows them on a ModelVersion (params and metrics None when the model is not in this archive)."""
    links = con.execute(f"SELECT model_id, version, logged_model_id FROM arc.model_version_models l "
                        f"WHERE list_contains(?, {_KEY.format(t='l')})", [wanted]).fetchall()
    if not links:
        return {}
    from nbtrack.store.duckdb.logged_models import read_models

    models = {m.model_id: m for m in read_models(con, sorted({r[2] for r in links}))}
    out: dict[tuple[str, int], tuple[str, Any, Any]] = {}
    for model_id, version, logged_id in links:
        m = models.get(logged_id)
        out[model_id, version] = (logged_id, None if m is None else m.params, None if m is None else m.metrics)
    return out


def _models(con: Any, ids: list[str]) -> list[RegisteredModel]:
    """RegisteredModel entities (with latest version per stage, tags, aliases), in ``ids`` order."""
    if not ids:
        return []
    rows = {r[0]: r for r in con.execute(
        "SELECT model_id, name, creation_time, last_updated_time, description, workspace FROM arc.registered_models "
        "WHERE list_contains(?, model_id)", [ids]).fetchall()}
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for model_id, key, value in con.execute(
            "SELECT model_id, key, value FROM arc.registered_model_tags WHERE list_contains(?, model_id) "
            "ORDER BY key", [ids]).fetchall():
        tags[model_id][key] = value
    aliases: dict[str, dict[str, int]] = defaultdict(dict)
    for model_id, alias, version in con.execute(
            "SELECT model_id, alias, version FROM arc.registered_model_aliases WHERE list_contains(?, model_id) "
            "ORDER BY alias", [ids]).fetchall():
        aliases[model_id][alias] = version
    order = {s: i for i, s in enumerate(ModelVersionStage.ALL)}
    latest_keys = sorted(
        ((m, v, s) for m, s, v in con.execute(
            "SELECT model_id, current_stage, max(version) FROM arc.model_versions "
            "WHERE list_contains(?, model_id) GROUP BY model_id, current_stage", [ids]).fetchall()),
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
