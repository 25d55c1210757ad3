"""JSON encoding rules of the Kaggle API (kagglesdk serializers), as pydantic building blocks.

- `WireModel`: camelCase on the wire, snake_case in Python, unknown keys ignored, `null`
  treated as "unset" (so a `null` list becomes `[]` instead of crashing like kagglesdk).
  `to_wire()` omits defaults the way kagglesdk does, so a first-page list request is `{}`.
- `WireEnum` (defined in `codec.py`, re-exported here): a `str` enum serialised by its full
  proto name, parsed leniently; a value the server added later becomes a pseudo-member that
  keeps the raw text instead of crashing.
- `Timestamp`: parses `Z`, offsets and fractions of any length into a **naive UTC**
  datetime (kagglesdk's convention, so values compare with `datetime.utcnow()`-style times
  and serialise without a bogus `+00:00Z`); serialises as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic.functional_serializers import PlainSerializer
from pydantic.functional_validators import BeforeValidator

from kbench_tui.api.codec import WireEnum, format_timestamp, parse_timestamp

__all__ = ["Timestamp", "WireEnum", "WireModel", "format_timestamp", "parse_timestamp"]

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
        # Build each model's validator on first use, not at import: a command touches a
        # handful of the ~60 models, and start-up time is a product goal.
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
