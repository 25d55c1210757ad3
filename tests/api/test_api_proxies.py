"""Proxies from the environment (api/proxies.py), and every request going through them.

End to end, the simulator plays the proxy: it answers absolute-form requests
(`POST http://host/api/v1/...`, as the kaggle CLI sends them through HTTP_PROXY), so an
endpoint on a host that does not resolve works only if each request goes to the proxy.
"""

from __future__ import annotations

import gc
import logging
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import FakeSleep

from kbench_tui import export
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import DownloadState, download_run_output
from kbench_tui.api.errors import ProxyRefusedError, ProxyUnreachableError, UnreachableError
from kbench_tui.api.proxies import EnvironmentProxies, ProxySettingError
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.cli import main
from kbench_tui.config import Credentials
from kbench_tui.sim.runner import RunningSim

PASSWORD = "pr0xy-CANARY-5ecret"
NOWHERE = "http://kaggle-sim.invalid"
EXPORT_ATTEMPTS = 10  # the export's retry bound (export.make_client)  # never resolves: only a proxy can reach the sim


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, "https://api.kaggle.com/x", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, "http://api.kaggle.com/x", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://api.kaggle.com/x", "http://p:1"),
        ({"ALL_PROXY": "http://a:1"}, "https://api.kaggle.com/x", "http://a:1"),
        ({"ALL_PROXY": "http://a:1", "HTTPS_PROXY": "http://s:1"}, "https://h/x", "http://s:1"),
        (
            {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"},
            "https://h/",
            "http://lower:1",
        ),
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://h/", "http://proxy.corp:3128"),
        ({"HTTPS_PROXY": "https://p:1"}, "https://h/", "https://p:1"),
        # NO_PROXY: a host covers its subdomains, not other names ending the same way.
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "kaggle.com"}, "https://api.kaggle.com/", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "kaggle.com"}, "https://kaggle.com/", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".kaggle.com"}, "https://www.kaggle.com/", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "kaggle.com"},
            "https://notkaggle.com/",
            "http://p:1",
        ),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": " * "}, "https://h/", None),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": "a.b, *"}, "https://h/", "http://p:1"),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "[2001:db8::5]:8443"},
            "https://[2001:db8::5]:8443/",
            None,
        ),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "2001:DB8:0::5"},
            "https://[2001:db8::5]/",
            None,
        ),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "2001:db8::/32"},
            "https://[2001:db8::5]/",
            None,
        ),
        # An empty lowercase variable turns the proxy off (urllib, hence requests).
        ({"HTTPS_PROXY": "http://up:1", "https_proxy": ""}, "https://h/", None),
        ({"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"}, "http://h/", "http://p:1"),
        # A redirect to a port that is not one: no crash here, the request fails on its own.
        ({"HTTP_PROXY": "http://p:1"}, "http://h:99999/", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "h:8443"}, "https://h:8443/", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "h:8443"}, "https://h/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://11.1.2.3/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "192.0.2.7"}, "http://192.0.2.7:81/", None),
        # Loopback always goes direct: a proxy cannot reach this machine's --demo.
        ({"HTTP_PROXY": "http://p:1"}, "http://127.0.0.1:8123/", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://localhost:8123/", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://[::1]:8123/", None),
        # A CGI environment: HTTP_PROXY may come from a client's `Proxy:` header.
        ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "http://h/", None),
        ({"HTTPS_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "https://h/", "http://p:1"),
        ({}, "https://h/", None),
    ],
)
def test_the_proxy_chosen_for_a_url(
    environ: dict[str, str], url: str, expected: str | None
) -> None:
    assert EnvironmentProxies(environ).proxy_for(url) == expected


@pytest.mark.parametrize("value", ["http://user:s3cret@proxy:abc", "user:pa://s3cret@proxy:3128"])
def test_a_proxy_that_is_not_a_url_is_named_by_its_variable(value: str) -> None:
    with pytest.raises(ProxySettingError) as raised:
        EnvironmentProxies({"HTTPS_PROXY": value}).proxy_for("https://api.kaggle.com/")
    assert "HTTPS_PROXY is not a proxy URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_an_unsupported_proxy_is_named_by_its_variable_not_its_address() -> None:
    proxies = EnvironmentProxies({"ALL_PROXY": "socks5://user:s3cret@10.0.0.1:1080"})
    with pytest.raises(ProxySettingError) as raised:
        proxies.proxy_for("https://api.kaggle.com/")
    message = str(raised.value)
    assert "ALL_PROXY" in message and "socks5" in message and "NO_PROXY" in message
    assert "s3cret" not in message and "10.0.0.1" not in message


def _client(endpoint: str, *, attempts: int = 1) -> BenchmarksClient:
    return BenchmarksClient(
        endpoint,
        Credentials.token("demo-token", source="test"),
        retry=RetryPolicy(max_attempts=attempts),
        sleep=FakeSleep(),
    )


async def test_every_request_goes_through_the_proxy(
    sim: RunningSim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim.engine.add_task("demo", "proxied")
    run_id = sim.engine.add_run(
        "demo",
        "proxied",
        "gemini-2.5-pro",
        output_padding=200_000,
        outcome="COMPLETED",
        queue_seconds=0,
    )
    sim.clock.advance(3600)
    # The proxy's password (the simulator ignores it) is a secret like the token.
    monkeypatch.setenv("HTTP_PROXY", sim.url.replace("http://", f"http://user:{PASSWORD}@"))
    caplog.set_level(logging.DEBUG)
    async with _client(NOWHERE) as client:
        tasks = await client.list_all_tasks()
        assert "proxied" in [task.slug.task_slug for task in tasks]
        # The RPC's redirect and the signed GET (read by httpx, not the direct bulk reader).
        result = await download_run_output(client, run_id, tmp_path / "out")
    assert result.state is DownloadState.DONE, result.message
    assert (tmp_path / "out" / "padding.bin").stat().st_size == 200_000
    assert sim.state.requests["download"] == 1
    assert "kaggle-sim.invalid" in caplog.text  # the requests were logged, at DEBUG too
    assert PASSWORD not in caplog.text and PASSWORD not in repr(client)


async def test_no_proxy_sends_it_direct(sim: RunningSim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", sim.url)
    monkeypatch.setenv("NO_PROXY", "kaggle-sim.invalid")
    async with _client(NOWHERE) as client:
        # Direct: the machine's own lookup of the name fails (not the proxy's answer).
        direct = r"(cannot connect to http://|cannot find host )kaggle-sim\.invalid"
        with pytest.raises(UnreachableError, match=direct):
            await client.list_all_tasks()


@pytest.fixture(params=[502, 407])
def refusing_proxy(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[bytes], int]]:
    """An http proxy on loopback that records each request line and refuses it."""
    seen: list[bytes] = []
    status = request.param
    answer = (
        f"HTTP/1.1 {status} {'Bad Gateway' if status == 502 else 'Proxy Authentication Required'}"
    )

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            seen.append(self.rfile.readline().rstrip())
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            self.wfile.write(answer.encode() + b"\r\nContent-Length: 0\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen, status
    finally:
        server.shutdown()
        server.server_close()


def test_export_tunnels_https_through_the_proxy(
    refusing_proxy: tuple[str, list[bytes], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one-shot command asks the proxy for a tunnel to the endpoint (the host does not
    resolve, so nothing but the proxy could have been tried); the proxy's refusal is one
    clear line: retried when the proxy could not reach the endpoint (502), at once final
    when it refuses (407: more attempts cannot help)."""
    proxy, seen, status = refusing_proxy
    real = export.make_client

    def never_sleeping(endpoint: str, credentials: Any, **options: Any) -> Any:
        return real(endpoint, credentials, **{"sleep": FakeSleep(), **options})

    monkeypatch.setattr(export, "make_client", never_sleeping)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    code = main(["export", "--endpoint", "https://kaggle-sim.invalid", "proxied"])
    captured = capsys.readouterr()
    assert code != 0
    asked = [line for line in seen if line]  # (a connection given up before asking: b"")
    assert set(asked) == {b"CONNECT kaggle-sim.invalid:443 HTTP/1.1"}
    # The task and its runs are asked for together; the runs' lookup ends with the task's.
    if status == 407:
        assert 1 <= len(asked) <= 2
    else:
        assert EXPORT_ATTEMPTS <= len(asked) <= 2 * EXPORT_ATTEMPTS
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "kaggle-sim.invalid" in lines[0], captured.err
    if status == 407:
        assert "the proxy in HTTPS_PROXY refused the connection" in lines[0]
    else:
        assert "the proxy in HTTPS_PROXY could not reach" in lines[0]
    assert "demo-token" not in captured.err


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_unsupported_proxy_is_one_clear_line_in_export(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://user:s3cret@10.0.0.1:1080")
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    code = main(["export", "--endpoint", "https://kaggle-sim.invalid", "proxied"])
    # The task's lookup fails before the runs' has started; that one, cancelled unstarted,
    # must leave no coroutine never awaited (reported on stderr when collected).
    gc.collect()
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "ALL_PROXY" in lines[0] and "NO_PROXY" in lines[0], captured.err
    assert "s3cret" not in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("refusing_proxy", [407], indirect=True)
async def test_a_forwarding_proxys_refusal_is_not_taken_for_kaggles(
    refusing_proxy: tuple[str, list[bytes], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain http goes to the proxy as a request, not a tunnel: its 403/407 answer would
    otherwise read as rejected credentials or a bad request."""
    proxy, seen, _ = refusing_proxy
    monkeypatch.setenv("HTTP_PROXY", proxy)
    async with _client(NOWHERE) as client:
        with pytest.raises(ProxyRefusedError, match="the proxy in HTTP_PROXY refused"):
            await client.list_all_tasks()
    assert next(line for line in seen if line).startswith(b"POST http://kaggle-sim.invalid/")


async def test_a_proxy_that_is_down_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    async with _client(NOWHERE) as client:
        with pytest.raises(
            ProxyUnreachableError, match="cannot connect to the proxy in HTTP_PROXY"
        ):
            await client.list_all_tasks()


async def test_a_redirect_to_an_invalid_url_is_a_clear_failure(
    sim: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With or without a proxy, a Location with a port that is none fails the download,
    not the program."""
    from kbench_tui.api import connection as connection_module

    async def redirect_to_nowhere(*_: object, **__: object) -> None:
        raise httpx.InvalidURL("Invalid port: 'abc'")

    sim.engine.add_task("demo", "t")
    run_id = sim.engine.add_run("demo", "t", "gemini-2.5-pro", outcome="COMPLETED", queue_seconds=0)
    sim.clock.advance(3600)
    monkeypatch.setattr(connection_module, "open_bulk_get", redirect_to_nowhere)
    async with _client(sim.url) as client:
        result = await download_run_output(client, run_id, tmp_path / "out")
    assert result.state is DownloadState.FAILED
    assert "invalid URL" in result.message
