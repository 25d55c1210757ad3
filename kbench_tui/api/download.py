"""Download a run's output zip: resumable, verified, extracted safely, swapped in atomically.

Files, all beside the run directory `<parent>/<run_id>/`:
- `<run_id>.zip.part` receives the bytes; `<run_id>.zip.part.json` (mode 0600) records
  `{run_id, include_source, url, validator, size}` of the answer being saved.
- `<run_id>.zip` is the complete archive while it is checked (left behind if it is bad,
  like the kaggle CLI does); `<run_id>.download/` is the staging directory.

Resume: after a cut connection (or on a later call, thanks to the sidecar) the saved URL is
asked again with `Range: bytes=<n>-` and `If-Range: <validator>`. The bytes are appended
only on a `206` whose `Content-Range` starts at `n` with the recorded total size; a `200`
means the object changed and the file restarts from zero. Without a validator (ETag, else
Last-Modified), a known size and `Accept-Ranges: bytes`, nothing is resumed.

Once every byte is in, checking, extracting and swapping run in a worker thread, so the
other transfers on the event loop keep receiving meanwhile; a cancellation waits for that
thread to finish rather than leave its files half-written.

Redirects are followed by hand: credentials go only to the endpoint's own origin, never to
the host a redirect points at (a signed storage URL needs none). The GETs (the storage URL,
the resumes) are read by `RpcConnection.open_get`: api/bulk.py's reader, which hands the
body to the file with one copy per byte, instead of httpx's 64 KB pieces.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx

from kbench_tui.api.bulk import BulkResponse
from kbench_tui.api.connection import RpcConnection
from kbench_tui.api.errors import ApiError, AuthError, ProtocolError
from kbench_tui.api.retry import RetryableFailure, RetryPolicy, retry_delay, should_retry
from kbench_tui.api.unzip import UnsafeZipError, extract_zip, tree_size
from kbench_tui.slugs import normalize_model_slug

__all__ = ["DownloadResult", "DownloadState", "download_run_output", "run_output_dir"]

RPC = "DownloadBenchmarkTaskRunOutput"
TASKS = "benchmarks.BenchmarkTasksApiService"
MAX_REDIRECTS = 5
_SMALL_BODY = 64 * 1024  # a redirect body read to keep its connection (see _read_small_body)
_SMALL_BODY_WAIT = 2.0
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

Progress = Callable[[int, int | None], None]


class DownloadState(str, Enum):
    """Outcome of one run's download, worded like the kaggle CLI's table."""

    DONE = "Done"
    CACHED = "Cached"
    BAD_ZIP = "Bad zip"
    FAILED = "Failed"


@dataclass(frozen=True)
class DownloadResult:
    """`path` is the run directory; `bytes` its extracted size; `transferred` this call's bytes."""

    state: DownloadState
    path: Path
    bytes: int = 0
    transferred: int = 0
    message: str = ""


@dataclass
class _Target:
    """What the bytes on disk belong to (persisted in the sidecar)."""

    url: str
    validator: str | None
    size: int | None
    resumable: bool


def run_output_dir(
    output: Path, task: str, version: int | None, model_slug: str, run_id: int
) -> Path:
    """`<output>/<task>/<version or 'unset'>/<normalised model>/<run_id>/` (CLI layout §7.3)."""
    return (
        output
        / task
        / (str(version) if version else "unset")
        / normalize_model_slug(model_slug)
        / str(run_id)
    )


class _Download:
    """One download's state machine; see the module docstring."""

    def __init__(
        self,
        client: RpcConnection,
        run_id: int,
        include_source: bool,
        part: Path,
        progress: Progress | None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.include_source = include_source
        self.part = part
        self.sidecar = part.with_name(part.name + ".json")
        self.progress = progress
        self.target: _Target | None = self._load_sidecar()
        self.transferred = 0
        self.reached = 0
        """The furthest the `.part` has got in this call: a retry counts as progress only
        when it goes further (a restart from zero that is cut again is no progress)."""

    def _load_sidecar(self) -> _Target | None:
        if not self.part.exists():
            self.sidecar.unlink(missing_ok=True)
            return None
        try:
            data = json.loads(self.sidecar.read_text(encoding="utf-8"))
            if (
                data.get("run_id") != self.run_id
                or data.get("include_source") != self.include_source
            ):
                return None  # bytes of another request: start over
            return _Target(data["url"], data["validator"], data["size"], resumable=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _save_sidecar(self, target: _Target) -> None:
        data = {
            "run_id": self.run_id,
            "include_source": self.include_source,
            "url": target.url,
            "validator": target.validator,
            "size": target.size,
        }
        # The URL may be a signed storage link: keep it private to the user.
        fd = os.open(self.sidecar, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)

    def _request_options(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """Headers plus whether credentials may go along: only to the endpoint's own origin."""
        return {
            "headers": {"Accept-Encoding": "identity", **headers},
            "with_credentials": _origin(url) == self.client.origin,
        }

    async def attempt(self) -> None:
        """One request: resume the saved target, else ask the RPC; stream into `.part`."""
        offset = self.part.stat().st_size if self.part.exists() else 0
        target = self.target
        if target is not None and target.resumable and target.size and 0 < offset < target.size:
            headers = {"Range": f"bytes={offset}-"}
            if target.validator:
                headers["If-Range"] = target.validator
            options = self._request_options(target.url, headers)
            async with self.client.open_get(target.url, rpc=RPC, **options) as response:
                status = response.status_code
                if status == 206 and self._range_matches(response, offset, target):
                    await self._receive(response, offset, target.size)
                    return
                if status == 200:
                    # If-Range did not match: the object changed, this is the whole new one.
                    self.target = self._target_of(response, target.url)
                    await self._receive(response, 0, self.target.size)
                    return
                if status == 429 or status >= 500:
                    await self._check_zip_answer(response)  # transient: keep the bytes
            # Anything else (an expired link, 416, a 206 for other bytes): start over.
            self.target = None
            self.part.unlink(missing_ok=True)
            self.sidecar.unlink(missing_ok=True)
        await self._fetch_from_rpc()

    async def _fetch_from_rpc(self) -> None:
        url = self.client.rpc_url(TASKS, RPC)
        body: dict | None = {"runId": self.run_id}
        if self.include_source:
            body = {"runId": self.run_id, "includeSource": True}
        method = "POST"
        for _ in range(MAX_REDIRECTS + 1):
            options = self._request_options(url, {})
            if method == "GET":
                opened = self.client.open_get(url, rpc=RPC, **options)
            else:
                opened = self.client.open_stream(url, body, rpc=RPC, method=method, **options)
            async with opened as response:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    url = urljoin(str(response.url), location)
                    if response.status_code in (301, 302, 303):
                        method, body = "GET", None  # like browsers and requests
                    await _read_small_body(response)
                    continue
                await self._check_zip_answer(response)
                self.target = self._target_of(response, url)
                await self._receive(response, 0, self.target.size)
                return
        raise RetryableFailure(ProtocolError("too many redirects", rpc=RPC), sent=True)

    async def _check_zip_answer(self, response: httpx.Response | BulkResponse) -> None:
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 300 or "application/json" in content_type:
            try:
                content = await response.aread()
            except httpx.HTTPError as exc:
                raise self.client.transport_failure(exc, RPC, reading_body=True) from None
            error = self.client.answer_error(response, content, RPC) or ProtocolError(
                "expected a zip archive, got JSON", rpc=RPC
            )
            raise RetryableFailure(error, sent=True)

    def _target_of(self, response: httpx.Response | BulkResponse, url: str) -> _Target:
        length = response.headers.get("content-length")
        size = int(length) if length and length.isdigit() else None
        validator = response.headers.get("etag") or response.headers.get("last-modified")
        ranges = response.headers.get("accept-ranges", "").lower() == "bytes"
        return _Target(url, validator, size, resumable=bool(validator and size and ranges))

    @staticmethod
    def _range_matches(
        response: httpx.Response | BulkResponse, offset: int, target: _Target
    ) -> bool:
        """A 206 continues our file only if it starts at `offset` of the same-sized object."""
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if match is None or int(match[1]) != offset or match[3] != str(target.size):
            return False
        etag = response.headers.get("etag")
        recorded_etag = target.validator if target.validator and '"' in target.validator else None
        return etag is None or recorded_etag is None or etag == recorded_etag

    async def _receive(
        self, response: httpx.Response | BulkResponse, offset: int, size: int | None
    ) -> None:
        """Write the body at `offset` (0 truncates), reporting progress per chunk.

        The body is read in its turn (api/turns.py): the request is already answered, and
        a body waiting for its turn is held by TCP flow control.
        """
        target = self.target
        if target is not None and target.resumable:
            self._save_sidecar(target)
        else:
            # A sidecar left from another answer would describe bytes it did not send.
            self.sidecar.unlink(missing_ok=True)
        with open(self.part, "r+b" if offset else "wb") as sink:
            sink.seek(offset)
            sink.truncate()
            async with self.client.body_turns.turn() as received:
                done = await self._stream(response, sink, offset, size, received)
        if size is not None and done != size:
            raise RetryableFailure(
                ProtocolError(f"received {done} of {size} bytes", rpc=RPC), sent=True
            )

    async def _stream(
        self,
        response: httpx.Response | BulkResponse,
        sink: BinaryIO,
        offset: int,
        size: int | None,
        received: Callable[[int], None],
    ) -> int:
        """Write the body into `sink` as it arrives; where the file ends then."""
        done = offset

        def write(chunk: bytes | memoryview) -> None:
            nonlocal done
            sink.write(chunk)
            received(len(chunk))
            done += len(chunk)
            self.transferred += len(chunk)
            self.reached = max(self.reached, done)
            if self.progress is not None:
                self.progress(done, size)

        try:
            # Every byte that arrived is on disk when a cut is noticed: the bulk reader
            # passes each piece on as received, and httpx (no chunk_size) does not buffer.
            if isinstance(response, BulkResponse):
                await response.stream_into(write)
            else:
                async for chunk in response.aiter_raw():
                    write(chunk)
        except httpx.HTTPError as exc:
            raise self.client.transport_failure(exc, RPC, reading_body=True) from None
        finally:
            sink.flush()
        return done


async def _read_small_body(response: httpx.Response | BulkResponse) -> None:
    """Read a redirect's body when it is known to be small: a connection whose answer was
    not read to its end is closed, so each run's RPC would pay a new connection (and TLS
    handshake) to the endpoint."""
    length = response.headers.get("content-length", "")
    if not length.isdigit() or int(length) > _SMALL_BODY:
        return
    # Briefly: downloads have no read timeout, and a body that never comes must not hold
    # the download up. Failing or giving up only means the connection is not reused.
    reading = asyncio.ensure_future(response.aread())
    try:
        await asyncio.wait((reading,), timeout=_SMALL_BODY_WAIT)
    finally:
        if not reading.done():
            reading.cancel()
            await asyncio.wait((reading,))
    if not reading.cancelled():
        with suppress(httpx.HTTPError):
            reading.result()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


async def download_run_output(
    client: RpcConnection,
    run_id: int,
    dest_dir: Path,
    *,
    include_source: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
) -> DownloadResult:
    """Download and extract a run's output into `dest_dir` (see the module docstring).

    A non-empty `dest_dir` is CACHED (no request) unless `force`. A bad or unsafe zip is
    BAD_ZIP with nothing written outside the staging directory and `dest_dir` untouched.
    Other failures after retries are FAILED (the `.part` is kept for a later resume),
    except rejected credentials, which raise AuthError since no other run can succeed.
    """
    dest_dir = Path(dest_dir)
    if not force and dest_dir.is_dir() and any(dest_dir.iterdir()):
        return DownloadResult(DownloadState.CACHED, dest_dir, tree_size(dest_dir))
    parent = dest_dir.parent
    policy = retry or client.retry
    try:
        parent.mkdir(parents=True, exist_ok=True)
        download = _Download(
            client, run_id, include_source, parent / f"{run_id}.zip.part", progress
        )
        await _with_resume(download, policy, client)
    except AuthError:
        raise
    except ApiError as error:
        return DownloadResult(DownloadState.FAILED, dest_dir, 0, 0, str(error))
    except OSError as exc:
        # A write to an open file (a full disk) names no file: it was the download's.
        where = exc.filename or parent / f"{run_id}.zip.part"
        return DownloadResult(
            DownloadState.FAILED, dest_dir, 0, 0, f"cannot write {where}: {exc.strerror}"
        )

    # Checking, extracting and swapping the archive is file work that would stall every
    # other transfer on this event loop for its duration: it runs in a worker thread.
    return await _uninterrupted(
        asyncio.to_thread(
            _finish, download.part, download.sidecar, run_id, dest_dir, download.transferred
        ),
    )


async def _uninterrupted(work: Awaitable[DownloadResult]) -> DownloadResult:
    """Await `work` to its end even if cancelled meanwhile, then re-raise the cancellation.

    A thread cannot be stopped half-way; returning early would leave the staging directory
    and the archive behind while it still writes into them.
    """
    future = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(future)
            break
        except asyncio.CancelledError:
            if future.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


def _finish(
    part: Path, sidecar: Path, run_id: int, dest_dir: Path, transferred: int
) -> DownloadResult:
    """The complete `.part` becomes `<run_id>.zip`, is checked and extracted, then swapped in."""
    parent = dest_dir.parent
    archive = parent / f"{run_id}.zip"
    os.replace(part, archive)
    sidecar.unlink(missing_ok=True)
    staging = parent / f"{run_id}.download"
    try:
        extract_zip(archive, staging)
    except UnsafeZipError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return DownloadResult(
            DownloadState.BAD_ZIP, dest_dir, 0, transferred, f"{exc} (kept {archive})"
        )
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return DownloadResult(
            DownloadState.FAILED, dest_dir, 0, transferred, f"cannot extract: {exc.strerror}"
        )
    _swap_into_place(staging, dest_dir)
    archive.unlink(missing_ok=True)
    return DownloadResult(DownloadState.DONE, dest_dir, tree_size(dest_dir), transferred)


async def _with_resume(download: _Download, policy: RetryPolicy, client: RpcConnection) -> None:
    """Attempt until complete; give up after `max_attempts` failures in a row with no bytes."""
    failures = 0
    while True:
        before = download.reached
        try:
            await download.attempt()
            return
        except RetryableFailure as failure:
            error = failure.error
            if not should_retry(error, "read", sent=failure.sent):
                raise error from None
            # A cut further into the archive than ever is progress: only failures in a row
            # that got no further count towards giving up, so a long flaky download still
            # completes, and one restarted from zero and cut again does not loop forever.
            failures = 0 if download.reached > before else failures + 1
            if failures >= policy.max_attempts:
                raise error from None
            delay = retry_delay(error, policy, max(failures - 1, 0), client.rng)
            if delay is None:
                raise error from None
            if client.on_retry is not None:
                client.on_retry(max(failures, 1), delay, error)
            await client.sleep(delay)


def _swap_into_place(staging: Path, dest_dir: Path) -> None:
    """Replace `dest_dir` with `staging` so a good old copy is never lost half-way."""
    old = dest_dir.with_name(dest_dir.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if dest_dir.exists():
        os.replace(dest_dir, old)
    os.replace(staging, dest_dir)
    shutil.rmtree(old, ignore_errors=True)
