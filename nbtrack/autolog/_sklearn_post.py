"""Post-training metrics: what the user computes on an autologged model's predictions.

After ``model.fit(X_train, y_train)``, ``y_pred = model.predict(X_test)`` remembers that
``y_pred`` came from that model on the variable ``X_test``; ``accuracy_score(y_test, y_pred)``
is then logged as ``accuracy_score_X_test`` (a second call: ``accuracy_score-2_X_test``), and
``model.score(X_test, y_test)`` as ``LogisticRegression_score_X_test``; ``metric_info.json``
maps each key to the call that produced it. These are MLflow's names.

Unlike MLflow (mlflow#7814), a metric goes to the model's run only while that run is the
active run, or, for a run autolog started and ended around ``fit``, while no run is active.
A metric computed after the user ended their run, or inside some other run, is not logged,
and no run is ever started here.
"""

from __future__ import annotations

import inspect
import sys
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, ModuleType
from typing import Any

from nbtrack.autolog._patching import Guard, patch_function, session, training_active, wrapper_codes
from nbtrack.autolog._runs import Target, config, is_number, write_dict
from nbtrack.tracking import fluent
from nbtrack.tracking.client import Client

__all__ = ["metric_hook", "patch_metrics", "predict_hook", "remember", "score_hook"]

_NOT_METRICS = {"check_scoring", "get_scorer", "make_scorer", "get_scorer_names"}
_LIBRARIES = ("sklearn.", "xgboost.", "lightgbm.", "scipy.", "joblib.")
UNKNOWN_DATASET = "unknown_dataset"


@dataclass(frozen=True)
class _Origin:
    run_id: str
    created: bool  # autolog started (and ended) this run around fit
    tracking_uri: str


_models: weakref.WeakKeyDictionary[Any, _Origin] = weakref.WeakKeyDictionary()
_predictions: dict[int, tuple[_Origin, str]] = {}  # id(prediction) -> where it came from
_datasets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
_calls: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
_lock = threading.Lock()


def remember(model: Any, target: Target) -> None:
    """``model`` was fitted in ``target``'s run: its predictions' metrics may go there."""
    try:
        _models[model] = _Origin(target.run_id, target.created, target.client.tracking_uri)
    except TypeError:  # an estimator that defines __eq__ without __hash__
        pass


def _enabled() -> bool:
    settings = config("sklearn")
    return settings is not None and bool(settings.options.get("log_post_training_metrics", True))


def _origin(model: Any) -> _Origin | None:
    try:
        return _models.get(model)
    except TypeError:
        return None


def _destination(origin: _Origin) -> str | None:
    active = fluent.active_run()
    if active is not None:
        return origin.run_id if active.info.run_id == origin.run_id else None
    settings = config("sklearn")
    if origin.created and settings is not None and settings.run_id is None:
        return origin.run_id
    return None


def _guard() -> Guard:
    settings = config("sklearn")
    return Guard("sklearn", settings.silent if settings is not None else False)


def patch_metrics(flavor: str, metrics: ModuleType) -> None:
    """Route every metric function of ``sklearn.metrics`` through :func:`metric_hook`."""
    for name in getattr(metrics, "__all__", ()):
        fn = getattr(metrics, name, None)
        if (name in _NOT_METRICS or name.startswith("plot_") or inspect.isclass(fn)
                or not inspect.isfunction(fn)):
            continue
        patch_function(flavor, metrics, name, metric_hook)


# -- hooks ------------------------------------------------------------------------------------
def _from_user_code() -> bool:
    """Whether the hooked call comes from the user's code, not from inside a library
    (``permutation_importance`` scoring a model hundreds of times is not the user's metric)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and _ours(frame):
        frame = frame.f_back
    caller = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
    return not caller.startswith(_LIBRARIES)


def _ours(frame: FrameType) -> bool:
    """Autolog's own frames, and the argument-checking wrapper around a hooked function."""
    return frame.f_code in wrapper_codes or str(frame.f_globals.get("__name__", "")).startswith("nbtrack.autolog")


def predict_hook(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    if training_active() or not _enabled() or not _from_user_code():
        return original(self, *args, **kwargs)
    origin = _origin(self)
    if origin is None:
        return original(self, *args, **kwargs)
    with session(None):  # nested estimators and metrics inside predict are not the user's calls
        result = original(self, *args, **kwargs)
    _guard().run("record a prediction", _record_prediction, origin, original, args, kwargs, result)
    return result


def score_hook(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    if training_active() or not _enabled() or not _from_user_code():
        return original(self, *args, **kwargs)
    origin = _origin(self)
    if origin is None:
        return original(self, *args, **kwargs)
    with session(None):
        value = original(self, *args, **kwargs)
    _guard().run("log a post-training score", _log_score, origin, self, original, args, kwargs, value)
    return value


def metric_hook(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if training_active() or not _predictions or not _enabled() or not _from_user_code():
        return original(*args, **kwargs)
    with session(None):  # one metric may call another
        value = original(*args, **kwargs)
    _guard().run("log a post-training metric", _log_metric, original, args, kwargs, value)
    return value


# -- bookkeeping --------------------------------------------------------------------------------
def _first_argument(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args:
        return args[0]
    names = [n for n in inspect.signature(fn).parameters if n != "self"]
    return kwargs.get(names[0]) if names else None


def _record_prediction(origin: _Origin, original: Callable[..., Any], args: tuple[Any, ...],
                       kwargs: dict[str, Any], result: Any) -> None:
    name = _dataset_name(origin.run_id, _first_argument(original, args, kwargs))
    key = id(result)
    try:
        weakref.finalize(result, _predictions.pop, key, None)  # ids are reused once it is gone
    except TypeError:  # not weak-referenceable (a list): cannot be tracked safely
        return
    with _lock:
        _predictions[key] = (origin, name)


def _dataset_name(run_id: str, dataset: Any) -> str:
    """``X_test``; another object under the same name in the same run: ``X_test-2``."""
    name = variable_name(dataset, UNKNOWN_DATASET)
    with _lock:
        seen = _datasets[run_id][name]
        if id(dataset) not in seen:
            seen.append(id(dataset))
        index = seen.index(id(dataset))
    return name if index == 0 else f"{name}-{index + 1}"


def _register_call(run_id: str, metric: str, dataset: str, call: str) -> str:
    with _lock:
        calls = _calls[run_id][metric]
        key = f"{metric if not calls else f'{metric}-{len(calls) + 1}'}_{dataset}"
        calls.append((key, call))
        return key


def _log(origin: _Origin, run_id: str, key: str, value: Any) -> None:
    Client(origin.tracking_uri).log_metric(run_id, key, float(value))
    with _lock:
        info = dict(sorted(kv for calls in _calls[run_id].values() for kv in calls))
    write_dict(origin.tracking_uri, run_id, info, "metric_info.json")


def _log_metric(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> None:
    if not is_number(value):
        return
    found = next((_predictions.get(id(a)) for a in [*args, *kwargs.values()]
                  if not _scalar(a) and id(a) in _predictions), None)
    if found is None:
        return
    origin, dataset = found
    run_id = _destination(origin)
    if run_id is None:
        return
    key = _register_call(run_id, original.__name__, dataset, call_text(original, None, args, kwargs))
    _log(origin, run_id, key, value)


def _log_score(origin: _Origin, model: Any, original: Callable[..., Any], args: tuple[Any, ...],
               kwargs: dict[str, Any], value: Any) -> None:
    run_id = _destination(origin)
    if run_id is None or not is_number(value):
        return
    dataset = _dataset_name(origin.run_id, _first_argument(original, args, kwargs))
    call = call_text(original, model, args, kwargs)
    key = _register_call(run_id, f"{type(model).__name__}_score", dataset, call)
    _log(origin, run_id, key, value)


def _scalar(value: Any) -> bool:
    import numpy as np

    return value is None or bool(np.isscalar(value))


def call_text(fn: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``accuracy_score(y_true=y_test, y_pred=y_pred)``: the call, with variable names."""
    names = list(inspect.signature(fn).parameters)
    if owner is not None:
        names = names[1:]
    parts = [f"{n}={_argument_text(a)}" for n, a in zip(names, args, strict=False)]
    parts += [f"{k}={_argument_text(v)}" for k, v in kwargs.items()]
    prefix = f"{type(owner).__name__}.{fn.__name__}" if owner is not None else fn.__name__
    return f"{prefix}({', '.join(parts)})"


def _argument_text(value: Any) -> str:
    if _scalar(value):
        if isinstance(value, str) and len(value) > 32:
            return repr(value[:32] + "...")
        return repr(value)
    return variable_name(value, f"<{type(value).__name__}>")


def variable_name(value: Any, fallback: str) -> str:
    """The name the user's code holds ``value`` under: the first frame up the stack that did
    not receive it as an argument (a notebook cell's globals, a function's locals)."""
    if value is None:
        return fallback
    frame: FrameType | None = inspect.currentframe()
    try:
        while frame is not None:
            if _ours(frame):
                frame = frame.f_back
                continue
            info = inspect.getargvalues(frame)
            passed = [info.locals.get(a) for a in info.args]
            if info.varargs:
                passed += list(info.locals.get(info.varargs) or ())
            if info.keywords:
                passed += list((info.locals.get(info.keywords) or {}).values())
            if any(p is value for p in passed):
                frame = frame.f_back
                continue
            names = [k for k, v in frame.f_locals.items() if v is value]
            public = [n for n in names if not n.startswith("_")]  # IPython's _, _3, Out...
            return (public or names or [fallback])[0]
        return fallback
    finally:
        del frame
