"""Loopback servers for the network backend tests (tests/api/test_api_aio*.py).

Each is a plain asyncio server on 127.0.0.1 port 0 in the test's own loop, with a handler
that scripts one kind of peer: a well-behaved one, one that never answers, one that cuts
the body short, and so on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from kbench_tui.api.tls import OnDemandTLSTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

# The product's transport (asyncio backend) and httpx's own (anyio backend), so a fault can
# be checked to surface as the very same httpx exception through both.
TRANSPORTS: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {
    "asyncio": OnDemandTLSTransport,
    "anyio": httpx.AsyncHTTPTransport,
}


def body_of(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.asynccontextmanager
async def serve(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[int]:
    """Yield the port of a server running `handler` per connection; handlers are cancelled."""
    tasks: set[asyncio.Task[Any]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # stopped by `serve` below; end quietly (asyncio logs a cancelled handler)
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(run, host, 0, ssl=ssl_context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """The request head (bodies are read by the handlers that expect one)."""
    return await reader.readuntil(b"\r\n\r\n")


def head(length: int | None, *extra: str) -> bytes:
    lines = ["HTTP/1.1 200 OK"]
    lines += [f"content-length: {length}"] if length is not None else ["transfer-encoding: chunked"]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def send_in_pieces(writer: asyncio.StreamWriter, data: bytes, seed: int = 3) -> None:
    """Irregular writes (1 byte to 300 KB) so reads see every kind of boundary."""
    rng = random.Random(seed)
    view = memoryview(data)
    offset = 0
    while offset < len(data):
        step = rng.choice((1, 17, 1000, 65536, 65537, 300_000))
        writer.write(view[offset : offset + step])
        offset += step
        await writer.drain()


def reset_on_close(writer: asyncio.StreamWriter) -> None:
    """Make closing the socket send an RST (a cut connection), not a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
