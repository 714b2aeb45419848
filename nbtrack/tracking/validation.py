"""Validation at the API boundary: MLflow's limits and messages, plus a hint to fix.

Every entry point (the fluent API, :class:`~nbtrack.Client`, ``log_batch``, the registry and
the REST server) calls these plain functions on the raw values it was given and stores what
they return. Whatever passes here is something the store can hold and read back: strings are
valid UTF-8 (no lone surrogates), integers fit an int64, metric values fit a double. So a bad
value is refused at the call, never accepted into the write buffer where it would break the
next flush.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import numbers
import operator
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import InvalidAlias, InvalidParameter

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_RUN_NAME_LENGTH = 250  # MLflow's runs.name column is VARCHAR(250)
MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_REGISTERED_MODEL_ALIAS_LENGTH = 255
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# The last millisecond of 9999-12-31: search_runs' DataFrame turns start/end times into datetimes,
# and neither datetime nor pandas goes further.
MAX_TIME_MS = 253_402_300_799_999
RUN_NAME_TAG = "mlflow.runName"
_KEY_RE = re.compile(r"[/\w.\- :]*")
_RUN_ID_RE = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")
_ALIAS_RE = re.compile(r"[\w\-]*")
_VERSION_ALIAS_RE = re.compile(r"[vV]\d+")
_KEY, _VALUE, _TIMESTAMP, _STEP = (operator.attrgetter(f) for f in ("key", "value", "timestamp", "step"))
_VIEW_TYPES = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}


# -- strings ----------------------------------------------------------------------------------
def utf8(value: str, what: str) -> str:
    """``value`` unchanged if it encodes as UTF-8; a lone surrogate (``"\\ud800"``) is refused."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidParameter(
            f"{what} {_preview(value)} is not valid Unicode text: it holds a lone surrogate "
            f"{value[e.start]!r} at position {e.start} (usually text decoded with errors='surrogateescape' "
            "or cut in the middle of an emoji). Fix or drop that character, e.g. "
            "value.encode('utf-8', 'replace').decode('utf-8')."
        ) from None
    return value


def text(value: Any, what: str, limit: int | None = None, *, empty: bool = True) -> str:
    """A string argument: a str, valid UTF-8, non-empty unless ``empty``, at most ``limit`` characters."""
    if not isinstance(value, str):
        raise InvalidParameter(f"Invalid {what} {_preview(value)}: it must be a string, not {type(value).__name__}.")
    if not empty and value == "":
        raise InvalidParameter(f"Invalid {what} '': it must not be empty.")
    if limit is not None and len(value) > limit:
        raise InvalidParameter(
            f"{what} {_preview(value)} has {len(value)} characters, more than the {limit} allowed. "
            "Use a shorter one.")
    return utf8(value, what)


def optional_text(value: Any, what: str, limit: int | None = None) -> str | None:
    return None if value is None else text(value, what, limit)


def _printable(value: str) -> str:
    """``value`` with lone surrogates escaped, so an error message quoting it can be printed."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _preview(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    try:
        shown = repr(value)
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__} too long to show>"
    return shown if len(shown) <= 60 else shown[:60] + "..."


def _stringify(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except ValueError as e:  # e.g. an int with more digits than Python will print
        raise InvalidParameter(f"{what} value of type {type(value).__name__} cannot be turned into text ({e}). "
                               "Log a shorter representation.") from None


# -- keys and values of params, tags and metrics -------------------------------------------------
def key(name: Any, what: str = "key") -> str:
    """A param, metric or tag key: MLflow's grammar, at most 250 characters, a path that is its own."""
    if name is None or not isinstance(name, str):
        raise InvalidParameter(f"Invalid {what} {_preview(name)}: it must be a non-empty string.")
    if name == "":
        raise InvalidParameter(f"Invalid {what} '': it must not be empty.")
    if len(name) > MAX_ENTITY_KEY_LENGTH:
        raise InvalidParameter(
            f"'{what}' exceeds the maximum length of {MAX_ENTITY_KEY_LENGTH} characters "
            f"({len(name)} given: '{_printable(name[:40])}...'). Use a shorter name."
        )
    if not _KEY_RE.fullmatch(name):  # fullmatch: `$` would let a trailing newline through
        raise InvalidParameter(
            f"Invalid value {name!r} for parameter '{what}' supplied: Names may only contain "
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
            f"{what} value '{_printable(value[:20])}...' has {len(value)} characters, more than the {limit} allowed. "
            f"Store long text as an artifact (nbtrack.log_text) and log its path or a short summary instead."
        )
    return utf8(value, f"{what} value")


def param_value(value: Any) -> str:
    return _limit(_stringify(value, "Param"), MAX_PARAM_VAL_LENGTH, "Param")


def tag_value(value: Any, what: str = "Tag", limit: int = MAX_TAG_VAL_LENGTH) -> str:
    return _limit(_stringify(value, what), limit, what)


def run_tag(tag_key: Any, value: Any) -> tuple[str, str]:
    """A run tag; ``mlflow.runName`` also follows the run-name rules."""
    checked = key(tag_key, "tag key")
    if checked == RUN_NAME_TAG:
        return checked, _run_name_text(_stringify(value, "Tag"))
    return checked, tag_value(value)


def experiment_tag(tag_key: Any, value: Any) -> tuple[str, str]:
    return key(tag_key, "tag key"), tag_value(value, "Experiment tag", MAX_EXPERIMENT_TAG_VAL_LENGTH)


def metric_value(name: str, value: Any) -> float:
    """A metric value as a double: NaN and ±inf are kept; what cannot be a double is refused."""
    if value is None:
        raise InvalidParameter(f"Missing value for required parameter 'value' of metric '{name}'.")
    if type(value) is float:
        return value
    try:
        if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
            value = value.item()
        return float(value)
    except (TypeError, ValueError, ArithmeticError) as e:
        hint = (" It is too large for a double (at most about 1.8e308): log it on a log scale or as a param."
                if isinstance(e, OverflowError) else "")
        raise InvalidParameter(
            f"Got invalid value {_preview(value)} for metric '{name}'. Please specify value as a valid double "
            f"(64-bit floating point).{hint}"
        ) from None


def _int64(value: int, what: str, name: str, low: int) -> int:
    if not low <= value <= INT64_MAX:
        raise InvalidParameter(
            f"Invalid value {value} for parameter '{what}' supplied: metric '{name}'. It must fit a "
            f"{'nonnegative ' if low == 0 else ''}long (64-bit integer), between {low} and {INT64_MAX}."
            + (" Timestamps are milliseconds since the epoch (time.time() * 1000)." if what == "timestamp" else "")
        )
    return value


def timestamp(name: str, value: Any) -> int:
    """A metric timestamp: milliseconds since the epoch, a nonnegative int64."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0
            or (isinstance(value, float) and not math.isfinite(value))):
        raise InvalidParameter(
            f"Invalid value {_preview(value)} for parameter 'timestamp' supplied: metric '{name}'. Timestamp "
            "must be a nonnegative long (64-bit integer) of milliseconds since the epoch."
        )
    return _int64(int(value), "timestamp", name, 0)  # type: ignore[call-overload]


def step(name: str, value: Any) -> int:
    """A metric step: an int64; an integral float (``3.0``) is taken, ``1.5``, NaN and inf are not."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameter(
            f"Invalid value {_preview(value)} for parameter 'step' supplied: metric '{name}'. Step must be an integer."
        )
    if not isinstance(value, numbers.Integral):
        try:
            as_float = float(value)
        except OverflowError:
            as_float = math.inf
        if not as_float.is_integer():
            raise InvalidParameter(
                f"Invalid value {value!r} for parameter 'step' supplied: metric '{name}'. Step must be an "
                "integer (MLflow's file store cannot read fractional steps back either)."
            )
        value = as_float
    return _int64(int(value), "step", name, INT64_MIN)


def time_ms(value: Any, what: str) -> int | None:
    """``start_time`` / ``end_time``: None, or milliseconds since the epoch up to the end of year 9999."""
    if value is None:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value)
    if not ok or not 0 <= value <= MAX_TIME_MS:
        raise InvalidParameter(
            f"Invalid value {_preview(value)} for parameter '{what}' supplied. It must be milliseconds since the "
            f"epoch (0 to {MAX_TIME_MS}, the end of year 9999), e.g. int(time.time() * 1000); or None for now."
        )
    return int(value)


def metric_columns(metrics: Any) -> tuple[list[str], list[float], list[int], list[int]]:
    """Validate a batch of Metric objects; return their columns (keys, values, timestamps, steps).

    The common case (str keys, float values, int64 timestamps and steps, few distinct keys) is
    checked column-wise (types with one ``set(map(type, ...))``, ranges with ``min``/``max``),
    which keeps ``log_batch`` above a million points per second; anything unusual falls back to
    the per-point checks with their precise messages.
    """
    if not metrics:
        return [], [], [], []
    if not isinstance(metrics, Sequence):
        metrics = _sequence(metrics, "metrics")
    try:
        keys = list(map(_KEY, metrics))
        values = list(map(_VALUE, metrics))
        stamps = list(map(_TIMESTAMP, metrics))
        steps = list(map(_STEP, metrics))
    except AttributeError:
        raise InvalidParameter("metrics must be nbtrack.entities.Metric objects: "
                               "Metric(key, value, timestamp, step).") from None
    try:
        distinct = set(keys)
    except TypeError:  # an unhashable key: let the per-key check say which
        distinct = keys  # type: ignore[assignment]
    for name in distinct:
        key(name, "metric key")
    if set(map(type, values)) != {float}:
        values = [metric_value(k, v) for k, v in zip(keys, values, strict=True)]
    if set(map(type, stamps)) != {int} or min(stamps) < 0 or max(stamps) > INT64_MAX:
        stamps = [timestamp(k, t) for k, t in zip(keys, stamps, strict=True)]
    if set(map(type, steps)) != {int} or min(steps) < INT64_MIN or max(steps) > INT64_MAX:
        steps = [step(k, s) for k, s in zip(keys, steps, strict=True)]
    return keys, values, stamps, steps


def _sequence(items: Any, what: str) -> Sequence[Any]:
    if isinstance(items, str | bytes | Mapping):
        raise InvalidParameter(f"{what} must be a list of entities, not {type(items).__name__}.")
    try:
        return list(items)
    except TypeError:
        raise InvalidParameter(f"{what} must be a list of entities, not {type(items).__name__}.") from None


def batch_params(params: Any) -> list[tuple[str, str]]:
    """``log_batch``'s params (Param objects) as checked (key, value) pairs."""
    try:
        return [(key(p.key, "param key"), param_value(p.value)) for p in _sequence(params or (), "params")]
    except AttributeError:
        raise InvalidParameter("params must be nbtrack.entities.Param objects: Param(key, value).") from None


def batch_tags(tags: Any) -> list[tuple[str, str]]:
    """``log_batch``'s tags (RunTag objects) as checked (key, value) pairs."""
    try:
        return [run_tag(t.key, t.value) for t in _sequence(tags or (), "tags")]
    except AttributeError:
        raise InvalidParameter("tags must be nbtrack.entities.RunTag objects: RunTag(key, value).") from None


def mapping(value: Any, what: str) -> Mapping[Any, Any]:
    """A dict argument (``tags=``, ``log_params``' params, ...); None is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameter(f"{what} must be a dict, not {type(value).__name__}: e.g. {{'key': 'value'}}.")
    return value


def dataset_input(item: Any) -> DatasetInput:
    """A dataset input whose every text field is a valid UTF-8 string."""
    if not isinstance(item, DatasetInput) or not isinstance(item.dataset, Dataset):
        raise InvalidParameter(f"Cannot log {type(item).__name__} as a dataset input: pass a DatasetInput "
                               "(nbtrack.data.from_pandas(df) builds one for log_input).")
    d = item.dataset
    for field in ("name", "digest", "source_type", "source"):
        text(getattr(d, field), f"dataset {field}")
    for field in ("schema", "profile"):
        optional_text(getattr(d, field), f"dataset {field}")
    for tag in item.tags:
        if not isinstance(tag, InputTag):
            raise InvalidParameter(f"Dataset input tags must be InputTag objects, not {type(tag).__name__}.")
        text(tag.key, "dataset input tag key")
        text(tag.value, "dataset input tag value")
    return item


# -- runs and experiments -------------------------------------------------------------------------
def run_id(value: Any) -> str:
    if not isinstance(value, str) or not _RUN_ID_RE.fullmatch(value):
        raise InvalidParameter(
            f"Invalid run ID {_preview(value)}: expected a run id like 'a1b2c3...' (32 hex characters).")
    return value


def run_name(value: Any) -> str | None:
    """A run name (None: pick one). At most 250 characters, as MLflow's SQL stores hold."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"Invalid run name {_preview(value)}: it must be a string, not {type(value).__name__}.")
    return _run_name_text(value)


def _run_name_text(value: str) -> str:
    if len(value) > MAX_RUN_NAME_LENGTH:
        raise InvalidParameter(
            f"Run name {_preview(value)} has {len(value)} characters, more than the {MAX_RUN_NAME_LENGTH} "
            "allowed. Use a shorter name and put the detail in the description (mlflow.note.content) "
            "or in params.")
    return utf8(value, "Run name")


def experiment_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidParameter(
            f"Invalid experiment id {_preview(value)} of type {type(value).__name__}. Must be one of str or int; "
            "see nbtrack.search_experiments() for the ids.")
    return utf8(str(value), "Experiment id")


def experiment_ids(value: Any) -> list[str]:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [experiment_id(value)]
    if not isinstance(value, Sequence):
        raise InvalidParameter(f"Invalid experiment_ids {_preview(value)}: pass a list of experiment ids.")
    return [experiment_id(v) for v in value]


def experiment_name(name: Any) -> str:
    if not isinstance(name, str) or name == "":
        raise InvalidParameter(f"Invalid experiment name: {_preview(name)}. Give a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"Invalid experiment name: it has {len(name)} characters, more than the "
            f"{MAX_EXPERIMENT_NAME_LENGTH} allowed. Use a shorter name."
        )
    return utf8(name, "Experiment name")


# -- search arguments -----------------------------------------------------------------------------
def max_results(value: Any, limit: int | None = SEARCH_MAX_RESULTS_THRESHOLD, *, allow_none: bool = False) -> Any:
    """A positive int (numpy ints too) at most ``limit`` (None: no bound, clamped to int64 for SQL)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise InvalidParameter(
            f"Invalid value {_preview(value)} for parameter 'max_results' supplied. It must be a positive integer.")
    number = int(value)
    if limit is not None and number > limit:
        raise InvalidParameter(
            f"Invalid value {number} for parameter 'max_results' supplied. It must be at most {limit}, "
            f"but got value {number}. Use page_token to fetch further pages.")
    return min(number, INT64_MAX - 1)  # leaves room for the +1 that detects a further page


def view_type(value: Any) -> int:
    """``run_view_type`` / ``view_type``: ViewType.ACTIVE_ONLY (1), DELETED_ONLY (2) or ALL (3)."""
    if isinstance(value, str) and value.upper() in _VIEW_TYPES.values():
        return next(k for k, v in _VIEW_TYPES.items() if v == value.upper())
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) not in _VIEW_TYPES:
        raise InvalidParameter(
            f"Invalid view type {_preview(value)}. Use nbtrack.entities.ViewType.ACTIVE_ONLY (1), "
            "DELETED_ONLY (2) or ALL (3).")
    return int(value)


def filter_string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidParameter(
        f"Invalid filter_string {_preview(value)}: it must be a string such as \"metrics.acc > 0.9\", or None.")


def order_by(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise InvalidParameter(f"order_by must be a list of strings, got the string {_preview(value)}. "
                               f"Did you mean order_by=[{value!r}]?")
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"Invalid order_by {_preview(value)}: pass a list of strings such as "
                               "['metrics.acc DESC'].")
    return list(value)


def encode_page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def page_token(token: Any) -> int:
    """The offset a ``page_token`` (from a previous page's ``.token``) stands for; 0 for None."""
    if token is None or token == "":
        return 0
    offset: Any = None
    if isinstance(token, str | bytes):
        try:
            offset = json.loads(base64.b64decode(token, validate=True))["offset"]
        except (ValueError, TypeError, KeyError, binascii.Error):
            offset = None
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < INT64_MAX // 2:
        raise InvalidParameter(f"Invalid page token {_preview(token)}: pass the token of a previous page, or None.")
    return offset


# -- model registry -------------------------------------------------------------------------------
def registered_model_name(name: Any) -> str:
    if not isinstance(name, str) or name == "":
        raise InvalidParameter("Registered model name cannot be empty. Pass a name such as 'iris-classifier'.")
    utf8(name, "Registered model name")
    if "/" in name or ":" in name:
        raise InvalidParameter(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    if name == "." or name.startswith(".."):
        raise InvalidParameter(
            f"Invalid model name '{name}'. Names may be treated as files in certain cases, and must not "
            "resolve to other names when treated as such. Do not use '.' or start a name with '..'.")
    return name


def model_version(version: Any) -> int:
    try:
        if isinstance(version, bool) or (isinstance(version, float) and not version.is_integer()):
            raise TypeError
        number = int(version)
    except (TypeError, ValueError, OverflowError):
        shown = _printable(version[:60]) if isinstance(version, str) else _preview(version)
        raise InvalidParameter(f"Model version must be an integer, got '{shown}'") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidParameter(f"Model version {number} is out of range: versions are 1, 2, 3, ...")
    return number


def model_alias(alias: Any) -> str:
    if not isinstance(alias, str) or alias == "":
        raise InvalidAlias("Registered model alias name cannot be empty.", alias)
    if not _ALIAS_RE.fullmatch(alias):
        raise InvalidAlias(
            f"Invalid alias name: {_preview(alias)}. Names may only contain alphanumerics, underscores (_), "
            "and dashes (-).", alias)
    if len(alias) > MAX_REGISTERED_MODEL_ALIAS_LENGTH:
        raise InvalidAlias(
            f"Registered model alias name '{alias[:250]}' had length {len(alias)}, which exceeded length "
            f"limit of {MAX_REGISTERED_MODEL_ALIAS_LENGTH}", alias)
    if alias.lower() == "latest":
        raise InvalidAlias("'latest' alias name (case insensitive) is reserved. Use models:/<name>/latest "
                           "for the newest version, or choose another alias.", alias)
    if _VERSION_ALIAS_RE.fullmatch(alias):
        raise InvalidAlias(f"Version alias name '{alias}' is reserved. Refer to a version as "
                           f"models:/<name>/{alias[1:]} or choose another alias.", alias)
    return alias


def registry_tag(tag_key: Any, value: Any, what: str) -> tuple[str, str]:
    """A registered-model or model-version tag (values up to 100,000 characters, as MLflow)."""
    checked = key(tag_key, "tag key")
    value_text = _stringify(value, what)
    if len(value_text) > MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"{what} value '{_printable(value_text[:250])}' had length {len(value_text)}, which exceeded length limit of "
            f"{MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH}. Store long text as an artifact of the model instead.")
    return checked, utf8(value_text, f"{what} tag value")
