"""Plain-data records: what the store returns. No I/O here.

Names and fields follow MLflow's entities so code written for MLflow reads them the
same way (``run.info.run_id``, ``run.data.metrics["acc"]``, ``exp.experiment_id``).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModelInput",
    "LoggedModelOutput",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "SourceType",
    "TraceArchivalConfig",
    "ViewType",
    "Workspace",
    "WorkspaceDeletionMode",
]


class RunStatus:
    """Run statuses, as strings (MLflow's names), with MLflow's helper methods."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    _ALL = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
    _TERMINATED = frozenset({"FINISHED", "FAILED", "KILLED"})

    @classmethod
    def all_status(cls) -> list[str]:
        return list(cls._ALL)

    @classmethod
    def is_terminated(cls, status: str) -> bool:
        return status in cls._TERMINATED

    @classmethod
    def to_string(cls, status: str | int) -> str:
        if isinstance(status, int):
            return cls._ALL[status - 1]
        return status

    @classmethod
    def from_string(cls, status: str) -> str:
        if status not in cls._ALL:
            from nbtrack.errors import InvalidParameter

            raise InvalidParameter(
                f"Could not get run status corresponding to string {status}. "
                f"Valid run status strings: {list(cls._ALL)}"
            )
        return status


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which runs or experiments a search returns (MLflow's integer values)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @classmethod
    def from_string(cls, name: str) -> int:
        return {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}[name.upper()]

    @classmethod
    def stages(cls, view_type: int) -> tuple[str, ...]:
        return {
            cls.ACTIVE_ONLY: ("active",),
            cls.DELETED_ONLY: ("deleted",),
            cls.ALL: ("active", "deleted"),
        }[view_type]


class SourceType:
    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str | None = None
    model_id: str | None = None  # MLflow 3: the logged model (and dataset) the value belongs to
    dataset_name: str | None = None
    dataset_digest: str | None = None


class _MetricSlots:
    """Metric's slot layout without its frozen ``__init__``: see :func:`metric_history`."""

    __slots__ = Metric.__slots__


def metric_history(key: str, values: list[float], timestamps: list[int], steps: list[int],
                   run_id: str) -> list[Metric]:
    """``Metric`` objects for one run's history of ``key``, from its columns (same lengths).

    The same objects ``Metric(key, value, timestamp, step, run_id)`` makes, about 10x faster for a
    long history: a frozen dataclass's ``__init__`` costs a function call and eight
    ``object.__setattr__`` calls per object, which for 100,000 points was most of
    ``get_metric_history``. Each object is made as a plain slotted one, filled, then given its class
    (allowed because the slot layouts are identical), after which it is an ordinary frozen Metric.
    """
    out: list[Metric] = []
    append = out.append
    new = _MetricSlots.__new__
    # 100,000 new container objects would start several collections of the whole heap (half the
    # time in a process holding a few large frames); these objects hold no cycles to collect.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for value, timestamp, step in zip(values, timestamps, steps, strict=True):
            m = new(_MetricSlots)
            m.key = key  # type: ignore[attr-defined]
            m.value = value  # type: ignore[attr-defined]
            m.timestamp = timestamp  # type: ignore[attr-defined]
            m.step = step  # type: ignore[attr-defined]
            m.run_id = run_id  # type: ignore[attr-defined]
            m.model_id = m.dataset_name = m.dataset_digest = None  # type: ignore[attr-defined]
            m.__class__ = Metric  # type: ignore[assignment]
            append(m)  # type: ignore[arg-type]
    finally:
        if collecting:
            gc.enable()
    return out


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ExperimentTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class InputTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoggedModelInput:
    """A logged model a run used (MLflow 3's ``run.inputs.model_inputs``)."""

    model_id: str

    def to_dictionary(self) -> dict[str, str]:
        return {"model_id": self.model_id}


@dataclass(frozen=True, slots=True)
class LoggedModelOutput:
    """A logged model a run produced, at ``step`` (MLflow 3's ``run.outputs.model_outputs``)."""

    model_id: str
    step: int = 0

    def to_dictionary(self) -> dict[str, str | int]:
        return {"model_id": self.model_id, "step": self.step}


@dataclass(frozen=True, slots=True)
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunOutputs:
    """What a run produced: the logged models ``log_model`` (or ``log_outputs``) recorded."""

    model_outputs: list[LoggedModelOutput] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        return {"model_outputs": [m.to_dictionary() for m in self.model_outputs]}


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(frozen=True, slots=True)
class RunData:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData = field(default_factory=RunData)
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dictionary(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"info": asdict(self.info), "data": asdict(self.data), "outputs": self.outputs.to_dictionary()}


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None
    workspace: str = "default"


# -- model registry ---------------------------------------------------------------------------
class ModelVersionStage:
    """Model version stages (MLflow's names). Input is matched case-insensitively."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"
    ALL = ("None", "Staging", "Production", "Archived")
    #: the stages ``archive_existing_versions`` may be used with
    ACTIVE = ("Staging", "Production")

    @classmethod
    def canonical(cls, stage: str) -> str | None:
        """``"production"`` -> ``"Production"``; None when ``stage`` is not a stage."""
        if not isinstance(stage, str):
            return None
        return {s.lower(): s for s in cls.ALL}.get(stage.strip().lower())


class _Fields:
    """``dict(entity)`` gives its fields, as MLflow's registry entities allow."""

    __slots__ = ()

    def __iter__(self) -> Any:
        from dataclasses import fields

        for f in fields(self):  # type: ignore[arg-type]
            yield f.name, getattr(self, f.name)


@dataclass(frozen=True, slots=True)
class RegisteredModelTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ModelVersionTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RegisteredModelAlias:
    alias: str
    version: int


@dataclass(frozen=True, slots=True)
class ModelVersion(_Fields):
    """One version of a registered model. ``version`` is an int; ``aliases`` lists its aliases."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = "None"
    source: str | None = None
    run_id: str | None = None
    status: str = "READY"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    #: MLflow 3: the logged model (``m-...``) this version was registered from, with its params and metrics
    model_id: str | None = None
    params: dict[str, str] | None = None
    metrics: list[Metric] | None = None


@dataclass(frozen=True, slots=True)
class RegisteredModel(_Fields):
    """A named model. ``aliases`` maps alias -> version; ``latest_versions`` is the newest per stage."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    workspace: str = "default"


@dataclass(frozen=True, slots=True)
class RegistryEvent(_Fields):
    """One recorded change of a registered model (nbtrack's history; MLflow keeps none).

    ``kind`` is ``"created"`` (a version was created, ``to_value`` its stage), ``"stage"``
    (``from_value`` -> ``to_value`` stage), ``"alias"`` (``alias`` moved from version
    ``from_value`` to ``to_value``; None means unset), ``"deleted"`` (``from_value`` the stage it
    left) or ``"renamed"`` (old -> new model name). ``timestamp`` is ms since the epoch.
    """

    name: str
    kind: str
    version: int | None
    from_value: str | None
    to_value: str | None
    user_id: str | None
    timestamp: int
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class RegistrySnapshot(_Fields):
    """What a registered model looked like at ``timestamp`` (replayed from its history).

    ``stages`` maps every version that existed then to its stage; ``aliases`` maps each alias
    to the version it pointed at.
    """

    name: str
    timestamp: int
    stages: dict[int, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)

    def versions_in(self, stage: str) -> list[int]:
        """The versions that were in ``stage`` (any case), ascending."""
        wanted = ModelVersionStage.canonical(stage)
        return sorted(v for v, s in self.stages.items() if s == wanted)

    def version_in(self, stage: str) -> int | None:
        """The highest version in ``stage`` then (what ``models:/name/<stage>`` meant), or None."""
        found = self.versions_in(stage)
        return found[-1] if found else None


__all__ += [
    "ModelVersion",
    "ModelVersionStage",
    "ModelVersionTag",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "RegistryEvent",
    "RegistrySnapshot",
]


class LoggedModelStatus:
    """A logged model's status (MLflow 3's names): PENDING until its files are in, then READY or FAILED."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"
    ALL = (PENDING, READY, FAILED)


@dataclass(frozen=True, slots=True)
class LoggedModel(_Fields):
    """An MLflow 3 logged model: a model with its own id (``m-...``), files, params, tags and metrics.

    ``metrics`` are the values logged with ``model_id=`` (each :class:`Metric` carries its
    ``run_id``, ``dataset_name`` and ``dataset_digest``); ``model_uri`` is ``models:/<model_id>``.
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: str = LoggedModelStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"


__all__ += ["LoggedModel", "LoggedModelStatus"]


# -- registry webhooks (MLflow 3) -------------------------------------------------------------
class WebhookStatus:
    """A webhook's status: ACTIVE ones are called, DISABLED ones are kept but not called."""

    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    ALL = (ACTIVE, DISABLED)


#: entity -> the actions a webhook may subscribe to (MLflow's registry events; prompts and budget
#: policies, GenAI features nbtrack does not have, are left out)
WEBHOOK_EVENTS: dict[str, tuple[str, ...]] = {
    "registered_model": ("created",),
    "model_version": ("created",),
    "model_version_tag": ("set", "deleted"),
    "model_version_alias": ("created", "deleted"),
}


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One kind of registry change, ``entity.action`` (``"model_version.created"``)."""

    entity: str
    action: str

    def __str__(self) -> str:
        return f"{self.entity}.{self.action}"


@dataclass(frozen=True, slots=True)
class Webhook(_Fields):
    """A URL that receives an HTTP POST for each of ``events``; signed when it has a ``secret``."""

    webhook_id: str
    name: str
    url: str
    events: list[WebhookEvent]
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    status: str = WebhookStatus.ACTIVE
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookTestResult:
    """What ``test_webhook`` got back: success means an HTTP status below 400."""

    success: bool
    response_status: int | None = None
    response_body: str | None = None
    error_message: str | None = None


__all__ += ["WEBHOOK_EVENTS", "Webhook", "WebhookEvent", "WebhookStatus", "WebhookTestResult"]


# -- workspaces (MLflow 3) ----------------------------------------------------------------------
class WorkspaceDeletionMode(StrEnum):
    """What ``delete_workspace`` does with the experiments and registered models still in it."""

    SET_DEFAULT = "SET_DEFAULT"  # move them to the default workspace
    CASCADE = "CASCADE"  # delete them with it
    RESTRICT = "RESTRICT"  # refuse while it holds any


@dataclass(frozen=True, slots=True)
class TraceArchivalConfig:
    """MLflow's trace archival settings of a workspace (nbtrack stores them; it has no traces)."""

    location: str | None = None
    retention: str | None = None


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace: a namespace of experiment and registered-model names."""

    name: str
    description: str | None = None
    default_artifact_root: str | None = None
    trace_archival_location: str | None = None
    trace_archival_retention: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "default_artifact_root": self.default_artifact_root}
        archival = {k: v for k, v in (("location", self.trace_archival_location),
                                      ("retention", self.trace_archival_retention)) if v is not None}
        if archival:
            out["trace_archival_config"] = archival
        return out

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Workspace:
        archival = payload.get("trace_archival_config") or {}
        return cls(payload["name"], payload.get("description"), payload.get("default_artifact_root"),
                   archival.get("location"), archival.get("retention"))
