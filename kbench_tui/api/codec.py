"""The Kaggle API's JSON value rules that need no pydantic: enums and timestamps.

- `WireEnum`: a `str` enum serialised by its full proto name, parsed leniently (exact,
  case-insensitive, or the short form after the type prefix). A value the server added after
  this code was written does not crash: it becomes a pseudo-member that keeps the raw text.
- `parse_timestamp` / `format_timestamp`: `Z`, offsets and fractions of any length to a
  **naive UTC** datetime (kagglesdk's convention) and back as `YYYY-MM-DDTHH:MM:SS.mmmZ`.

They live apart from `wire.py` (which re-exports them) so that the headless export, which
decodes its few answers without pydantic (`records.py`), starts without importing it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

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
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        # Only pydantic calls this, so pydantic_core is already loaded by then.
        from pydantic_core import core_schema

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
