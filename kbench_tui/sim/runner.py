"""Start and stop a simulator in a background thread: `start_sim(config) -> RunningSim`.

The server runs uvicorn (httptools) on its own event loop in a daemon thread, so it can
be started from plain code, from tests, and from inside a running asyncio loop (the
dashboard's `--demo`) alike: `start_sim` never touches the caller's loop. The listening
socket is bound in the caller's thread first, so "port in use" raises `OSError` right
there and `port=0` yields the real port before any request is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sqlite3
import threading
import time
from types import TracebackType

import uvicorn

from kbench_tui.sim.clock import Clock, ScaledClock
from kbench_tui.sim.engine import Engine
from kbench_tui.sim.faults import FaultSet, FaultSpecError, parse_faults
from kbench_tui.sim.seed import seed_store
from kbench_tui.sim.server import SimState, build_app
from kbench_tui.sim.settings import SimConfig, SimConfigError
from kbench_tui.sim.store import Store

__all__ = ["RunningSim", "SimConfig", "SimConfigError", "start_sim", "start_sim_async"]

_START_TIMEOUT = 10.0


class _DropIntentionalCuts(logging.Filter):
    """Hide uvicorn's complaint about responses we cut on purpose (injected faults)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DropIntentionalCuts())


class RunningSim:
    """A simulator serving in a background thread; stop it with `stop()` or `with`."""

    def __init__(
        self,
        config: SimConfig,
        clock: Clock,
        store: Store,
        engine: Engine,
        state: SimState,
        server: uvicorn.Server,
        sock: socket.socket,
    ) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.engine = engine
        self.state = state
        self._server = server
        self._socket = sock
        self.port: int = sock.getsockname()[1]
        host = config.host if config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        self.url = f"http://{host}:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(
            target=self._serve, name=f"kbench-sim-{self.port}", daemon=True
        )
        self._error: BaseException | None = None
        self._stopped = False

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        except BaseException as error:  # reported to the starting thread, not swallowed
            self._error = error
        finally:
            loop.close()

    def _start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise RuntimeError(f"simulator failed to start: {self._error!r}")
            time.sleep(0.005)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def set_faults(self, specs: list[str]) -> None:
        """Replace the active faults at run time (raises FaultSpecError on a bad spec)."""
        self.state.faults = FaultSet(parse_faults(specs, self.config.rng_seed))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server thread ends; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Shut down: end open log streams, stop uvicorn, join the thread, close the DB."""
        if self._stopped:
            return
        self._stopped = True
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            # asyncio.Event is not thread-safe: set it from its own loop.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.state.stopping.set)
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        self.store.close()

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio enables TCP_NODELAY on accepted sockets only
    # when it is set; without it every response pays ~40 ms of Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def start_sim(config: SimConfig, *, clock: Clock | None = None) -> RunningSim:
    """Build, seed and start a simulator; returns once it accepts connections.

    Raises SimConfigError for bad faults or an unusable `--db`, OSError when the port
    cannot be bound.
    """
    try:
        faults = FaultSet(parse_faults(config.faults, config.rng_seed))
    except FaultSpecError as error:
        raise SimConfigError(str(error)) from error
    clock = clock if clock is not None else ScaledClock(config.speed)
    try:
        store = Store(config.db)
    except sqlite3.Error as error:  # missing directory, not a database, read-only, ...
        raise SimConfigError(f"cannot open --db {config.db!r}: {error}") from error
    try:
        seed_store(store, clock, config)
        engine = Engine(store, clock, config)
        state = SimState(engine, dict(config.users), faults)
        sock = _bind(config.host, config.port)
    except BaseException:
        store.close()
        raise
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(state),
            http="httptools",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    running = RunningSim(config, clock, store, engine, state, server, sock)
    running._start()
    return running


async def start_sim_async(config: SimConfig, *, clock: Clock | None = None) -> RunningSim:
    """`start_sim` for async callers: the short blocking start runs in a worker thread."""
    return await asyncio.to_thread(start_sim, config, clock=clock)
