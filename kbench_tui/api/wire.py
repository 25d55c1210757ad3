"""JSON encoding rules of the Kaggle API (kagglesdk serializers), as pydantic building blocks.

- `WireModel`: camelCase on the wire, snake_case in Python, unknown keys ignored, `null`
  treated as "unset" (so a `null` list becomes `[]` instead of crashing like kagglesdk).
  `to_wire()` omits defaults the way kagglesdk does, so a first-page list request is `{}`.
- `WireEnum`: a `str` enum serialised by its full proto name, parsed leniently (exact,
  case-insensitive, or the short form after the type prefix). A value the server added after
  this code was written does not crash: it becomes a pseudo-member that keeps the raw text.
- `Timestamp`: parses `Z`, offsets and fractions of any length into a **naive UTC**
  datetime (kagglesdk's convention, so values compare with `datetime.utcnow()`-style times
  and serialise without a bogus `+00:00Z`); serialises as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, model_validator
from pydantic.alias_generators import to_camel
from pydantic.functional_serializers import PlainSerializer
from pydantic.functional_validators import BeforeValidator
from pydantic_core import core_schema

_PREFIXES: dict[type, str] = {}


class WireEnum(str, Enum):
    """Base of every API enum: value == proto member name (`BENCHMARK_TASK_RUN_STATE_COMPLETED`).

    The type prefix that the short form strips (`BENCHMARK_TASK_RUN_STATE_`) is derived from
    the `..._UNSPECIFIED` member. Members must be declared in proto-number order so that an integer on
    the wire (which kagglesdk would crash on) maps to the right member.
    """

    @classmethod
    def _type_prefix(cls) -> str:
        cached = _PREFIXES.get(cls)
        if cached is None:
            cached = _PREFIXES[cls] = cls._compute_prefix()
        return cached

    @classmethod
    def _compute_prefix(cls) -> str:
        # The prefix is the longest common "WORD_" prefix of the declared names, which is
        # exactly the proto type prefix (BENCHMARK_TASK_RUN_STATE_) for every enum that uses
        # one, and "" for enums like BenchmarkTaskVersionSource whose members are bare.
        names = [member.value for member in cls]
        unspecified = [name for name in names if name.endswith("UNSPECIFIED")]
        if not unspecified:
            return ""
        return unspecified[0][: -len("UNSPECIFIED")]

    @classmethod
    def _missing_(cls, value: object) -> WireEnum:
        """Lenient parse (§2): case-insensitive name, short form, proto number; else keep raw."""
        members = list(cls)
        if isinstance(value, bool):
            value = str(value)
        if isinstance(value, int):
            if 0 <= value < len(members):
                return members[value]
            value = str(value)
        if not isinstance(value, str):
            value = str(value)
        wanted = value.strip().upper()
        prefix = cls._type_prefix()
        for member in members:
            if member.value in (wanted, prefix + wanted):
                return member
        return cls._unknown(value)

    @classmethod
    def _unknown(cls, raw: str) -> WireEnum:
        """A pseudo-member for a value this code does not know; it keeps the raw text."""
        # Enum allows `_missing_` to return an instance it did not declare (Flag does the
        # same). It is a real instance of the class, compares equal to its raw string, and
        # is never equal to a declared member.
        pseudo = str.__new__(cls, raw)
        pseudo._name_ = raw
        pseudo._value_ = raw
        return pseudo

    @property
    def known(self) -> bool:
        """False for a pseudo-member made from a value the server sent that we do not know."""
        return self._name_ in type(self).__members__

    @property
    def short(self) -> str:
        """The name without its type prefix (`COMPLETED`); the raw text for an unknown value."""
        if not self.known:
            return self.value
        prefix = type(self)._type_prefix()
        return self.value[len(prefix) :] if prefix and self.value.startswith(prefix) else self.value

    @property
    def title(self) -> str:  # type: ignore[override]
        """Display form like the kaggle CLI (`Completed`, `Kernel_Without_Run`); unknown as-is."""
        return self.short.title() if self.known else self.value

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Any) -> WireEnum:
        """Parse a wire value leniently; never raises for strings or integers."""
        if isinstance(value, cls):
            return value
        return cls(value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda member: member.value, when_used="always"
            ),
        )


_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:\.(?P<fraction>\d+))?\s*(?P<zone>Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp into a naive UTC datetime.

    Accepts `2026-03-01T12:00:00Z`, any number of fractional digits (kept to microseconds),
    and `+hh:mm` offsets, which are applied (kagglesdk would silently drop them).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp string, got {type(value).__name__}")
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
    clock = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    parsed = datetime.fromisoformat(f"{match['date']}T{clock}.{fraction}")
    zone = match["zone"]
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        # Local time = UTC + offset, so UTC = local - offset.
        parsed -= sign * offset
    return parsed


def format_timestamp(value: datetime) -> str:
    """Serialise as kagglesdk does: milliseconds and `Z` (`2026-03-01T12:00:00.000Z`)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str, when_used="always"),
]
"""A naive-UTC datetime field in the API's timestamp encoding."""


class WireModel(BaseModel):
    """Base of every request/response model (kagglesdk's JSON rules, §2)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        # Build each model's validator on first use, not at import: the headless export
        # touches a handful of the ~60 models and its start-up time is a product goal.
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_unset(cls, data: Any) -> Any:
        # kagglesdk treats a JSON null as "unset" for scalars and messages but crashes on a
        # null list; dropping nulls lets every field fall back to its default ([] for lists).
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    def to_wire(self) -> dict[str, Any]:
        """The JSON object kagglesdk would send: camelCase, defaults omitted.

        Implicit-presence fields are omitted when they hold their zero value; `optional`
        fields (modelled as `X | None = None`) are sent whenever they are set, even to a
        zero value, exactly like the SDK.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    @classmethod
    def from_wire(cls, data: Any) -> Any:
        """Parse a decoded JSON object (alias of `model_validate`, for symmetry with `to_wire`)."""
        return cls.model_validate(data)
