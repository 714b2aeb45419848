"""Who may call the server: bearer tokens or HTTP basic, each read-only or read-write.

Credentials are kept as SHA-256 digests and every candidate is compared with
:func:`hmac.compare_digest` (no early exit), so timing tells nothing about a secret. Secrets are
never logged or echoed in an error.

A credentials file has one credential a line, ``rw <secret>`` or ``ro <secret>`` (a secret
alone means ``rw``); for basic auth the secret is ``user:password``. Blank lines and ``#``
comments are skipped. With ``--auth token`` and no file, ``NBTRACK_TOKEN`` is one read-write
token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["AUTH_MODES", "Credentials", "PermissionDenied", "Unauthenticated", "load_credentials"]

AUTH_MODES = ("none", "token", "basic")
READ, WRITE = "ro", "rw"


class Unauthenticated(NbtrackError):
    error_code = "UNAUTHENTICATED"

    def get_http_status_code(self) -> int:
        return 401


class PermissionDenied(NbtrackError):
    error_code = "PERMISSION_DENIED"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True, slots=True)
class Credentials:
    """The accepted secrets of one auth mode, as (digest, role) pairs."""

    mode: str
    entries: tuple[tuple[bytes, str], ...] = ()

    def role(self, authorization: str | None) -> str:
        """``"rw"`` or ``"ro"`` for the request's ``Authorization`` header, else raise Unauthenticated."""
        if self.mode == "none":
            return WRITE
        secret = self._secret(authorization)
        found = ""
        candidate = _digest(secret) if secret is not None else b"\0" * 32
        for digest, role in self.entries:  # no early exit: every entry is compared
            if hmac.compare_digest(candidate, digest) and secret is not None:
                found = role
        if not found:
            raise Unauthenticated("You are not authenticated. Send a valid token as 'Authorization: Bearer <token>' "
                                  "(MLFLOW_TRACKING_TOKEN)" if self.mode == "token" else
                                  "You are not authenticated. Send 'Authorization: Basic' credentials "
                                  "(MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD).")
        return found

    def _secret(self, authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if self.mode == "token" and scheme.lower() == "bearer":
            return value
        if self.mode == "basic" and scheme.lower() == "basic":
            try:
                return base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
        return None

    @property
    def challenge(self) -> str:
        return 'Bearer realm="nbtrack"' if self.mode == "token" else 'Basic realm="nbtrack"'


def _parse_lines(text: str, mode: str, source: str) -> list[tuple[bytes, str]]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        role, _, secret = line.partition(" ")
        if role not in (READ, WRITE):
            role, secret = WRITE, line
        secret = secret.strip()
        if mode == "basic" and ":" not in secret:
            raise InvalidParameter(f"{source} line {number}: basic credentials are 'user:password'.")
        if len(secret) < 8:
            raise InvalidParameter(f"{source} line {number}: a secret must be at least 8 characters.")
        entries.append((_digest(secret), role))
    return entries


def load_credentials(mode: str, path: str | None = None, env_token: str | None = None) -> Credentials:
    """Credentials for ``mode`` from the file ``path`` (or, for tokens, ``env_token``)."""
    if mode not in AUTH_MODES:
        raise InvalidParameter(f"Unknown auth mode {mode!r}; use one of {list(AUTH_MODES)}.")
    if mode == "none":
        return Credentials(mode)
    entries: list[tuple[bytes, str]] = []
    if path is not None:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                entries = _parse_lines(f.read(), mode, path)
        except OSError as e:
            raise InvalidParameter(f"Cannot read the credentials file {path!r}: {e.strerror}.") from None
    elif mode == "token" and env_token:
        entries = _parse_lines(env_token, mode, "NBTRACK_TOKEN")
    if not entries:
        hint = "set NBTRACK_TOKEN or pass --auth-file" if mode == "token" else "pass --auth-file"
        raise InvalidParameter(f"--auth {mode} needs at least one credential: {hint}.")
    return Credentials(mode, tuple(entries))
