"""Wire encoding of the simulator's objects (plain dicts, exactly as kagglesdk writes them).

Rules (API reference §2): lowerCamelCase keys, full enum names, `YYYY-MM-DDTHH:MM:SS.mmmZ`
timestamps, defaults omitted except `optional` fields, which are sent whenever they are
set. Deliberate extras: every ApiBenchmarkTask always carries `slug` with all three
fields, `url`, `creationState` and `createTime` (the CLI dereferences them), and list
responses always carry their main list, `[]` when empty.
"""

from __future__ import annotations

import base64
import binascii

from kbench_tui.sim.clock import from_epoch
from kbench_tui.sim.store import RunRow, VersionRow

CREATION_STATE_PREFIX = "BENCHMARK_TASK_VERSION_CREATION_STATE_"
RUN_STATE_PREFIX = "BENCHMARK_TASK_RUN_STATE_"
# The proto member is named plain `CLI` (unlike the other enums, no type prefix), so
# that is the full name kagglesdk writes and the real service sends.
SOURCE_CLI = "CLI"

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class ApiError(Exception):
    """An error answered as HTTP `code` with body `{"code": code, "message": message}`."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "message": self.message}


def timestamp(epoch_seconds: float) -> str:
    """`2026-03-01T12:00:00.000Z` (milliseconds, Z), as kagglesdk serialises datetimes."""
    return from_epoch(round(epoch_seconds, 3)).isoformat(timespec="milliseconds") + "Z"


def task_slug(owner: str, slug: str, version: int) -> dict:
    return {"ownerSlug": owner, "taskSlug": slug, "versionNumber": version}


def task_url(owner: str, slug: str, version: int) -> str:
    return f"/benchmarks/tasks/{owner}/{slug}/{version}"


def task_to_wire(version: VersionRow, state: str) -> dict:
    """ApiBenchmarkTask for a version whose derived creation state is `state` (short form)."""
    body: dict = {
        "slug": task_slug(version.owner, version.slug, version.number),
        "url": task_url(version.owner, version.slug, version.number),
        "creationState": CREATION_STATE_PREFIX + state,
        "createTime": timestamp(version.create_time),
    }
    # The build's error is known only once the build has ended.
    if state == version.outcome and version.error_message:
        body["creationErrorMessage"] = version.error_message
    body["isPublic"] = version.is_public
    body["sourceKernelId"] = version.source_kernel_id
    body["isBackingNotebookPublished"] = version.notebook_published
    if version.datasets:
        body["options"] = {"datasetDataSources": list(version.datasets)}
    body["source"] = SOURCE_CLI
    return body


def run_to_wire(run: RunRow, state: str, error_message: str | None) -> dict:
    """ApiBenchmarkTaskRun for a run whose derived state is `state` (short form)."""
    body: dict = {
        "taskSlug": task_slug(run.task_owner, run.task_slug, run.version_number),
        "modelVersionSlug": run.model,
        "id": run.id,
        "state": RUN_STATE_PREFIX + state,
    }
    if state != "QUEUED":
        body["startTime"] = timestamp(run.start_time)
    if state in ("COMPLETED", "ERRORED", "SCORE_PENDING"):
        body["endTime"] = timestamp(run.end_time)  # SCORE_PENDING: the session has ended
    if state == "ERRORED" and error_message:
        body["errorMessage"] = error_message
    return body


def page_size(body: dict) -> int:
    """The requested page size: 0/absent -> 20, capped at 100, negative -> 400."""
    size = body.get("pageSize") or 0
    if not isinstance(size, int) or size < 0:
        raise ApiError(400, f"Invalid pageSize {size!r}: use a positive integer (max 100).")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(kind: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{offset}".encode()).decode().rstrip("=")


def decode_page_token(kind: str, token: str) -> int:
    """The offset an opaque token stands for; a foreign or garbled token -> 400."""
    try:
        padded = token + "=" * (-len(token) % 4)
        token_kind, _, offset = base64.urlsafe_b64decode(padded).decode().partition(":")
        value = int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = -1
        token_kind = ""
    if token_kind != kind or value < 0:
        raise ApiError(400, f"Invalid pageToken {token!r}: pass the nextPageToken of a response.")
    return value


def paginate(items: list, body: dict, kind: str) -> tuple[list, str | None]:
    """One page of `items` and the token of the next page (None on the last page).

    `skip` (offset semantics unknown upstream, never sent by the CLI) is added to the
    first page's offset only.
    """
    size = page_size(body)
    token = body.get("pageToken") or ""
    if token:
        offset = decode_page_token(kind, str(token))
    else:
        skip = body.get("skip") or 0
        offset = skip if isinstance(skip, int) and skip > 0 else 0
    page = items[offset : offset + size]
    following = offset + size
    return page, encode_page_token(kind, following) if following < len(items) else None
