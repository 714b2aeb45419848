"""One evaluation in progress: its metric values, custom metrics and artifacts, and what is logged.

Metric functions receive arguments by parameter name, as in MLflow: ``predictions``, ``targets``,
``metrics``, an input column, another model output column, an ``evaluator_config`` key or the
name of a metric computed before. Metrics that need another metric run after it.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import os
import pathlib
import shutil
import tempfile
import time
from typing import Any

from nbtrack.entities import Metric
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.models.evaluation import base
from nbtrack.models.evaluation._data import EvalData
from nbtrack.models.evaluation.base import EvaluationArtifact, EvaluationMetric, MetricValue

_log = logging.getLogger("nbtrack.models.evaluation")
_SPECIAL = ("predictions", "targets")


class Evaluation:
    """State shared by the classifier, regressor and default evaluators."""

    def __init__(self, client: Any, run_id: str, data: EvalData, config: dict[str, Any],
                 predictions_name: str | None) -> None:
        self.client, self.run_id, self.data, self.config = client, run_id, data, config
        self.col_mapping: dict[str, Any] = config.get("col_mapping", {})
        self.predictions_name = predictions_name
        self.prefix = config.get("metric_prefix") or ""
        self.values: dict[str, MetricValue] = {}
        self.artifacts: dict[str, EvaluationArtifact] = {}
        self.other_outputs: Any = None
        self.tmp = tempfile.mkdtemp(prefix="nbtrack-eval-")

    def add(self, metrics: dict[str, Any]) -> None:
        self.values.update({k: MetricValue(aggregate_results={k: v}) for k, v in metrics.items()})

    def aggregates(self) -> dict[str, Any]:
        out = {}
        for name, value in self.values.items():
            for agg, v in (value.aggregate_results or {}).items():
                if v is not None:
                    out[name if agg == name.split("/")[0] else f"{name}/{agg}"] = v
        return out

    # -- custom metrics ------------------------------------------------------------------------
    def _arguments(self, metric: EvaluationMetric, eval_df: Any, inputs: Any,
                   pending: list[str]) -> tuple[bool, list[Any]]:
        params = base.metric_parameters(metric)
        if len(params) == 2 and params[0].name != "predictions" and params[1].name != "targets":
            return True, [eval_df.copy(), copy.deepcopy(self.aggregates())]  # (eval_df, builtin_metrics)
        args, missing = [], []
        for p in params:
            column = self.col_mapping.get(p.name, p.name)
            if column in ("predictions", self.predictions_name, self.data.predictions_name):
                args.append(eval_df["prediction"].copy())
            elif column in ("targets", self.data.targets_name):
                if "target" in eval_df:
                    args.append(eval_df["target"].copy())
                elif p.default is inspect.Parameter.empty:
                    missing.append(p.name)
                else:
                    args.append(p.default)
            elif column == "metrics":
                args.append(copy.deepcopy(self.values))
            elif not isinstance(column, str):
                args.append(column)  # col_mapping gave the values themselves
            elif column in inputs.columns:
                args.append(inputs[column])
            elif self.other_outputs is not None and column in self.other_outputs.columns:
                args.append(self.other_outputs[column])
            elif column in self.config:
                args.append(self.config[column])
            elif (found := self._metric_named(column)) is not None:
                args.append(found)
            elif column in pending:
                args.append(None)
            elif p.default is inspect.Parameter.empty:
                missing.append(p.name)
            else:
                args.append(p.default)
        return not missing, missing or args

    def _metric_named(self, column: str) -> MetricValue | None:
        return next((v for k, v in self.values.items() if k.split("/")[0] == column), None)

    def evaluate_metrics(self, metrics: list[EvaluationMetric], eval_df: Any) -> None:
        """Compute ``extra_metrics`` in an order where each one's inputs exist."""
        bad = [m for m in metrics if not isinstance(m, EvaluationMetric)]
        if bad:
            listing = "\n".join(f"- Metric '{m}' has type '{type(m).__name__}'" for m in bad)
            raise InvalidParameter(f"In the 'extra_metrics' parameter, the following metrics have the wrong type:\n"
                                   f"{listing}\nBuild each one with nbtrack.models.make_metric(eval_fn=..., "
                                   "greater_is_better=...).")
        inputs = self.data.frame()
        ordered: list[tuple[int, EvaluationMetric]] = []
        remaining = list(enumerate(metrics))
        while remaining:
            scheduled = [m.name for _, m in ordered]
            waiting: list[tuple[int, EvaluationMetric]] = []
            failed: list[tuple[str, list[str]]] = []
            for index, metric in remaining:
                ok, found = self._arguments(metric, eval_df, inputs, scheduled)
                (ordered if ok else waiting).append((index, metric))
                if not ok:
                    failed.append((metric.name, found))
            if len(waiting) == len(remaining):
                raise self._missing_error(failed, inputs)
            remaining = waiting
        for index, metric in ordered:
            _, args = self._arguments(metric, eval_df, inputs, [])
            value = _checked(metric, index, metric.eval_fn(*args))
            if value is not None:
                self.values[f"{metric.name}/{metric.version}" if metric.version else metric.name] = value

    def _missing_error(self, failed: list[tuple[str, list[str]]], inputs: Any) -> InvalidParameter:
        lines = []
        for name, params in failed:
            lines.append(f"Metric '{name}' requires the following:")
            lines += [f"  - the '{p}' parameter needs to be specified" for p in _SPECIAL if p in params]
            if rest := [p for p in params if p not in _SPECIAL]:
                lines.append(f"  - missing columns {rest} need to be defined or mapped")
        outputs = [] if self.other_outputs is None else list(self.other_outputs.columns)
        outputs.append(self.predictions_name or self.data.predictions_name or "predictions")
        return InvalidParameter(
            "Error: Metric calculation failed for the following metrics:\n" + "\n".join(lines)
            + f"\n\nBelow are the existing column names for the input/output data:\nInput Columns: "
            f"{list(inputs.columns)}\nOutput Columns: {outputs}\n\nTo resolve this issue, specify the missing "
            "parameters, or map a missing column to an existing one with "
            "evaluator_config={'col_mapping': {<missing column name>: <existing column name>}}.")

    # -- custom artifacts ----------------------------------------------------------------------
    def evaluate_artifacts(self, functions: list[Any] | None, eval_df: Any) -> None:
        for index, fn in enumerate(functions or []):
            name = getattr(fn, "__name__", repr(fn))
            header = f"Custom artifact function '{name}' at index {index} in the `custom_artifacts` parameter"
            with tempfile.TemporaryDirectory() as folder:
                produced = fn(eval_df.copy(), copy.deepcopy(self.values), folder)
                if produced is None:
                    _log.warning("%s returned None.", header)
                    continue
                if not isinstance(produced, dict) or not all(isinstance(k, str) for k in produced):
                    _log.warning("%s did not return artifacts as a dictionary of string artifact names with "
                                 "their corresponding objects.", header)
                    continue
                for artifact_name, raw in produced.items():
                    self.artifacts[artifact_name] = self._log_custom(artifact_name, raw, header)

    def _log_custom(self, name: str, raw: Any, header: str) -> EvaluationArtifact:
        from_path, kind, ext = _infer_artifact(name, raw, header)
        path = os.path.join(self.tmp, name + ext)
        if os.path.exists(path):
            raise InvalidParameter(f"{header} produced an artifact '{name}' that cannot be logged because there "
                                   "already exists an artifact with the same name; give it another name.")
        _write_artifact(path, raw, kind, from_path, header, name)
        return self.log_file(path, kind)

    # -- logging -------------------------------------------------------------------------------
    def log_file(self, path: str, kind: type[EvaluationArtifact], content: Any = None) -> EvaluationArtifact:
        self.client.log_artifact(self.run_id, path)
        artifact = kind(uri=self.client.get_artifact_uri(self.run_id, os.path.basename(path)), content=content)
        if content is None and kind is not base.ImageEvaluationArtifact:  # images decode on first .content
            artifact._load(path)
        return artifact

    def log_metrics(self) -> dict[str, Any]:
        """Prefix the names (``metric_prefix``), log every aggregate at step 0; return them."""
        if self.prefix:
            self.values = {f"{self.prefix}{k}": MetricValue(v.scores, v.justifications, {
                f"{self.prefix}{a}": x for a, x in v.aggregate_results.items()} if v.aggregate_results else None)
                for k, v in self.values.items()}
        metrics = self.aggregates()
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])
        return metrics

    def log_eval_table(self, y_pred: Any) -> None:
        """``eval_results_table.json``: inputs, targets, outputs and per-row scores, if any metric has them."""
        if not any(v.scores is not None or v.justifications is not None for v in self.values.values()):
            return
        data, out_name = self.data.frame(), self.data.predictions_name or self.predictions_name or "outputs"
        if self.data.labels is not None:
            data = data.assign(**{self.data.targets_name or "target": self.data.labels,
                                  out_name: getattr(y_pred, "array", y_pred)})
        else:
            data = data.assign(outputs=getattr(y_pred, "array", y_pred))
        for name, value in self.values.items():
            if value.scores:
                data[f"{name}/score"] = value.scores
            if value.justifications:
                data[f"{name}/justification"] = value.justifications
        file_name = f"{self.prefix}eval_results_table.json"
        self.client.log_table(self.run_id, data, file_name)
        self.artifacts["eval_results_table"] = base.JsonEvaluationArtifact(
            uri=self.client.get_artifact_uri(self.run_id, file_name))

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _checked(metric: EvaluationMetric, index: int, result: Any) -> MetricValue | None:
    """A metric function's result as a MetricValue, or None (with a warning) if malformed."""
    header = f"Did not log metric '{metric.name}' at index {index} in the `extra_metrics` parameter because it"
    if result is None:
        _log.warning("%s returned None.", header)
        return None
    if base._is_number(result):
        return MetricValue(aggregate_results={metric.name: result})
    if not isinstance(result, MetricValue):
        _log.warning("%s did not return a MetricValue.", header)
        return None
    problem = None
    if result.scores is not None and (not isinstance(result.scores, list) or any(
            not (base._is_number(s) or isinstance(s, str) or s is None) for s in result.scores)):
        problem = "must return MetricValue with scores as a list of numbers or strings."
    elif result.justifications is not None and (not isinstance(result.justifications, list) or any(
            not (isinstance(j, str) or j is None) for j in result.justifications)):
        problem = "must return MetricValue with justifications as a list of strings."
    elif result.aggregate_results is not None and (not isinstance(result.aggregate_results, dict) or any(
            not (isinstance(k, str) and (base._is_number(v) or v is None)) for k, v in result.aggregate_results.items())):
        problem = "must return MetricValue with aggregate_results as a dict of str keys and numeric values."
    if problem:
        _log.warning("%s %s", header, problem)
        return None
    return result


_EXTENSIONS = {".png": "Image", ".jpg": "Image", ".jpeg": "Image", ".json": "Json", ".npy": "Numpy",
               ".csv": "Csv", ".parquet": "Parquet", ".txt": "Text"}


def _kind(name: str) -> type[EvaluationArtifact]:
    kind: type[EvaluationArtifact] = getattr(base, f"{name}EvaluationArtifact")
    return kind


def _infer_artifact(name: str, raw: Any, header: str) -> tuple[bool, type[EvaluationArtifact], str]:
    """(copied from a file?, artifact class, file extension) for what a custom artifact function returned."""
    import numpy as np
    import pandas as pd

    what = f"{header} produced an artifact '{name}'"
    if isinstance(raw, str) and not pathlib.Path(raw).exists():
        try:
            json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidParameter(f"{what} with string representation '{raw}' that is neither a valid path to a "
                                   "file nor a JSON string.") from None
        return False, base.JsonEvaluationArtifact, ".json"
    if isinstance(raw, (str, pathlib.Path)):
        p = pathlib.Path(raw)
        if not p.is_file():
            raise InvalidParameter(f"{what} with path '{p}' is not a file (or does not exist).")
        if p.suffix not in _EXTENSIONS:
            raise InvalidParameter(f"{what} with path '{p}' does not match any of the supported file extensions: "
                                   f"{', '.join(_EXTENSIONS)}.")
        return True, _kind(_EXTENSIONS[p.suffix]), p.suffix
    if type(raw) is pd.DataFrame:
        return False, base.CsvEvaluationArtifact, ".csv"
    if type(raw) is np.ndarray:
        return False, base.NumpyEvaluationArtifact, ".npy"
    if type(raw).__name__ == "Figure" and hasattr(raw, "savefig"):
        return False, base.ImageEvaluationArtifact, ".png"
    try:
        json.dumps(raw, default=_json_default)
        return False, base.JsonEvaluationArtifact, ".json"
    except TypeError:
        return False, base.PickleEvaluationArtifact, ".pickle"


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write_artifact(path: str, raw: Any, kind: type[EvaluationArtifact], from_path: bool, header: str,
                    name: str) -> None:
    import pickle

    if from_path:
        shutil.copy2(raw, path)
    elif kind is base.JsonEvaluationArtifact:
        with open(path, "w") as f:
            f.write(raw) if isinstance(raw, str) else json.dump(raw, f, default=_json_default)
    elif kind is base.CsvEvaluationArtifact:
        raw.to_csv(path, index=False)
    elif kind is base.NumpyEvaluationArtifact:
        import numpy as np

        np.save(path, raw, allow_pickle=False)
    elif kind is base.ImageEvaluationArtifact:
        raw.savefig(path)
    else:
        try:
            with open(path, "wb") as f:
                pickle.dump(raw, f)
        except (pickle.PickleError, TypeError, AttributeError) as e:
            raise NbtrackError(f"{header} produced an artifact '{name}' of type {type(raw).__name__} that cannot "
                               f"be pickled ({e}). Return a file path, a JSON string, a DataFrame, a numpy array, "
                               "a matplotlib Figure or a picklable object.") from None
        _log.warning("%s produced an artifact '%s' with type '%s' that is logged as a pickle artifact.",
                     header, name, type(raw))
