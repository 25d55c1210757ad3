"""Shared test helpers for the api tests: a recording fake sleep and mock-transport clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials

CANARY = "canary-token-5e1f0c"


class FakeSleep:
    """Records requested delays instead of sleeping; optionally runs a hook per sleep."""

    def __init__(self, hook: Callable[[float], None] | None = None) -> None:
        self.delays: list[float] = []
        self.hook = hook

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.hook is not None:
            self.hook(seconds)


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    endpoint: str = "http://sim.test",
    attempts: int = 5,
    sleep: FakeSleep | None = None,
    **kwargs: Any,
) -> tuple[BenchmarksClient, FakeSleep]:
    """A client on an in-memory transport; rng() = 1.0 so delays are the full backoff."""
    fake = sleep or FakeSleep()
    client = BenchmarksClient(
        endpoint,
        Credentials.token(CANARY, source="test"),
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=attempts, base=0.5, cap=8.0),
        sleep=fake,
        rng=lambda: 1.0,
        **kwargs,
    )
    return client, fake


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class CutStream(httpx.AsyncByteStream):
    """A body that delivers `chunks` and then fails like a dropped connection."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error

    async def __aiter__(self):  # type: ignore[override]
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error
