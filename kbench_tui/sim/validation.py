"""Validation of request fields shared by several RPCs (filters, dataset sources)."""

from __future__ import annotations

import re

from kbench_tui.sim.wire import CREATION_STATE_PREFIX, ApiError

FAILED_BUILDS = ("ERRORED", "VALIDATION_FAILED", "KERNEL_WITHOUT_RUN", "NO_MODEL_SPECIFIED")
STATES = ("QUEUED", "RUNNING", "COMPLETED", *FAILED_BUILDS)
# Aliases from the proto documentation's examples.
STATUS_ALIASES = {"created": ("COMPLETED",), "error": FAILED_BUILDS}


def dataset_sources(options: object) -> list[str]:
    """`options.datasetDataSources`, validated and de-duplicated (first occurrence kept)."""
    if options is None:
        return []
    if not isinstance(options, dict):
        raise ApiError(400, "options must be an object.")
    sources = options.get("datasetDataSources") or []
    if not isinstance(sources, list):
        raise ApiError(400, "options.datasetDataSources must be a list of 'owner/dataset'.")
    cleaned: list[str] = []
    for source in sources:
        parts = str(source).strip().split("/")
        if len(parts) >= 3 and parts[2] == "versions":
            raise ApiError(400, f"Dataset version pinning is not yet supported: '{source}'.")
        if len(parts) != 2 or not all(parts):
            raise ApiError(400, f"Invalid dataset source '{source}': use 'owner/dataset-slug'.")
        name = "/".join(parts)
        if name not in cleaned:  # de-duplicated, first occurrence kept
            cleaned.append(name)
    return cleaned


def status_filter(value: str) -> tuple[str, ...] | None:
    """The creation states a `statusFilter` selects (None = all); 400 when unknown."""
    text = value.strip().lower()
    if not text:
        return None
    if text in STATUS_ALIASES:
        return STATUS_ALIASES[text]
    text = text.removeprefix(CREATION_STATE_PREFIX.lower())
    if text.upper() in STATES:
        return (text.upper(),)
    choices = ", ".join(state.lower() for state in STATES)
    raise ApiError(
        400, f"Invalid statusFilter '{value}'. Use one of: {choices} (or created, error)."
    )


def regex_filter(value: str) -> re.Pattern[str] | None:
    """The compiled `regexFilter` (searched in task slugs), None when empty; 400 when bad."""
    if not value:
        return None
    try:
        return re.compile(value)
    except re.error as error:
        raise ApiError(400, f"Invalid regexFilter '{value}': {error}.") from error
