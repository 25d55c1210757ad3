"""The downloads' bulk GET (api/bulk.py): framing, faults, TLS, and how downloads use it.

Servers are scripted asyncio peers on 127.0.0.1 (aio_helpers). Every fault is also sent
through the product's httpx transport: the retry rules classify httpx exceptions, so the
same peer behaviour must surface as the same exception type through either path.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aio_helpers import (
    body_of,
    free_port,
    head,
    read_request,
    reset_on_close,
    send_in_pieces,
    serve,
    sha,
)
from api_helpers import CANARY, FakeSleep
from test_api_aio_tls import pki, server_context  # noqa: F401 - the fixture is used by name

from kbench_tui.api.bulk import BulkPool, BulkResponse, open_get
from kbench_tui.api.connection import RpcConnection
from kbench_tui.api.download import DownloadState, download_run_output
from kbench_tui.api.errors import UnreachableError
from kbench_tui.api.retry import RetryableFailure, RetryPolicy
from kbench_tui.api.tls import OnDemandTLSTransport
from kbench_tui.config import Credentials

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def get_all(url: str, **options: object) -> tuple[BulkResponse, bytes, list[int]]:
    """GET `url` through the bulk reader; the body and the sizes of the pieces seen."""
    pieces: list[int] = []
    received = bytearray()

    def sink(piece: memoryview) -> None:
        pieces.append(len(piece))
        received.extend(piece)

    response = await open_get(
        url,
        dict(options.pop("headers", {})),  # type: ignore[call-overload]
        ssl_context=options.pop("ssl_context", None),  # type: ignore[arg-type]
        connect_timeout=2.0,
    )
    try:
        assert await response.stream_into(sink) == len(received)
    finally:
        response.close()
    return response, bytes(received), pieces


def chunked(body: bytes, size: int) -> bytes:
    out = bytearray()
    for start in range(0, len(body), size):
        part = body[start : start + size]
        out += b"%x;ext=1\r\n" % len(part) + part + b"\r\n"
    return bytes(out + b"0\r\nx-trailer: yes\r\n\r\n")


@pytest.mark.parametrize("framing", ["content-length", "chunked", "chunked-tiny", "until-close"])
async def test_a_large_body_arrives_byte_exact_in_bounded_pieces(framing: str) -> None:
    body = body_of(300_000 if framing == "chunked-tiny" else 9_000_000)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if framing == "content-length":
            writer.write(head(len(body)))
            await send_in_pieces(writer, body)
        elif framing.startswith("chunked"):
            writer.write(head(None))
            await send_in_pieces(writer, chunked(body, 7 if framing == "chunked-tiny" else 777_777))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\n\r\n")
            await send_in_pieces(writer, body)
        writer.close()

    async with serve(handler) as port:
        response, received, pieces = await get_all(f"http://127.0.0.1:{port}/")
    assert response.status_code == 200 and response.reason_phrase == "OK"
    assert sha(received) == sha(body)
    assert max(pieces) <= 1024 * 1024  # one reused buffer, whatever the body's size


async def test_the_request_is_a_plain_get_with_the_given_headers() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(head(2, 'ETag: "v1"', "X-Twice: a", "x-twice: b") + b"ok")
        await writer.drain()

    async with serve(handler) as port:
        response, received, _ = await get_all(
            f"http://127.0.0.1:{port}/blob/1.zip?sig=a%2Fb&x=1",
            headers={"Range": "bytes=5-", "User-Agent": "kbench-tui/test"},
        )
    lines = seen[0].decode().split("\r\n")
    assert lines[0] == "GET /blob/1.zip?sig=a%2Fb&x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in lines and "Connection: close" in lines
    assert "Range: bytes=5-" in lines and "User-Agent: kbench-tui/test" in lines
    assert received == b"ok"
    assert response.headers["etag"] == '"v1"' and response.headers["ETAG"] == '"v1"'
    assert response.headers.get_list("x-twice") == ["a", "b"]


async def test_informational_answers_are_skipped_and_empty_answers_have_no_body() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        await asyncio.Event().wait()  # keeps the connection open: the 204 must not wait

    async with serve(handler) as port:
        response, received, _ = await get_all(f"http://127.0.0.1:{port}/")
    assert response.status_code == 204 and received == b""


async def test_a_body_that_arrives_before_it_is_read_is_kept_whole() -> None:
    body = body_of(5_000_000, seed=2)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(len(body)) + body)
        await writer.drain()

    async with serve(handler) as port:
        response = await open_get(
            f"http://127.0.0.1:{port}/", {}, ssl_context=None, connect_timeout=2.0
        )
        protocol = response._protocol
        # Nobody reads: the body piles up to one buffer's worth, then reading pauses.
        while len(protocol.pending) < 1024 * 1024:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # what would arrive meanwhile if reading went on (5 MB)
        assert len(protocol.pending) <= 2 * 1024 * 1024
        try:
            content = await response.aread(limit=len(body))
        finally:
            response.close()
    assert sha(content) == sha(body)


async def test_a_kept_connection_whose_body_all_arrived_unread_answers_the_next_get() -> None:
    """Reading pauses while a body waits for its reader; when the whole body came in before
    the pause, the connection must still read again once kept (the next GET waited forever)."""
    body = body_of(1024 * 1024, seed=5)  # reading pauses exactly as its last byte comes in
    handler_requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                handler_requests.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(head(len(body)) + body)
            await writer.drain()

    pool = BulkPool()
    async with serve(handler) as port:
        url = f"http://127.0.0.1:{port}/blob"
        for _ in range(2):
            opening = open_get(url, {}, ssl_context=None, connect_timeout=2.0, pool=pool)
            response = await asyncio.wait_for(opening, 5)  # waited forever on a paused one
            protocol = response._protocol
            for _ in range(400):  # until all of it is in, unread (reading paused)
                if len(protocol.pending) == len(body):
                    break
                await asyncio.sleep(0.005)
            assert len(protocol.pending) == len(body)
            try:
                content = await asyncio.wait_for(response.aread(limit=len(body)), 5)
            finally:
                response.close()
            assert sha(content) == sha(body)
        pool.close()
    assert len(handler_requests) == 2  # both on the kept connection


async def test_aread_keeps_at_most_its_limit() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(100_000) + b"e" * 100_000)
        await writer.drain()

    async with serve(handler) as port:
        response = await open_get(
            f"http://127.0.0.1:{port}/", {}, ssl_context=None, connect_timeout=2.0
        )
        assert await response.aread(limit=10) == b"e" * 10
        response.close()


# --- faults: the same httpx exception as through the product's transport -----------------


async def cut_fin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(head(1_000_000) + b"x" * 300_000)
    await writer.drain()
    writer.close()


async def cut_rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(head(1_000_000) + b"x" * 300_000)
    await writer.drain()
    reset_on_close(writer)
    writer.close()


async def cut_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(head(None) + b"10\r\n" + b"y" * 10)
    await writer.drain()
    writer.close()


async def no_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    await writer.drain()


async def bad_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(head(None) + b"zz\r\nhello\r\n")
    await writer.drain()


async def switching(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n")
    await writer.drain()
    await asyncio.Event().wait()


async def test_a_protocol_switch_is_refused() -> None:
    async with serve(switching) as port:
        with pytest.raises(httpx.RemoteProtocolError, match="_SWITCH_UPGRADE"):
            await open_get(f"http://127.0.0.1:{port}/", {}, ssl_context=None, connect_timeout=2)


async def huge_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"a" * 200_000 + b"\r\n\r\n")
    await writer.drain()


FAULTS: dict[str, tuple[Handler, type[Exception], int]] = {
    # name: (peer, exception through both paths, body bytes the sink must have seen)
    "cut-fin": (cut_fin, httpx.RemoteProtocolError, 300_000),
    "cut-rst": (cut_rst, httpx.ReadError, -1),
    "cut-chunked": (cut_chunked, httpx.RemoteProtocolError, 10),
    "no-answer": (no_answer, httpx.RemoteProtocolError, 0),
    "not-http": (garbage, httpx.RemoteProtocolError, 0),
    "bad-chunk-size": (bad_chunk, httpx.RemoteProtocolError, 0),
    "head-too-large": (huge_head, httpx.RemoteProtocolError, 0),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_fault_is_the_same_httpx_error_as_through_the_pool(fault: str) -> None:
    peer, expected, seen_bytes = FAULTS[fault]
    async with serve(peer) as port:
        url = f"http://127.0.0.1:{port}/"
        received = bytearray()
        with pytest.raises(expected):
            response = await open_get(url, {}, ssl_context=None, connect_timeout=2.0)
            try:
                await response.stream_into(received.extend)
            finally:
                response.close()
        if seen_bytes >= 0:  # an RST may also discard bytes still in the kernel's buffer
            assert len(received) == seen_bytes  # every byte that arrived was passed on
        async with httpx.AsyncClient(transport=OnDemandTLSTransport()) as client:
            with pytest.raises(expected):
                async with client.stream("GET", url) as streamed:
                    await streamed.aread()


async def test_refused_and_unsupported_urls_are_httpx_errors() -> None:
    with pytest.raises(httpx.ConnectError):
        await open_get(f"http://127.0.0.1:{free_port()}/", {}, ssl_context=None, connect_timeout=2)
    with pytest.raises(httpx.UnsupportedProtocol):
        await open_get("ftp://127.0.0.1/x", {}, ssl_context=None, connect_timeout=2)
    with pytest.raises(httpx.LocalProtocolError):
        await open_get(
            "http://127.0.0.1:9/",
            {"X-Bad": "a\r\nInjected: 1"},
            ssl_context=None,
            connect_timeout=2,
        )


async def test_an_exception_of_the_sink_is_raised_as_is_and_closes_the_connection() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(50_000_000))
        try:
            while True:
                writer.write(b"z" * 1_000_000)
                await writer.drain()
        except ConnectionError:
            closed.set()

    def full_disk(piece: memoryview) -> None:
        raise OSError(28, "No space left on device")

    async with serve(handler) as port:
        response = await open_get(
            f"http://127.0.0.1:{port}/", {}, ssl_context=None, connect_timeout=2.0
        )
        with pytest.raises(OSError, match="No space left"):
            await response.stream_into(full_disk)
        await asyncio.wait_for(closed.wait(), 5)


async def test_cancelling_a_read_closes_the_connection() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(1_000_000) + b"a" * 1000)
        await writer.drain()
        await reader.read()  # returns at the client's close
        closed.set()

    async with serve(handler) as port:
        response = await open_get(
            f"http://127.0.0.1:{port}/", {}, ssl_context=None, connect_timeout=2.0
        )
        first = asyncio.Event()
        reading = asyncio.ensure_future(response.stream_into(lambda piece: first.set()))
        await first.wait()  # the body is being read: now cancel
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        response.close()
        await asyncio.wait_for(closed.wait(), 5)


async def test_a_cancel_as_the_connection_completes_is_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asyncio.wait_for on 3.11 drops a cancellation that arrives in the turn its awaitable
    completes; the connection steps must not (and must close what they made)."""
    requests = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await read_request(reader)
        requests += 1
        writer.write(head(2) + b"ok")
        await writer.drain()

    loop = asyncio.get_running_loop()
    real = loop.create_connection
    made: list[asyncio.BaseTransport] = []
    gate = loop.create_future()
    connected = asyncio.Event()

    async def connect_then_gate(*args: object, **kwargs: object) -> object:
        transport, protocol = await real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(transport)
        connected.set()
        await gate  # completes in the same loop turn as the cancel below
        return transport, protocol

    monkeypatch.setattr(loop, "create_connection", connect_then_gate)
    async with serve(handler) as port:
        task = asyncio.ensure_future(
            open_get(f"http://127.0.0.1:{port}/", {}, ssl_context=None, connect_timeout=5)
        )
        await connected.wait()
        gate.set_result(None)
        assert task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(5):
            await asyncio.sleep(0)
    assert requests == 0 and made and made[0].is_closing()


# --- TLS ----------------------------------------------------------------------------------

BODY = body_of(3_000_000, seed=9)


async def tls_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(head(len(BODY)) + BODY)
    await writer.drain()


async def test_tls_is_verified_by_the_context_given(pki: Path) -> None:  # noqa: F811
    trusting = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    async with serve(tls_handler, ssl_context=server_context(pki)) as port:
        _, received, _ = await get_all(f"https://localhost:{port}/", ssl_context=trusting)
        assert sha(received) == sha(BODY)
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|mismatch"):
            await get_all(f"https://127.0.0.1:{port}/", ssl_context=trusting)  # other name
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await get_all(f"https://localhost:{port}/", ssl_context=ssl.create_default_context())
        with pytest.raises(ValueError, match="ssl_context"):
            await get_all(f"https://localhost:{port}/")


async def test_a_handshake_that_never_completes_is_connect_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    async with serve(silent) as port:
        with pytest.raises(httpx.ConnectTimeout):
            await open_get(
                f"https://127.0.0.1:{port}/",
                {},
                ssl_context=ssl.create_default_context(),
                connect_timeout=0.2,
            )


async def test_the_connection_uses_the_https_pools_own_verification(
    pki: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused with the default trust store; accepted once SSL_CERT_FILE names the CA, as
    for every other request (httpx's default context, see test_api_aio_tls)."""
    async with serve(tls_handler, ssl_context=server_context(pki)) as port:
        url = f"https://localhost:{port}/blob.zip"
        async with RpcConnection(url, None) as connection:
            with pytest.raises(RetryableFailure) as failure:
                async with connection.open_get(url, rpc="Download"):
                    pass
            assert isinstance(failure.value.error, UnreachableError)
            assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value.error)
        monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.pem"))
        async with (
            RpcConnection(url, None) as connection,
            connection.open_get(url, rpc="Download") as response,
        ):
            assert isinstance(response, BulkResponse)
            assert sha(await response.aread(limit=len(BODY))) == sha(BODY)


# --- how downloads use it -----------------------------------------------------------------


async def test_a_transport_given_by_the_caller_carries_downloads_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"via the given transport")

    connection = RpcConnection("http://sim.test", None, transport=httpx.MockTransport(handler))
    async with connection, connection.open_get("http://sim.test/x", rpc="D") as response:
        assert isinstance(response, httpx.Response)
        assert await response.aread() == b"via the given transport"


def zip_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("task.run.json", b'{"state": "COMPLETED"}' * 1000)
        archive.writestr("padding.bin", body_of(3_000_000, seed=4))
    return buffer.getvalue()


ARCHIVE = zip_bytes()


def download_server(
    storage: str | None, cut_first_at: int | None = None
) -> tuple[Handler, list[bytes]]:
    """Answers the RPC with a 302 to `storage` (an origin; None: its own, by a relative
    Location) and serves the archive there with an ETag and ranges; the requests seen."""
    seen: list[bytes] = []
    cuts = [cut_first_at] if cut_first_at else []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if request.startswith(b"POST"):
            length = int(request.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            seen.append(request + await reader.readexactly(length))
            location = f"{storage or ''}/blob/901.zip?sig=abc"
            writer.write(
                f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
            )
            await writer.drain()
            return
        seen.append(request)
        lower = request.decode().lower()
        start = 0
        status = "200 OK"
        extra = ['etag: "v1"', "accept-ranges: bytes", "content-type: application/zip"]
        if "range: bytes=" in lower and 'if-range: "v1"' in lower:
            start = int(lower.split("range: bytes=")[1].split("-")[0])
            status = "206 Partial Content"
            extra.append(f"content-range: bytes {start}-{len(ARCHIVE) - 1}/{len(ARCHIVE)}")
        body = ARCHIVE[start:]
        writer.write(f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n".encode())
        writer.write(("\r\n".join(extra) + "\r\n\r\n").encode())
        if cuts:
            writer.write(body[: cuts.pop()])
            await writer.drain()
            writer.close()
            return
        writer.write(body)
        await writer.drain()

    return handler, seen


async def run_download(
    tmp_path: Path, *, other_origin: bool = False, cut_first_at: int | None = None
) -> tuple[list[bytes], FakeSleep]:
    """One download through the product's connection; the storage GETs via api/bulk.py."""
    sleep = FakeSleep()
    storage, storage_seen = download_server(None, cut_first_at)
    async with serve(storage) as storage_port:
        # The same server reached as http://localhost:port is another origin than the
        # endpoint's http://127.0.0.1:port, where it is reached for the RPC.
        origin = f"http://localhost:{storage_port}" if other_origin else None
        rpc, seen = download_server(origin, cut_first_at) if other_origin else (storage, [])
        async with serve(rpc) as rpc_port:
            endpoint = f"http://127.0.0.1:{rpc_port if other_origin else storage_port}"
            async with RpcConnection(
                endpoint,
                Credentials.token(CANARY, source="test"),
                retry=RetryPolicy(max_attempts=3),
                sleep=sleep,
            ) as connection:
                result = await download_run_output(connection, 901, tmp_path / "901")
    assert result.state is DownloadState.DONE, result.message
    assert result.transferred == len(ARCHIVE)  # no byte fetched twice
    assert (tmp_path / "901" / "padding.bin").read_bytes() == body_of(3_000_000, seed=4)
    return seen + storage_seen, sleep


async def test_a_download_sends_credentials_to_its_own_origin_only(tmp_path: Path) -> None:
    seen, _ = await run_download(tmp_path / "other", other_origin=True)
    post, get = seen
    assert json.loads(post.split(b"\r\n\r\n", 1)[1]) == {"runId": 901}
    assert CANARY.encode() in post
    assert get.startswith(b"GET /blob/901.zip?sig=abc HTTP/1.1")
    assert b"authorization" not in get.lower() and CANARY.encode() not in get
    seen, _ = await run_download(tmp_path / "same")  # the endpoint's own origin
    assert seen[1].startswith(b"GET /blob/901.zip?sig=abc HTTP/1.1")
    assert CANARY.encode() in seen[1]


async def test_a_cut_download_resumes_where_it_stopped(tmp_path: Path) -> None:
    seen, sleep = await run_download(tmp_path, cut_first_at=1_234_567)
    resume = seen[-1].decode().lower()
    assert "range: bytes=1234567-" in resume and 'if-range: "v1"' in resume
    assert len(sleep.delays) == 1


async def test_an_error_answer_on_the_storage_get_is_reported(tmp_path: Path) -> None:
    async def rpc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if request.startswith(b"POST"):
            writer.write(
                b"HTTP/1.1 302 Found\r\nLocation: /expired.zip\r\nContent-Length: 0\r\n\r\n"
            )
        else:
            message = json.dumps({"code": 404, "message": "link expired"}).encode()
            writer.write(
                b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(message), message)
            )
        await writer.drain()
        await reader.read()

    async with (
        serve(rpc) as port,
        RpcConnection(
            f"http://127.0.0.1:{port}", None, retry=RetryPolicy(max_attempts=1), sleep=FakeSleep()
        ) as connection,
    ):
        result = await download_run_output(connection, 901, tmp_path / "901")
    assert result.state is DownloadState.FAILED
    assert "link expired" in result.message
    assert not (tmp_path / "901").exists()


async def test_an_ipv6_literal_is_connected_to_and_named_in_host() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(head(2) + b"ok")
        await writer.drain()

    try:
        server = serve(handler, host="::1")
        port = await server.__aenter__()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        _, received, _ = await get_all(f"http://[::1]:{port}/x")
    finally:
        await server.__aexit__(None, None, None)
    assert received == b"ok"
    assert f"Host: [::1]:{port}".encode() in seen[0]


# --- keep-alive (BulkPool) ------------------------------------------------------------------


def keep_alive_server(
    *, close_header: bool = False, drop_after_first: bool = False, refuse_second: bool = False
) -> tuple[Handler, list[list[bytes]]]:
    """Answers every request on a connection with `ok <n>`; the requests, by connection.

    `close_header`: say `Connection: close`; `drop_after_first`: close the connection after
    its first answer; `refuse_second`: close it on a second request without answering.
    """
    connections: list[list[bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen: list[bytes] = []
        connections.append(seen)
        while True:
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            if refuse_second and len(seen) == 2:
                return
            body = b"ok %d" % len(seen)
            extra = ("connection: close",) if close_header else ()
            writer.write(head(len(body), *extra) + body)
            await writer.drain()
            if close_header or drop_after_first:
                writer.close()
                return

    return handler, connections


async def get_pooled(url: str, pool: BulkPool) -> bytes:
    response = await open_get(url, {}, ssl_context=None, connect_timeout=2.0, pool=pool)
    try:
        return await response.aread()
    finally:
        response.close()


async def test_a_pool_reuses_the_connection_of_an_answer_read_to_its_end() -> None:
    handler, connections = keep_alive_server()
    pool = BulkPool()
    async with serve(handler) as port:
        url = f"http://127.0.0.1:{port}/blob"
        assert [await get_pooled(url, pool) for _ in range(3)] == [b"ok 1", b"ok 2", b"ok 3"]
        assert len(connections) == 1 and len(connections[0]) == 3
        assert all(b"connection: close" not in r.lower() for r in connections[0])
        pool.close()
        for _ in range(20):  # the server sees the close
            await asyncio.sleep(0.005)
    # Without a pool: one connection per GET, and the request says so.
    handler, connections = keep_alive_server()
    async with serve(handler) as port:
        for _ in range(2):
            await get_all(f"http://127.0.0.1:{port}/blob")
    assert len(connections) == 2 and b"Connection: close" in connections[0][0]


@pytest.mark.parametrize(
    "server",
    ["connection: close", "closes after answering", "closes on the next request"],
)
async def test_a_connection_the_server_closed_is_replaced_without_an_error(server: str) -> None:
    handler, connections = keep_alive_server(
        close_header=server == "connection: close",
        drop_after_first=server == "closes after answering",
        refuse_second=server == "closes on the next request",
    )
    pool = BulkPool()
    async with serve(handler) as port:
        url = f"http://127.0.0.1:{port}/blob"
        assert await get_pooled(url, pool) == b"ok 1"
        await asyncio.sleep(0.02)  # a FIN, if any, has arrived
        assert await get_pooled(url, pool) == b"ok 1"  # answered on a new connection
        pool.close()
    assert len(connections) == 2


async def test_unread_or_unframed_answers_are_not_kept() -> None:
    opened = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        while True:
            try:
                request = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            if b"/until-close" in request:
                writer.write(b"HTTP/1.1 200 OK\r\n\r\nto the end")
                await writer.drain()
                writer.close()
                return
            writer.write(head(100_000) + b"u" * 100_000)
            await writer.drain()

    pool = BulkPool()
    async with serve(handler) as port:
        base = f"http://127.0.0.1:{port}"
        unread = await open_get(f"{base}/big", {}, ssl_context=None, connect_timeout=2, pool=pool)
        unread.close()  # body never read: the connection cannot carry another request
        assert await get_pooled(f"{base}/until-close", pool) == b"to the end"
        assert await get_pooled(f"{base}/big", pool) == b"u" * 100_000
        assert await get_pooled(f"{base}/big", pool) == b"u" * 100_000
        pool.close()
    assert opened == 3  # the last two GETs shared one


async def test_kept_connections_expire() -> None:
    handler, connections = keep_alive_server()
    now = [0.0]
    pool = BulkPool(expiry=5.0, clock=lambda: now[0])
    async with serve(handler) as port:
        url = f"http://127.0.0.1:{port}/blob"
        await get_pooled(url, pool)
        now[0] += 4.0
        await get_pooled(url, pool)  # still fresh: reused
        now[0] += 6.0
        await get_pooled(url, pool)  # idle too long: a new connection
        pool.close()
    assert [len(requests) for requests in connections] == [2, 1]


async def test_downloads_of_one_task_share_a_storage_connection(tmp_path: Path) -> None:
    """Through the product's connection: the second run's GET reuses the first's."""
    storage, seen = download_server(None)
    opened = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        while not reader.at_eof():
            try:
                await storage(reader, writer)
            except asyncio.IncompleteReadError:
                return

    async with (
        serve(counting) as port,
        RpcConnection(f"http://127.0.0.1:{port}", None) as connection,
    ):
        for run_id in (901, 902):
            result = await download_run_output(connection, run_id, tmp_path / str(run_id))
            assert result.state is DownloadState.DONE
    gets = [r for r in seen if r.startswith(b"GET")]
    assert len(gets) == 2
    # The RPC POSTs go through httpx's pool (one connection: the 302's empty body is read,
    # so it is kept), the GETs through the bulk pool (one): two, whatever the runs.
    assert opened == 2


async def test_a_header_http_cannot_carry_takes_no_connection() -> None:
    handler, connections = keep_alive_server()
    pool = BulkPool()
    async with serve(handler) as port:
        url = f"http://127.0.0.1:{port}/blob"
        assert await get_pooled(url, pool) == b"ok 1"
        for bad in ('"caf\u00e9"', "a\r\nInjected: 1"):  # e.g. an ETag sent back as If-Range
            with pytest.raises(httpx.LocalProtocolError):
                await open_get(
                    url, {"If-Range": bad}, ssl_context=None, connect_timeout=2, pool=pool
                )
        assert await get_pooled(url, pool) == b"ok 2"  # the kept connection is still there
        pool.close()
    assert len(connections) == 1


async def test_a_closed_pool_keeps_nothing() -> None:
    handler, _ = keep_alive_server()
    pool = BulkPool()
    async with serve(handler) as port:
        url = f"http://127.0.0.1:{port}/blob"
        response = await open_get(url, {}, ssl_context=None, connect_timeout=2, pool=pool)
        pool.close()  # e.g. the RpcConnection closed while an answer was being read
        assert await response.aread() == b"ok 1"
        response.close()
        assert response._protocol.transport is not None
        assert response._protocol.transport.is_closing()
        assert pool.take(("http", "127.0.0.1", port)) is None


async def test_bytes_after_an_answer_without_a_body_spoil_the_connection() -> None:
    opened = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\nJUNK THAT IS NO ANSWER")
        await writer.drain()
        await reader.read()

    pool = BulkPool()

    async def twice(url: str) -> None:
        for _ in range(2):
            response = await open_get(url, {}, ssl_context=None, connect_timeout=2, pool=pool)
            assert response.status_code == 204
            await asyncio.sleep(0.02)  # the junk arrives
            response.close()

    async with serve(handler) as port:
        # On a spoilt connection reused, the second GET would wait forever for its answer.
        await asyncio.wait_for(twice(f"http://127.0.0.1:{port}/blob"), 5)
        pool.close()
    assert opened == 2
