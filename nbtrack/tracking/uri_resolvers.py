"""Resolvers for URI schemes that higher layers provide (``models:/`` comes with the registry)."""

from __future__ import annotations

from collections.abc import Callable

from nbtrack.errors import InvalidParameter

_resolvers: dict[str, Callable[[str, str | None], str]] = {}


def register(scheme: str, resolver: Callable[[str, str | None], str]) -> None:
    """``resolver(uri, dst_path) -> local path``."""
    _resolvers[scheme] = resolver


def unregister(scheme: str) -> None:
    _resolvers.pop(scheme, None)


def get(scheme: str) -> Callable[[str, str | None], str] | None:
    return _resolvers.get(scheme)


def schemes() -> list[str]:
    return sorted(_resolvers)


def resolve(scheme: str, uri: str, dst_path: str | None) -> str:
    resolver = _resolvers.get(scheme)
    if resolver is None:
        raise InvalidParameter(f"No resolver for {scheme}:/ URIs ({uri!r}) is available in this nbtrack.")
    return resolver(uri, dst_path)


def _resolve_s3(uri: str, dst_path: str | None) -> str:
    """``s3://bucket/prefix/model``: a local copy of that folder (boto3, MLFLOW_S3_ENDPOINT_URL)."""
    from nbtrack.store.s3 import S3ArtifactRepository

    return S3ArtifactRepository(uri).download_artifacts(None, dst_path)


register("s3", _resolve_s3)  # model versions registered by reference on an S3 artifact root
