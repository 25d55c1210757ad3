"""The push pipeline shared by the dashboard and headless code (`kaggle b t push`, §10.2).

`validate_push` (taskfile.py) does the local part; `push_task` does the network part in the
CLI's order: look up the task, refuse (or wait) while its latest version is still being
built, warn when a re-push would detach datasets, create the version, optionally wait for
its build. Every CLI message keeps its words, so users can search for them.

Deliberate differences from the CLI, each in the user's favour:
- waiting for a previous version that then fails does not abort the push (the new version is
  usually the fix); the failure is reported as a note;
- a poll that still returns an older version than the one just created counts as pending
  (the CLI would report the older version's state as the new one's);
- datasets asked for but missing from the response's options are reported as a warning.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kbench_tui.api.errors import AuthError, BadRequestError, NotFoundError
from kbench_tui.taskfile import PushPlan

if TYPE_CHECKING:
    from kbench_tui.api.client import BenchmarksClient
    from kbench_tui.api.models import ApiBenchmarkTask
    from kbench_tui.slugs import TaskRef

KAGGLE_WEB = "https://www.kaggle.com"
# The CLI's first adaptive interval (`_ADAPTIVE_POLL_START`).
POLL_START_SECONDS = 5


class PushError(Exception):
    """The push was refused or failed before a version was created; `str()` is the CLI's text."""


@dataclass(frozen=True)
class PushStatus:
    """A progress report: `phase` is checking, waiting-previous, creating, building or done."""

    phase: str
    message: str
    state: str | None = None


@dataclass(frozen=True)
class PollPolicy:
    """How to wait for a build: adaptive intervals capped at `interval_cap` (CLI --poll-interval).

    `timeout` None (or 0) waits without limit, like `--wait` / `--wait 0`; it is checked after
    each poll, so the real wait can exceed it by one interval, as in the CLI. `sleep` and
    `clock` are injectable so tests drive a simulator clock instead of sleeping.
    """

    interval_cap: float = 60
    timeout: float | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.interval_cap <= 0:
            raise ValueError("--poll-interval must be a positive integer")


def adaptive_intervals(cap: float) -> Iterator[float]:
    """The CLI's sleeps (§10.1): start at min(5, cap), then min(cap, int(current * 1.5)).

    5, 7, 10, 15, 22, 33, 49, 60, 60 ... for the default cap of 60. `max(current, ...)` only
    matters for caps below 1 s, where int() would otherwise reach 0 and spin.
    """
    current = min(POLL_START_SECONDS, cap)
    while True:
        yield current
        current = min(cap, max(current, int(current * 1.5)))


def absolute_task_url(url: str) -> str:
    """`/benchmarks/tasks/...` -> `https://www.kaggle.com/benchmarks/tasks/...` (CLI rule)."""
    return f"{KAGGLE_WEB}{url}" if url.startswith("/") else url


@dataclass
class PushOutcome:
    """What a push did: the version, its state (short, e.g. `QUEUED`), URL, datasets, messages."""

    slug: str
    version: int | None
    state: str
    url: str
    is_new: bool
    datasets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        """The version was created but its build ended in a failure state."""
        return self.error is not None

    @property
    def headline(self) -> str:
        """`Pushed my-task` or `Pushed new version of my-task`, as the CLI prints it."""
        return f"Pushed new version of {self.slug}" if not self.is_new else f"Pushed {self.slug}"

    @property
    def model_output_url(self) -> str:
        """The task URL without its version, comparing model outputs (CLI rule)."""
        return re.sub(r"/\d+/?$", "", self.url) + "?compare=true"


StatusCallback = Callable[[PushStatus], object]


async def _report(on_status: StatusCallback | None, status: PushStatus) -> None:
    if on_status is None:
        return
    result = on_status(status)
    if inspect.isawaitable(result):
        await result


def pending_message(slug: str) -> str:
    """The CLI's refusal while the latest version is still QUEUED or RUNNING."""
    return (
        f"Task '{slug}' creation is still pending. "
        "Run again with the --wait flag to wait for completion."
    )


def failure_message(slug: str, task: ApiBenchmarkTask) -> str:
    """The CLI's message for a build that ended in a failure state."""
    message = f"Task '{slug}' creation failed (status: {task.creation_state.short})."
    error = task.error or task.creation_error_message
    return f"{message}\n  Error: {error}" if error else message


def detach_warning(slug: str, sources: list[str]) -> str:
    """The CLI's three-line warning before a re-push without -d detaches datasets."""
    return (
        f"⚠ Warning: The previous version of '{slug}' had attached Kaggle datasets: "
        f"{', '.join(sources)}\n"
        "  Re-pushing without --kaggle-dataset / -d will detach them.\n"
        f"  To keep them, add: {' '.join(f'-d {s}' for s in sources)}"
    )


async def _get_or_none(client: BenchmarksClient, ref: TaskRef) -> ApiBenchmarkTask | None:
    try:
        return await client.get_task(ref)
    except NotFoundError:
        return None
    except AuthError as error:
        # The CLI reads 403 from GetBenchmarkTask as "no such task of yours" (a new task);
        # 401 is a real credentials problem and propagates.
        if error.status == 403:
            return None
        raise


async def wait_for_creation(
    client: BenchmarksClient,
    ref: TaskRef,
    poll: PollPolicy,
    on_status: StatusCallback | None = None,
    *,
    min_version: int | None = None,
) -> tuple[ApiBenchmarkTask, bool]:
    """Poll GetBenchmarkTask until the build is no longer pending: (last task seen, timed out).

    The first poll is immediate, as in the CLI. A version older than `min_version` is still
    the previous one (the server has not caught up yet), so it counts as pending.
    """
    started = poll.clock()
    intervals = adaptive_intervals(poll.interval_cap)
    while True:
        task = await client.get_task(ref)
        version = task.slug.version_number
        stale = min_version is not None and version is not None and version < min_version
        if not stale and not task.creation_state.is_pending:
            return task, False
        state = task.creation_state.short
        await _report(on_status, PushStatus("building", f"Task status: {state}...", state))
        if poll.timeout and poll.clock() - started > poll.timeout:
            return task, True
        await poll.sleep(next(intervals))


async def push_task(
    client: BenchmarksClient,
    plan: PushPlan,
    *,
    datasets: list[str] | None = None,
    wait: bool = False,
    on_status: StatusCallback | None = None,
    poll: PollPolicy | None = None,
) -> PushOutcome:
    """Push a validated task file as a new task or a new version, like `kaggle b t push`.

    Raises `PushError` when nothing was created (a pending build without `wait`, an `error`
    in the create response) and the client's `ApiError`s for transport problems. A build that
    fails after creation is an outcome with `error` set, since the version exists.
    """
    poll = poll or PollPolicy()
    slug = plan.slug
    if not slug:
        # `!!!` matches a task named `!!!` (both slugify to ""), as in the CLI, but the
        # server cannot create a task without a slug: refuse before any request.
        raise PushError(
            f"Task name '{plan.task_argument}' has no letters or digits, so it has no slug. "
            "Use a name like 'my-task'."
        )
    # Converted before any request, like the CLI: a conversion error costs no round-trip.
    notebook = plan.notebook()
    await _report(on_status, PushStatus("checking", f"Looking up '{slug}'..."))
    previous = await _get_or_none(client, plan.ref)
    notes = list(plan.notes)
    warnings: list[str] = []

    if previous is not None and previous.creation_state.is_pending:
        if not wait:
            raise PushError(pending_message(slug))
        message = f"Task '{slug}' is already being created. Waiting for it to finish..."
        await _report(on_status, PushStatus("waiting-previous", message))
        settled, timed_out = await wait_for_creation(client, plan.ref, poll, on_status)
        if timed_out:
            # Creating now would only be refused by the server: stop with a clear reason.
            raise PushError(
                f"Timed out after {poll.timeout:g}s waiting for the previous version of "
                f"'{slug}' to finish. Check status with: kaggle b t status {slug}"
            )
        if not settled.creation_state.is_ready:
            notes.append(
                f"The previous version ended {settled.creation_state.short}; "
                "pushing the new version anyway."
            )

    previous_sources = (
        previous.options.dataset_data_sources if previous and previous.options else []
    )
    if previous is not None and not datasets and previous_sources:
        warnings.append(detach_warning(slug, previous_sources))

    await _report(on_status, PushStatus("creating", f"Pushing '{slug}'..."))
    try:
        created = await client.create_task(slug, notebook, dataset_sources=datasets or None)
    except BadRequestError as error:
        # The client raises for a non-empty `error` in the response (and for an HTTP 4xx such
        # as "still building"): nothing was created. Auth, rate-limit and server errors
        # propagate as they are.
        raise PushError(f"Failed to push task. Error: {error.message}") from None
    if created.error:
        raise PushError(f"Failed to push task. Error: {created.error}")

    attached = list(created.options.dataset_data_sources) if created.options else []
    missing = [source for source in datasets or [] if source not in attached]
    if missing:
        warnings.append(
            "⚠ Warning: The following Kaggle datasets could not be resolved: " + ", ".join(missing)
        )
    outcome = PushOutcome(
        slug=slug,
        version=created.slug.version_number,
        state=created.creation_state.short,
        url=absolute_task_url(created.url),
        is_new=previous is None,
        datasets=attached,
        warnings=warnings,
        notes=notes,
    )
    if wait:
        final, outcome.timed_out = await wait_for_creation(
            client, plan.ref, poll, on_status, min_version=outcome.version
        )
        outcome.state = final.creation_state.short
        outcome.url = absolute_task_url(final.url) if final.url else outcome.url
        if outcome.timed_out:
            outcome.notes.append(
                f"Timed out after {poll.timeout:g}s waiting for task creation.\n"
                f"Check status with: kaggle b t status {slug}"
            )
        elif not final.creation_state.is_ready:
            outcome.error = failure_message(slug, final)
    await _report(on_status, PushStatus("done", outcome.headline, outcome.state))
    return outcome
