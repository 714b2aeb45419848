"""Errors raised by nbtrack.

Every error is an :class:`NbtrackError`; where a built-in exception applies the class
also inherits it (``InvalidFilter`` is a ``ValueError``) so generic handlers keep
working. ``MlflowException`` is an alias of :class:`NbtrackError` for code written for
MLflow. Each class keeps the fields it was built from and carries MLflow's
``error_code`` so the REST layer can map it to an HTTP status.
"""

from __future__ import annotations

__all__ = [
    "ArtifactPathError",
    "InvalidFilter",
    "InvalidParameter",
    "InvalidStore",
    "MlflowException",
    "NbtrackError",
    "NoActiveRun",
    "NotFound",
    "ParamConflict",
    "ResourceExists",
    "RunNotActive",
    "StoreBusy",
    "StoreReadOnly",
]


class NbtrackError(Exception):
    """Base class of every error nbtrack raises (MLflow's ``MlflowException``)."""

    error_code = "INTERNAL_ERROR"
    http_status = 500

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code

    def serialize_as_json(self) -> str:
        import json

        return json.dumps({"error_code": self.error_code, "message": self.message})

    def get_http_status_code(self) -> int:
        return _HTTP_STATUS.get(self.error_code, 500)

    @classmethod
    def invalid_parameter_value(cls, message: str) -> NbtrackError:
        return InvalidParameter(message)


_HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "PERMISSION_DENIED": 403,
    "NOT_IMPLEMENTED": 501,
    "FEATURE_DISABLED": 501,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}

MlflowException = NbtrackError


class InvalidParameter(NbtrackError, ValueError):
    """A value given to the API is malformed (bad key, too long, wrong type)."""

    error_code = "INVALID_PARAMETER_VALUE"


class ParamConflict(InvalidParameter):
    """A param was logged again with a different value; params are immutable."""

    def __init__(self, run_id: str, key: str, old_value: str, new_value: str) -> None:
        self.run_id, self.key, self.old_value, self.new_value = run_id, key, old_value, new_value
        super().__init__(
            f"Changing param values is not allowed. Param with key='{key}' was already logged "
            f"with value='{old_value}' for run ID='{run_id}'. Attempted logging new value "
            f"'{new_value}'. Log it under a new key, or start a new run for the new value."
        )


class InvalidFilter(NbtrackError, ValueError):
    """A ``filter_string`` or ``order_by`` clause could not be parsed or is not allowed.

    ``position`` is the 1-based column in ``text`` where the problem starts (or None).
    """

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, problem: str, text: str = "", position: int | None = None) -> None:
        self.problem, self.text, self.position = problem, text, position
        message = problem
        if text:
            message = f"{problem}\n  {text}"
            if position is not None:
                message += "\n  " + " " * (position - 1) + "^"
        super().__init__(message)


class NotFound(NbtrackError, LookupError):
    """A run, experiment, model or artifact does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceExists(NbtrackError):
    """Something with that name or id already exists."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class RunNotActive(NbtrackError):
    """The run is deleted (or its experiment is) and cannot be written to."""

    error_code = "INVALID_PARAMETER_VALUE"


class NoActiveRun(NbtrackError):
    """An operation needs an active run and there is none."""

    error_code = "BAD_REQUEST"


class ArtifactPathError(InvalidParameter):
    """An artifact path would leave the run's artifact folder."""


class InvalidStore(NbtrackError):
    """The tracking URI points at something that is not an nbtrack store."""

    error_code = "INVALID_STATE"


class StoreReadOnly(NbtrackError, PermissionError):
    """The store directory cannot be written."""

    error_code = "PERMISSION_DENIED"


class StoreBusy(NbtrackError):
    """The store could not be reached in time (another process held it too long)."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class InvalidStage(InvalidParameter):
    """A model version stage is not one of None, Staging, Production, Archived."""

    def __init__(self, message: str, stage: object = None) -> None:
        self.stage = stage
        super().__init__(message)


class InvalidAlias(InvalidParameter):
    """A registered model alias is empty, malformed, too long or reserved (``latest``, ``v1``)."""

    def __init__(self, message: str, alias: object = None) -> None:
        self.alias = alias
        super().__init__(message)


class AliasNotFound(NotFound, InvalidParameter):
    """No version of the model holds the alias.

    Both a :class:`NotFound` and, as in MLflow (``INVALID_PARAMETER_VALUE``), an
    :class:`InvalidParameter`.
    """

    error_code = "INVALID_PARAMETER_VALUE"

    def __init__(self, name: str, alias: str) -> None:
        self.name, self.alias = name, alias
        super().__init__(
            f"Registered model alias {alias} not found. Set it with "
            f"set_registered_model_alias('{name}', '{alias}', <version>), or list the model's "
            f"aliases with get_registered_model('{name}').aliases."
        )


class InvalidQuery(InvalidParameter):
    """``nbtrack.sql`` was given something other than one read-only SELECT over the views."""

    def __init__(self, message: str, query: object = None) -> None:
        self.query = query
        super().__init__(message)


class StoreIOError(NbtrackError, OSError):
    """Reading or writing the store's files failed at the operating-system level.

    ``path`` is the file or folder involved; run ``nbtrack doctor <store>`` to see its state.
    """

    error_code = "TEMPORARILY_UNAVAILABLE"

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class StoreFull(StoreIOError):
    """The disk holding the store has no room. Buffered data is kept and written once there is space.

    ``needed`` is the number of bytes the failed write wanted (or None) and ``free`` the free
    bytes found on that disk.
    """

    def __init__(self, message: str, path: str | None = None, needed: int | None = None,
                 free: int | None = None) -> None:
        self.needed, self.free = needed, free
        super().__init__(message, path)


__all__ += ["AliasNotFound", "InvalidAlias", "InvalidQuery", "InvalidStage", "StoreFull", "StoreIOError"]


class ServerUnreachable(StoreBusy, ConnectionError):
    """The tracking server at ``url`` could not be reached (refused, timed out, kept answering 503).

    Run data logged meanwhile is spooled locally and sent, in order, once the server answers.
    """

    def __init__(self, message: str, url: str | None = None, retryable: bool = True) -> None:
        self.url, self.retryable = url, retryable  # retryable False: waiting will not help (TLS)
        super().__init__(message)


class AccessDenied(NbtrackError, PermissionError):
    """The tracking server refused the credentials (HTTP 401/403)."""

    error_code = "PERMISSION_DENIED"


__all__ += ["AccessDenied", "ServerUnreachable"]


class InvalidState(NbtrackError):
    """The request conflicts with the resource's state (e.g. a workspace that still holds experiments)."""

    error_code = "INVALID_STATE"


class FeatureDisabled(NbtrackError):
    """The store behind the tracking URI does not provide this feature (e.g. workspaces)."""

    error_code = "FEATURE_DISABLED"
__all__ += ["FeatureDisabled", "InvalidState"]
