"""Turn a model URI into a local directory.

``resolve_model_uri`` understands local paths, ``file:`` URIs and ``runs:/<run_id>/<path>``
(through the tracking layer's ``download_artifacts``). Other schemes are plugged in with
:func:`register_uri_resolver`; the model registry registers ``models`` this way, so this
module never imports the registry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from urllib.parse import unquote, urlparse

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound

__all__ = ["register_uri_resolver", "resolve_model_uri", "unregister_uri_resolver"]

Resolver = Callable[[str, "str | None"], str]
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def register_uri_resolver(scheme: str, resolver: Resolver) -> None:
    """Make ``resolve_model_uri`` send ``<scheme>:...`` URIs to ``resolver(uri, dst_path)``.

    The resolver returns a local directory holding an ``MLmodel`` file. The registry is the
    tracking layer's (:mod:`nbtrack.tracking.uri_resolvers`), so ``download_artifacts`` sees
    the same resolvers. A later registration for a scheme replaces the earlier one.
    """
    from nbtrack.tracking import uri_resolvers

    uri_resolvers.register(scheme.lower(), resolver)


def unregister_uri_resolver(scheme: str) -> None:
    from nbtrack.tracking import uri_resolvers

    uri_resolvers.unregister(scheme.lower())


def _plugged(scheme: str) -> Resolver | None:
    from nbtrack.tracking import fluent_registry, uri_resolvers  # noqa: F401  (plugs in models:/)

    return uri_resolvers.get(scheme)


def _scheme(uri: str) -> str | None:
    m = _SCHEME.match(uri)
    # "C:\models\m" is a Windows path, not a URI with scheme "c"
    if m is None or (len(m.group(1)) == 1 and os.name == "nt"):
        return None
    return m.group(1).lower()


def _local(path: str, uri: str) -> str:
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise NotFound(
            f"No model found at '{uri}' (looked for the local path {path}). "
            "Check the path, or pass a runs:/<run_id>/<artifact_path> URI."
        )
    return path


def _resolve_runs(uri: str, dst_path: str | None) -> str:
    from nbtrack.tracking.artifacts import download_artifacts

    return str(download_artifacts(artifact_uri=uri, dst_path=dst_path))


def resolve_model_uri(uri: str | os.PathLike[str], dst_path: str | None = None) -> str:
    """Return a local directory for ``uri`` (a path, ``file:``, ``runs:/`` or a plugged scheme).

    Raises
    ------
    NotFound
        The path or artifact does not exist.
    InvalidParameter
        The URI is malformed or its scheme is unknown.
    """
    if not isinstance(uri, (str, os.PathLike)):
        raise InvalidParameter(f"A model URI must be a string or path, got {type(uri).__name__}.")
    text = os.fspath(uri)
    if not text:
        raise InvalidParameter("The model URI is empty. Pass a local path or a runs:/ URI.")
    scheme = _scheme(text)
    if scheme is None:
        return _local(text, text)
    if (resolver := _plugged(scheme)) is not None:
        return resolver(text, dst_path)
    if scheme == "file":
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidParameter(f"file: URIs must point at this machine, got host '{parsed.netloc}' in {text}.")
        return _local(unquote(parsed.path), text)
    if scheme == "runs":
        return _resolve_runs(text, dst_path)
    if scheme == "models":
        raise NbtrackError(
            f"Cannot resolve '{text}': the model registry is not available yet, so models:/ URIs "
            "cannot be loaded. Use the runs:/<run_id>/<artifact_path> URI that log_model "
            "returned, or a local path.",
            error_code="NOT_IMPLEMENTED",
        )
    from nbtrack.tracking import uri_resolvers

    known = sorted({"file", "runs", *uri_resolvers.schemes()})
    raise InvalidParameter(
        f"Unsupported model URI scheme '{scheme}' in {text}. Supported: local paths and "
        f"{', '.join(s + ':' for s in known)} URIs."
    )
