"""Models of the catalogue, leaderboard, token and log RPCs (re-exported by `models.py`).

BenchmarksApiService (ListBenchmarkModels, GetBenchmarkLeaderboard), OAuthService
(IntrospectToken), ModelProxyApiService (CreateDefaultModelProxyToken) and the log entry
of GetBenchmarkTaskRunLogs. Fields mirror kagglesdk 0.1.37; rules as in `models.py`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kbench_tui.api.wire import Timestamp, WireEnum, WireModel

# --- enums (§4); declared in proto-number order -------------------------------------------


class Modality(WireEnum):
    """Input or output modality of a model version."""

    UNSPECIFIED = "MODALITY_UNSPECIFIED"
    TEXT = "MODALITY_TEXT"
    IMAGE = "MODALITY_IMAGE"
    VIDEO = "MODALITY_VIDEO"
    AUDIO = "MODALITY_AUDIO"


class BenchmarkModelImportanceLevel(WireEnum):
    """Whether a model runs on every Kaggle-maintained benchmark."""

    UNSPECIFIED = "BENCHMARK_MODEL_IMPORTANCE_LEVEL_UNSPECIFIED"
    CORE = "CORE"


class UserLicenseAgreementStatus(WireEnum):
    """The caller's agreement with a model license that needs one."""

    UNSPECIFIED = "USER_LICENSE_AGREEMENT_STATUS_UNSPECIFIED"
    PENDING = "USER_LICENSE_AGREEMENT_STATUS_PENDING"
    ACCEPTED = "USER_LICENSE_AGREEMENT_STATUS_ACCEPTED"
    REJECTED = "USER_LICENSE_AGREEMENT_STATUS_REJECTED"
    EXPIRED = "USER_LICENSE_AGREEMENT_STATUS_EXPIRED"


# --- BenchmarksApiService (§3.10–3.11) ----------------------------------------------------


class OrganizationCard(WireModel):
    """The organization behind a model."""

    name: str = ""
    id: int = 0
    thumbnail_image_url: str = ""
    slug: str = ""


class License(WireModel):
    """A model's license."""

    id: int = 0
    name: str = ""
    url: str | None = None
    agreement_required: bool | None = None
    agreement_status: UserLicenseAgreementStatus | None = None
    consent_time: Timestamp | None = None
    current_revision_number: int | None = None


class BenchmarkModelVersion(WireModel):
    """A model version; `slug` is the canonical value to schedule runs with."""

    id: int = 0
    benchmark_model_id: int = 0
    slug: str = ""
    external_url: str | None = None
    knowledge_cutoff: Timestamp | None = None
    is_default: bool = False
    published: bool = False
    allow_model_proxy: bool = False
    model_proxy_slug: str | None = None
    display_name: str | None = None
    description: str | None = None
    organization: OrganizationCard | None = None
    name: str | None = None
    license: License | None = None
    importance_level: BenchmarkModelImportanceLevel | None = None
    input_modalities: list[Modality] = Field(default_factory=list)
    output_modalities: list[Modality] = Field(default_factory=list)
    deprecation_time: Timestamp | None = None


class BenchmarkModel(WireModel):
    """A model of the catalogue with its default (or requested) version."""

    id: int = 0
    display_name: str = ""
    slug: str = ""
    organization_id: int | None = None
    owner_user_id: int | None = None
    license_id: int = 0
    default_version_id: int | None = None
    version: BenchmarkModelVersion | None = None
    organization: OrganizationCard | None = None
    license: License | None = None
    published: bool = False

    @property
    def version_slug(self) -> str:
        """The slug to schedule with: `version.slug`, else the model slug."""
        return self.version.slug if self.version and self.version.slug else self.slug

    @property
    def modality_label(self) -> str:
        """Modalities as the CLI's picker shows them: `Image-Text-to-Text`, `Any-to-Any`."""
        version = self.version or BenchmarkModelVersion()

        def side(modalities: list[Modality]) -> list[str]:
            known = {m.short.title() for m in modalities if m.known and m.short != "UNSPECIFIED"}
            return sorted(known)

        inputs, outputs = side(version.input_modalities), side(version.output_modalities)
        if inputs and inputs == outputs and len(inputs) >= 3:
            return "Any-to-Any"
        return f"{'-'.join(inputs) or 'Unknown'}-to-{'-'.join(outputs) or 'Unknown'}"


class ListBenchmarkModelsRequest(WireModel):
    """A page of the model catalogue; `read_mask` is a comma-separated camelCase path list."""

    page_size: int = 0
    page_token: str = ""
    read_mask: str | None = None


class ListBenchmarkModelsResponse(WireModel):
    """A page of models."""

    benchmark_models: list[BenchmarkModel] = Field(default_factory=list)
    next_page_token: str | None = None


class UnevenConfidenceInterval(WireModel):
    """An asymmetric confidence interval (takes priority over `confidence_interval`)."""

    plus: float = 0.0
    minus: float = 0.0


class NumericResult(WireModel):
    """A score with an optional ± radius."""

    value: float = 0.0
    confidence_interval: float | None = None
    uneven_confidence_interval: UnevenConfidenceInterval | None = None


class CustomResult(WireModel):
    """An extra key/value shown with a result."""

    key: str = ""
    value: str = ""


class BenchmarkResult(WireModel):
    """A leaderboard cell."""

    numeric_result: NumericResult | None = None
    boolean_result: bool | None = None
    custom_additional_results: list[CustomResult] = Field(default_factory=list)
    numeric_result_private: NumericResult | None = None
    numeric_result_public: NumericResult | None = None
    evaluation_date: Timestamp | None = None
    task_version_id: int | None = None

    @property
    def display(self) -> str:
        """The cell as `kaggle b leaderboard` prints it: value, Pass/Fail, else N/A."""
        if self.numeric_result is not None:
            return str(self.numeric_result.value)
        if self.boolean_result is not None:
            return "Pass" if self.boolean_result else "Fail"
        return "N/A"


class TaskResult(WireModel):
    """One task's result for one model on a leaderboard."""

    benchmark_task_name: str = ""
    benchmark_task_slug: str = ""
    task_version: int = 0
    result: BenchmarkResult | None = None


class LeaderboardRow(WireModel):
    """One model's row of a leaderboard."""

    model_version_name: str = ""
    model_version_slug: str = ""
    task_results: list[TaskResult] = Field(default_factory=list)


class ApiBenchmarkLeaderboard(WireModel):
    """Response of GetBenchmarkLeaderboard."""

    rows: list[LeaderboardRow] = Field(default_factory=list)


class GetBenchmarkLeaderboardRequest(WireModel):
    """A benchmark's leaderboard (current version when `version_number` is None)."""

    owner_slug: str = ""
    benchmark_slug: str = ""
    version_number: int | None = None


# --- OAuthService / ModelProxyApiService (§3.13) ------------------------------------------


class IntrospectTokenRequest(WireModel):
    """Ask who a token belongs to (the token is hidden from repr)."""

    token: str = Field(default="", repr=False)


class IntrospectTokenResponse(WireModel):
    """`active` with a non-empty `username` means the token is accepted."""

    active: bool = False
    client_id: str = ""
    username: str = ""
    user_id: int | None = None
    scope: str = ""
    exp: int | None = None


class CreateDefaultModelProxyTokenRequest(WireModel):
    """No fields: always `{}`."""


class CreateDefaultModelProxyTokenResponse(WireModel):
    """Model-proxy credentials for `.env` (the token is hidden from repr)."""

    token: str = Field(default="", repr=False)
    base_uri: str = ""
    expiry_time: Timestamp | None = None


# --- logs (§6.2) --------------------------------------------------------------------------


class LogEntry(BaseModel):
    """One log event: snake_case on the wire (a worker file, not a proto)."""

    model_config = ConfigDict(extra="ignore")

    stream_name: str = "stdout"
    time: float | None = None
    data: str = ""

    @field_validator("stream_name", mode="before")
    @classmethod
    def _stream_default(cls, value: Any) -> Any:
        return "stdout" if value is None else value

    @field_validator("time", mode="before")
    @classmethod
    def _lenient_time(cls, value: Any) -> Any:
        # The CLI never reads `time`; a value we cannot read must not lose the line.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    @field_validator("data", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)
