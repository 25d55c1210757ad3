"""Tasks, runs, quota and token answers decoded without pydantic, for start-up.

`kbench-tui export TASK` is a whole process per call (CI jobs, scripts), and importing
pydantic and defining the models costs more than half of its run time; the dashboard's
first frame pays the same ~120 ms. Both only read a few answers — GetBenchmarkTask,
ListBenchmarkTasks, ListBenchmarkTaskRuns, and for the dashboard's poller and status bar
GetBenchmarkTaskQuota and IntrospectToken — so `TaskReader` (reader.py) decodes those into
the plain records below.

The records do not replace the models' rules, they defer to them: `decode()` accepts only
the plain shape the service sends (a string where a string belongs, an int or a decimal
string for an int, a bool, a well-formed timestamp, a JSON object for a message, `null` as
unset) and raises `NotPlain` for anything else. The caller then validates the whole answer
with the pydantic model (`models.py`), which has the final say — the same lenient result
or the same refusal as the dashboard. Enums are parsed by the very `WireEnum.parse` the
models use, so unknown values are kept, never a crash. Attribute names, defaults and
helpers (`.model`, `.ref`, `.state.is_terminal`, ...) match the models', so code reading
a task or run works with either; tests/api/test_api_records.py holds the two to the same
field list and to the same answers on a grid of hostile values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, TypeVar

from kbench_tui.api.codec import WireEnum, parse_timestamp
from kbench_tui.api.states import (
    BenchmarkTaskRunState,
    BenchmarkTaskVersionCreationState,
    BenchmarkTaskVersionSource,
)
from kbench_tui.slugs import TaskRef, normalize_model_slug

__all__ = [
    "IntrospectRecord",
    "NotPlain",
    "QuotaRecord",
    "Record",
    "RunRecord",
    "RunsPage",
    "TaskOptionsRecord",
    "TaskRecord",
    "TaskSlugRecord",
    "TasksPage",
]


class NotPlain(Exception):
    """A value outside the plain shape: the pydantic model decides what it means."""


# proto3 JSON may send int64 as a decimal string; the models accept it as an int too.
_DECIMAL = re.compile(r"-?[0-9]{1,18}")


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    raise NotPlain


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is str and _DECIMAL.fullmatch(value):
        return int(value)
    raise NotPlain


def _flag(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise NotPlain


def _number(value: Any) -> float:
    # JSON numbers only (a bool is not one); numeric strings are left to the model.
    if type(value) is float or type(value) is int:
        return float(value)
    raise NotPlain


def _zero() -> float:
    return 0.0


def _time(value: Any) -> Any:
    if type(value) is str:
        try:
            parsed = parse_timestamp(value)
        except ValueError:
            raise NotPlain from None
        if parsed is not None:
            return parsed
    raise NotPlain


def _texts(value: Any) -> list[str]:
    if type(value) is list:
        return [_text(item) for item in value]
    raise NotPlain


def _enum(enum: type[WireEnum]) -> Callable[[Any], WireEnum]:
    # The models' own validator (wire.WireEnum): never raises, keeps unknown values.
    return enum.parse


RecordT = TypeVar("RecordT", bound="Record")


def _record(record: type[Record]) -> Callable[[Any], Record]:
    def parse(value: Any) -> Record:
        if type(value) is dict:
            return record.decode(value)
        raise NotPlain

    return parse


def _records(record: type[Record]) -> Callable[[Any], list[Record]]:
    item = _record(record)

    def parse(value: Any) -> list[Record]:
        if type(value) is list:
            return [item(element) for element in value]
        raise NotPlain

    return parse


class Field(NamedTuple):
    """One field: Python name, wire name (camelCase), parser, default factory."""

    name: str
    alias: str
    parse: Callable[[Any], Any]
    default: Callable[[], Any]


def _none() -> None:
    return None


class Record:
    """Base of the plain records: the fields of one pydantic model, as attributes."""

    FIELDS: ClassVar[tuple[Field, ...]] = ()
    # The pydantic model (in `kbench_tui.api.models`) this record mirrors and defers to.
    MODEL: ClassVar[str] = ""
    _BY_NAME: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        # The models also accept a field by its Python name; which key wins when both are
        # sent is theirs to decide, so such an answer is not plain.
        cls._BY_NAME = frozenset(f.name for f in cls.FIELDS if f.name != f.alias)

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - {field.name for field in self.FIELDS}
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        for field in self.FIELDS:
            setattr(
                self, field.name, values[field.name] if field.name in values else field.default()
            )

    @classmethod
    def decode(cls: type[RecordT], data: dict[str, Any]) -> RecordT:
        """The record for a decoded JSON object; `NotPlain` if any value is not plain."""
        if not cls._BY_NAME.isdisjoint(data):
            raise NotPlain
        record = cls.__new__(cls)
        for field in cls.FIELDS:
            value = data.get(field.alias)
            # `null` means unset, as in the models (wire.WireModel).
            setattr(record, field.name, field.default() if value is None else field.parse(value))
        return record

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the models

    def __repr__(self) -> str:
        values = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.FIELDS)
        return f"{type(self).__name__}({values})"


class TaskSlugRecord(Record):
    """A task (and optionally a version); `owner_slug` None means the caller."""

    MODEL = "ApiBenchmarkTaskSlug"
    FIELDS = (
        Field("owner_slug", "ownerSlug", _text, _none),
        Field("task_slug", "taskSlug", _text, str),
        Field("version_number", "versionNumber", _integer, _none),
    )
    owner_slug: str | None
    task_slug: str
    version_number: int | None

    @property
    def ref(self) -> TaskRef:
        """The task as a `TaskRef` (version dropped)."""
        return TaskRef(task=self.task_slug, owner=self.owner_slug or None)


class TaskOptionsRecord(Record):
    """Attached data sources: `owner/dataset-slug`."""

    MODEL = "BenchmarkTaskOptions"
    FIELDS = (Field("dataset_data_sources", "datasetDataSources", _texts, list),)
    dataset_data_sources: list[str]


class TaskRecord(Record):
    """One task version, as `models.ApiBenchmarkTask`."""

    MODEL = "ApiBenchmarkTask"
    FIELDS = (
        Field("slug", "slug", _record(TaskSlugRecord), TaskSlugRecord),
        Field("url", "url", _text, str),
        Field("error", "error", _text, _none),
        Field(
            "creation_state",
            "creationState",
            _enum(BenchmarkTaskVersionCreationState),
            lambda: BenchmarkTaskVersionCreationState.UNSPECIFIED,
        ),
        Field("create_time", "createTime", _time, _none),
        Field("creation_error_message", "creationErrorMessage", _text, _none),
        Field("is_public", "isPublic", _flag, _none),
        Field("source_kernel_id", "sourceKernelId", _integer, _none),
        Field("is_backing_notebook_published", "isBackingNotebookPublished", _flag, _none),
        Field("options", "options", _record(TaskOptionsRecord), _none),
        Field(
            "source",
            "source",
            _enum(BenchmarkTaskVersionSource),
            lambda: BenchmarkTaskVersionSource.UNSPECIFIED,
        ),
    )
    slug: TaskSlugRecord
    url: str
    error: str | None
    creation_state: BenchmarkTaskVersionCreationState
    create_time: Any
    creation_error_message: str | None
    is_public: bool | None
    source_kernel_id: int | None
    is_backing_notebook_published: bool | None
    options: TaskOptionsRecord | None
    source: BenchmarkTaskVersionSource


class RunRecord(Record):
    """One run of a task version against one model version, as `models.ApiBenchmarkTaskRun`."""

    MODEL = "ApiBenchmarkTaskRun"
    FIELDS = (
        Field("task_slug", "taskSlug", _record(TaskSlugRecord), TaskSlugRecord),
        Field("model_version_slug", "modelVersionSlug", _text, str),
        Field("id", "id", _integer, int),
        Field(
            "state",
            "state",
            _enum(BenchmarkTaskRunState),
            lambda: BenchmarkTaskRunState.UNSPECIFIED,
        ),
        Field("start_time", "startTime", _time, _none),
        Field("end_time", "endTime", _time, _none),
        Field("error_message", "errorMessage", _text, _none),
    )
    task_slug: TaskSlugRecord
    model_version_slug: str
    id: int
    state: BenchmarkTaskRunState
    start_time: Any
    end_time: Any
    error_message: str | None

    @property
    def model(self) -> str:
        """The model slug normalised like the CLI shows it (`claude-sonnet-4-6-default`)."""
        return normalize_model_slug(self.model_version_slug)

    @property
    def error_summary(self) -> str:
        """The last non-blank line of the error (usually a traceback's summary), or ""."""
        lines = [line.strip() for line in (self.error_message or "").splitlines()]
        return next((line for line in reversed(lines) if line), "")


class TasksPage(Record):
    """A page of ListBenchmarkTasks."""

    MODEL = "ListBenchmarkTasksResponse"
    FIELDS = (
        Field("tasks", "tasks", _records(TaskRecord), list),
        Field("total_results", "totalResults", _integer, int),
        Field("next_page_token", "nextPageToken", _text, str),
    )
    tasks: list[TaskRecord]
    total_results: int
    next_page_token: str


class RunsPage(Record):
    """A page of ListBenchmarkTaskRuns."""

    MODEL = "ListBenchmarkTaskRunsResponse"
    FIELDS = (
        Field("runs", "runs", _records(RunRecord), list),
        Field("total_results", "totalResults", _integer, int),
        Field("next_page_token", "nextPageToken", _text, str),
    )
    runs: list[RunRecord]
    total_results: int
    next_page_token: str


class QuotaRecord(Record):
    """GetBenchmarkTaskQuota: the caller's daily model-proxy spend and limit, in USD."""

    MODEL = "GetBenchmarkTaskQuotaResponse"
    FIELDS = (
        Field("daily_quota_used", "dailyQuotaUsed", _number, _zero),
        Field("total_daily_quota_allowed", "totalDailyQuotaAllowed", _number, _zero),
    )
    daily_quota_used: float
    total_daily_quota_allowed: float


class IntrospectRecord(Record):
    """IntrospectToken: `active` with a non-empty `username` means the token is accepted."""

    MODEL = "IntrospectTokenResponse"
    FIELDS = (
        Field("active", "active", _flag, bool),
        Field("client_id", "clientId", _text, str),
        Field("username", "username", _text, str),
        Field("user_id", "userId", _integer, _none),
        Field("scope", "scope", _text, str),
        Field("exp", "exp", _integer, _none),
    )
    active: bool
    client_id: str
    username: str
    user_id: int | None
    scope: str
    exp: int | None
