"""Shared fixtures: simulators on a random loopback port with a hand-driven clock.

- `sim`: seed `empty`, users `demo` (token `demo-token`) and `alice` (`alice-token`).
- `demo_sim`: seed `demo` (a dozen tasks in every state), user `demo`.
- `auth_headers(user="demo", basic=False)`: Authorization headers for those users.
- `client` / `demo_client`: an `httpx.Client` on the simulator, authenticated as `demo`;
  `anon_client`: the same without credentials; `make_client(url, headers)` builds others.

Both simulators use a `ManualClock` starting 2026-03-01 12:00:00 UTC: nothing moves until a
test calls `sim.clock.advance(seconds)`. Fixtures stop the server when the test ends.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import httpx
import pytest

from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim

TOKENS = {"demo": "demo-token", "alice": "alice-token"}
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "request_method")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients honour proxy variables (api/proxies.py): the machine's must not steer
    the tests; a test that wants a proxy sets its own."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def make_auth_headers(user: str = "demo", *, basic: bool = False) -> dict[str, str]:
    """Bearer (default) or Basic `user:token` headers for a fixture user."""
    token = TOKENS[user]
    if basic:
        encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}
    return {"Authorization": f"Bearer {token}"}


def http_client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    """A sync httpx client on the simulator with a timeout that turns hangs into failures."""
    return httpx.Client(base_url=base_url, headers=headers, timeout=10)


@pytest.fixture
def make_client() -> Callable[..., httpx.Client]:
    """`make_client(url, headers=None)`: an httpx client (close it yourself)."""
    return http_client


@pytest.fixture
def auth_headers() -> Callable[..., dict[str, str]]:
    return make_auth_headers


@pytest.fixture
def sim() -> Iterator[RunningSim]:
    running = start_sim(SimConfig(seed="empty", users=dict(TOKENS)), clock=ManualClock())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def demo_sim() -> Iterator[RunningSim]:
    running = start_sim(SimConfig(seed="demo"), clock=ManualClock())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(sim: RunningSim) -> Iterator[httpx.Client]:
    with http_client(sim.url, make_auth_headers()) as http:
        yield http


@pytest.fixture
def anon_client(sim: RunningSim) -> Iterator[httpx.Client]:
    with http_client(sim.url) as http:
        yield http


@pytest.fixture
def demo_client(demo_sim: RunningSim) -> Iterator[httpx.Client]:
    with http_client(demo_sim.url, make_auth_headers()) as http:
        yield http
