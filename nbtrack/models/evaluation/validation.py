"""Model validation: :class:`MetricThreshold` and ``validate_evaluation_results`` (MLflow's
``mlflow.models.MetricThreshold`` and ``mlflow.validate_evaluation_results``)."""

from __future__ import annotations

import logging
import operator
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["MetricThreshold", "ModelValidationFailedException", "validate_evaluation_results"]

_log = logging.getLogger(__name__)


class ModelValidationFailedException(NbtrackError):
    """The candidate's metrics missed a threshold or did not beat the baseline enough.

    ``failures`` maps each failing metric to the sentence that explains it.
    """

    error_code = "BAD_REQUEST"

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or {}


def _bad(message: str) -> InvalidParameter:
    return InvalidParameter("Could not instantiate MetricThreshold class: " + message)


class MetricThreshold:
    """What a metric must reach: an absolute ``threshold`` and/or a minimum absolute or relative
    improvement over the baseline model.

    Parameters
    ----------
    threshold : int or float, optional
        The value must be >= it (``greater_is_better``) or <= it.
    min_absolute_change : int or float, optional
        A positive number: the candidate must beat the baseline by at least this much.
    min_relative_change : float, optional
        Between 0 and 1: the candidate must beat the baseline by this fraction of ``|baseline|``
        (with a baseline of 0, it must simply be better).
    greater_is_better : bool
        The metric's direction (required).
    """

    def __init__(self, threshold: float | None = None, min_absolute_change: float | None = None,
                 min_relative_change: float | None = None, greater_is_better: bool | None = None) -> None:
        if threshold is not None and type(threshold) not in (int, float):
            raise _bad("`threshold` parameter must be a number.")
        if min_absolute_change is not None and (type(min_absolute_change) not in (int, float)
                                                or min_absolute_change <= 0):
            raise _bad("`min_absolute_change` parameter must be a positive number.")
        if min_relative_change is not None:
            if not isinstance(min_relative_change, float):
                raise _bad("`min_relative_change` parameter must be a floating point number.")
            if not 0 <= min_relative_change <= 1:
                raise _bad("`min_relative_change` parameter must be between 0 and 1.")
        if greater_is_better is None:
            raise _bad("`greater_is_better` parameter must be defined.")
        if not isinstance(greater_is_better, bool):
            raise _bad("`greater_is_better` parameter must be a boolean.")
        if threshold is None and min_absolute_change is None and min_relative_change is None:
            raise _bad("no threshold was specified.")
        self.threshold = threshold
        self.min_absolute_change = min_absolute_change
        self.min_relative_change = min_relative_change
        self.greater_is_better = greater_is_better

    def __str__(self) -> str:
        parts = []
        if self.threshold is not None:
            parts.append(f"Threshold: {self.threshold}.")
        if self.min_absolute_change is not None:
            parts.append(f"Minimum Absolute Change: {self.min_absolute_change}.")
        if self.min_relative_change is not None:
            parts.append(f"Minimum Relative Change: {self.min_relative_change}.")
        parts.append("Greater value is better." if self.greater_is_better else "Lower value is better.")
        return " ".join(parts)


@dataclass
class _Check:
    name: str
    candidate: Any
    baseline: Any
    threshold: MetricThreshold
    missing_candidate: bool = False
    missing_baseline: bool = False
    threshold_failed: bool = False
    absolute_failed: bool = False
    relative_failed: bool = False

    def ok(self) -> bool:
        return not (self.missing_candidate or self.missing_baseline or self.threshold_failed
                    or self.absolute_failed or self.relative_failed)

    def __str__(self) -> str:
        n, c, b, t = self.name, self.candidate, self.baseline, self.threshold
        if self.missing_candidate:
            return f"Metric validation failed: metric {n} was missing from the evaluation result of the candidate model."
        parts = []
        if self.threshold_failed:
            parts.append(f"Metric {n} value threshold check failed: candidate model {n} = {c}, "
                         f"{n} threshold = {t.threshold}.")
        if self.missing_baseline:
            parts.append(f"Model comparison failed: metric {n} was missing from the evaluation result of "
                         "the baseline model.")
        if self.absolute_failed:
            parts.append(f"Metric {n} minimum absolute change check failed: candidate model {n} = {c}, "
                         f"baseline model {n} = {b}, {n} minimum absolute change threshold = "
                         f"{t.min_absolute_change}.")
        if self.relative_failed:
            parts.append(f"Metric {n} minimum relative change check failed: candidate model {n} = {c}, "
                         f"baseline model {n} = {b}, {n} minimum relative change threshold = "
                         f"{t.min_relative_change}.")
        return " ".join(parts)


def _check(check: _Check, baseline_metrics: dict[str, Any]) -> None:
    t, c = check.threshold, check.candidate
    better = operator.ge if t.greater_is_better else operator.le
    shift = operator.add if t.greater_is_better else operator.sub
    if t.threshold is not None:
        check.threshold_failed = not better(c, t.threshold)
    if (t.min_relative_change or t.min_absolute_change) and check.name not in baseline_metrics:
        check.missing_baseline = True
        return
    b = check.baseline
    if t.min_absolute_change is not None:
        check.absolute_failed = not better(Decimal(c), Decimal(shift(b, t.min_absolute_change)))
    if t.min_relative_change is not None:
        if b == 0:
            _log.warning("Cannot compare metric %s relatively: the baseline value is 0. Checking that the "
                         "candidate is better than the baseline instead.", check.name)
            check.relative_failed = not better(Decimal(c), Decimal(shift(b, 1e-10)))
            return
        change = (c - b) / abs(b) if t.greater_is_better else (b - c) / abs(b)
        check.relative_failed = change < t.min_relative_change


def validate_evaluation_results(validation_thresholds: dict[str, MetricThreshold], candidate_result: Any,
                                baseline_result: Any = None) -> None:
    """Check a candidate's ``EvaluationResult`` against thresholds and a baseline's result.

    Raises
    ------
    ModelValidationFailedException
        Listing every metric that failed and why.

    Examples
    --------
    >>> thresholds = {"accuracy_score": MetricThreshold(threshold=0.8, min_absolute_change=0.05,
    ...                                                 greater_is_better=True)}
    >>> validate_evaluation_results(thresholds, candidate, baseline)
    """
    if type(validation_thresholds) is not dict or not all(
            type(k) is str and isinstance(v, MetricThreshold) for k, v in validation_thresholds.items()):
        raise InvalidParameter("The validation thresholds argument must be a dictionary that maps strings to "
                               "MetricThreshold objects, e.g. {'accuracy_score': MetricThreshold(threshold=0.8, "
                               "greater_is_better=True)}.")
    candidate = candidate_result.metrics
    baseline = baseline_result.metrics if baseline_result else {}
    checks = []
    for name, threshold in validation_thresholds.items():
        check = _Check(name, candidate.get(name), baseline.get(name), threshold)
        checks.append(check)
        if name not in candidate:
            check.missing_candidate = True
            continue
        _check(check, baseline)
    failures = {c.name: str(c) for c in checks if not c.ok()}
    if failures:
        raise ModelValidationFailedException(os.linesep.join(failures.values()), failures)
    _log.info("Model validation passed!")
