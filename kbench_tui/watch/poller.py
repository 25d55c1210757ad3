"""Adaptive poller: keeps a fresh picture of tasks and the selected task's runs.

No Textual import. The dashboard drives it from one async worker (`Poller.run`) and
receives `PollEvent`s through a plain callback, so the same service is tested without a
terminal by handing it a fake `sleep`.

Cadence: two streams on their own timers, one request budget. The runs of the selected
task poll fast (about 2 s) while any run is non-terminal or right after `poke()`, then back
off by `backoff` per quiet poll up to `2 * slow_interval` (finished runs only change when
someone schedules more). The full task list costs one request per page (10 at 1,000
tasks), so its cadence is counted per page: `fast_interval` per page right after `poke()`,
on a change, or while a version is building, backing off to `slow_interval` per page (30 s
for one page, 5 min for ten). The quota is read on the first poll, when a run finishes,
and every `quota_interval` while runs are active; never while nothing happens. With nothing
changing: about 2 task-list requests + 1 runs request per minute, whatever the task count.

First load: the task list's pages are reported as they arrive (`TasksPolled` with
`complete=False`, the tasks so far, newest first), so the dashboard paints the newest tasks
after one round trip instead of after all of them; the last page completes the list (and
is the only event that may remove a task). Later polls report the whole list at once.

Connection state: a request that fails because the service is unreachable (or answers
5xx / 429) turns the poller offline; the last data stays where it is and the next attempt
is announced as an absolute deadline on the injected clock, so the UI can count it down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from kbench_tui.api.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    ProxyRefusedError,
    RateLimitedError,
    ServerError,
    UnreachableError,
)
from kbench_tui.api.paging import LIST_PAGE_SIZE, all_pages
from kbench_tui.api.proxies import ProxySettingError

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTask, ApiBenchmarkTaskRun

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

# Failures that mean "the service is not answering right now": keep the last data and
# retry later. Anything else is a real answer and is reported as such.
# A stream whose timer is within this of zero is due (float sums of delays drift).
_DUE = 1e-6

TRANSIENT_ERRORS: tuple[type[ApiError], ...] = (UnreachableError, ServerError, RateLimitedError)
# The service cannot be reached through this machine's proxy settings either: shown as
# offline with the reason (not as a reachable service failing every slow cycle).
_OFFLINE_ERRORS = (*TRANSIENT_ERRORS, ProxyRefusedError, ProxySettingError)


class TasksPage(Protocol):
    """One page of ListBenchmarkTasks (`records.TasksPage` or `ListBenchmarkTasksResponse`)."""

    @property
    def tasks(self) -> list[ApiBenchmarkTask]: ...

    @property
    def next_page_token(self) -> str | None: ...


class PollingClient(Protocol):
    """What the poller reads through: the dashboard's `TaskReader` (plain records, no
    pydantic on the way to the first frame) or a `BenchmarksClient` (models)."""

    async def list_tasks(
        self,
        status: str | None = None,
        regex: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> TasksPage: ...

    async def list_all_runs(self, task: Any, models: Any = None) -> list[ApiBenchmarkTaskRun]: ...

    async def get_quota(self) -> Any: ...


@dataclass(frozen=True)
class Diff(Generic[K, T]):
    """What changed between two polls of a keyed collection."""

    added: list[T] = field(default_factory=list)
    changed: list[tuple[T, T]] = field(default_factory=list)
    """(previous, current) pairs, so a reader can spot state transitions."""
    removed: list[K] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when nothing was added, changed or removed."""
        return not (self.added or self.changed or self.removed)


def diff_by_key(
    previous: dict[K, T], current: Iterable[T], key: Callable[[T], K]
) -> tuple[dict[K, T], Diff[K, T]]:
    """Compare `current` with `previous` by key; return the new index and the diff."""
    index: dict[K, T] = {}
    result: Diff[K, T] = Diff()
    for item in current:
        item_key = key(item)
        index[item_key] = item
        before = previous.get(item_key)
        if before is None:
            result.added.append(item)
        elif before != item:
            result.changed.append((before, item))
    result.removed.extend(k for k in previous if k not in index)
    return index, result


def task_key(task: ApiBenchmarkTask) -> str:
    """Tasks are keyed by their slug (the list holds each task once, as its latest version)."""
    return task.slug.task_slug


def _newest_first_key(task: ApiBenchmarkTask) -> tuple[datetime, str]:
    return (task.create_time or datetime.min, task.slug.task_slug)


def run_key(run: ApiBenchmarkTaskRun) -> int:
    """Runs are keyed by their server id."""
    return run.id


def task_is_pending(task: ApiBenchmarkTask) -> bool:
    """A task version still being built (QUEUED/RUNNING)."""
    return bool(task.creation_state.is_pending)


def run_is_active(run: ApiBenchmarkTaskRun) -> bool:
    """A run that has not reached COMPLETED/ERRORED (SCORE_PENDING counts as active)."""
    return not run.state.is_terminal


@dataclass(frozen=True)
class TasksPolled:
    """The task list was fetched; `tasks` is the list (newest first), `diff` what changed.

    `first` marks the first report of tasks. During the first load `complete` is False
    while pages are still coming: `tasks` is what has arrived so far and `diff` never
    removes anything; the event with `complete=True` holds the whole list.
    """

    tasks: list[ApiBenchmarkTask]
    diff: Diff[str, ApiBenchmarkTask]
    first: bool
    complete: bool = True


@dataclass(frozen=True)
class RunsPolled:
    """The runs of `task_slug` were fetched."""

    task_slug: str
    runs: list[ApiBenchmarkTaskRun]
    diff: Diff[int, ApiBenchmarkTaskRun]
    first: bool


@dataclass(frozen=True)
class RunsFailed:
    """The runs of `task_slug` could not be listed for a non-transient reason."""

    task_slug: str
    error: ApiError


@dataclass(frozen=True)
class QuotaPolled:
    """Model-proxy quota in USD."""

    used: float
    allowed: float


@dataclass(frozen=True)
class ConnectionChanged:
    """Online/offline transitions; `retry_at` is a time on the poller's clock."""

    online: bool
    error: ApiError | None = None
    retry_at: float | None = None


@dataclass(frozen=True)
class AuthRejected:
    """The service refused the credentials; polling stops."""

    error: AuthError


@dataclass(frozen=True)
class PollFailed:
    """A request failed for a reason retrying will not fix (bad answer, bad filter)."""

    error: ApiError


PollEvent = (
    TasksPolled
    | RunsPolled
    | RunsFailed
    | QuotaPolled
    | ConnectionChanged
    | AuthRejected
    | PollFailed
)


class Poller:
    """Polls tasks (and the selected task's runs) adaptively; reports through `on_event`."""

    def __init__(
        self,
        client: PollingClient,
        on_event: Callable[[PollEvent], None],
        *,
        fast_interval: float = 2.0,
        slow_interval: float = 30.0,
        backoff: float = 1.5,
        quota_interval: float = 300.0,
        boost_seconds: float = 20.0,
        offline_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 30.0),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._on_event = on_event
        self.fast_interval = fast_interval
        self.slow_interval = slow_interval
        self.backoff = backoff
        self.quota_interval = quota_interval
        self.boost_seconds = boost_seconds
        self.offline_delays = offline_delays
        self._clock = clock
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._tasks: dict[str, ApiBenchmarkTask] = {}
        self._runs: dict[int, ApiBenchmarkTaskRun] = {}
        self._runs_of: str | None = None
        self._selected: str | None = None
        self._tasks_seen = False
        """Whether the whole task list has been read once (the first load is over)."""
        self._tasks_reported = False
        self._quota_due = 0.0
        self._quota_wanted = True
        self._tasks_interval = fast_interval
        self._runs_interval = fast_interval
        # Seconds left on each stream's timer, counted on the poller's own schedule: the
        # delay `poll_once` returns is assumed to elapse unless `poke()` cuts it short, and
        # a poke makes both streams due anyway.
        self._tasks_left = 0.0
        self._runs_left = 0.0
        self._runs_active = False
        self._offline_attempts = 0
        self._boost_until = 0.0
        self.online = True
        self.interval = fast_interval
        """Delay before the next poll; exposed for tests and the status bar."""
        self.cycles = 0

    @property
    def selected_task(self) -> str | None:
        """Slug of the task whose runs are polled."""
        return self._selected

    def select_task(self, task_slug: str | None) -> None:
        """Poll the runs of `task_slug` from now on (and right away)."""
        if task_slug != self._selected:
            self._selected = task_slug
            # Only the runs are needed now: the task list keeps its own cadence.
            self._runs_left = 0.0
            self._runs_interval = self.fast_interval
            self._runs_active = False
            self.interval = self.fast_interval
            self._wake.set()

    def poke(self) -> None:
        """Poll now and return to the fast cadence (after a user action or refresh)."""
        # An action's effect (a scheduled run, a new version) can take a few seconds to show
        # up in the lists, so stay fast for a while even if the next poll sees no change.
        self._boost_until = self._clock() + self.boost_seconds
        self._tasks_left = self._runs_left = 0.0
        self._runs_interval = self.fast_interval
        self._tasks_interval = self.fast_interval * self._task_pages
        self.interval = self.fast_interval
        self._wake.set()

    @property
    def _task_pages(self) -> int:
        """Requests one poll of the task list costs (at least one)."""
        return max(1, -(-len(self._tasks) // LIST_PAGE_SIZE))

    async def run(self) -> None:
        """Poll until cancelled, or until the credentials are rejected."""
        while True:
            self._wake.clear()
            delay = await self.poll_once()
            if delay is None:
                return
            await self._wait(delay)

    async def poll_once(self) -> float | None:
        """One cycle: poll whichever stream is due; returns the delay before the next, or
        None to stop polling."""
        self.cycles += 1
        try:
            if self._tasks_left <= _DUE:
                await self._poll_tasks()
            if self._selected is not None and self._runs_left <= _DUE:
                await self._poll_runs(self._selected)
            await self._poll_quota()
        except AuthError as error:
            self._on_event(AuthRejected(error))
            return None
        except _OFFLINE_ERRORS as error:
            return self._went_offline(error)
        except ApiError as error:
            # A malformed answer or a rejected filter: retrying fast will not help, but the
            # service is reachable, so stay online and try again at the slow cadence.
            self._on_event(PollFailed(error))
            self.interval = self.slow_interval
            self._tasks_left = self._runs_left = 0.0
            return self.interval
        if not self.online:
            self.online = True
            self._offline_attempts = 0
            self._on_event(ConnectionChanged(online=True))
        delay = self._tasks_left
        if self._selected is not None:
            delay = min(delay, self._runs_left)
        self._tasks_left -= delay
        self._runs_left -= delay
        self.interval = delay
        return delay

    def _next_interval(self, current: float, fast: float, slowest: float, busy: bool) -> float:
        if busy or self._clock() < self._boost_until:
            return fast
        return min(slowest, max(current, fast) * self.backoff)

    def _task_page(self, token: str | None) -> Awaitable[TasksPage]:
        return self._client.list_tasks(None, None, LIST_PAGE_SIZE, token)

    async def _poll_tasks(self) -> None:
        # A failure leaves the timer at zero, so the retry polls the list again.
        tasks: list[ApiBenchmarkTask] = []
        async for page in all_pages("ListBenchmarkTasks", self._task_page):
            tasks.extend(page.tasks)
            if not self._tasks_seen and page.next_page_token:
                self._first_load_page(page.tasks)
        tasks.sort(key=_newest_first_key, reverse=True)
        self._tasks, task_diff = diff_by_key(self._tasks, tasks, task_key)
        if not task_diff.is_empty or not self._tasks_seen:
            # The end of the first load is reported even if its last page added nothing:
            # it is the one that says the list is complete.
            self._on_event(TasksPolled(tasks, task_diff, first=not self._tasks_reported))
        self._tasks_seen = self._tasks_reported = True
        busy = not task_diff.is_empty or any(task_is_pending(t) for t in tasks)
        pages = self._task_pages
        self._tasks_interval = self._next_interval(
            self._tasks_interval,
            self.fast_interval * pages,
            self.slow_interval * pages,
            busy,
        )
        self._tasks_left = self._tasks_interval

    def _first_load_page(self, page: list[ApiBenchmarkTask]) -> None:
        """Report a page of the first load at once, merged into what was reported before.

        Only additions and changes: a task missing so far may be on a later page. Tasks
        kept from an earlier, interrupted first load stay until the complete list says
        otherwise, so rows never disappear and come back while the list fills.
        """
        _, page_diff = diff_by_key(self._tasks, page, task_key)
        if not (page_diff.added or page_diff.changed):
            return
        for task in page:
            self._tasks[task_key(task)] = task
        shown = sorted(self._tasks.values(), key=_newest_first_key, reverse=True)
        diff: Diff[str, ApiBenchmarkTask] = Diff(page_diff.added, page_diff.changed)
        self._on_event(TasksPolled(shown, diff, first=not self._tasks_reported, complete=False))
        self._tasks_reported = True

    async def _poll_runs(self, selected: str) -> None:
        try:
            runs = await self._client.list_all_runs(selected)
        except NotFoundError as error:
            self._on_event(RunsFailed(selected, error))
            self._runs_interval = self.slow_interval
            self._runs_left = self._runs_interval
            return
        first = self._runs_of != selected
        previous = {} if first else self._runs
        self._runs, run_diff = diff_by_key(previous, runs, run_key)
        self._runs_of = selected
        if first or not run_diff.is_empty:
            self._on_event(RunsPolled(selected, runs, run_diff, first=first))
        if any(not run_is_active(after) for _, after in run_diff.changed):
            self._quota_wanted = True  # a finished run has spent model-proxy money
        self._runs_active = any(run_is_active(r) for r in runs)
        self._runs_interval = self._next_interval(
            self._runs_interval,
            self.fast_interval,
            self.slow_interval * 2,
            self._runs_active or not run_diff.is_empty,
        )
        self._runs_left = self._runs_interval

    async def _poll_quota(self) -> None:
        now = self._clock()
        if not (self._quota_wanted or (self._runs_active and now >= self._quota_due)):
            return
        quota = await self._client.get_quota()
        self._quota_due = now + self.quota_interval
        self._quota_wanted = False
        self._on_event(
            QuotaPolled(
                used=float(quota.daily_quota_used or 0.0),
                allowed=float(quota.total_daily_quota_allowed or 0.0),
            )
        )

    def _went_offline(self, error: ApiError) -> float:
        step = min(self._offline_attempts, len(self.offline_delays) - 1)
        delay = self.offline_delays[step]
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, (int, float)) and retry_after > delay:
            delay = float(retry_after)
        self._offline_attempts += 1
        self.online = False
        self._on_event(ConnectionChanged(online=False, error=error, retry_at=self._clock() + delay))
        return delay

    async def _wait(self, delay: float) -> None:
        """Sleep `delay`, cut short by `poke()`."""
        if self._wake.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (sleeper, waker):
                pending.cancel()
