"""Where autolog writes: each framework's settings, the run a training call logs into, and
logging helpers that never read the store on the fast path.

Run rules (MLflow's, minus its surprises):

* inside an active run, a training call logs into it (not with ``exclusive=True``);
* with no active run, it starts one tagged ``mlflow.autologging=<flavor>`` and ends it when
  the call returns: FINISHED, FAILED if the call raised, KILLED on KeyboardInterrupt;
* when autolog is scoped to a run (``%%track --autolog``) it logs into that run or its
  nested children only, and never starts a run, not even after the user ended theirs.
"""

from __future__ import annotations

import logging
import numbers
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from nbtrack.autolog._patching import Guard, Integration, attach, detach
from nbtrack.entities import DatasetInput, InputTag, Metric, Param, RunStatus, RunTag
from nbtrack.errors import InvalidParameter
from nbtrack.tracking import fluent
from nbtrack.tracking.client import Client

__all__ = ["Config", "Target", "bind", "config", "configure", "restore", "snapshot", "training_run"]

log = logging.getLogger("nbtrack.autolog")

MLFLOW_AUTOLOGGING = "mlflow.autologging"
PARENT_RUN_ID = "mlflow.parentRunId"
MAX_PARAM_VALUE = 6000  # MLflow's limit; longer values (an estimator's repr) are cut, as MLflow does
_CONTEXT_TAG_PREFIXES = ("mlflow.user", "mlflow.source.", "mlflow.notebook", "nbtrack.cell", "nbtrack.notebook")


@dataclass(frozen=True)
class Config:
    """One framework's autolog settings (MLflow's arguments), read at every training call."""

    log_models: bool = True
    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_datasets: bool = True
    exclusive: bool = False
    silent: bool = False
    registered_model_name: str | None = None
    extra_tags: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None  # scoped: log into this run (or its children) only, never start one
    options: Mapping[str, Any] = field(default_factory=dict)  # framework-specific arguments


_configs: dict[str, Config] = {}
_integrations: dict[str, Integration] = {}  # every framework ever configured, attached or not
_attached: set[str] = set()


def config(flavor: str) -> Config | None:
    """The settings of ``flavor``, or None when its autolog is off."""
    return _configs.get(flavor)


def configure(integration: Integration, settings: Config, disable: bool = False) -> None:
    """Turn ``integration`` on with ``settings`` (patching now or at import), or off (restoring)."""
    flavor = integration.flavor
    _integrations.setdefault(flavor, integration)
    if disable:
        _configs.pop(flavor, None)
        if flavor in _attached:
            _attached.discard(flavor)
            detach(_integrations[flavor])
        return
    _configs[flavor] = settings
    if flavor not in _attached:
        _attached.add(flavor)
        attach(_integrations[flavor])


def bind(run_id: str) -> None:
    """Scope every enabled framework to ``run_id`` (see :func:`nbtrack.autolog.scoped`)."""
    for flavor, settings in list(_configs.items()):
        _configs[flavor] = replace(settings, run_id=run_id)


def snapshot() -> dict[str, Config]:
    return dict(_configs)


def restore(saved: Mapping[str, Config]) -> None:
    """Return every framework to the settings in ``saved`` (off if absent there)."""
    for flavor in set(_configs) | set(saved):
        integration = _integrations.get(flavor)
        if integration is None:
            continue
        if flavor in saved:
            configure(integration, saved[flavor])
        else:
            configure(integration, Config(), disable=True)


# -- the run of one training call ----------------------------------------------------------
def _stringify(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_VALUE else text[:MAX_PARAM_VALUE]


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass
class Target:
    """The run one training call logs into, with the helpers to write to it."""

    flavor: str
    run_id: str
    experiment_id: str
    start_time: int
    tags: Mapping[str, str]
    created: bool
    settings: Config
    guard: Guard
    client: Client = field(default_factory=Client)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params; keys the run already has keep their value (no conflict, no duplicate)."""
        items = {str(k): _stringify(v) for k, v in params.items()}
        if not items:
            return
        try:
            self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in items.items()])
            return
        except InvalidParameter:  # a conflict with a value the user logged, or a bad key
            pass
        existing = self.client.get_run(self.run_id).data.params
        kept = [k for k, v in items.items() if k in existing and existing[k] != v]
        if kept:
            log.info("autolog kept the values already logged for %s", ", ".join(sorted(kept)))
        for key, value in items.items():
            if key not in existing:
                try:
                    self.client.log_param(self.run_id, key, value)
                except InvalidParameter as e:
                    log.info("autolog skipped param %r: %s", key, e)

    def log_metrics(self, metrics: Mapping[str, Any], step: int = 0) -> None:
        now = time.time_ns() // 1_000_000
        points = [Metric(str(k), float(v), now, step) for k, v in metrics.items() if is_number(v)]
        if points:
            self.client.log_batch(self.run_id, metrics=points)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(str(k), str(v)) for k, v in tags.items()])

    def log_text(self, text: str, artifact_file: str) -> None:
        write_text(self.client.tracking_uri, self.run_id, text, artifact_file)

    def log_dict(self, dictionary: Any, artifact_file: str) -> None:
        write_dict(self.client.tracking_uri, self.run_id, dictionary, artifact_file)

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        write_file(self.client.tracking_uri, self.run_id, local_path, artifact_path)

    def log_input(self, dataset: Any, context: str) -> None:
        self.client.log_inputs(self.run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", context)])])

    def context_tags(self) -> dict[str, str]:
        """The run's provenance tags (user, source, notebook), for runs created beside it."""
        return {k: v for k, v in self.tags.items() if k.startswith(_CONTEXT_TAG_PREFIXES)}

    def create_child(self, tags: Mapping[str, Any], params: Mapping[str, Any],
                     metrics: Mapping[str, Any], dataset: Any = None) -> str:
        """A finished child run (e.g. one point of a parameter search) with its data."""
        all_tags = {**self.context_tags(), MLFLOW_AUTOLOGGING: self.flavor, PARENT_RUN_ID: self.run_id, **tags}
        child = self.client.create_run(self.experiment_id, start_time=self.start_time, tags=all_tags)
        run_id = child.info.run_id
        now = time.time_ns() // 1_000_000
        self.client.log_batch(
            run_id, params=[Param(str(k), _stringify(v)) for k, v in params.items()],
            metrics=[Metric(str(k), float(v), now, 0) for k, v in metrics.items() if is_number(v)])
        if dataset is not None:
            self.client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])])
        self.client.set_terminated(run_id, RunStatus.FINISHED, end_time=now)
        return run_id


# Artifacts go through the fluent API when it points at the same store: its client already
# knows the run's artifact folder, where a new Client would read the run (a store sync) first.
def _fluent_for(tracking_uri: str) -> bool:
    return fluent.get_tracking_uri() == tracking_uri


def write_text(tracking_uri: str, run_id: str, text: str, artifact_file: str) -> None:
    if _fluent_for(tracking_uri):
        fluent.log_text(text, artifact_file, run_id=run_id)
    else:
        Client(tracking_uri).log_text(run_id, text, artifact_file)


def write_dict(tracking_uri: str, run_id: str, dictionary: Any, artifact_file: str) -> None:
    if _fluent_for(tracking_uri):
        fluent.log_dict(dictionary, artifact_file, run_id=run_id)
    else:
        Client(tracking_uri).log_dict(run_id, dictionary, artifact_file)


def write_file(tracking_uri: str, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
    if _fluent_for(tracking_uri):
        fluent.log_artifact(local_path, artifact_path, run_id=run_id)
    else:
        Client(tracking_uri).log_artifact(run_id, local_path, artifact_path)


def _in_scope(client: Client, active: Any, scope_run_id: str) -> bool:
    """Whether the active run is ``scope_run_id`` or nested (at any depth) under it."""
    run_id, tags = active.info.run_id, active.data.tags
    for _ in range(32):
        if run_id == scope_run_id:
            return True
        parent = tags.get(PARENT_RUN_ID)
        if not parent:
            return False
        run_id, tags = parent, client.get_run(parent).data.tags
    return False


def _open(flavor: str, settings: Config, guard: Guard) -> Target | None:
    active = fluent.active_run()
    client = Client()
    if active is not None:
        if settings.exclusive:
            return None
        if settings.run_id is not None and not _in_scope(client, active, settings.run_id):
            return None
        return Target(flavor, active.info.run_id, active.info.experiment_id, active.info.start_time,
                      active.data.tags, False, settings, guard, client)
    if settings.run_id is not None:
        return None  # the scoped run was ended: log nothing rather than start a run nobody asked for
    tags = {MLFLOW_AUTOLOGGING: flavor, **{str(k): str(v) for k, v in settings.extra_tags.items()}}
    run = fluent.start_run(tags=tags)
    log.info("Created nbtrack autologging run with ID '%s' for this %s training call", run.info.run_id, flavor)
    return Target(flavor, run.info.run_id, run.info.experiment_id, run.info.start_time, run.data.tags,
                  True, settings, guard, client)


def _close(target: Target, status: str) -> None:
    active = fluent.active_run()
    if active is not None and active.info.run_id == target.run_id:
        fluent.end_run(status)
    else:  # the training code changed the run stack; end ours without touching theirs
        target.client.set_terminated(target.run_id, status)


@contextmanager
def training_run(flavor: str, settings: Config, guard: Guard) -> Iterator[Target | None]:
    """The run to log one training call into (None: log nothing); a run started here ends here.

    The user's exception always propagates unchanged; ending the run can only add a warning.
    """
    try:
        target = _open(flavor, settings, guard)
    except Exception as e:  # a boundary: no store problem may stop the user's training
        guard.fail("open a run", e)
        target = None
    if target is None or not target.created:
        yield target
        return
    try:
        yield target
    except KeyboardInterrupt:
        guard.run("end the run", _close, target, RunStatus.KILLED)
        raise
    except BaseException:
        guard.run("end the run", _close, target, RunStatus.FAILED)
        raise
    guard.run("end the run", _close, target, RunStatus.FINISHED)
