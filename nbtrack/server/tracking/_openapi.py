"""The OpenAPI 3 document of the server, built from the same field specs that check requests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nbtrack.server.tracking._protocol import INT32, INT64, Endpoint, Field

__all__ = ["document"]

_ERROR = {"type": "object", "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
          "required": ["error_code", "message"]}


def _schema(f: Field, query: bool = False) -> dict[str, Any]:
    if f.kind == "string":
        item: dict[str, Any] = {"type": "string"}
    elif f.kind in ("int64", "int32"):
        low, high = INT64 if f.kind == "int64" else INT32
        item = {"type": "integer", "format": f.kind, "minimum": low, "maximum": high}
    elif f.kind == "double":
        item = {"type": "number", "format": "double"}
    elif f.kind == "bool":
        item = {"type": "boolean"}
    elif f.kind == "enum":
        item = {"type": "string", "enum": list(f.enum)}
    else:
        item = _object(f.fields)
    return {"type": "array", "items": item} if f.repeated else item


def _object(fields: Sequence[Field]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": {f.name: _schema(f) for f in fields}}
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    return out


def _responses() -> dict[str, Any]:
    error = {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"200": {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": error, "401": error, "403": error, "404": error}


def _operation(ep: Endpoint, method: str, prefix: str) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": ep.summary or ep.path, "operationId": f"{method.lower()}_{prefix}{ep.path}",
                          "responses": _responses()}
    status = ep.extra.get("status")
    if status == 201:  # workspaces: created
        op["responses"]["201"] = op["responses"].pop("200")
    elif status == 204:  # workspaces: deleted, no body
        op["responses"].pop("200")
        op["responses"]["204"] = {"description": "Deleted"}
    if ep.extra.get("path_param"):
        op["parameters"] = [{"name": "artifact_path", "in": "path", "required": True, "schema": {"type": "string"}}]
    if ep.raw:
        if method == "PUT":
            op["requestBody"] = {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                       "format": "binary"}}}}
        if ep.fields:
            op["parameters"] = op.get("parameters", []) + [
                {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f)} for f in ep.fields]
        return op
    in_path = re.findall(r"{(\w+)}", ep.path)  # logged-models/{model_id}: named by the path, not the body
    fields = [f for f in ep.fields if f.name not in in_path]
    path_params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in in_path]
    if method == "GET" or (path_params and method == "DELETE"):
        op["parameters"] = path_params + [
            {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f, True),
             **({"style": "form", "explode": True} if f.repeated else {})} for f in fields]
    else:
        if path_params:
            op["parameters"] = path_params
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _object(fields)}}}
    return op


def document(endpoints: Sequence[tuple[str, Endpoint]], version: str) -> dict[str, Any]:
    """``endpoints`` are (full path, endpoint) pairs, each path in OpenAPI's ``{param}`` form."""
    paths: dict[str, dict[str, Any]] = {}
    for full, ep in endpoints:
        for method in ep.methods:
            paths.setdefault(full, {})[method.lower()] = _operation(ep, method, full.split("/")[1] + "/")
    return {
        "openapi": "3.0.3",
        "info": {"title": "nbtrack tracking server", "version": version,
                 "description": "MLflow's REST API (tracking, model registry, artifact proxy) over an nbtrack store."},
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "basic": {"type": "http", "scheme": "basic"}}},
    }
