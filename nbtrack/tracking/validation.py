"""Validation at the API boundary, with MLflow's limits and messages plus a hint to fix."""

from __future__ import annotations

import math
import numbers
import operator
import posixpath
import re
from typing import Any

from nbtrack.errors import InvalidParameter

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_KEY, _VALUE, _TIMESTAMP, _STEP = (operator.attrgetter(f) for f in ("key", "value", "timestamp", "step"))
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def key(name: Any, what: str = "key") -> str:
    if name is None or not isinstance(name, str):
        raise InvalidParameter(f"Invalid {what} {name!r}: it must be a non-empty string.")
    if name == "":
        raise InvalidParameter(f"Invalid {what} '': it must not be empty.")
    if len(name) > MAX_ENTITY_KEY_LENGTH:
        raise InvalidParameter(
            f"'{what}' exceeds the maximum length of {MAX_ENTITY_KEY_LENGTH} characters "
            f"({len(name)} given: '{name[:40]}...'). Use a shorter name."
        )
    if not _KEY_RE.match(name):
        raise InvalidParameter(
            f'Invalid value "{name}" for parameter \'{what}\' supplied: Names may only contain '
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )
    if posixpath.normpath(name) != name or name == "." or name.startswith(("..", "/")):
        raise InvalidParameter(
            f'Invalid value "{name}" for parameter \'{what}\' supplied: Names may be treated as files '
            "in certain cases, and must not resolve to other names when treated as such. This name "
            f"would resolve to '{posixpath.normpath(name)}'. Remove leading '/', '..' and repeated or "
            "trailing slashes."
        )
    return name


def _limit(value: str, limit: int, what: str) -> str:
    # MLflow truncates silently-ish (a warning); a cut value is half-written data, so we refuse it.
    if len(value) > limit:
        raise InvalidParameter(
            f"{what} value '{value[:20]}...' has {len(value)} characters, more than the {limit} allowed. "
            f"Store long text as an artifact (nbtrack.log_text) and log its path or a short summary instead."
        )
    return value


def param_value(value: Any) -> str:
    return _limit(str(value), MAX_PARAM_VAL_LENGTH, "Param")


def tag_value(value: Any) -> str:
    return _limit(str(value), MAX_TAG_VAL_LENGTH, "Tag")


def metric_value(name: str, value: Any) -> float:
    if value is None:
        raise InvalidParameter(f"Missing value for required parameter 'value' of metric '{name}'.")
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, float):
        return value
    try:
        if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
            value = value.item()
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"Got invalid value {value!r} for metric '{name}' (timestamp=..., step=...). "
            "Please specify value as a valid double (64-bit floating point)."
        ) from None


def timestamp(name: str, value: Any) -> int:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0 or (
            isinstance(value, float) and not math.isfinite(value)):
        raise InvalidParameter(
            f"Invalid value {value!r} for parameter 'timestamp' supplied: metric '{name}'. Timestamp "
            "must be a nonnegative long (64-bit integer) of milliseconds since the epoch."
        )
    return int(value)  # type: ignore[call-overload]


def step(name: str, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise InvalidParameter(
            f"Invalid value {value!r} for parameter 'step' supplied: metric '{name}'. Step must be an integer."
        )
    if isinstance(value, float) and not value.is_integer():
        raise InvalidParameter(
            f"Invalid value {value!r} for parameter 'step' supplied: metric '{name}'. Step must be an "
            "integer (MLflow's file store cannot read fractional steps back either)."
        )
    return int(value)  # type: ignore[call-overload]


def run_id(value: Any) -> str:
    if not isinstance(value, str) or not _RUN_ID_RE.match(value):
        raise InvalidParameter(f"Invalid run ID {value!r}: expected a run id like 'a1b2c3...' (32 hex characters).")
    return value


def experiment_name(name: Any) -> str:
    if not isinstance(name, str) or name == "":
        raise InvalidParameter(f"Invalid experiment name: {name!r}. Give a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"Invalid experiment name: it has {len(name)} characters, more than the "
            f"{MAX_EXPERIMENT_NAME_LENGTH} allowed."
        )
    return name


def metric_columns(metrics: Any) -> tuple[list[str], list[float], list[int], list[int]]:
    """Validate a batch of Metric objects; return their columns (keys, values, timestamps, steps).

    The common case (float values, non-negative int timestamps and steps, few distinct keys) is
    checked column-wise, which keeps ``log_batch`` above a million points per second; anything
    unusual falls back to the per-point checks with their precise messages.
    """
    if not metrics:
        return [], [], [], []
    keys = list(map(_KEY, metrics))
    values = list(map(_VALUE, metrics))
    stamps = list(map(_TIMESTAMP, metrics))
    steps = list(map(_STEP, metrics))
    for name in set(keys):
        key(name, "metric key")
    if set(map(type, values)) != {float}:
        values = [metric_value(k, v) for k, v in zip(keys, values, strict=True)]
    if set(map(type, stamps)) != {int} or min(stamps) < 0:
        stamps = [timestamp(k, t) for k, t in zip(keys, stamps, strict=True)]
    if set(map(type, steps)) != {int}:
        steps = [step(k, s) for k, s in zip(keys, steps, strict=True)]
    return keys, values, stamps, steps
