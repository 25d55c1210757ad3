"""Download bodies take turns (api/turns.py): one at a time while it keeps the machine busy,
side by side when the network holds them back.

The admission rule runs on a manual clock; the downloads run through the product's
connection against a scripted asyncio peer on 127.0.0.1 (aio_helpers).
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aio_helpers import body_of, read_request, serve

from kbench_tui.api.connection import RpcConnection
from kbench_tui.api.download import DownloadState, download_run_output
from kbench_tui.api.turns import BodyTurns


class ManualTime:
    """A clock and a sleep that only move when the test advances them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for due, future in self._sleepers:
            if due <= self.now and not future.done():
                future.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        await settle()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


class Reader:
    """A body read in its turn: enters, reports bytes when told, leaves when told."""

    def __init__(self, turns: BodyTurns) -> None:
        self.turns = turns
        self.entered = False
        self.leave = asyncio.Event()
        self.received = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async with self.turns.turn() as received:
            self.entered = True
            self.received = received
            await self.leave.wait()

    def got(self, count: int) -> None:
        assert self.received is not None
        self.received(count)


def turns_on(time: ManualTime, limit: int = 1, patience: float = 60.0) -> BodyTurns:
    # 1,000 bytes a second, measured over 50 ms windows: 50 bytes a window is "fast".
    return BodyTurns(
        limit, window=0.05, floor=1000, patience=patience, clock=time.clock, sleep=time.sleep
    )


async def test_bodies_are_read_one_at_a_time_while_the_one_read_is_fast() -> None:
    time = ManualTime()
    turns = turns_on(time)
    first = Reader(turns)
    await settle()
    second = Reader(turns)
    await settle()
    assert first.entered and not second.entered
    for _ in range(20):
        first.got(60)  # above the floor in every window
        await time.advance(0.05)
    assert not second.entered and turns.reading == 1
    first.leave.set()
    await settle()  # no window to wait: the turn is handed on at once
    assert second.entered and turns.reading == 1
    second.leave.set()
    await asyncio.gather(first.task, second.task)
    assert turns.reading == 0


async def test_a_slow_or_stalled_body_lets_one_more_start_per_window() -> None:
    time = ManualTime()
    turns = turns_on(time)
    readers = [Reader(turns)]
    await settle()
    readers += [Reader(turns), Reader(turns)]
    await settle()
    assert [r.entered for r in readers] == [True, False, False]
    readers[0].got(10)  # well below the floor: held back by the network
    await time.advance(0.05)
    assert [r.entered for r in readers] == [True, True, False]
    await time.advance(0.05)  # both stalled now: the third starts too
    assert [r.entered for r in readers] == [True, True, True]
    assert turns.reading == 3
    for reader in readers:
        reader.leave.set()
    await asyncio.gather(*(r.task for r in readers))


async def test_a_window_is_judged_on_all_the_bodies_being_read() -> None:
    time = ManualTime()
    turns = turns_on(time)
    readers = [Reader(turns)]
    await settle()
    readers.append(Reader(turns))
    await time.advance(0.05)  # the first stalled: the second starts
    readers.append(Reader(turns))
    await settle()
    for _ in range(5):
        readers[1].got(60)  # together fast again, though the first still gets nothing
        await time.advance(0.05)
    assert [r.entered for r in readers] == [True, True, False]
    for reader in readers:
        reader.leave.set()
    await asyncio.gather(*(r.task for r in readers))


async def test_a_stalled_body_holds_the_others_up_for_one_window_not_one_each() -> None:
    time = ManualTime()
    turns = turns_on(time)
    stalled = Reader(turns)
    await settle()
    others = [Reader(turns) for _ in range(3)]
    await time.advance(0.05)  # nothing came: one more may be read at a time from now on
    assert [r.entered for r in others] == [True, False, False] and turns.allowed == 2
    others[0].leave.set()
    await settle()  # its place goes to the next at once, no window to wait
    assert [r.entered for r in others] == [True, True, False]
    others[1].leave.set()
    await settle()
    assert others[2].entered
    others[2].leave.set()
    stalled.leave.set()
    await asyncio.gather(stalled.task, *(r.task for r in others))
    # Nobody reading: the next batch starts one at a time again.
    assert turns.reading == 0 and turns.allowed == 1
    again = [Reader(turns), Reader(turns)]
    await settle()
    assert [r.entered for r in again] == [True, False]
    for reader in again:
        reader.leave.set()
    await asyncio.gather(*(r.task for r in again))


async def test_a_body_waits_at_most_its_patience() -> None:
    """A server may cut a connection it could not send on for long (nginx: 60 s)."""
    time = ManualTime()
    turns = turns_on(time, patience=0.2)
    first = Reader(turns)
    await settle()
    second = Reader(turns)
    await settle()
    for _ in range(3):
        first.got(60)  # fast: no reason to let a second body in
        await time.advance(0.05)
    assert not second.entered
    first.got(60)
    await time.advance(0.05)  # 0.2 s of waiting
    assert second.entered and turns.reading == 2
    for reader in (first, second):
        reader.leave.set()
    await asyncio.gather(first.task, second.task)


async def test_up_to_limit_bodies_start_without_waiting() -> None:
    time = ManualTime()
    turns = turns_on(time, limit=2)
    readers = [Reader(turns) for _ in range(3)]
    await settle()
    assert [r.entered for r in readers] == [True, True, False]
    for reader in readers:
        reader.leave.set()
    await asyncio.gather(*(r.task for r in readers))


async def test_a_cancelled_wait_takes_no_turn_and_an_error_gives_one_back() -> None:
    time = ManualTime()
    turns = turns_on(time)
    first = Reader(turns)
    await settle()
    waiting = Reader(turns)
    await settle()
    waiting.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting.task
    assert turns.reading == 1

    async def failing() -> None:
        async with turns.turn():
            raise OSError("disk full")

    third = asyncio.ensure_future(failing())
    first.leave.set()
    with pytest.raises(OSError, match="disk full"):
        await third
    assert turns.reading == 0
    await first.task
    assert all(future.done() for _, future in time._sleepers)  # no sleep left behind


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BodyTurns(0)


def archive_of(run_id: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("padding.bin", body_of(200_000, seed=run_id))
    return buffer.getvalue()


def held_back_storage(
    archives: dict[int, bytes], release: asyncio.Event, heads: list[int]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """The RPC answers with a 302 to /blob/<run>.zip; each GET there gets its head and first
    1,000 bytes at once, the rest once `release` is set. `heads`: runs whose head went out."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await read_request(reader)
            if request.startswith(b"POST"):
                length = int(request.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                run_id = json.loads(await reader.readexactly(length))["runId"]
                writer.write(
                    f"HTTP/1.1 302 Found\r\nLocation: /blob/{run_id}.zip\r\n"
                    "Content-Length: 0\r\n\r\n".encode()
                )
                await writer.drain()
                continue
            run_id = int(request.split(b"/blob/")[1].split(b".zip")[0])
            body = archives[run_id]
            writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode())
            writer.write(body[:1000])
            await writer.drain()
            heads.append(run_id)
            await release.wait()
            writer.write(body[1000:])
            await writer.drain()

    return handler


async def test_bodies_the_network_holds_back_are_read_side_by_side(tmp_path: Path) -> None:
    """Four storage GETs send their first bytes, then nothing until all four bodies are
    being read: taking turns strictly, the first would wait forever (here: time out)."""
    runs = [901, 902, 903, 904]
    archives = {run_id: archive_of(run_id) for run_id in runs}
    release = asyncio.Event()
    handler = held_back_storage(archives, release, [])

    async with (
        serve(handler) as port,
        RpcConnection(f"http://127.0.0.1:{port}", None) as connection,
    ):
        connection.body_turns = BodyTurns(window=0.002)
        seen: list[int] = []

        async def release_when_all_read() -> None:
            while connection.body_turns.reading < len(runs):
                seen.append(connection.body_turns.reading)
                await asyncio.sleep(0.001)
            release.set()

        watcher = asyncio.ensure_future(release_when_all_read())
        results = await asyncio.wait_for(
            asyncio.gather(*(download_run_output(connection, r, tmp_path / str(r)) for r in runs)),
            timeout=10,
        )
        await watcher
    assert [r.state for r in results] == [DownloadState.DONE] * len(runs)
    for run_id in runs:
        assert (tmp_path / str(run_id) / "padding.bin").read_bytes() == body_of(
            200_000, seed=run_id
        )
    # Had the bodies not been let in as they stalled, the downloads would have timed out.


async def test_on_a_fast_link_bodies_are_read_one_at_a_time(tmp_path: Path) -> None:
    """Every head is in and every body has bytes waiting, yet one body is read; the others
    follow one after another (no window passes here: nothing counts as slow)."""
    runs = [901, 902, 903]
    archives = {run_id: archive_of(run_id) for run_id in runs}
    release = asyncio.Event()
    heads: list[int] = []
    async with (
        serve(held_back_storage(archives, release, heads)) as port,
        RpcConnection(f"http://127.0.0.1:{port}", None) as connection,
    ):
        connection.body_turns = BodyTurns(window=3600)
        downloads = asyncio.gather(
            *(download_run_output(connection, r, tmp_path / str(r)) for r in runs)
        )
        for _ in range(2000):
            if len(heads) == len(runs) and connection.body_turns.reading:
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.02)  # time for any other body to be let in, if it were
        assert connection.body_turns.reading == 1
        release.set()
        results = await asyncio.wait_for(downloads, timeout=10)
    assert [r.state for r in results] == [DownloadState.DONE] * len(runs)
