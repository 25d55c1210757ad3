"""An asyncio-native network backend for httpcore (used through `aio_transport.py`).

httpcore's default backend on asyncio goes through anyio: every 64 KB read of a body is an
anyio stream `receive` inside an anyio `fail_after` cancel scope (a timer, task-state
bookkeeping and a queue/event hand-off), which made receiving bulk bodies through
`httpx.AsyncClient` cost ~0.25-0.29 s of CPU per 160 MB (see docs/performance.md). This
backend reads from a buffering `asyncio.Protocol`: a read that finds data buffered returns
it at once, with no timer and no suspension; only a read that has to wait arms one
`loop.call_later` for its timeout.

The contract is httpcore's (`httpcore.AsyncNetworkBackend` / `AsyncNetworkStream`, the
public interface its pools accept as `network_backend=`), and errors map to httpcore's
exceptions as its own anyio and sync backends map them: connect -> ConnectTimeout /
ConnectError, read -> ReadTimeout / ReadError, write -> WriteTimeout / WriteError, TLS
handshake -> ConnectTimeout / ConnectError. A clean end of stream reads as `b""` (httpcore
turns a body cut short into `RemoteProtocolError`, as before).

anyio itself is still imported on the first request: httpcore 1.0's pool and connections
use anyio's Lock and CancelScope under asyncio whatever the network backend (~19 ms).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

# Stop reading from the socket while this much is buffered and unread; resume once the
# buffer is down to `_LOW_WATER`. Large enough that a body streams without pausing (the
# kernel's receive buffer holds the rest), small enough to bound memory per connection.
_HIGH_WATER = 1024 * 1024
_LOW_WATER = 256 * 1024
HAPPY_EYEBALLS_DELAY = 0.25  # anyio's default, which httpcore's anyio backend used

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


# Connecting and the TLS handshake: a timeout first (TimeoutError is an OSError since 3.11).
_CONNECT_ERRORS: dict[type[BaseException], type[Exception]] = {
    asyncio.TimeoutError: httpcore.ConnectTimeout,
    OSError: httpcore.ConnectError,
}


class _BufferingProtocol(asyncio.Protocol):
    """Keeps what the transport delivers until `AsyncioStream.read` takes it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.offset = 0  # bytes of chunks[0] already handed out
        self.size = 0  # unread bytes in `chunks`
        self.eof = False  # no more data will arrive (peer's EOF or connection lost)
        self.error: BaseException | None = None  # why the connection was lost, if not cleanly
        self.lost = False
        self.reading_paused = False
        self.writing_paused = False
        self.read_waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        # asyncio hands over up to 256 KB per socket read; `take` slices it in reads' sizes.
        self.chunks.append(data)
        self.size += len(data)
        if self.size > _HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> None:
        # Returning None lets asyncio close the transport (HTTP/1.1 never half-closes).
        self.eof = True
        self.wake(self.read_waiter)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.eof = True
        self.error = exc
        self.wake(self.read_waiter)
        self.wake(self.drain_waiter)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.wake(self.drain_waiter)

    @staticmethod
    def wake(waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- used by AsyncioStream --------------------------------------------------------------

    def take(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` buffered bytes (the buffer is not empty); at most one copy."""
        chunks = self.chunks
        chunk = chunks[0]
        start = self.offset
        available = len(chunk) - start
        if available > max_bytes:
            data = chunk[start : start + max_bytes]
            self.offset = start + max_bytes
        elif available == max_bytes or len(chunks) == 1:
            chunks.popleft()
            self.offset = 0
            data = chunk if start == 0 else chunk[start:]
        else:  # several small deliveries (TLS records, tiny writes): hand them out together
            parts = [chunk[start:] if start else chunk]
            chunks.popleft()
            self.offset = 0
            wanted = max_bytes - available
            while chunks and wanted > 0:
                chunk = chunks[0]
                if len(chunk) <= wanted:
                    parts.append(chunks.popleft())
                    wanted -= len(chunk)
                else:
                    parts.append(chunk[:wanted])
                    self.offset = wanted
                    wanted = 0
            data = b"".join(parts)
        self.size -= len(data)
        if self.reading_paused and self.size <= _LOW_WATER and not self.lost:
            self.reading_paused = False
            assert self.transport is not None
            self.transport.resume_reading()
        return data


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (plain or TLS) read through `_BufferingProtocol`."""

    def __init__(self, transport: asyncio.Transport, protocol: _BufferingProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if protocol.size:  # the common case while a body streams: no timer, no suspension
            return protocol.take(max_bytes)
        while True:
            if self._closed:
                raise httpcore.ReadError("the connection is closed")
            if protocol.size:
                return protocol.take(max_bytes)
            if protocol.eof:
                if protocol.error is not None:
                    raise httpcore.ReadError(protocol.error) from protocol.error
                return b""
            if not await self._wait_for_data(timeout):
                if protocol.size:  # arrived in the same loop iteration as the deadline
                    return protocol.take(max_bytes)
                raise httpcore.ReadTimeout(TimeoutError())

    async def _wait_for_data(self, timeout: float | None) -> bool:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._protocol.read_waiter = waiter
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            if not waiter.done():
                timed_out = True
                waiter.set_result(None)

        timer = loop.call_later(max(timeout, 0.0), expire) if timeout is not None else None
        try:
            await waiter
        finally:
            self._protocol.read_waiter = None
            if timer is not None:
                timer.cancel()
        return not timed_out

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if self._closed:
            raise httpcore.WriteError("the connection is closed")
        if protocol.lost:
            error = protocol.error or ConnectionResetError("the connection was closed by the peer")
            raise httpcore.WriteError(error) from protocol.error
        self._transport.write(buffer)
        if protocol.writing_paused:  # the transport's buffer is full: wait for it to drain
            await self._drain(timeout)

    async def _drain(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        deadline = None if timeout is None else loop.time() + timeout
        while protocol.writing_paused and not protocol.lost:
            if deadline is not None and loop.time() >= deadline:
                raise httpcore.WriteTimeout(TimeoutError())
            waiter: asyncio.Future[None] = loop.create_future()
            protocol.drain_waiter = waiter
            timer = None if deadline is None else loop.call_at(deadline, protocol.wake, waiter)
            try:
                await waiter
            finally:
                protocol.drain_waiter = None
                if timer is not None:
                    timer.cancel()
        if protocol.lost and protocol.error is not None:
            raise httpcore.WriteError(protocol.error) from protocol.error

    async def aclose(self) -> None:
        # Like anyio's socket stream: close (flushes what is queued), give the loop one
        # turn to do it, then make sure the socket is gone. TLS is closed without waiting
        # for the peer's close_notify, as httpcore asks of anyio (standard_compatible=False).
        if self._closed:
            return
        self._closed = True
        transport = self._transport
        try:
            if not transport.is_closing():
                transport.close()
                await asyncio.sleep(0)
        finally:
            transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        try:
            with _mapped(_CONNECT_ERRORS):
                if protocol.lost:
                    raise protocol.error or ConnectionResetError("the connection was closed")
                # asyncio's TLS (like anyio's) runs on ssl.MemoryBIO: the handshake is
                # verified by `ssl_context` as given; a bad certificate or host name raises
                # ssl.SSLCertVerificationError (an OSError) -> ConnectError, as before.
                handshake = loop.start_tls(
                    self._transport, protocol, ssl_context, server_hostname=server_hostname
                )
                transport = await _within(handshake, timeout)
        except BaseException:
            await self.aclose()
            raise
        if transport is None:  # the connection went away during the handshake
            await self.aclose()
            raise httpcore.ConnectError("the connection was closed during the TLS handshake")
        protocol.transport = transport  # type: ignore[assignment]
        return AsyncioStream(transport, protocol)  # type: ignore[arg-type]

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # asyncio reads eagerly, so a server that closed an idle keep-alive connection
            # (or sent something unexpected) shows in the protocol, not on the socket.
            protocol = self._protocol
            return bool(protocol.size) or protocol.eof or self._closed
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend on the running asyncio loop (no anyio)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        protocol = _BufferingProtocol(loop)
        with _mapped(_CONNECT_ERRORS):
            connect = loop.create_connection(
                lambda: protocol,
                host,
                port,
                local_addr=None if local_address is None else (local_address, 0),
                happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
            )
            transport, _ = await _within(connect, timeout)
            # asyncio sets TCP_NODELAY on TCP sockets itself, as anyio did.
            _set_options(transport, socket_options)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        protocol = _BufferingProtocol(loop)
        with _mapped(_CONNECT_ERRORS):
            connect = loop.create_unix_connection(lambda: protocol, path)
            transport, _ = await _within(connect, timeout)
            _set_options(transport, socket_options)
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _set_options(transport: asyncio.BaseTransport, options: Iterable[SocketOption] | None) -> None:
    if not options:
        return
    sock: socket.socket = transport.get_extra_info("socket")
    try:
        for option in options:
            sock.setsockopt(*option)  # type: ignore[arg-type]
    except BaseException:
        transport.abort()
        raise


async def _within(awaitable: Any, timeout: float | None) -> Any:
    if timeout is None:
        return await awaitable
    return await asyncio.wait_for(awaitable, timeout)


@contextmanager
def _mapped(mapping: dict[type[BaseException], type[Exception]]) -> Iterator[None]:
    """httpcore's `map_exceptions`: the first matching entry wins, the cause is kept."""
    try:
        yield
    except Exception as exc:
        for source, target in mapping.items():
            if isinstance(exc, source):
                raise target(exc) from exc
        raise
