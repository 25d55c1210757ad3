"""The adaptive poller, driven with a fake client and a sleep that never sleeps."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from kbench_tui.api.errors import AuthError, ProtocolError, ProxyRefusedError, UnreachableError
from kbench_tui.api.models import (
    ApiBenchmarkTask,
    ApiBenchmarkTaskRun,
    ApiBenchmarkTaskSlug,
    BenchmarkTaskRunState,
    BenchmarkTaskVersionCreationState,
    GetBenchmarkTaskQuotaResponse,
    ListBenchmarkTasksResponse,
)
from kbench_tui.api.proxies import ProxySettingError
from kbench_tui.watch.poller import (
    AuthRejected,
    ConnectionChanged,
    Poller,
    PollEvent,
    PollFailed,
    QuotaPolled,
    RunsPolled,
    TasksPolled,
    diff_by_key,
)

START = datetime(2026, 3, 1, 12, 0)


def make_task(slug: str, state: str = "COMPLETED", minutes: int = 0) -> ApiBenchmarkTask:
    return ApiBenchmarkTask(
        slug=ApiBenchmarkTaskSlug(owner_slug="demo", task_slug=slug, version_number=1),
        creation_state=BenchmarkTaskVersionCreationState(state),
        create_time=START + timedelta(minutes=minutes),
    )


def make_run(
    run_id: int, state: str = "COMPLETED", model: str = "gemini-2.5-flash"
) -> ApiBenchmarkTaskRun:
    return ApiBenchmarkTaskRun(
        id=run_id, model_version_slug=model, state=BenchmarkTaskRunState(state)
    )


class FakeClient:
    """Answers from mutable lists; `failure` makes every call raise."""

    def __init__(self) -> None:
        self.tasks: list[ApiBenchmarkTask] = [make_task("a", minutes=1), make_task("b", minutes=2)]
        self.runs: dict[str, list[ApiBenchmarkTaskRun]] = {"a": [make_run(1), make_run(2)]}
        self.failure: Exception | None = None
        self.fail_at_token: set[str] = set()
        """Page tokens whose request fails as if the connection dropped."""
        self.calls: list[str] = []

    async def list_tasks(self, status=None, regex=None, page_size=None, page_token=None):
        """Pages of `page_size` in the server's order; the token is the next offset."""
        self.calls.append("tasks" if page_token is None else f"tasks:{page_token}")
        if self.failure:
            raise self.failure
        if page_token in self.fail_at_token:
            raise UnreachableError("connection reset")
        start = int(page_token or 0)
        end = start + (page_size or 20)
        more = end < len(self.tasks)
        return ListBenchmarkTasksResponse(
            tasks=self.tasks[start:end], next_page_token=str(end) if more else None
        )

    async def list_all_runs(self, task, models=None):
        self.calls.append(f"runs:{task}")
        if self.failure:
            raise self.failure
        return list(self.runs.get(task, []))

    async def get_quota(self):
        self.calls.append("quota")
        return GetBenchmarkTaskQuotaResponse(daily_quota_used=1.5, total_daily_quota_allowed=20)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    client = FakeClient()
    events: list[PollEvent] = []
    clock = Clock()
    poller = Poller(client, events.append, clock=clock, boost_seconds=0)
    return client, events, clock, poller


def test_diff_by_key_reports_added_changed_removed() -> None:
    old = {1: make_run(1, "RUNNING"), 2: make_run(2)}
    index, diff = diff_by_key(old, [make_run(1, "COMPLETED"), make_run(3)], lambda r: r.id)
    assert [r.id for r in diff.added] == [3]
    assert [(a.state.short, b.state.short) for a, b in diff.changed] == [("RUNNING", "COMPLETED")]
    assert diff.removed == [2]
    assert set(index) == {1, 3}


async def test_first_poll_reports_tasks_newest_first_and_quota(setup) -> None:
    _client, events, _, poller = setup
    await poller.poll_once()
    tasks = next(e for e in events if isinstance(e, TasksPolled))
    assert tasks.first
    assert [t.slug.task_slug for t in tasks.tasks] == ["b", "a"]
    assert QuotaPolled(used=1.5, allowed=20.0) in events


def slugs(event: TasksPolled) -> list[str]:
    return [t.slug.task_slug for t in event.tasks]


async def test_first_load_reports_each_page_as_it_arrives(setup) -> None:
    client, events, _, poller = setup
    # 250 tasks served oldest first (the server's order is not specified): each report
    # is still newest first, and only the last one is complete.
    client.tasks = [make_task(f"t{n:03d}", minutes=n) for n in range(250)]
    await poller.poll_once()
    polled = [e for e in events if isinstance(e, TasksPolled)]
    assert [(len(e.tasks), e.first, e.complete) for e in polled] == [
        (100, True, False),
        (200, False, False),
        (250, False, True),
    ]
    newest_first = [f"t{n:03d}" for n in range(249, -1, -1)]
    assert slugs(polled[0]) == newest_first[150:]
    assert slugs(polled[2]) == newest_first
    assert [len(e.diff.added) for e in polled] == [100, 100, 50]
    assert not any(e.diff.removed or e.diff.changed for e in polled)
    assert client.calls[:3] == ["tasks", "tasks:100", "tasks:200"]

    # Later polls report the whole list in one event, removals included.
    events.clear()
    client.tasks = [*client.tasks[1:], make_task("new", minutes=999)]
    await poller.poll_once()
    (event,) = [e for e in events if isinstance(e, TasksPolled)]
    assert event.complete and not event.first
    assert [t.slug.task_slug for t in event.diff.added] == ["new"]
    assert event.diff.removed == ["t000"]


async def test_interrupted_first_load_keeps_its_rows_and_completes_on_retry(setup) -> None:
    client, events, _, poller = setup
    client.tasks = [make_task(f"t{n:03d}", minutes=-n) for n in range(250)]  # newest first
    client.fail_at_token = {"200"}
    await poller.poll_once()
    polled = [e for e in events if isinstance(e, TasksPolled)]
    assert [(len(e.tasks), e.complete) for e in polled] == [(100, False), (200, False)]
    assert not poller.online

    # The retry reads every page again: unchanged pages report nothing, a task gone from
    # the server disappears only with the complete list, a changed one updates at once.
    events.clear()
    client.fail_at_token = set()
    client.tasks = [make_task("t000", "ERRORED"), *client.tasks[1:5], *client.tasks[6:]]
    await poller.poll_once()
    polled = [e for e in events if isinstance(e, TasksPolled)]
    # (Page two now starts one task later, so it brings t200.)
    assert [(len(e.tasks), e.complete) for e in polled] == [(200, False), (201, False), (249, True)]
    assert [
        (a.creation_state.short, b.creation_state.short) for a, b in polled[0].diff.changed
    ] == [("COMPLETED", "ERRORED")]
    assert "t005" in slugs(polled[1]) and polled[2].diff.removed == ["t005"]
    assert len(polled[2].diff.added) == 49 and not any(e.first for e in polled)
    assert slugs(polled[2]) == [t.slug.task_slug for t in client.tasks]


async def test_runs_of_the_selected_task_and_changes_in_place(setup) -> None:
    client, events, _, poller = setup
    poller.select_task("a")
    await poller.poll_once()
    runs = [e for e in events if isinstance(e, RunsPolled)]
    assert runs and runs[0].first and len(runs[0].runs) == 2
    events.clear()
    await poller.poll_once()
    assert not [e for e in events if isinstance(e, (RunsPolled, TasksPolled))], "nothing changed"
    client.runs["a"] = [make_run(1, "ERRORED"), make_run(2)]
    await poller.poll_once()
    (event,) = [e for e in events if isinstance(e, RunsPolled)]
    assert not event.first
    assert [(b.id, b.state.short) for _, b in event.diff.changed] == [(1, "ERRORED")]


async def test_backs_off_while_quiet_and_speeds_up_when_active(setup) -> None:
    client, _, _, poller = setup
    delays = [await poller.poll_once() for _ in range(12)]
    assert delays[0] == 2.0  # the first poll is a change (everything is new)
    assert delays[1] == 3.0 and delays[2] == 4.5
    assert delays[-1] == 30.0 and max(delays) == 30.0
    client.runs["a"] = [make_run(1, "RUNNING")]
    poller.select_task("a")
    assert poller.interval == 2.0, "poke returns to the fast cadence"
    assert await poller.poll_once() == 2.0
    assert await poller.poll_once() == 2.0, "a running run keeps it fast"


async def test_a_run_awaiting_its_score_keeps_polling_fast() -> None:
    """SCORE_PENDING is not finished (as in the kaggle CLI): its score is still to come."""

    async def cadence(state: str) -> list[float]:
        client = FakeClient()
        client.runs["a"] = [make_run(1, state)]
        poller = Poller(client, lambda _event: None, clock=Clock(), boost_seconds=0)
        poller.select_task("a")
        return [await poller.poll_once() for _ in range(6)]

    assert max(await cadence("COMPLETED")) > 2.0  # nothing to wait for: it backs off
    assert await cadence("SCORE_PENDING") == await cadence("RUNNING")
    assert max(await cadence("SCORE_PENDING")) <= 2.0


async def test_poke_keeps_it_fast_for_a_while() -> None:
    client, clock = FakeClient(), Clock()
    poller = Poller(client, lambda e: None, clock=clock, boost_seconds=20)
    await poller.poll_once()
    poller.poke()
    assert await poller.poll_once() == 2.0
    clock.now += 21
    assert await poller.poll_once() == 3.0


async def test_offline_keeps_data_and_recovers(setup) -> None:
    client, events, clock, poller = setup
    await poller.poll_once()
    events.clear()
    client.failure = UnreachableError("connection refused")
    first = await poller.poll_once()
    second = await poller.poll_once()
    assert (first, second) == (2.0, 4.0)
    offline = [e for e in events if isinstance(e, ConnectionChanged)]
    assert offline[0] == ConnectionChanged(False, client.failure, retry_at=clock.now + 2.0)
    assert not any(isinstance(e, TasksPolled) for e in events), "no empty list replaces the data"
    client.failure = None
    await poller.poll_once()
    assert events[-1] == ConnectionChanged(online=True)


async def test_rejected_credentials_stop_polling(setup) -> None:
    client, events, _, poller = setup
    client.failure = AuthError("bad token", status=401)
    assert await poller.poll_once() is None
    assert isinstance(events[-1], AuthRejected)
    await asyncio.wait_for(poller.run(), timeout=1)


async def test_unreadable_answer_is_reported_and_polling_goes_on(setup) -> None:
    client, events, _, poller = setup
    client.failure = ProtocolError("malformed JSON")
    assert await poller.poll_once() == 30.0
    assert isinstance(events[-1], PollFailed)
    assert poller.online


async def test_run_loop_sleeps_the_interval_and_poke_cuts_it_short() -> None:
    client = FakeClient()
    slept: list[float] = []
    forever = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await forever.wait()

    poller = Poller(client, lambda e: None, sleep=sleep, clock=Clock())
    task = asyncio.create_task(poller.run())
    for _ in range(20):
        await asyncio.sleep(0)
    assert slept == [2.0] and poller.cycles == 1
    poller.poke()
    for _ in range(20):
        await asyncio.sleep(0)
    assert poller.cycles == 2, "poke polled again without waiting out the sleep"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    "failure",
    [
        ProxyRefusedError("the proxy in HTTPS_PROXY refused the connection (407)"),
        ProxySettingError("ALL_PROXY names a socks5:// proxy"),
    ],
)
async def test_a_proxy_in_the_way_shows_as_offline_with_its_reason(setup, failure) -> None:
    """Not 'online' with a toast every slow cycle: nothing gets through until it is fixed."""
    client, events, _, poller = setup
    await poller.poll_once()
    client.failure = failure
    await poller.poll_once()
    assert not poller.online
    assert [e.error for e in events if isinstance(e, ConnectionChanged)] == [failure]
