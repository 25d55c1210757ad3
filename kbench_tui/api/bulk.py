"""Bulk GET: a download's body from the socket into the caller's file, one copy per byte.

Through httpx, httpcore and h11 a body arrives in 64 KB pieces, each copied three or four
times on its way and passed up through several layers: ~0.24 s of CPU per 160 MB on the
benchmark machine, more than the rest of a download together (docs/performance.md). The
GETs of a download — the signed storage URL that DownloadBenchmarkTaskRunOutput redirects
to, and the Range requests that resume it — are read here instead: an
`asyncio.BufferedProtocol` receives into one reused 1 MiB buffer and hands each piece to
the caller's sink (a file write) before the next one is received. Nothing is queued, so
memory stays at that buffer per connection whatever the size of the body (plus at most
another buffer's worth that arrives before the caller asks for the body).

Deliberately small: GET only, HTTP/1.1 over TCP or TLS (verified by the context the caller
passes: the one the https pool uses), the request written and the response head parsed by
h11 (httpx's own parser), the body framed by Content-Length, by the chunked transfer
coding, or by the end of the connection. A `BulkPool` keeps the connections of answers
read to their end for the next GETs to the same origin (a task's outputs share a storage
host); without one, each GET has its own connection (`Connection: close`). Failures
are httpx's exception types with httpcore's wording, so `RpcConnection.transport_failure`
and the retry rules classify them exactly as they classify the same fault through httpx.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import h11
import httpx

from kbench_tui.api.aio import HAPPY_EYEBALLS_DELAY

__all__ = ["BulkPool", "BulkResponse", "Sink", "open_get"]

_T = TypeVar("_T")

Sink = Callable[[memoryview], object]
"""Called with each piece of the body, in order; the view is only valid during the call."""

_BUFFER_SIZE = 1024 * 1024
_HEAD_LIMIT = 100 * 1024  # status line and headers of an answer, as httpcore allows
_NO_BODY = frozenset((204, 304))
_LINE_WINDOW = 256


class _Chunked:
    """Decodes the chunked transfer coding (RFC 9112 §7.1) incrementally."""

    def __init__(self) -> None:
        self._line = bytearray()  # a chunk-size line or a trailer line being assembled
        self._left = 0  # bytes of chunk data still to come
        self._state = "size"  # size -> data -> crlf -> size ... -> trailer -> done
        self.leftover = 0  # bytes that came after the body's end (the connection is spoilt)

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: memoryview, sink: Sink) -> int:
        """Consume `data`, passing chunk data to `sink`; returns the body bytes passed."""
        passed = 0
        at = 0
        end = len(data)
        while at < end and self._state != "done":
            if self._state == "data":
                piece = data[at : at + self._left]
                sink(piece)
                passed += len(piece)
                at += len(piece)
                self._left -= len(piece)
                if not self._left:
                    self._state = "crlf"
                continue
            # Size lines are short: look for their end in a small window, not the rest.
            window = bytes(data[at : at + _LINE_WINDOW])
            newline = window.find(b"\n")
            if newline < 0:
                self._line += window
                at += len(window)
                if len(self._line) > _HEAD_LIMIT:
                    raise httpx.RemoteProtocolError("chunk size line too long")
                continue
            self._line += window[:newline]
            at += newline + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            self._end_of_line(line)
        if self._state == "done":
            self.leftover += end - at
        return passed

    def _end_of_line(self, line: bytes) -> None:
        if self._state == "crlf":
            if line:
                raise httpx.RemoteProtocolError("missing CRLF after chunk data")
            self._state = "size"
        elif self._state == "size":
            digits = line.split(b";", 1)[0].strip()
            if not digits or any(c not in b"0123456789abcdefABCDEF" for c in digits):
                raise httpx.RemoteProtocolError("invalid chunk size")
            self._left = int(digits, 16)
            self._state = "data" if self._left else "trailer"
        elif not line:  # the empty line that ends the trailer section
            self._state = "done"


class _GetProtocol(asyncio.BufferedProtocol):
    """One connection, one GET at a time: the head through h11, then the body straight to
    the sink; between GETs it may wait in a `BulkPool` (`idle`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, keep_alive: bool = False) -> None:
        self._loop = loop
        self._buffer = memoryview(bytearray(_BUFFER_SIZE))
        self.transport: asyncio.Transport | None = None
        self.keep_alive = keep_alive  # the requests do not ask the server to close
        self.ended = False  # the peer closed (or the connection was lost)
        self.end_error: Exception | None = None  # why the connection was lost, if not cleanly
        self.idle = False  # between two requests, kept by a BulkPool
        self.start_request()

    def start_request(self) -> None:
        """State for the next request on this connection (a new one, or a kept-alive one)."""
        self.idle = False
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_HEAD_LIMIT)
        self.head: asyncio.Future[h11.Response] = self._loop.create_future()
        self.finished: asyncio.Future[None] = self._loop.create_future()
        self.answered = False  # any byte of an answer to this request arrived
        self.sink: Sink | None = None
        self.pending = bytearray()  # body bytes received before a sink was given
        self.length: int | None = None  # Content-Length, if that frames the body
        self.chunked: _Chunked | None = None
        self.received = 0  # body bytes passed to the sink
        self.reusable = False  # the answer allows another request on this connection

    # --- asyncio.BufferedProtocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self._buffer[:nbytes]
        if self.idle:  # nothing may come between answers: the connection is spoilt
            self.reusable = False
            if self.transport is not None:
                self.transport.abort()
            return
        self.answered = True
        try:
            if not self.head.done():
                self._head_data(bytes(data))
            elif self.sink is None:
                self._keep(data)
            else:
                self._body(data)
        except BaseException as exc:  # a malformed answer or the sink's own failure
            self._fail(exc)

    def eof_received(self) -> None:
        self._ended(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    # --- parsing ----------------------------------------------------------------------------

    def _head_data(self, data: bytes) -> None:
        try:
            self.h11.receive_data(data)
            while True:
                event = self.h11.next_event()
                if event is h11.NEED_DATA:
                    return
                if isinstance(event, h11.Response):
                    break
                # InformationalResponse (1xx): the final answer follows. (h11 refuses a
                # 101 Switching Protocols itself: this GET proposes no upgrade.)
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from None
        headers = {name: value for name, value in event.headers}
        if event.status_code in _NO_BODY:
            self.length = 0
        elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self.chunked = _Chunked()
        elif b"content-length" in headers:
            self.length = int(headers[b"content-length"])  # h11 checked it is digits
        closing = any(
            name == b"connection" and b"close" in value.lower() for name, value in event.headers
        )
        self.reusable = (
            self.keep_alive
            and event.http_version == b"1.1"
            and not closing
            and (self.length is not None or self.chunked is not None)
        )
        self._keep(self.h11.trailing_data[0])
        if self.length == 0 and self.pending:
            self.reusable = False  # bytes after an answer without a body: spoilt
        self.head.set_result(event)
        if self.length == 0:
            self._complete()

    def _keep(self, data: bytes | memoryview) -> None:
        """Body bytes that arrived before a sink was given: kept, up to about a buffer."""
        self.pending += data
        if len(self.pending) >= _BUFFER_SIZE and self.transport is not None:
            self.transport.pause_reading()  # bounded until the caller reads

    def start(self, sink: Sink) -> None:
        """Pass the body to `sink` from now on, starting with what already arrived."""
        self.sink = sink
        pending, self.pending = self.pending, bytearray()
        if pending and not self.finished.done():
            try:
                self._body(memoryview(pending))
            except BaseException as exc:
                self._fail(exc)
        if self.transport is not None and not self.ended:
            # Reading paused while the body waited (`_keep`), possibly with all of it in:
            # a connection kept for the next request must read again all the same.
            self.transport.resume_reading()
        if self.finished.done():
            return
        if self.ended:
            self._settle_end()

    def _body(self, data: memoryview) -> None:
        sink = self.sink
        assert sink is not None
        if self.chunked is not None:
            self.received += self.chunked.feed(data, sink)
            if self.chunked.done:
                if self.chunked.leftover:
                    self.reusable = False
                self._complete()
            return
        if self.length is not None:
            if len(data) > self.length - self.received:
                self.reusable = False  # more than the answer: the connection is spoilt
            data = data[: self.length - self.received]
        if data:
            sink(data)
            self.received += len(data)
        if self.length is not None and self.received >= self.length:
            self._complete()

    # --- endings ----------------------------------------------------------------------------

    def abandon(self) -> None:
        """No answer will be awaited (the connection was never made): settle the futures,
        so that a failure the transport reported meanwhile is not logged as unretrieved."""
        for waiter in (self.head, self.finished):
            if waiter.done() and not waiter.cancelled():
                waiter.exception()
            else:
                waiter.cancel()

    def _complete(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)
        if not self.reusable and self.transport is not None:
            self.transport.close()  # nothing else will be read on it

    def _fail(self, exc: BaseException) -> None:
        self.reusable = False
        if not self.head.done():
            self.head.set_exception(exc)  # `open_get` raises it; there is no body to read
            self.finished.cancel()
        elif not self.finished.done():
            self.finished.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def _ended(self, exc: Exception | None) -> None:
        if self.ended:
            return
        self.ended = True
        self.end_error = exc
        self.reusable = False
        if self.finished.done():
            return
        if not self.head.done():
            if exc is not None:
                self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
            else:
                self._fail(
                    httpx.RemoteProtocolError("Server disconnected without sending a response.")
                )
        elif self.sink is not None:
            self._settle_end()
        # else: `start` settles it after passing on the bytes that did arrive.

    def _settle_end(self) -> None:
        """The connection ended while the body was being read: complete or cut short?"""
        exc = self.end_error
        if exc is not None:
            self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
        elif self.chunked is not None:
            self._fail(
                httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    "incomplete chunked read"
                )
            )
        elif self.length is not None:
            self._fail(
                httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    f"received {self.received} bytes, expected {self.length}"
                )
            )
        else:
            self._complete()  # the end of the connection ends a body framed by nothing


class BulkResponse:
    """The answer to `open_get`: status and headers as httpx has them, the body on demand."""

    def __init__(
        self,
        url: str,
        protocol: _GetProtocol,
        event: h11.Response,
        pool: BulkPool | None = None,
        origin: tuple[str, str, int] = ("", "", 0),
    ) -> None:
        self.url = url
        self._pool = pool
        self._origin = origin
        self.status_code: int = event.status_code
        self.reason_phrase: str = event.reason.decode("ascii", "replace")
        self.headers = httpx.Headers([(k, v) for k, v in event.headers])
        self._protocol = protocol
        self._started = False

    async def stream_into(self, sink: Sink) -> int:
        """Pass the whole body to `sink` as it arrives; returns its length.

        A cut connection raises httpx.RemoteProtocolError or httpx.ReadError after the
        sink saw every byte that did arrive; an exception from the sink is re-raised as is.
        """
        if self._started:
            raise RuntimeError("the body was already read")
        self._started = True
        protocol = self._protocol
        protocol.start(sink)
        await protocol.finished
        return protocol.received

    async def aread(self, limit: int = _BUFFER_SIZE) -> bytes:
        """The body in memory (an error answer); more than `limit` bytes is cut there."""
        content = bytearray()

        def keep(piece: memoryview) -> None:
            room = limit - len(content)
            if room > 0:
                content.extend(piece[:room])

        await self.stream_into(keep)
        return bytes(content)

    def close(self) -> None:
        """Done with the answer: its connection goes back to the pool if it can carry
        another request (the whole body was read, the server keeps it open), else shut."""
        protocol = self._protocol
        finished = protocol.finished
        if (
            self._pool is not None
            and finished.done()
            and not finished.cancelled()
            and finished.exception() is None
            and protocol.reusable
            and not protocol.ended
            and not protocol.pending  # nothing unread may be left for the next answer
        ):
            protocol.idle = True
            self._pool.give(self._origin, protocol)
            return
        transport = protocol.transport
        if transport is not None:
            transport.abort()


class BulkPool:
    """Kept-alive connections of answers read to their end, by origin, for the next GETs.

    A task's outputs usually sit on one storage host: past the first `max_idle` runs,
    each GET reuses a connection instead of paying a TCP and TLS handshake again.
    Connections idle longer than `expiry` seconds, or closed by the server, are dropped.
    """

    def __init__(
        self,
        *,
        max_idle: int = 8,
        expiry: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_idle = max_idle
        self._expiry = expiry
        self._clock = clock
        self._idle: dict[tuple[str, str, int], list[tuple[float, _GetProtocol]]] = {}
        self._closed = False

    def take(self, origin: tuple[str, str, int]) -> _GetProtocol | None:
        """The most recently kept usable connection to `origin`, if any."""
        if self._closed:
            return None
        kept = self._idle.get(origin)
        now = self._clock()
        while kept:
            since, protocol = kept.pop()
            transport = protocol.transport
            if transport is None:
                continue
            if now - since <= self._expiry and not protocol.ended and not transport.is_closing():
                return protocol
            transport.abort()
        return None

    def give(self, origin: tuple[str, str, int], protocol: _GetProtocol) -> None:
        if self._closed:  # an answer read to its end after the pool was closed
            if protocol.transport is not None:
                protocol.transport.abort()
            return
        kept = self._idle.setdefault(origin, [])
        kept.append((self._clock(), protocol))
        while len(kept) > self._max_idle:
            _, oldest = kept.pop(0)
            if oldest.transport is not None:
                oldest.transport.abort()

    def close(self) -> None:
        """Close every kept connection, and any given back from now on."""
        self._closed = True
        for kept in self._idle.values():
            for _, protocol in kept:
                if protocol.transport is not None:
                    protocol.transport.abort()
        self._idle.clear()


async def open_get(
    url: str,
    headers: dict[str, str],
    *,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    pool: BulkPool | None = None,
) -> BulkResponse:
    """Send `GET url` and return once the response head is in.

    `ssl_context` verifies https (required for it); the caller closes the response. With
    a `pool`, a kept-alive connection to the same origin is used when there is one (and
    a fresh one if that turns out to have been closed by the server meanwhile);
    without, the connection is opened for this request and closed after it.
    """
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(
            f"Request URL has an unsupported protocol '{parsed.scheme}://'."
        )
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded, brackets off an IPv6 literal
    if not host:
        raise httpx.UnsupportedProtocol("Request URL is missing a host.")
    secure = parsed.scheme == "https"
    if secure and ssl_context is None:
        raise ValueError("https needs an ssl_context")
    port = parsed.port or (443 if secure else 80)
    origin = (parsed.scheme, host, port)
    fields = [("Host", parsed.netloc.decode("ascii")), *headers.items()]
    if pool is None:
        fields.append(("Connection", "close"))
    try:
        # Checked and written before any connection is involved (the bytes do not depend on
        # it); each connection's own h11 state is then sent the very same request below.
        get = h11.Request(method="GET", target=parsed.raw_path, headers=fields)
        request = h11.Connection(h11.CLIENT).send(get)
    except (h11.LocalProtocolError, UnicodeError) as exc:  # a header HTTP does not allow
        raise httpx.LocalProtocolError(str(exc)) from None
    loop = asyncio.get_running_loop()
    while True:
        protocol = pool.take(origin) if pool is not None else None
        reused = protocol is not None
        if protocol is None:
            protocol = _GetProtocol(loop, keep_alive=pool is not None)
        else:
            protocol.start_request()
        protocol.h11.send(get)
        if reused:
            assert protocol.transport is not None
            transport = protocol.transport
        else:
            try:
                transport = await _connect(
                    loop, protocol, host, port, ssl_context if secure else None, connect_timeout
                )
            except BaseException:
                protocol.abandon()
                raise
        try:
            transport.write(request)
            answer = await protocol.head
        except (httpx.RemoteProtocolError, httpx.ReadError):
            transport.abort()
            if reused and not protocol.answered:
                continue  # the server had closed the kept connection: a fresh one
            raise
        except BaseException:
            transport.abort()
            raise
        return BulkResponse(url, protocol, answer, pool, origin)


async def _connect(
    loop: asyncio.AbstractEventLoop,
    protocol: _GetProtocol,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    timeout: float | None,
) -> asyncio.Transport:
    """TCP, then the TLS handshake, each within `timeout` as httpcore times them.

    A timeout is ConnectTimeout, a refusal (or a certificate refused) ConnectError; a
    cancellation is raised as such. None of them leaves a connection open.
    """
    connect = loop.create_connection(
        lambda: protocol, host, port, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY
    )
    transport, _ = await _bounded(connect, timeout, host)
    if ssl_context is None:
        return transport
    try:
        handshake = loop.start_tls(transport, protocol, ssl_context, server_hostname=host)
        secure = await _bounded(handshake, timeout, host)
    except BaseException:
        transport.abort()
        raise
    if secure is None:  # the peer went away during the handshake
        transport.abort()
        raise httpx.ConnectError("the connection was closed during the TLS handshake")
    protocol.transport = secure
    return secure


async def _bounded(step: Awaitable[_T], timeout: float | None, host: str) -> _T:
    """Await a connection step; unlike `asyncio.wait_for` on 3.11, a cancellation that
    comes as the step completes is never swallowed, and what a step abandoned by a
    timeout or a cancellation still makes is closed."""
    task = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except BaseException:
        _abandon(task)
        raise
    if not done:
        _abandon(task)
        raise httpx.ConnectTimeout(f"no connection to {host} in time")
    try:
        return task.result()
    except OSError as exc:  # refused, unreachable, name not found, certificate refused
        raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc


def _abandon(task: asyncio.Future[Any]) -> None:
    """Cancel a connection step; if it completes all the same, close what it made."""

    def close(finished: asyncio.Future[Any]) -> None:
        if finished.cancelled() or finished.exception() is not None:
            return
        made = finished.result()
        transport = made[0] if isinstance(made, tuple) else made
        if transport is not None:
            transport.abort()

    task.cancel()
    task.add_done_callback(close)
