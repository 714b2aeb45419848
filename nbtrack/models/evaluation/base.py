"""Evaluation's public objects, with MLflow's names: metrics (``make_metric``, ``MetricValue``),
artifacts and the :class:`EvaluationResult` that ``evaluate`` returns."""

from __future__ import annotations

import inspect
import json
import keyword
import logging
import os
import types
from dataclasses import dataclass
from typing import Any

from nbtrack.errors import InvalidParameter

__all__ = [
    "CsvEvaluationArtifact", "EvaluationArtifact", "EvaluationMetric", "EvaluationResult",
    "ImageEvaluationArtifact", "JsonEvaluationArtifact", "MetricValue", "NumpyEvaluationArtifact",
    "ParquetEvaluationArtifact", "PickleEvaluationArtifact", "TextEvaluationArtifact", "make_metric",
]

_log = logging.getLogger(__name__)


@dataclass
class MetricValue:
    """What a metric function returns: per-row ``scores``, ``justifications`` and named
    ``aggregate_results``. Numeric scores without aggregates get ``mean``, ``variance``, ``p90``."""

    scores: list[Any] | None = None
    justifications: list[str] | None = None
    aggregate_results: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.aggregate_results is None and isinstance(self.scores, (list, tuple)) and all(
                _is_number(s) for s in self.scores):
            import numpy as np

            self.aggregate_results = {"mean": np.mean(self.scores), "variance": np.var(self.scores),
                                      "p90": np.percentile(self.scores, 90)}


def _is_number(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Number) and not isinstance(value, bool)


class EvaluationMetric:
    """A custom metric for ``evaluate(extra_metrics=[...])``: ``eval_fn`` and how to read it.

    ``eval_fn`` takes parameters by name: ``predictions``, ``targets``, ``metrics`` (the
    :class:`MetricValue` of the metrics computed so far), input columns, other model output
    columns, ``evaluator_config`` keys or other metrics' names; or, the older form,
    ``(eval_df, builtin_metrics)``. It returns a number or a :class:`MetricValue`.
    """

    def __init__(self, eval_fn: Any, name: str, greater_is_better: bool, long_name: str | None = None,
                 version: str | None = None, metric_details: str | None = None,
                 metric_metadata: dict[str, Any] | None = None, genai_metric_args: dict[str, Any] | None = None) -> None:
        self.eval_fn = eval_fn
        self.name = name
        self.greater_is_better = greater_is_better
        self.long_name = long_name or name
        self.version = version
        self.metric_details = metric_details
        self.metric_metadata = metric_metadata
        self.genai_metric_args = genai_metric_args

    def __call__(self, **kwargs: Any) -> Any:
        return self.eval_fn(**kwargs)

    def __str__(self) -> str:
        parts = [f"name={self.name}, greater_is_better={self.greater_is_better}", f"long_name={self.long_name}"]
        parts += [f"{k}={v}" for k in ("version", "metric_details", "metric_metadata") if (v := getattr(self, k))]
        return "EvaluationMetric(" + ", ".join(parts) + ")"

    __repr__ = __str__


def make_metric(*, eval_fn: Any, greater_is_better: bool, name: str | None = None, long_name: str | None = None,
                version: str | None = None, metric_details: str | None = None,
                metric_metadata: dict[str, Any] | None = None,
                genai_metric_args: dict[str, Any] | None = None) -> EvaluationMetric:
    """An :class:`EvaluationMetric` from a function, as ``mlflow.models.make_metric``.

    Parameters
    ----------
    eval_fn : callable
        ``eval_fn(predictions, targets, metrics, ...)`` returning a number or a MetricValue.
    greater_is_better : bool
        The direction of improvement (used by ``MetricThreshold``).
    name : str, optional
        The metric's name; by default ``eval_fn.__name__`` (required for a lambda).

    Examples
    --------
    >>> def mae_over_2(predictions, targets):
    ...     return float((predictions - targets).abs().mean() / 2)
    >>> metric = make_metric(eval_fn=mae_over_2, greater_is_better=False)
    """
    if name is None:
        if isinstance(eval_fn, types.FunctionType) and eval_fn.__name__ == "<lambda>":
            raise InvalidParameter("`name` must be specified if `eval_fn` is a lambda function.")
        if not hasattr(eval_fn, "__name__"):
            raise InvalidParameter("`name` must be specified if `eval_fn` does not have a `__name__` attribute.")
        name = eval_fn.__name__
    if "/" in name:
        raise InvalidParameter(f"Invalid metric name '{name}'. Metric names cannot include forward slashes ('/').")
    if not name.isidentifier() or keyword.iskeyword(name) or name in ("predictions", "targets", "metrics"):
        _log.warning("The metric name %r cannot be used as a parameter of other metrics; use a Python "
                     "identifier that is not a keyword or 'predictions'/'targets'/'metrics'.", name)
    return EvaluationMetric(eval_fn, name, greater_is_better, long_name, version, metric_details,
                            metric_metadata, genai_metric_args)


def metric_parameters(metric: EvaluationMetric) -> list[inspect.Parameter]:
    return list(inspect.signature(metric.eval_fn).parameters.values())


class EvaluationArtifact:
    """A file ``evaluate`` logged: its artifact ``uri`` and its ``content`` (loaded on first use)."""

    def __init__(self, uri: str, content: Any = None) -> None:
        self._uri = uri
        self._content = content
        self._local_path: str | None = None

    @property
    def uri(self) -> str:
        """The artifact's URI in the run."""
        return self._uri

    @property
    def content(self) -> Any:
        """The loaded content (an image, a DataFrame, an array, a dict...)."""
        if self._content is None:
            self._load()
        return self._content

    def _load(self, local_artifact_path: str | None = None) -> Any:
        if local_artifact_path is None:
            from nbtrack.tracking.artifacts import download_artifacts

            local_artifact_path = download_artifacts(artifact_uri=self._uri)
        self._local_path = local_artifact_path
        self._content = self._load_content_from_file(local_artifact_path)
        return self._content

    def _load_content_from_file(self, path: str) -> Any:
        raise NotImplementedError

    def _save(self, output_artifact_path: str) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri='{self._uri}')"


class ImageEvaluationArtifact(EvaluationArtifact):
    """A PNG or JPEG plot; ``content`` is a PIL image."""

    def _load_content_from_file(self, path: str) -> Any:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
            return image

    def _save(self, output_artifact_path: str) -> None:
        self.content.save(output_artifact_path)


class CsvEvaluationArtifact(EvaluationArtifact):
    """A CSV table; ``content`` is a DataFrame."""

    def _load_content_from_file(self, path: str) -> Any:
        import pandas as pd

        return pd.read_csv(path)

    def _save(self, output_artifact_path: str) -> None:
        self.content.to_csv(output_artifact_path, index=False)


class ParquetEvaluationArtifact(EvaluationArtifact):
    """A Parquet table; ``content`` is a DataFrame."""

    def _load_content_from_file(self, path: str) -> Any:
        import pandas as pd

        return pd.read_parquet(path)

    def _save(self, output_artifact_path: str) -> None:
        self.content.to_parquet(output_artifact_path)


class NumpyEvaluationArtifact(EvaluationArtifact):
    """A ``.npy`` array."""

    def _load_content_from_file(self, path: str) -> Any:
        import numpy as np

        return np.load(path, allow_pickle=False)

    def _save(self, output_artifact_path: str) -> None:
        import numpy as np

        np.save(output_artifact_path, self.content, allow_pickle=False)


class JsonEvaluationArtifact(EvaluationArtifact):
    """A JSON document."""

    def _load_content_from_file(self, path: str) -> Any:
        with open(path) as f:
            return json.load(f)

    def _save(self, output_artifact_path: str) -> None:
        with open(output_artifact_path, "w") as f:
            json.dump(self.content, f)


class TextEvaluationArtifact(EvaluationArtifact):
    """A text file."""

    def _load_content_from_file(self, path: str) -> Any:
        with open(path) as f:
            return f.read()

    def _save(self, output_artifact_path: str) -> None:
        with open(output_artifact_path, "w") as f:
            f.write(self.content)


class PickleEvaluationArtifact(EvaluationArtifact):
    """Any other object, pickled. Loading it back unpickles, so only load artifacts you trust."""

    def _load_content_from_file(self, path: str) -> Any:
        import pickle

        with open(path, "rb") as f:
            return pickle.load(f)

    def _save(self, output_artifact_path: str) -> None:
        import pickle

        with open(output_artifact_path, "wb") as f:
            pickle.dump(self.content, f)


class EvaluationResult:
    """What ``evaluate`` returns: ``metrics`` (name -> value), ``artifacts`` (name ->
    :class:`EvaluationArtifact`), ``tables`` (the logged tables as DataFrames) and ``run_id``."""

    def __init__(self, metrics: dict[str, Any], artifacts: dict[str, EvaluationArtifact],
                 run_id: str | None = None) -> None:
        self._metrics = metrics
        self._artifacts = artifacts
        self._run_id = run_id

    @property
    def metrics(self) -> dict[str, Any]:
        """Scalar metrics by name, e.g. ``{"accuracy_score": 0.96, ...}``."""
        return self._metrics

    @property
    def artifacts(self) -> dict[str, EvaluationArtifact]:
        """Logged artifacts by name, e.g. ``{"confusion_matrix": ImageEvaluationArtifact(...)}``."""
        return self._artifacts

    @property
    def run_id(self) -> str | None:
        """The run the results were logged to."""
        return self._run_id

    @property
    def tables(self) -> dict[str, Any]:
        """The logged tables (``eval_results_table``: inputs, targets, outputs, per-row scores) as
        DataFrames; like MLflow, the artifacts ``log_table`` wrote, not CSV files."""
        import pandas as pd

        tables = {}
        for name, artifact in self._artifacts.items():
            if isinstance(artifact, JsonEvaluationArtifact) and _is_table(artifact.content):
                tables[name] = pd.DataFrame(artifact.content["data"], columns=artifact.content["columns"])
        return tables

    def save(self, path: str) -> None:
        """Write the metrics and artifacts to a local folder (``EvaluationResult.load`` reads it)."""
        import numpy as np

        os.makedirs(os.path.join(path, "artifacts"), exist_ok=True)
        with open(os.path.join(path, "metrics.json"), "w") as f:
            json.dump(self._metrics, f, default=lambda v: v.item() if isinstance(v, np.generic) else str(v))
        meta = {n: {"uri": a.uri, "class_name": f"{type(a).__module__}.{type(a).__name__}"}
                for n, a in self._artifacts.items()}
        with open(os.path.join(path, "artifacts_metadata.json"), "w") as f:
            json.dump(meta, f)
        for artifact in self._artifacts.values():
            artifact._save(os.path.join(path, "artifacts", os.path.basename(artifact.uri)))

    @classmethod
    def load(cls, path: str) -> EvaluationResult:
        """Read a result written by :meth:`save`."""
        with open(os.path.join(path, "metrics.json")) as f:
            metrics = json.load(f)
        with open(os.path.join(path, "artifacts_metadata.json")) as f:
            meta = json.load(f)
        kinds = {c.__name__: c for c in _ARTIFACT_CLASSES}
        artifacts: dict[str, EvaluationArtifact] = {}
        for name, m in meta.items():
            artifact = kinds.get(m["class_name"].rsplit(".", 1)[-1], PickleEvaluationArtifact)(m["uri"])
            artifact._load(os.path.join(path, "artifacts", os.path.basename(m["uri"])))
            artifacts[name] = artifact
        return cls(metrics, artifacts)

    def __repr__(self) -> str:
        return f"EvaluationResult(run_id={self._run_id!r}, metrics={len(self._metrics)}, artifacts={sorted(self._artifacts)})"


def _is_table(content: Any) -> bool:
    return isinstance(content, dict) and set(content) >= {"columns", "data"}


_ARTIFACT_CLASSES = (ImageEvaluationArtifact, CsvEvaluationArtifact, ParquetEvaluationArtifact,
                     NumpyEvaluationArtifact, JsonEvaluationArtifact, TextEvaluationArtifact,
                     PickleEvaluationArtifact)
