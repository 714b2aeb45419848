"""The settings of one tracking server, as passed to each of its worker processes."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.server.tracking._convert import Locations

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_UPLOAD_BYTES", "ServerSettings", "server_locations"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """``store_uri`` is a store folder, ``duckdb:///abs/folder`` or ``postgresql://...``; paths are made absolute."""

    store_uri: str
    artifacts_destination: str | None = None  # default: the store's artifacts/ folder
    default_artifact_root: str | None = None
    serve_artifacts: bool = True
    artifacts_only: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_json_depth: int = 32
    request_timeout: float = 60.0
    auth: str = "none"
    auth_file: str | None = None

    @property
    def store_root(self) -> str:
        """The local folder of the store: for PostgreSQL, the files root recorded in the database
        (``artifacts/``, ``registry/``, multipart staging), the same for every replica."""
        from nbtrack.store import is_postgres_uri, open_store, resolve_root

        if is_postgres_uri(self.store_uri):
            store: Any = open_store(self.store_uri)  # a PostgresStore
            return str(store.files_root)
        return resolve_root(self.store_uri)

    def locations(self) -> Locations:
        root = self.store_root
        destination = _local(self.artifacts_destination, "--artifacts-destination") or os.path.join(root, "artifacts")
        default = _local(self.default_artifact_root, "--default-artifact-root")
        return Locations(root, _absolute(destination), self.serve_artifacts, _absolute(default) if default else None)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        return cls(**json.loads(text))


def _absolute(location: str) -> str:
    return location.rstrip("/") if location.startswith("s3://") else os.path.abspath(location)


def _local(location: str | None, flag: str) -> str | None:
    """A local folder, or an ``s3://bucket/prefix`` location (boto3, MLFLOW_S3_ENDPOINT_URL)."""
    if not location:
        return None
    if location.startswith("s3://"):
        from nbtrack.store.s3 import S3ArtifactRepository

        S3ArtifactRepository(location)  # checks the form: s3://bucket/prefix, a confined prefix
        return location
    if location.startswith("file:"):
        from nbtrack.store.artifacts import local_path_of

        return local_path_of(location)
    if location.rstrip("/") == "mlflow-artifacts:":  # MLflow's default when serving: the proxied folder
        return None
    if "://" in location or location.startswith("mlflow-artifacts:"):
        raise InvalidParameter(f"{flag} {location!r}: use a local folder, a file: URI or s3://bucket/prefix.")
    return location


def server_locations(settings: ServerSettings, store: Any) -> Locations:
    """``settings.locations()``, and a store that can keep model version copies on S3 (PostgreSQL)
    told to keep them under ``<s3 root>/_registry`` when the server's artifacts are on S3, so that
    replicas on different machines share no folder (``_registry/`` in the proxy then serves them)."""
    loc = settings.locations()
    keep = getattr(store, "keep_copies_on", None)
    if loc.s3_root is None or keep is None:
        return loc
    copies = f"{loc.s3_root}/_registry"
    keep(copies)
    return replace(loc, registry=copies)
