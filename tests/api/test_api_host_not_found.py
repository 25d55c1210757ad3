"""A host name that does not exist fails at once; a lookup that could not be made is retried.

The lookups go through the real transports (the RPC backend and the bulk download reader);
only `socket.getaddrinfo` is replaced, for the `.invalid` host names used here, so no test
depends on the machine's DNS.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from api_helpers import CANARY, FakeSleep

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import HostNotFoundError, UnreachableError
from kbench_tui.api.retry import RetryableFailure, RetryPolicy
from kbench_tui.cli import main
from kbench_tui.config import Credentials
from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.errors import short_reason, toast_for

API_HOST = "kbench-api.invalid"
STORAGE_HOST = "kbench-storage.invalid"
NO_SUCH_NAME = (socket.EAI_NONAME, "Name or service not known")
NO_ANSWER = (socket.EAI_AGAIN, "Temporary failure in name resolution")


class Resolver:
    """Lookups of the test hosts: each fails with `failure`, or (None) finds 127.0.0.1."""

    def __init__(self, failure: tuple[int, str] | None) -> None:
        self.failure = failure
        self.seen: Counter[str] = Counter()


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Callable[[tuple[int, str] | None], Resolver]:
    """Replace `socket.getaddrinfo` for the test hosts; count their lookups."""

    def install(failure: tuple[int, str] | None) -> Resolver:
        resolver = Resolver(failure)
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host in (API_HOST, STORAGE_HOST):
                resolver.seen[host] += 1
                if resolver.failure is not None:
                    raise socket.gaierror(*resolver.failure)
                host = "127.0.0.1"
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return resolver

    return install


def _client(sleep: FakeSleep, attempts: int = 5) -> BenchmarksClient:
    return BenchmarksClient(
        f"https://{API_HOST}",
        Credentials.token(CANARY, source="test"),
        retry=RetryPolicy(max_attempts=attempts),
        sleep=sleep,
    )


async def test_an_rpc_to_a_host_that_does_not_exist_fails_at_once(lookups) -> None:
    seen = lookups(NO_SUCH_NAME).seen
    sleep = FakeSleep()
    async with _client(sleep) as client:
        with pytest.raises(HostNotFoundError) as caught:
            await client.list_tasks()
    assert seen[API_HOST] == 1 and sleep.delays == []
    message = str(caught.value)
    assert message.startswith(f"ListBenchmarkTasks: cannot find host {API_HOST} (")
    assert "--endpoint" in message and CANARY not in message


async def test_a_lookup_no_server_answered_is_retried_like_any_connect_failure(lookups) -> None:
    seen = lookups(NO_ANSWER).seen
    sleep = FakeSleep()
    async with _client(sleep, attempts=4) as client:
        with pytest.raises(UnreachableError) as caught:
            await client.list_tasks()
    assert not isinstance(caught.value, HostNotFoundError)
    assert seen[API_HOST] == 4 and len(sleep.delays) == 3
    assert f"cannot connect to https://{API_HOST}" in str(caught.value)


async def test_a_host_that_answered_before_is_retried_when_its_name_fails_later(
    lookups, sim: RunningSim
) -> None:
    """A VPN or network switch (or macOS offline) can say "no such name" for a moment."""
    resolver = lookups(None)
    port = urlsplit(sim.url).port
    sleep = FakeSleep()
    client = BenchmarksClient(
        f"http://{API_HOST}:{port}",
        Credentials.token("demo-token", source="test"),
        retry=RetryPolicy(max_attempts=4),
        sleep=sleep,
    )
    async with client:
        await client.list_tasks()
        sim.stop()  # the kept-alive connection goes: the next request looks the name up
        resolver.failure = NO_SUCH_NAME
        resolver.seen.clear()
        with pytest.raises(UnreachableError) as caught:
            await client.list_tasks()
    assert not isinstance(caught.value, HostNotFoundError)
    assert f"cannot connect to http://{API_HOST}:{port}" in str(caught.value)
    # 4 attempts; the first may find the dead kept-alive connection before any lookup.
    assert len(sleep.delays) == 3 and resolver.seen[API_HOST] >= 3


async def test_a_download_host_that_does_not_exist_is_named_and_not_retried(lookups) -> None:
    seen = lookups(NO_SUCH_NAME).seen
    async with _client(FakeSleep()) as client:
        with pytest.raises(RetryableFailure) as caught:
            async with client.open_get(
                f"https://{STORAGE_HOST}/outputs/1.zip", rpc="download", with_credentials=False
            ):
                pass
    error = caught.value.error
    assert isinstance(error, HostNotFoundError)
    assert f"cannot find host {STORAGE_HOST} (" in str(error)  # the storage host, not the API's
    assert seen[STORAGE_HOST] == 1


def test_export_to_a_mistyped_endpoint_exits_at_once_with_one_line(
    lookups, capsys, monkeypatch
) -> None:
    seen = lookups(NO_SUCH_NAME).seen
    monkeypatch.setenv("KAGGLE_API_TOKEN", CANARY)
    code = main(["export", "--endpoint", f"https://{API_HOST}"])
    err = capsys.readouterr().err
    assert code == 4
    assert err.count("\n") == 1 and err.startswith("kbench-tui export: ListBenchmarkTasks: ")
    assert f"cannot find host {API_HOST}" in err and CANARY not in err
    assert seen[API_HOST] == 1


def test_the_dashboard_names_it_rather_than_calling_it_offline() -> None:
    error = HostNotFoundError(
        f"cannot find host {API_HOST} (ConnectError)", rpc="ListBenchmarkTasks"
    )
    assert toast_for(error) == ("Host not found", "error")
    assert short_reason(error) == "host not found"
