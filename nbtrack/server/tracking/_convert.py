"""Entities as MLflow's JSON, and the artifact locations clients see and may send.

With artifacts served (the default), a location inside the served folder is shown to clients as
``mlflow-artifacts:/<path>``, which MLflow's client resolves against the server's URL and fetches
through the proxy. Model versions copied into the store's registry folder are shown under the
read-only ``mlflow-artifacts:/_registry/`` prefix. Locations *sent* by clients are only accepted
in these forms (or ``runs:/`` and ``models:/`` URIs that name something in the store), so no
client can make the server read or write a path of its choosing.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from nbtrack.entities import (
    Experiment,
    FileInfo,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunInfo,
)
from nbtrack.errors import ArtifactPathError, InvalidParameter
from nbtrack.store.artifacts import local_path_of, safe_relpath

__all__ = ["PROXY_SCHEME", "REGISTRY_PREFIX", "Locations", "confined"]

PROXY_SCHEME = "mlflow-artifacts:"
REGISTRY_PREFIX = "_registry"


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def confined(path: str | None, what: str = "artifact path") -> str:
    """:func:`safe_relpath`, and no leading ``scheme:`` (``file:/etc``): a client's path is never a URI."""
    rel = safe_relpath(path)
    if _SCHEME.match(rel):
        raise ArtifactPathError(f"Invalid {what} {path!r}: it starts with a URI scheme; give a relative path.")
    return rel


def _under(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` (with '/'), or None if it is not inside (either may be s3://)."""
    if path.startswith("s3://") or root.startswith("s3://"):
        path, root = path.rstrip("/"), root.rstrip("/")
        if path == root:
            return ""
        return path[len(root) + 1:] if path.startswith(root + "/") else None
    path, root = os.path.normpath(path), os.path.normpath(root)
    if path == root:
        return ""
    prefix = root.rstrip(os.sep) + os.sep
    if path.startswith(prefix):  # both normalised: the rest is the relative path (relpath cost 50 us a run)
        return path[len(prefix):].replace(os.sep, "/")
    return None


def _join(root: str, rel: str) -> str:
    """``rel`` (confined, with '/') below a local folder or an ``s3://`` prefix."""
    return f"{root.rstrip('/')}/{rel}" if root.startswith("s3://") else os.path.join(root, *rel.split("/"))


@dataclass(frozen=True, slots=True)
class Locations:
    """Where artifacts live on the server, and how their locations are shown to clients."""

    store_root: str
    destination: str  # the folder the mlflow-artifacts proxy serves
    serve: bool = True
    default_root: str | None = None  # --default-artifact-root: a local folder clients write to directly
    registry: str | None = None  # where the store keeps model version copies, if not <store_root>/registry

    @property
    def registry_root(self) -> str:
        return self.registry or os.path.join(self.store_root, "registry")

    @property
    def s3_root(self) -> str | None:
        """The server's ``s3://`` artifact location (the proxy's destination, else the default root)."""
        for root in (self.destination, self.default_root):
            if root and root.startswith("s3://"):
                return root
        return None

    def present(self, location: str | None) -> str:
        if not location or not self.serve:
            return location or ""
        # the common case, a run's folder under the served one, without urlparse (a page of 1,000
        # runs spent 30 ms here): what _under would find, for a path it would not normalise
        prefix = self.destination.rstrip("/") + "/" if self.destination.startswith("s3://") else \
            os.path.join(self.destination, "")
        if location.startswith(prefix) and len(location) > len(prefix) and not location.endswith("/") and (
                prefix.startswith("s3://") or os.path.normpath(location) == location):
            return f"{PROXY_SCHEME}/{location[len(prefix):].replace(os.sep, '/')}"
        scheme = urlparse(location).scheme
        if scheme not in ("", "file", "s3"):
            return location
        path = local_path_of(location) if scheme != "s3" else location
        rel = _under(path, self.destination)
        if rel is not None:
            return f"{PROXY_SCHEME}/{rel}" if rel else f"{PROXY_SCHEME}/"
        rel = _under(path, self.registry_root)
        if rel is not None:
            return f"{PROXY_SCHEME}/{REGISTRY_PREFIX}/{rel}".rstrip("/")
        return location

    def proxy_path(self, location: str, what: str) -> str:
        """The local path an ``mlflow-artifacts:`` location sent by a client stands for (confined)."""
        parsed = urlparse(location)
        if parsed.scheme != "mlflow-artifacts" or parsed.netloc or parsed.query or parsed.fragment:
            raise ArtifactPathError(f"Invalid {what} {location!r}: expected mlflow-artifacts:/<path>.")
        rel = confined(parsed.path.lstrip("/"), what)
        head, _, rest = rel.partition("/")
        if head == REGISTRY_PREFIX:
            if any(part.startswith(".") for part in rest.split("/")):
                raise ArtifactPathError(f"Invalid {what} {location!r}: hidden registry folders are not served.")
            return _join(self.registry_root, rest) if rest else self.registry_root
        return _join(self.destination, rel) if rel else self.destination

    def new_experiment_location(self, requested: str | None, token: str) -> str | None:
        """The artifact_location to create an experiment with (None: the store's default)."""
        if requested:
            if not self.serve:
                raise InvalidParameter("This server does not serve artifacts (--no-serve-artifacts), so it "
                                       "does not accept an artifact_location; leave it empty.")
            return self.proxy_path(requested, "artifact_location")
        if self.default_root is not None:
            return _join(self.default_root, token)
        if _under(self.destination, os.path.join(self.store_root, "artifacts")) == "":
            return None
        return _join(self.destination, token)

    def model_source(self, source: str) -> str:
        """A model version ``source`` sent by a client, as the local path or URI to register from."""
        scheme = urlparse(source).scheme.lower()
        if scheme == "mlflow-artifacts":
            return self.proxy_path(source, "source")
        if scheme in ("runs", "models"):
            if "\\" in source or "\x00" in source:
                raise ArtifactPathError(f"Invalid source {source!r}: it holds a backslash or NUL.")
            _, _, path = source.partition(":/")
            for part in path.split("/"):
                if part == ".." or "%" in part:
                    raise ArtifactPathError(f"Invalid source {source!r}: '..' and %-escapes are not allowed.")
            return source
        if scheme == "s3":  # only inside this server's own S3 locations
            for root in (self.destination, self.default_root):
                if root and root.startswith("s3://") and _under(source, root) not in (None, ""):
                    confined(_under(source, root), "source")
                    return source
        if scheme in ("", "file"):
            path = os.path.realpath(local_path_of(source))
            for root in (self.destination, self.store_root, self.default_root):
                if root and _under(path, os.path.realpath(root)) is not None:
                    return path
        raise ArtifactPathError(
            f"Invalid model version source {source!r}: this server registers models from runs:/, models:/ "
            "and mlflow-artifacts:/ URIs (or paths inside its artifact folders) only.")


# -- entities -> MLflow's JSON ----------------------------------------------------------------
def _pairs(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in mapping.items()]


def experiment(e: Experiment, loc: Locations) -> dict[str, Any]:
    out: dict[str, Any] = {"experiment_id": e.experiment_id, "name": e.name,
                           "artifact_location": loc.present(e.artifact_location),
                           "lifecycle_stage": e.lifecycle_stage}
    if e.last_update_time is not None:
        out["last_update_time"] = e.last_update_time
    if e.creation_time is not None:
        out["creation_time"] = e.creation_time
    if e.tags:
        out["tags"] = _pairs(e.tags)
    out["workspace"] = e.workspace
    return out


def run_info(i: RunInfo, loc: Locations) -> dict[str, Any]:
    out: dict[str, Any] = {"run_id": i.run_id, "run_uuid": i.run_id, "run_name": i.run_name,
                           "experiment_id": i.experiment_id, "user_id": i.user_id, "status": i.status,
                           "start_time": i.start_time, "artifact_uri": loc.present(i.artifact_uri),
                           "lifecycle_stage": i.lifecycle_stage}
    if i.end_time is not None:
        out["end_time"] = i.end_time
    return out


def run(r: Run, loc: Locations) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if r.data.metrics:
        data["metrics"] = [{"key": k, "value": v} for k, v in r.data.metrics.items()]
    if r.data.params:
        data["params"] = _pairs(r.data.params)
    if r.data.tags:
        data["tags"] = _pairs(r.data.tags)
    out: dict[str, Any] = {"info": run_info(r.info, loc), "data": data}
    inputs: dict[str, Any] = {}
    if r.inputs.dataset_inputs:
        inputs["dataset_inputs"] = [dataset_input(d) for d in r.inputs.dataset_inputs]
    if r.inputs.model_inputs:
        inputs["model_inputs"] = [{"model_id": m.model_id} for m in r.inputs.model_inputs]
    out["inputs"] = inputs
    if r.outputs.model_outputs:
        out["outputs"] = {"model_outputs": [{"model_id": m.model_id, "step": m.step} for m in r.outputs.model_outputs]}
    return out


def dataset_input(d: Any) -> dict[str, Any]:
    ds = d.dataset
    dataset = {"name": ds.name, "digest": ds.digest, "source_type": ds.source_type, "source": ds.source}
    if ds.schema is not None:
        dataset["schema"] = ds.schema
    if ds.profile is not None:
        dataset["profile"] = ds.profile
    out: dict[str, Any] = {"dataset": dataset}
    if d.tags:
        out["tags"] = [{"key": t.key, "value": t.value} for t in d.tags]
    return out


def metric(m: Metric, run_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}
    if run_id is not None:
        out["run_id"] = run_id
    return out


def file_info(f: FileInfo, path: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"path": f.path if path is None else path, "is_dir": f.is_dir}
    if f.file_size is not None and not f.is_dir:
        out["file_size"] = f.file_size
    return out


def model_version(mv: ModelVersion, loc: Locations) -> dict[str, Any]:
    out: dict[str, Any] = {"name": mv.name, "version": str(mv.version),
                           "creation_timestamp": mv.creation_timestamp, "current_stage": mv.current_stage,
                           "status": mv.status}
    optional = {"last_updated_timestamp": mv.last_updated_timestamp, "user_id": mv.user_id,
                "description": mv.description, "source": loc.present(mv.source) if mv.source else None,
                "run_id": mv.run_id, "status_message": mv.status_message, "run_link": mv.run_link}
    out.update({k: v for k, v in optional.items() if v not in (None, "")})
    if mv.tags:
        out["tags"] = _pairs(mv.tags)
    if mv.aliases:
        out["aliases"] = list(mv.aliases)
    if mv.model_id:  # MLflow 3: the logged model it was registered from
        out["model_id"] = mv.model_id
        if mv.params:
            out["model_params"] = [{"name": k, "value": v} for k, v in mv.params.items()]
        if mv.metrics:
            out["model_metrics"] = [{k: v for k, v in (
                ("key", m.key), ("value", m.value), ("timestamp", m.timestamp), ("step", m.step),
                ("dataset_name", getattr(m, "dataset_name", None)), ("dataset_digest", getattr(m, "dataset_digest", None)),
                ("model_id", mv.model_id), ("run_id", m.run_id)) if v is not None} for m in mv.metrics]
    return out


def registered_model(rm: RegisteredModel, loc: Locations) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rm.name, "creation_timestamp": rm.creation_timestamp}
    if rm.last_updated_timestamp is not None:
        out["last_updated_timestamp"] = rm.last_updated_timestamp
    if rm.description:
        out["description"] = rm.description
    if rm.latest_versions:
        out["latest_versions"] = [model_version(v, loc) for v in rm.latest_versions]
    if rm.tags:
        out["tags"] = _pairs(rm.tags)
    if rm.aliases:
        out["aliases"] = [{"alias": a, "version": str(v)} for a, v in rm.aliases.items()]
    out["workspace"] = rm.workspace
    return out


def relative(path: str, base: str) -> str:
    return posixpath.join(base, path) if base else path
