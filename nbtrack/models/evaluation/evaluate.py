"""``evaluate``: MLflow 3's ``mlflow.evaluate`` / ``mlflow.models.evaluate`` for classifiers,
regressors and custom metrics, logged into a run like any other metrics and artifacts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.models.evaluation import _data, _model
from nbtrack.models.evaluation._evaluator import Evaluation
from nbtrack.models.evaluation.base import EvaluationResult

__all__ = ["evaluate"]

_GENAI_TYPES = ("question-answering", "text-summarization", "text", "retriever", "databricks-agent")
_BUILTIN = ("default", "classifier", "regressor")


def _is_dataset(data: Any) -> bool:
    return hasattr(data, "digest") and hasattr(data, "source") and hasattr(data, "_to_mlflow_entity")


def _check_arguments(data: Any, model: Any, model_type: str | None, targets: Any, predictions: Any,
                     extra_metrics: Any, env_manager: str, inference_params: Any) -> Any:
    """The target column to use; raises MLflow's errors for inconsistent arguments."""
    if inference_params is not None:
        raise InvalidParameter("The inference_params argument can only be specified when the model is an MLflow "
                               "Deployments endpoint URI, which nbtrack does not serve; pass params to your model.")
    if data is None:
        raise InvalidParameter("The data argument cannot be None.")
    if env_manager != "local":
        raise InvalidParameter(f"env_manager={env_manager!r} is not supported: nbtrack evaluates in the current "
                               "environment (env_manager='local').")
    if _is_dataset(data):
        if targets is not None:
            raise InvalidParameter("The top-level targets parameter should not be specified since a Dataset is "
                                   "used. Name the targets column in the Dataset, e.g. "
                                   "`data = nbtrack.data.from_pandas(df=X.assign(y=y), targets='y')`.")
        if model is None and predictions is not None:
            raise InvalidParameter("The top-level predictions parameter should not be specified since a Dataset is "
                                   "used. Name the predictions column in the Dataset, e.g. "
                                   "`nbtrack.data.from_pandas(df, predictions='y_pred')`.")
        if model is not None and getattr(data, "predictions", None) is not None:
            raise InvalidParameter("The predictions parameter should not be specified in the Dataset since a model "
                                   "is specified. Please remove the predictions column from the Dataset.")
    if model_type in _GENAI_TYPES:
        raise NbtrackError(f"model_type={model_type!r} is a GenAI evaluation, which nbtrack does not implement; "
                           "use model_type='classifier', 'regressor' or None with extra_metrics.",
                           error_code="NOT_IMPLEMENTED")
    if model_type in ("classifier", "regressor"):
        if _is_dataset(data):
            targets = getattr(data, "targets", None)
            if targets is None:
                raise InvalidParameter(f"The targets column name must be specified in the provided Dataset for "
                                       f"{model_type} models. For example: "
                                       "`data = nbtrack.data.from_pandas(df=X.assign(y=y), targets='y')`")
        elif targets is None:
            raise InvalidParameter(f"The targets argument must be specified for {model_type} models.")
    elif model_type is None:
        if not extra_metrics:
            raise InvalidParameter("The extra_metrics argument must be specified model_type is None.")
    else:
        raise InvalidParameter(f"Unknown model_type {model_type!r}; use 'classifier', 'regressor' or None.")
    return targets


def _config(evaluators: Any, evaluator_config: dict[str, Any] | None) -> dict[str, Any]:
    names = [evaluators] if isinstance(evaluators, str) else list(evaluators or ["default"])
    unknown = [n for n in names if n not in _BUILTIN]
    if unknown:
        raise InvalidParameter(f"Unknown evaluators {unknown}: nbtrack has the built-in {list(_BUILTIN)}.")
    config = dict(evaluator_config or {})
    if len(names) > 1 or (config and set(config) <= set(_BUILTIN) and all(isinstance(v, dict) for v in config.values())):
        merged: dict[str, Any] = {}  # a config per evaluator name: theirs all apply to the one built-in run
        for n in names:
            merged.update(config.get(n, {}))
        return merged
    return config


def _to_dataset(data: Any, targets: Any, predictions: str | None, with_model: bool) -> Any:
    import numpy as np
    import pandas as pd

    from nbtrack import data as nbdata

    if _is_dataset(data):
        return data
    if isinstance(data, pd.DataFrame):
        return nbdata.from_pandas(data, targets=targets, predictions=None if with_model else predictions)
    if isinstance(data, list):
        rows = [[x] for x in data] if data and not isinstance(data[0], (list, np.ndarray)) else data
        return nbdata.from_numpy(np.array(rows), targets=None if targets is None else np.array(targets))
    if isinstance(data, np.ndarray):
        return nbdata.from_numpy(data, targets=targets)
    return None


@contextlib.contextmanager
def _run() -> Iterator[str]:
    from nbtrack.tracking import fluent

    active = fluent.active_run()
    if active is not None:
        yield active.info.run_id
        return
    with fluent.start_run() as run:
        yield run.info.run_id


def evaluate(model: Any = None, data: Any = None, *, model_type: str | None = None, targets: Any = None,
             predictions: str | None = None, dataset_path: str | None = None, feature_names: list[str] | None = None,
             evaluators: Any = None, evaluator_config: dict[str, Any] | None = None, extra_metrics: list[Any] | None = None,
             custom_artifacts: list[Any] | None = None, env_manager: str = "local",
             model_config: dict[str, Any] | None = None, inference_params: dict[str, Any] | None = None,
             model_id: str | None = None) -> EvaluationResult:
    """Evaluate a model on data and log the metrics and plots to the active run (or a new one).

    Parameters
    ----------
    model : str, PyFuncModel, callable or None
        A model URI (``runs:/<run_id>/model``, ``models:/name/1``), a loaded pyfunc model, a
        function ``fn(DataFrame) -> predictions``, or None with ``predictions=`` naming a column
        of ``data`` that holds the outputs already.
    data : DataFrame, ndarray, list or nbtrack.data dataset
        The evaluation data.
    model_type : {"classifier", "regressor", None}
        Which built-in metrics and plots to compute; None computes only ``extra_metrics``.
    targets : str or array-like
        The label column of a DataFrame, or the labels of an array.
    predictions : str, optional
        The model output column (a multi-output model), or the column of ``data`` holding
        predictions when ``model`` is None.
    evaluator_config : dict, optional
        MLflow's options: ``pos_label``, ``label_list``, ``average``, ``sample_weights``,
        ``metric_prefix``, ``col_mapping``, ``max_classes_for_multiclass_roc_pr``,
        ``calibration_n_bins``, ``calibration_classifier_name``.
    extra_metrics : list of EvaluationMetric
        Custom metrics from :func:`make_metric`.
    custom_artifacts : list of callables
        ``fn(eval_df, builtin_metrics, artifacts_dir) -> {name: artifact}``.

    Returns
    -------
    EvaluationResult
        ``.metrics``, ``.artifacts``, ``.tables`` and ``.run_id``.

    Examples
    --------
    >>> result = nbtrack.evaluate(info.model_uri, test_df, targets="label", model_type="classifier")
    >>> result.metrics["accuracy_score"], sorted(result.artifacts)
    """
    if evaluator_config is not None:
        mapping = evaluator_config.get("col_mapping", {})
        targets = mapping.get(targets, targets) if isinstance(targets, str) else targets
        predictions = mapping.get(predictions, predictions) if isinstance(predictions, str) else predictions
    targets = _check_arguments(data, model, model_type, targets, predictions, extra_metrics, env_manager,
                               inference_params)
    config = _config(evaluators, evaluator_config)
    model, derived_id = _model.resolve(model, model_config)
    if model_id is not None and derived_id is not None and model_id != derived_id:
        raise InvalidParameter(f"The specified value of the 'model_id' parameter '{model_id}' contradicts the "
                               f"model_id '{derived_id}' associated with the model. Please ensure they match or "
                               "omit the 'model_id' parameter.")
    from nbtrack.tracking.client import Client
    from nbtrack.tracking.datasets import to_dataset_input

    with _run() as run_id:
        client = Client()
        dataset = _to_dataset(data, targets, predictions, model is not None)
        if dataset is not None:
            client.log_inputs(run_id, [to_dataset_input(dataset, config.get("metric_prefix") or None)])
        split = _data.split(dataset if dataset is not None else data, targets, predictions if model is None else None,
                            feature_names)
        if model is None and split.predictions is None:
            raise InvalidParameter("Either a model or set of predictions must be specified in order to use the "
                                   "default evaluator: pass `model`, or `predictions=` naming the column of `data` "
                                   "(or a dataset built with predictions=...) that holds the model outputs.")
        _tag_dataset(client, run_id, split, getattr(dataset, "name", None), dataset_path, model)
        ev = Evaluation(client, run_id, split, config, predictions if model is not None else None)
        try:
            metrics = _dispatch(model_type)(ev, model, list(extra_metrics or []), custom_artifacts)
        finally:
            ev.close()
        model_id = model_id or derived_id
        if model_id is not None:  # as MLflow 3: the metrics again, linked to the logged model and dataset
            from nbtrack.tracking import fluent

            fluent.log_metrics({k: float(v) for k, v in metrics.items()}, run_id=run_id, model_id=model_id,
                               dataset=dataset)
    return EvaluationResult(metrics, ev.artifacts, run_id)


def _tag_dataset(client: Any, run_id: str, split: _data.EvalData, name: str | None, path: str | None,
                 model: Any) -> None:
    """MLflow's ``mlflow.datasets`` run tag: name, hash (and path) of the data per evaluated model."""
    import json

    from nbtrack.entities import RunTag

    model_uuid = getattr(getattr(model, "metadata", None), "model_uuid", None)
    if model_uuid is None:
        return
    digest = _data.evaluation_hash(split)
    entry = {"name": name if name is not None else digest, "hash": digest, **({"path": path} if path else {})}
    listed = json.loads(client.get_run(run_id).data.tags.get("mlflow.datasets", "[]"))
    if not any(e.get("hash") == digest and e.get("name") == entry["name"] and e.get("model") == model_uuid
               for e in listed):
        listed.append({**entry, "model": model_uuid})
        client.log_batch(run_id, tags=[RunTag("mlflow.datasets", json.dumps(listed, separators=(",", ":")))])


def _dispatch(model_type: str | None) -> Any:
    from nbtrack.models.evaluation._classifier import evaluate_classifier
    from nbtrack.models.evaluation._regressor import evaluate_default, evaluate_regressor

    return {"classifier": evaluate_classifier, "regressor": evaluate_regressor}.get(model_type or "", evaluate_default)
