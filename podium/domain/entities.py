"""Podium's entities: immutable values with MLflow's names and attributes.

A store returns these; the client hands them to users; the server serialises them. Attribute
names follow MLflow's Python entities (``run.info.run_id``, ``mv.current_stage``, ``rm.aliases``),
so code written against MLflow reads them unchanged. Model version numbers are ``int`` here, as in
MLflow's embedded store; on the wire they are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Experiment",
    "FileInfo",
    "LoggedModel",
    "LoggedModelOutput",
    "Metric",
    "ModelVersion",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegisteredModelAlias",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
    "STAGES",
    "LoggedModelStatus",
    "ModelVersionStatus",
]

#: The registry's stages, in MLflow's canonical spelling.
STAGES = ("None", "Staging", "Production", "Archived")


class ViewType:
    """Which lifecycle stages a search returns (MLflow's integers)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    _NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}

    @classmethod
    def from_any(cls, value: int | str | None) -> int:
        if value is None:
            return cls.ACTIVE_ONLY
        if isinstance(value, str):
            try:
                return cls._NAMES[value.upper()]
            except KeyError:
                from podium.errors import InvalidParameterValue

                raise InvalidParameterValue(f"Invalid view type '{value}'.") from None
        if value not in (cls.ACTIVE_ONLY, cls.DELETED_ONLY, cls.ALL):
            from podium.errors import InvalidParameterValue

            raise InvalidParameterValue(f"Invalid view type {value!r} (1 ACTIVE_ONLY, 2 DELETED_ONLY, 3 ALL).")
        return int(value)

    @classmethod
    def to_string(cls, value: int) -> str:
        return {v: k for k, v in cls._NAMES.items()}[value]


class RunStatus:
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LoggedModelStatus:
    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    FAILED = "LOGGED_MODEL_UPLOAD_FAILED"
    ALL = (PENDING, READY, FAILED)


class ModelVersionStatus:
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(frozen=True, slots=True)
class RunData:
    """Latest value per metric key, plus params and tags, each as a dict (MLflow's shape)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: the latest Metric per key, for callers that want timestamps and steps
    metric_objects: tuple[Metric, ...] = ()


@dataclass(frozen=True, slots=True)
class LoggedModelOutput:
    model_id: str
    step: int = 0


@dataclass(frozen=True, slots=True)
class RunInputs:
    dataset_inputs: tuple[Any, ...] = ()
    model_inputs: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class RunOutputs:
    model_outputs: tuple[LoggedModelOutput, ...] = ()


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """An MLflow 3 logged model: the artifacts of one ``log_model`` call, id ``m-<32 hex>``."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = LoggedModelStatus.PENDING
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"

    @property
    def artifact_uri(self) -> str:
        return self.artifact_location


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str = "None"
    description: str | None = None
    user_id: str | None = None
    source: str | None = None
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    run_link: str | None = None
    model_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    #: where the version's files live (a resolved artifact URI), for get_model_version_download_uri
    storage_location: str | None = None


@dataclass(frozen=True, slots=True)
class RegisteredModelAlias:
    alias: str
    version: int


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    user_id: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    #: alias -> version number, as MLflow's ``RegisteredModel.aliases``
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None = None


class PagedList(list):
    """A list of results plus the token for the next page (``None`` on the last page)."""

    def __init__(self, items=(), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def __repr__(self) -> str:
        return f"PagedList({list.__repr__(self)}, token={self.token!r})"
