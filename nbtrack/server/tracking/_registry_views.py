"""nbtrack's registry read endpoints (``/api/2.0/nbtrack/views/registry-...``), beside MLflow's registry.

MLflow keeps no history of stage transitions and alias moves, and its REST API gives a version's
source but not its signature (a browser would have to fetch and parse the MLmodel YAML). The web
UI's model and version pages need both:

- ``views/registry-history``: a model's recorded changes, oldest first
  (:meth:`nbtrack.Client.get_model_version_history`);
- ``views/registry-snapshot``: its versions' stages and its aliases at a moment
  (:meth:`nbtrack.Client.get_registry_snapshot`: "what was in Production on date X");
- ``views/model-version-signature``: the signature, flavors and creation time in the version's
  MLmodel (the registry's copy of the model files).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.tracking import validation

__all__ = ["ENDPOINTS"]

MAX_EVENTS = 10_000


def event_json(e: Any) -> dict[str, Any]:
    """A :class:`RegistryEvent` as the extension's ``HistoryEvent`` (views/registry.ts)."""
    return {"name": e.name, "timestamp": e.timestamp, "kind": e.kind, "version": e.version, "from": e.from_value,
            "to": e.to_value, "alias": e.alias, "user": e.user_id}


def registry_history(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    limit = a.get("limit", MAX_EVENTS)
    if not 1 <= limit <= MAX_EVENTS:
        raise InvalidParameter(f"'limit' must be between 1 and {MAX_EVENTS}, not {limit}.")
    until = validation.time_ms(a.get("until"), "until")  # checked here: the client's message names 'at'
    events = ctx.client.get_model_version_history(a["name"], a.get("version"), until=until)
    # the latest ones when there are more: the replay of an "as of" date wants the recent past
    return {"events": [event_json(e) for e in events[-limit:]], "total": len(events)}


def registry_snapshot(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    snap = ctx.client.get_registry_snapshot(a["name"], validation.time_ms(a["at"], "at"))
    return {"name": snap.name, "timestamp": snap.timestamp,
            "stages": [{"version": v, "stage": s} for v, s in sorted(snap.stages.items())],
            "aliases": [{"alias": k, "version": v} for k, v in sorted(snap.aliases.items())]}


def _schema(text: Any) -> list[Any] | None:
    try:
        specs = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return None
    return specs if isinstance(specs, list) else None


def _mlmodel(ctx: Any, name: str, version: Any) -> dict[str, Any] | None:
    """The version's MLmodel as a dict, None when the version has none."""
    import yaml

    from nbtrack.tracking.artifacts import download_artifacts

    location = ctx.client.get_model_version_download_uri(name, version)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(location, "MLmodel")
        if "://" in location or location.startswith("mlflow-artifacts:"):  # the registry's files are remote
            try:
                path = download_artifacts(artifact_uri=location.rstrip("/") + "/MLmodel", dst_path=tmp)
            except NbtrackError:
                return None
        if not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                loaded = yaml.safe_load(f)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise InvalidParameter(f"The MLmodel of {name} version {version} cannot be read: {e}") from None
    return loaded if isinstance(loaded, dict) else None


def model_version_signature(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    mlmodel = _mlmodel(ctx, a["name"], a["version"])
    if mlmodel is None:
        return {"has_mlmodel": False, "inputs": None, "outputs": None, "params": None, "flavors": []}
    signature = mlmodel.get("signature") or {}
    return {"has_mlmodel": True, "inputs": _schema(signature.get("inputs")),
            "outputs": _schema(signature.get("outputs")), "params": _schema(signature.get("params")),
            "flavors": sorted(mlmodel.get("flavors") or {}), "utc_time_created": mlmodel.get("utc_time_created"),
            "model_size_bytes": mlmodel.get("model_size_bytes")}


_NAME = Field("name", required=True)


def _ep(path: str, handler: Any, fields: tuple[Field, ...], summary: str) -> Endpoint:
    return Endpoint("views/" + path, ("POST",), handler, fields, False, summary)


ENDPOINTS = [
    _ep("registry-history", registry_history,
        (_NAME, Field("version", "int64"), Field("until", "int64"), Field("limit", "int64")),
        "A registered model's stage transitions, alias moves, versions created and deleted, oldest first"),
    _ep("registry-snapshot", registry_snapshot, (_NAME, Field("at", "int64", required=True)),
        "The stage of each version and the version of each alias at a moment (ms since the epoch)"),
    _ep("model-version-signature", model_version_signature, (_NAME, Field("version", required=True)),
        "The signature (inputs, outputs, params) and flavors in a model version's MLmodel"),
]
