"""scikit-learn autolog, with MLflow's names (``mlflow.sklearn.autolog``).

``fit``, ``fit_transform`` and ``fit_predict`` of scikit-learn's estimators (not its
preprocessing transformers, unless inside a ``Pipeline``) log: the params of
``get_params(deep=True)``, the tags ``estimator_name`` and ``estimator_class``, the
``training_*`` metrics, ``estimator.html``, classifier figures, the training dataset and the
model. ``GridSearchCV``/``RandomizedSearchCV`` also log ``best_<param>`` params,
``best_cv_score``, ``cv_results.csv`` and a child run for each of the ``max_tuning_runs``
best candidates. Metrics the user computes afterwards on the model's predictions are logged
too (see :mod:`nbtrack.autolog._sklearn_post`).

Only classes that exist are patched: those already imported when autolog is enabled, and
those of each ``sklearn.*`` module imported later. The method is patched on the class that
defines it, so every subclass sees it, and the original comes back exactly on disable.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import sys
import types
from dataclasses import dataclass
from typing import Any

from nbtrack.autolog import _plots
from nbtrack.autolog import _sklearn_post as post
from nbtrack.autolog._patching import Guard, Integration, patch, patch_function, session, unpatched
from nbtrack.autolog._runs import Config, Target, config, configure, is_number, training_run
from nbtrack.errors import InvalidParameter

__all__ = ["FLAVOR_NAME", "autolog"]

log = logging.getLogger("nbtrack.autolog")

FLAVOR_NAME = "sklearn"
TRAINING_PREFIX = "training_"
INPUT_EXAMPLE_ROWS = 5
_FIT_METHODS = ("fit", "fit_transform", "fit_predict")
_PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba", "transform")
# Data preparation, not models: logged only as part of a Pipeline (as in MLflow).
_EXCLUDED_MODULES = ("sklearn.preprocessing", "sklearn.impute", "sklearn.feature_extraction",
                     "sklearn.feature_selection", "sklearn.utils", "sklearn.tests")
_EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or, with ``disable=True``, remove) autologging for scikit-learn, as MLflow's.

    scikit-learn is never imported by this call: if it is not imported yet, patching happens
    when the user imports it. ``disable_for_unsupported_versions`` is accepted and ignored.

    Examples
    --------
    >>> import nbtrack
    >>> nbtrack.sklearn.autolog(max_tuning_runs=3)            # doctest: +SKIP
    >>> LogisticRegression().fit(X, y)                        # doctest: +SKIP
    >>> nbtrack.last_active_run().data.metrics["training_accuracy_score"]  # doctest: +SKIP
    """
    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise InvalidParameter(f"`max_tuning_runs` must be non-negative, instead got {max_tuning_runs}.")
    settings = Config(
        log_models=log_models, log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures, log_datasets=log_datasets, exclusive=exclusive,
        silent=silent, registered_model_name=registered_model_name, extra_tags=dict(extra_tags or {}),
        options={"max_tuning_runs": max_tuning_runs, "log_post_training_metrics": log_post_training_metrics,
                 "serialization_format": serialization_format, "pos_label": pos_label},
    )
    configure(_INTEGRATION, settings, disable)


# -- patching -------------------------------------------------------------------------------
def _install(sklearn: types.ModuleType) -> None:
    estimator = _base_estimator()
    if estimator is not None:
        pending: list[type] = [estimator]
        seen: set[type] = set()
        while pending:
            subclasses: list[type] = pending.pop().__subclasses__()
            for sub in subclasses:
                if sub not in seen:
                    seen.add(sub)
                    pending.append(sub)
                    _patch_class(sub)
    metrics = sys.modules.get("sklearn.metrics")
    if metrics is not None:
        post.patch_metrics(FLAVOR_NAME, metrics)
    selection = sys.modules.get("sklearn.model_selection")
    if selection is not None:
        _patch_model_selection(selection)


def _on_module(module: types.ModuleType) -> None:
    """A ``sklearn.*`` module was imported after autolog was enabled: patch what it defines."""
    estimator = _base_estimator()
    if estimator is not None:
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == module.__name__ and issubclass(value, estimator):
                _patch_class(value)
    if module.__name__ == "sklearn.metrics":
        post.patch_metrics(FLAVOR_NAME, module)
    elif module.__name__ == "sklearn.model_selection":
        _patch_model_selection(module)


# Helpers that fit clones many times: one run per fold would be noise (as in MLflow, nothing
# inside them is autologged; a run of the user's own is still theirs to log into).
_QUIET_HELPERS = ("cross_validate", "cross_val_predict", "cross_val_score", "learning_curve",
                  "permutation_test_score", "validation_curve")


def _patch_model_selection(module: types.ModuleType) -> None:
    for name in _QUIET_HELPERS:
        if callable(getattr(module, name, None)):
            patch_function(FLAVOR_NAME, module, name, _quietly)


def _quietly(original: Any, *args: Any, **kwargs: Any) -> Any:
    with session(None):
        return original(*args, **kwargs)


def _base_estimator() -> type | None:
    """``sklearn.base.BaseEstimator``, once that module has finished importing."""
    return getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)


_INTEGRATION = Integration(FLAVOR_NAME, ("sklearn",), _install, _on_module)


@functools.cache
def _loggable(cls: Any) -> bool:
    """Whether fitting ``cls`` is a model worth a run: the nearest scikit-learn class in its
    MRO is a public, concrete estimator outside the data-preparation modules."""
    estimator = _base_estimator()
    if estimator is None:
        return False
    nearest = next((c for c in cls.__mro__ if (c.__module__ or "").startswith("sklearn.")), None)
    if nearest is None or nearest is estimator or not issubclass(nearest, estimator):
        return False
    module = nearest.__module__
    return not (nearest.__name__.startswith("_") or inspect.isabstract(nearest)
                or module.startswith(_EXCLUDED_MODULES) or f"{module}.{nearest.__name__}" in _EXCLUDED_CLASSES)


def _patch_class(cls: type) -> None:
    if not _loggable(cls):
        return
    for name in _FIT_METHODS:
        patch_method(FLAVOR_NAME, cls, name, _fit_hook)
    for name in _PREDICT_METHODS:
        patch_method(FLAVOR_NAME, cls, name, post.predict_hook)
    patch_method(FLAVOR_NAME, cls, "score", post.score_hook)


def patch_method(flavor: str, cls: type, name: str, hook: Any, package: str = "sklearn.") -> None:
    """Patch ``name`` on the class ``cls`` gets it from, if that class belongs to ``package``;
    a plain function, or the function inside scikit-learn's ``available_if`` descriptor."""
    owner = next((c for c in cls.__mro__ if name in vars(c)), None)
    if owner is None or not (owner.__module__ or "").startswith(package):
        return
    raw = vars(owner)[name]
    if isinstance(raw, types.FunctionType):
        patch(flavor, owner, name, hook)
    elif isinstance(getattr(raw, "fn", None), types.FunctionType) and hasattr(raw, "check"):
        patch(flavor, raw, "fn", hook)


# -- one fit --------------------------------------------------------------------------------
def _fit_hook(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    settings = config(FLAVOR_NAME)
    if settings is None or not _loggable(self.__class__):
        return original(self, *args, **kwargs)
    with session(self) as current:
        if not current.should_log:
            return original(self, *args, **kwargs)
        guard = current.guard = Guard(FLAVOR_NAME, settings.silent)
        with training_run(FLAVOR_NAME, settings, guard) as target:
            if target is None:
                return original(self, *args, **kwargs)
            data = guard.run("read the training data", TrainingData.of, original, args, kwargs)
            guard.run("log the estimator's params", _log_params, target, self)
            result = original(self, *args, **kwargs)
            if data is not None:
                _log_fitted(target, self, data)
            return result


@dataclass
class TrainingData:
    X: Any
    y: Any
    sample_weight: Any
    example: Any  # a copy of the first rows, taken before training could change them

    @classmethod
    def of(cls, fit: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TrainingData:
        names = [n for n in _arg_names(fit) if n != "self"]
        bound = dict(zip(names, args, strict=False))
        bound.update(kwargs)
        X = bound.get(names[0]) if names else None
        y = bound.get(names[1]) if len(names) > 1 else None
        return cls(X, y, bound.get("sample_weight"), example_rows(X))


@functools.lru_cache(maxsize=1024)
def _arg_names(fn: Any) -> tuple[str, ...]:
    return tuple(inspect.signature(fn).parameters)


def example_rows(X: Any) -> Any:
    if X is None:
        return None
    try:
        head = X.iloc[:INPUT_EXAMPLE_ROWS] if hasattr(X, "iloc") else X[:INPUT_EXAMPLE_ROWS]
        return copy.deepcopy(head)
    except Exception:  # an input that cannot be sliced: no example, no signature
        return None


def is_search(estimator: Any) -> bool:
    ms = sys.modules.get("sklearn.model_selection")
    return ms is not None and isinstance(estimator, (ms.GridSearchCV, ms.RandomizedSearchCV))


def estimator_tags(estimator: Any) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def _log_params(target: Target, estimator: Any) -> None:
    # A search's seed estimator is a template: its untuned params would mislead.
    target.log_params(estimator.get_params(deep=not is_search(estimator)))
    target.set_tags(estimator_tags(estimator))


def _log_fitted(target: Target, estimator: Any, data: TrainingData) -> None:
    guard, settings = target.guard, target.settings
    if settings.log_models:  # first: the store has usually flushed the params during the fit
        guard.run("log the model", log_sklearn_model, target, estimator, data.example)
    guard.run("compute training metrics", _log_training_metrics, target, estimator, data)
    guard.run("log estimator.html", _log_html, target, estimator)
    if is_search(estimator):
        guard.run("log the parameter search", _log_search, target, estimator, data)
    if settings.log_datasets:
        guard.run("log the training dataset", log_dataset, target, data.X, data.y)
    if settings.options.get("log_post_training_metrics", True):
        post.remember(estimator, target)


def signature_of(estimator: Any, example: Any) -> Any:
    from nbtrack.models import infer_signature

    if hasattr(estimator, "predict"):
        output = estimator.predict(copy.deepcopy(example))
    elif hasattr(estimator, "transform"):
        output = estimator.transform(copy.deepcopy(example))
    else:
        return None
    return infer_signature(example, output)


def log_sklearn_model(target: Target, estimator: Any, example: Any) -> None:
    from nbtrack.models.flavors import sklearn as flavor

    settings = target.settings
    signature = signature_of(estimator, example) if settings.log_model_signatures and example is not None else None
    input_example = example if settings.log_input_examples else None
    fmt = settings.options.get("serialization_format", "cloudpickle")
    flavor.log_model(estimator, name="model", signature=signature, input_example=input_example,
                     serialization_format=fmt, registered_model_name=settings.registered_model_name,
                     run_id=target.run_id)
    if is_search(estimator) and hasattr(estimator, "best_estimator_"):
        flavor.log_model(estimator.best_estimator_, name="best_estimator", signature=signature,
                         input_example=input_example, serialization_format=fmt, run_id=target.run_id)


def dataset_of(X: Any, y: Any = None) -> Any:
    """MLflow's training dataset record (name ``dataset``, source ``code``), or None."""
    from nbtrack import data

    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        return data.from_pandas(X)._to_mlflow_entity()
    if type(X).__module__ == "numpy" and hasattr(X, "shape"):
        return data.from_numpy(X, targets=y)._to_mlflow_entity()
    return None  # sparse matrices, lists: not worth a dense copy


def log_dataset(target: Target, X: Any, y: Any) -> None:
    dataset = dataset_of(X, y)
    if dataset is not None:
        target.log_input(dataset, "train")


def _log_html(target: Target, estimator: Any) -> None:
    from sklearn.utils import estimator_html_repr

    page = ('<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8"/>\n  </head>\n'
            f"  <body>\n    {estimator_html_repr(estimator)}\n  </body>\n</html>\n")
    target.log_text(page, "estimator.html")


# -- training metrics ------------------------------------------------------------------------
def _safely(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A metric that cannot be computed on this data (one class, NaN...) is left out, as MLflow."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        log.info("autolog left out %s: %s", name, e)
        return None


def _log_training_metrics(target: Target, estimator: Any, data: TrainingData) -> None:
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    if data.y is None:
        log.info("autolog records no training metrics: fit was called without labels")
        return
    metrics: dict[str, Any] = {}
    if is_classifier(estimator):
        metrics = _classifier_metrics(target, estimator, data)
        standard = ClassifierMixin
    elif is_regressor(estimator):
        metrics = _regressor_metrics(estimator, data)
        standard = RegressorMixin
    else:
        standard = None
    score_owner = next((c for c in type(estimator).__mro__ if "score" in vars(c)), None)
    if standard is not None and score_owner is standard:  # the same computation, already done
        reused = "accuracy_score" if standard is ClassifierMixin else "r2_score"
        metrics["score"] = metrics.get(reused)
    elif hasattr(estimator, "score"):
        with_weight = "sample_weight" in _arg_names(estimator.score)
        args = (data.X, data.y, data.sample_weight) if with_weight else (data.X, data.y)
        metrics["score"] = _safely("training_score", estimator.score, *args)
    target.log_metrics({TRAINING_PREFIX + k: v for k, v in metrics.items() if is_number(v)})


def _metric(name: str) -> Any:
    """A ``sklearn.metrics`` function itself, not autolog's hook around it."""
    return unpatched(sys.modules["sklearn.metrics"], name)


def _classifier_metrics(target: Target, estimator: Any, data: TrainingData) -> dict[str, Any]:
    import numpy as np

    y, weight = data.y, data.sample_weight
    pos_label = target.settings.options.get("pos_label")
    average = "weighted" if pos_label is None else "binary"
    y_pred = estimator.predict(data.X)
    found: dict[str, Any] = {}
    # precision_score, recall_score and f1_score are this one computation, made three times.
    prf = _safely("precision, recall and f1", _metric("precision_recall_fscore_support"), y, y_pred,
                  pos_label=pos_label, average=average, sample_weight=weight)
    if prf is not None:
        found.update(precision_score=prf[0], recall_score=prf[1], f1_score=prf[2])
    found["accuracy_score"] = _safely("accuracy_score", _metric("accuracy_score"), y, y_pred, normalize=True,
                                      sample_weight=weight)
    proba = estimator.predict_proba(data.X) if hasattr(estimator, "predict_proba") else None
    if proba is not None:
        found["log_loss"] = _safely("log_loss", _metric("log_loss"), y, proba, sample_weight=weight)
        score = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba
        found["roc_auc"] = _safely("roc_auc", _metric("roc_auc_score"), y, score, average="weighted",
                                   sample_weight=weight, multi_class="ovo")
    classes = getattr(estimator, "classes_", None)
    labels = list(classes) if classes is not None else sorted(set(np.asarray(y).ravel().tolist()))
    _classifier_figures(target, estimator, data, y_pred, proba, labels)
    return found


def _classifier_figures(target: Target, estimator: Any, data: TrainingData, y_pred: Any, proba: Any,
                        labels: list[Any]) -> None:
    """MLflow's training figures; the numbers and the drawing both happen in the background,
    on copies of the labels (the user may change theirs as soon as fit returns)."""
    import numpy as np

    y, weight = np.array(data.y, copy=True), None if data.sample_weight is None else np.array(data.sample_weight)
    uri, run = target.client.tracking_uri, target.run_id

    def confusion(figure: Any) -> None:
        matrix = _metric("confusion_matrix")(y, y_pred, labels=labels, sample_weight=weight, normalize="true")
        _plots.confusion_matrix(matrix, labels, "Normalized confusion matrix")(figure)

    _plots.submit(uri, run, f"{TRAINING_PREFIX}confusion_matrix.png", confusion)
    if len(labels) != 2:
        return
    if proba is not None and getattr(proba, "ndim", 0) == 2:
        score = proba[:, 1]
    elif hasattr(estimator, "decision_function"):
        score = estimator.decision_function(data.X)
    else:
        return
    name, positive = type(estimator).__name__, labels[1]

    def roc(figure: Any) -> None:
        fpr, tpr, _ = _metric("roc_curve")(y, score, pos_label=positive, sample_weight=weight)
        auc = _metric("auc")(fpr, tpr)
        _plots.curve(fpr, tpr, "False Positive Rate", "True Positive Rate", "ROC curve",
                     f"{name} (AUC = {auc:.2f})")(figure)

    def precision_recall(figure: Any) -> None:
        precision, recall, _ = _metric("precision_recall_curve")(y, score, pos_label=positive, sample_weight=weight)
        ap = _metric("average_precision_score")(y, score, pos_label=positive, sample_weight=weight)
        _plots.curve(recall, precision, "Recall", "Precision", "Precision recall curve", f"{name} (AP = {ap:.2f})")(figure)

    _plots.submit(uri, run, f"{TRAINING_PREFIX}roc_curve.png", roc)
    _plots.submit(uri, run, f"{TRAINING_PREFIX}precision_recall_curve.png", precision_recall)


def _regressor_metrics(estimator: Any, data: TrainingData) -> dict[str, Any]:
    import numpy as np

    y, weight = data.y, data.sample_weight
    y_pred = estimator.predict(data.X)
    found = {name: _safely(name, _metric(name), y, y_pred, sample_weight=weight, multioutput="uniform_average")
             for name in ("mean_squared_error", "mean_absolute_error", "r2_score")}
    mse = found["mean_squared_error"]
    found["root_mean_squared_error"] = float(np.sqrt(mse)) if is_number(mse) else None
    return found


# -- parameter search -----------------------------------------------------------------------
def _log_search(target: Target, search: Any, data: TrainingData) -> None:
    if hasattr(search, "best_score_"):
        target.log_metrics({"best_cv_score": search.best_score_})
    if hasattr(search, "best_params_"):
        target.log_params({f"best_{k}": v for k, v in search.best_params_.items()})
    if not hasattr(search, "cv_results_"):
        return
    import pandas as pd

    results = pd.DataFrame.from_dict(search.cv_results_)
    target.log_text(results.to_csv(index=False), "cv_results.csv")
    target.guard.run("create child runs for the search", _child_runs, target, search, results, data)


def _child_runs(target: Target, search: Any, results: Any, data: TrainingData) -> None:
    limit = target.settings.options.get("max_tuning_runs", 5)
    if limit is not None:
        rank = "rank_test_score" if "rank_test_score" in results.columns else next(
            (c for c in results.columns if c.startswith("rank_test_")), None)
        if rank is None:
            return
        best = results.nsmallest(limit, rank)
        log.info("autolog logs the %d best of %d candidates as child runs", len(best), len(results))
    else:
        best = results
    seed = search.estimator
    base = seed.get_params(deep=not is_search(seed))
    dataset = dataset_of(data.X, data.y) if target.settings.log_datasets else None
    for _, row in best.iterrows():
        metrics = {k: v for k, v in row.items() if not str(k).startswith(("param", "split")) and is_number(v)}
        target.create_child(estimator_tags(seed), {**base, **row["params"]}, metrics, dataset)
