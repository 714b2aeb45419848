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
