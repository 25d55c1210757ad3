"""The asyncio-native network backend (api/aio.py): bodies, keep-alive and faults.

Every fault is checked through both the product's transport and httpx's own (anyio
backend): the retry logic classifies httpx exceptions, so the same peer behaviour must
surface as the same exception type through either.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpcore
import httpx
import pytest
from aio_helpers import (
    TRANSPORTS,
    body_of,
    free_port,
    head,
    read_request,
    reset_on_close,
    send_in_pieces,
    serve,
    sha,
)

from kbench_tui.api.aio import AsyncioBackend
from kbench_tui.api.aio_transport import HTTPCORE_TO_HTTPX, AsyncioTransport
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import UnreachableError
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.api.tls import OnDemandTLSTransport
from kbench_tui.config import Credentials

SHORT = httpx.Timeout(2.0, read=0.2, write=0.2)


def test_the_exception_mapping_is_httpx_own() -> None:
    """AsyncioTransport repeats httpx's table (it is private there); catch any drift."""
    from httpx._transports.default import _load_httpcore_exceptions

    assert _load_httpcore_exceptions() == HTTPCORE_TO_HTTPX


async def test_httpcore_finds_the_async_library_probe_it_asks_for() -> None:
    """httpcore imports sniffio each time one of its locks or events is first used,
    thousands of times in a large export. Installed (a dependency in pyproject.toml) the
    import is a lookup; missing, each attempt searched sys.path again (1.5 s instead of
    1.2 s for an export of 1,000 tasks)."""
    import httpcore._synchronization as synchronization
    import sniffio

    assert synchronization.current_async_library() == "asyncio"
    assert sniffio.current_async_library() == "asyncio"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_large_body_arrives_byte_exact_through_a_slow_reader(chunked: bool) -> None:
    body = body_of(12_000_000)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(None if chunked else len(body)))
        if chunked:
            for start in range(0, len(body), 777_777):
                part = body[start : start + 777_777]
                writer.write(b"%x\r\n" % len(part) + part + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        else:
            await send_in_pieces(writer, body)
        await writer.drain()
        await reader.read()  # keep the connection until the client is done

    async with serve(handler) as port, httpx.AsyncClient(transport=OnDemandTLSTransport()) as c:
        received = bytearray()
        async with c.stream("GET", f"http://127.0.0.1:{port}/") as response:
            async for chunk in response.aiter_raw():
                received += chunk
                if len(received) < 4_000_000:
                    # A slow consumer: the protocol buffer passes its high-water mark, reading
                    # pauses, then resumes as the buffer drains.
                    await asyncio.sleep(0.001)
    assert len(received) == len(body) and sha(bytes(received)) == sha(body)


async def test_a_large_upload_is_sent_whole() -> None:
    body = body_of(16_000_000, seed=11)
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        data = bytearray()
        while len(data) < len(body):
            data += await reader.read(100_000)
            await asyncio.sleep(0)  # a slow reader: the client's writes have to wait (drain)
        seen.append(sha(bytes(data)))
        writer.write(head(2) + b"ok")
        await writer.drain()
        await reader.read()

    async with serve(handler) as port, httpx.AsyncClient(transport=OnDemandTLSTransport()) as c:
        response = await c.post(f"http://127.0.0.1:{port}/", content=body)
    assert response.text == "ok" and seen == [sha(body)]


async def test_keep_alive_reuses_a_connection_and_notices_the_server_closing_it() -> None:
    connections = 0
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for _ in range(2):
            await read_request(reader)
            writer.write(head(2) + b"ok")
            await writer.drain()
        writer.close()  # a server dropping an idle keep-alive connection
        await writer.wait_closed()  # its FIN is on the wire
        closed.set()

    async with serve(handler) as port, httpx.AsyncClient(transport=OnDemandTLSTransport()) as c:
        url = f"http://127.0.0.1:{port}/"
        assert [(await c.get(url)).text for _ in range(2)] == ["ok", "ok"]
        assert connections == 1
        await closed.wait()
        for _ in range(5):
            await asyncio.sleep(0)  # let the loop deliver the FIN to the idle connection
        # The pool sees the connection is gone (is_readable) and opens a new one, instead
        # of sending on a dead socket and failing the request.
        assert (await c.get(url)).text == "ok"
        assert connections == 2


async def test_a_cancelled_body_read_leaves_the_client_usable() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if b"/slow" in request:
            writer.write(head(10_000_000) + b"x" * 1000)
            await writer.drain()
            await asyncio.Event().wait()  # the rest never comes
        writer.write(head(2) + b"ok")
        await writer.drain()
        await reader.read()

    async with serve(handler) as port, httpx.AsyncClient(transport=OnDemandTLSTransport()) as c:

        async def slow() -> None:
            async with c.stream("GET", f"http://127.0.0.1:{port}/slow") as response:
                async for _ in response.aiter_raw():
                    pass

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await c.get(f"http://127.0.0.1:{port}/ok")).text == "ok"


# --- faults: the same httpx exception through either backend ------------------------------


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> httpx.AsyncBaseTransport:
    return TRANSPORTS[request.param]()


async def test_connection_refused_is_connect_error(transport: httpx.AsyncBaseTransport) -> None:
    async with httpx.AsyncClient(transport=transport, timeout=SHORT) as c:
        with pytest.raises(httpx.ConnectError) as raised:
            await c.get(f"http://127.0.0.1:{free_port()}/")
    assert str(raised.value)  # the reason reaches the user's one-line error


async def test_a_server_that_never_answers_is_read_timeout(
    transport: httpx.AsyncBaseTransport,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    async with serve(handler) as port, httpx.AsyncClient(transport=transport, timeout=SHORT) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(f"http://127.0.0.1:{port}/")


async def test_a_body_that_stalls_is_read_timeout(transport: httpx.AsyncBaseTransport) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(1_000_000) + b"x" * 200_000)
        await writer.drain()
        await asyncio.Event().wait()

    async with serve(handler) as port, httpx.AsyncClient(transport=transport, timeout=SHORT) as c:
        received = 0
        with pytest.raises(httpx.ReadTimeout):
            async with c.stream("GET", f"http://127.0.0.1:{port}/") as response:
                async for chunk in response.aiter_raw():
                    received += len(chunk)
    assert received == 200_000


@pytest.mark.parametrize("cut", ["fin", "rst"])
async def test_a_peer_closing_mid_body_is_an_error(
    transport: httpx.AsyncBaseTransport, cut: str
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(1_000_000) + b"x" * 300_000)
        await writer.drain()
        if cut == "rst":
            reset_on_close(writer)
        writer.close()

    # A FIN: h11 sees the body end short. An RST: the read itself fails.
    expected = httpx.RemoteProtocolError if cut == "fin" else httpx.ReadError
    async with serve(handler) as port, httpx.AsyncClient(transport=transport, timeout=SHORT) as c:
        with pytest.raises(expected):
            async with c.stream("GET", f"http://127.0.0.1:{port}/") as response:
                async for _ in response.aiter_raw():
                    await asyncio.sleep(0.01)  # the cut arrives while the body is read


async def test_a_peer_closing_before_answering_is_remote_protocol_error(
    transport: httpx.AsyncBaseTransport,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async with serve(handler) as port, httpx.AsyncClient(transport=transport, timeout=SHORT) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(f"http://127.0.0.1:{port}/")


async def test_a_server_that_never_reads_an_upload_is_write_timeout(
    transport: httpx.AsyncBaseTransport,
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.pause_reading()
        await asyncio.Event().wait()

    async with serve(handler) as port, httpx.AsyncClient(transport=transport, timeout=SHORT) as c:
        with pytest.raises(httpx.WriteTimeout):
            await c.post(f"http://127.0.0.1:{port}/", content=b"x" * 64_000_000)


async def test_the_client_reports_an_unreachable_endpoint_as_before() -> None:
    """End to end through RpcConnection's classification (api/connection.py)."""
    client = BenchmarksClient(
        f"http://127.0.0.1:{free_port()}",
        Credentials.token("demo-token", source="test"),
        retry=RetryPolicy(max_attempts=2),
        sleep=lambda _s: asyncio.sleep(0),
    )
    async with client:
        with pytest.raises(UnreachableError, match=r"cannot connect to .*ConnectError"):
            await client.get_quota()


# --- the stream's details -------------------------------------------------------------------


async def test_extra_info_and_socket_options() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(2) + b"ok")
        await writer.drain()
        await reader.read()

    async with serve(handler) as port:
        stream = await AsyncioBackend().connect_tcp(
            "127.0.0.1",
            port,
            timeout=5,
            local_address="127.0.0.1",
            socket_options=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)],
        )
        try:
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
            assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
            sock = stream.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert stream.get_extra_info("ssl_object") is None
            assert stream.get_extra_info("is_readable") is False
            await stream.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", timeout=5)
            answer = b""
            while not answer.endswith(b"ok"):
                answer += await stream.read(3, timeout=5)  # reads honour max_bytes
            assert answer.startswith(b"HTTP/1.1 200 OK")
        finally:
            await stream.aclose()
        with pytest.raises(httpcore.ReadError):
            await stream.read(10)
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"x")


async def test_a_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "sock")

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(4) + b"unix")
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(handler, path)
    try:
        transport = AsyncioTransport(ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), uds=path)
        async with httpx.AsyncClient(transport=transport) as c:
            assert (await c.get("http://localhost/")).text == "unix"
    finally:
        server.close()


def test_an_export_never_connects_through_anyio(demo_sim, tmp_path: Path) -> None:
    """A real export against the simulator, in its own interpreter, with httpcore's anyio
    network backend made to fail: every connection goes through AsyncioBackend. (The anyio
    package itself is still imported: httpcore 1.0's pool uses anyio's Lock and
    CancelScope under asyncio, whichever network backend it is given.)"""
    probe = (
        "import httpcore\n"
        "async def refuse(*args, **kwargs):\n"
        "    raise AssertionError('connected through anyio')\n"
        "httpcore.AnyIOBackend.connect_tcp = refuse\n"
        "from kbench_tui.cli import main\n"
        f"assert main(['export', 'demo/math-qa', '--endpoint', {demo_sim.url!r}]) == 0\n"
        "print('EXPORTED')\n"
    )
    env = {"HOME": str(tmp_path), "KAGGLE_API_TOKEN": "demo-token", "PATH": "/usr/bin:/bin"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert '"slug": "math-qa"' in done.stdout and done.stdout.rstrip().endswith("EXPORTED")
