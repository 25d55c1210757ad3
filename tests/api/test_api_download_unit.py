"""Downloads against an in-memory transport: zip safety, redirects, resume rules."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import json
import stat
import threading
import zipfile
from pathlib import Path

import httpx
import pytest
from api_helpers import CANARY, CutStream, mock_client

from kbench_tui.api import download as download_module
from kbench_tui.api.download import DownloadState, download_run_output, run_output_dir
from kbench_tui.api.errors import AuthError
from kbench_tui.api.unzip import UnsafeZipError, check_zip


def make_zip(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


GOOD = make_zip({"task.run.json": b'{"state": "COMPLETED"}' * 2000, "sub/notes.txt": b"hello"})


def test_run_output_dir_uses_the_cli_layout(tmp_path: Path) -> None:
    assert run_output_dir(tmp_path, "my-task", 3, "anthropic/claude@default", 901) == (
        tmp_path / "my-task" / "3" / "claude-default" / "901"
    )
    assert (
        run_output_dir(tmp_path, "alice/t", None, "m", 1)
        == tmp_path / "alice" / "t" / "unset" / "m" / "1"
    )


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        (make_zip({"/etc/evil": b"x"}), "absolute"),
        (make_zip({"../evil": b"x"}), "'..'"),
        (make_zip({"a/../../evil": b"x"}), "'..'"),
        (make_zip({"C:/evil": b"x"}), "absolute"),
        (make_zip({"ok.txt": b"x"}, symlink="link"), "symbolic link"),
        (b"", "not a valid zip"),
        (b"PK\x03\x04garbage", "not a valid zip"),
    ],
)
def test_unsafe_or_corrupt_archives_are_refused(
    tmp_path: Path, archive: bytes, reason: str
) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(archive)
    with pytest.raises(UnsafeZipError, match=reason):
        check_zip(path)


def test_crc_errors_are_refused(tmp_path: Path) -> None:
    data = bytearray(
        make_zip(
            {"f.txt": b"A" * 1000},
        )
    )
    # Flip a byte of the (stored, uncompressed) member data; the CRC no longer matches.
    data[data.index(b"A" * 10) + 5] ^= 0xFF
    path = tmp_path / "a.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeZipError, match="CRC"):
        check_zip(path)


def zip_server(
    payload: bytes,
    *,
    cut_at: list[int] | None = None,
    etag: str = '"v1"',
    storage: str = "http://storage.test",
) -> tuple[list[httpx.Request], object]:
    """RPC answers 302 to a storage host serving `payload` with ranges; cuts per request."""
    requests: list[httpx.Request] = []
    cuts = list(cut_at or [])

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            return httpx.Response(302, headers={"Location": f"{storage}/blob/901.zip?sig=abc"})
        start = 0
        status = 200
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "application/zip"}
        range_header = request.headers.get("range")
        if range_header and request.headers.get("if-range") == etag:
            start = int(range_header.split("=")[1].rstrip("-"))
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(payload) - 1}/{len(payload)}"
        body = payload[start:]
        headers["Content-Length"] = str(len(body))
        if cuts:
            cut = cuts.pop(0)
            stream = CutStream([body[:cut]], httpx.RemoteProtocolError("peer closed connection"))
            return httpx.Response(status, headers=headers, stream=stream)
        return httpx.Response(status, headers=headers, stream=CutStream([body]))

    return requests, handler


async def test_download_follows_redirect_without_sending_credentials_elsewhere(
    tmp_path: Path,
) -> None:
    requests, handler = zip_server(GOOD)
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    progress: list[tuple[int, int | None]] = []
    dest = tmp_path / "out" / "901"
    result = await download_run_output(
        client, 901, dest, include_source=True, progress=lambda d, t: progress.append((d, t))
    )
    assert result.state is DownloadState.DONE, result.message
    assert (dest / "task.run.json").read_bytes() == b'{"state": "COMPLETED"}' * 2000
    assert (dest / "sub" / "notes.txt").read_text() == "hello"
    post, get = requests
    assert json.loads(post.content) == {"runId": 901, "includeSource": True}
    assert post.headers["authorization"] == f"Bearer {CANARY}"
    assert get.method == "GET" and get.url.host == "storage.test"
    assert "authorization" not in get.headers  # another origin: no credentials
    assert progress[-1] == (len(GOOD), len(GOOD))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["901"]  # nothing left over
    assert result.transferred == len(GOOD)


async def test_same_origin_redirect_keeps_credentials(tmp_path: Path) -> None:
    requests, handler = zip_server(GOOD, storage="http://sim.test")
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.DONE
    assert requests[1].headers["authorization"] == f"Bearer {CANARY}"


async def test_cut_download_resumes_with_range_and_if_range(tmp_path: Path) -> None:
    requests, handler = zip_server(GOOD, cut_at=[len(GOOD) // 2])
    client, sleep = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.DONE, result.message
    resume = requests[-1]
    assert resume.headers["range"] == f"bytes={len(GOOD) // 2}-"
    assert resume.headers["if-range"] == '"v1"'
    assert len(sleep.delays) == 1
    assert result.transferred == len(GOOD)  # no byte fetched twice


async def test_resume_answered_200_restarts_from_zero(tmp_path: Path) -> None:
    requests, serve = zip_server(GOOD, cut_at=[1000])

    def changed(request: httpx.Request) -> httpx.Response:
        if request.headers.get("range"):
            # The object changed on the server: If-Range no longer matches, so the whole
            # object comes back with 200 and the file must restart from zero.
            request.headers["if-range"] = "stale"
        return serve(request)  # type: ignore[operator]

    client, _ = mock_client(changed)
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.DONE, result.message
    assert requests[-1].headers["range"] == "bytes=1000-"
    assert result.transferred == 1000 + len(GOOD)


async def test_resume_across_calls_uses_the_sidecar(tmp_path: Path) -> None:
    _, handler = zip_server(GOOD, cut_at=[3000, 0, 0, 0, 0])
    client, _ = mock_client(handler, attempts=2)  # type: ignore[arg-type]
    failed = await download_run_output(client, 901, tmp_path / "901")
    assert failed.state is DownloadState.FAILED
    part = tmp_path / "901.zip.part"
    sidecar = json.loads((tmp_path / "901.zip.part.json").read_text())
    assert part.stat().st_size == 3000
    assert sidecar["validator"] == '"v1"' and sidecar["size"] == len(GOOD)
    assert stat.S_IMODE((tmp_path / "901.zip.part.json").stat().st_mode) == 0o600
    requests2, handler2 = zip_server(GOOD)
    client2, _ = mock_client(handler2)  # type: ignore[arg-type]
    done = await download_run_output(client2, 901, tmp_path / "901")
    assert done.state is DownloadState.DONE
    assert requests2[0].method == "GET" and requests2[0].headers["range"] == "bytes=3000-"
    assert done.transferred == len(GOOD) - 3000


async def test_sidecar_for_another_request_is_not_resumed(tmp_path: Path) -> None:
    (tmp_path / "901.zip.part").write_bytes(b"x" * 100)
    (tmp_path / "901.zip.part.json").write_text(
        json.dumps(
            {
                "run_id": 901,
                "include_source": True,
                "url": "http://storage.test/x",
                "validator": '"v1"',
                "size": 9,
            }
        )
    )
    requests, handler = zip_server(GOOD)
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, tmp_path / "901", include_source=False)
    assert result.state is DownloadState.DONE
    assert requests[0].method == "POST" and "range" not in requests[1].headers


async def test_cached_directory_makes_no_request(tmp_path: Path) -> None:
    dest = tmp_path / "901"
    dest.mkdir()
    (dest / "a.run.json").write_text("{}")

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    client, _ = mock_client(handler)
    result = await download_run_output(client, 901, dest)
    assert result.state is DownloadState.CACHED and result.bytes == 2


async def test_force_replaces_the_old_copy_atomically(tmp_path: Path) -> None:
    dest = tmp_path / "901"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")
    _, handler = zip_server(GOOD)
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, dest, force=True)
    assert result.state is DownloadState.DONE
    assert sorted(p.name for p in dest.iterdir()) == ["sub", "task.run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["901"]


@pytest.mark.parametrize(
    "archive",
    [make_zip({"../escape.txt": b"x"}), make_zip({"a": b"x"}, symlink="evil"), b"not a zip at all"],
)
async def test_bad_zip_writes_nothing_and_keeps_old_copy(tmp_path: Path, archive: bytes) -> None:
    root = tmp_path / "root"
    dest = root / "901"
    dest.mkdir(parents=True)
    (dest / "good.txt").write_text("keep")
    _, handler = zip_server(archive)
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, dest, force=True)
    assert result.state is DownloadState.BAD_ZIP
    assert (dest / "good.txt").read_text() == "keep"
    assert sorted(p.name for p in root.iterdir()) == ["901", "901.zip"]  # zip kept, like the CLI
    assert not (tmp_path / "escape.txt").exists() and not (root / "escape.txt").exists()


async def test_json_error_instead_of_a_zip_is_failed_with_the_message(tmp_path: Path) -> None:
    client, _ = mock_client(
        lambda r: httpx.Response(404, json={"code": 404, "message": "run not found"})
    )
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.FAILED and "run not found" in result.message
    assert list(tmp_path.iterdir()) == []


async def test_rejected_credentials_raise(tmp_path: Path) -> None:
    client, _ = mock_client(lambda r: httpx.Response(401, json={"code": 401, "message": "no"}))
    with pytest.raises(AuthError):
        await download_run_output(client, 901, tmp_path / "901")


async def test_bytes_are_identical(tmp_path: Path) -> None:
    payload = make_zip({"big.bin": bytes(range(256)) * 4000})
    _, handler = zip_server(payload, cut_at=[70_000, 10])
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.DONE
    expected = hashlib.sha256(bytes(range(256)) * 4000).hexdigest()
    assert hashlib.sha256((tmp_path / "901" / "big.bin").read_bytes()).hexdigest() == expected


async def test_cancelled_during_extraction_it_finishes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extraction runs in a thread that cannot be stopped: cancelling waits for it to end."""
    started, release = threading.Event(), threading.Event()
    real = download_module.extract_zip

    def held(path: Path, staging: Path) -> int:
        started.set()
        release.wait(10)
        return real(path, staging)

    monkeypatch.setattr(download_module, "extract_zip", held)
    _, handler = zip_server(GOOD)
    client, _ = mock_client(handler)  # type: ignore[arg-type]
    dest = tmp_path / "out" / "901"
    task = asyncio.ensure_future(download_run_output(client, 901, dest))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()  # still waiting for the thread, not returned half-way
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["901"]  # nothing half-done
    assert (dest / "sub" / "notes.txt").read_text() == "hello"


async def test_a_download_that_cannot_resume_and_is_always_cut_gives_up(tmp_path: Path) -> None:
    """No validator, no ranges: every retry starts from zero and is cut at the same place.
    Bytes arrive each time, but the file never gets further: that is no progress."""
    gets: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(302, headers={"Location": "http://storage.test/blob.zip"})
        gets.append(request)
        assert len(gets) < 50, "retried forever"  # the sleeps are instant: fail, not hang
        stream = CutStream([GOOD[:1000]], httpx.RemoteProtocolError("peer closed connection"))
        headers = {"Content-Length": str(len(GOOD)), "Content-Type": "application/zip"}
        return httpx.Response(200, headers=headers, stream=stream)

    client, sleep = mock_client(handler)  # type: ignore[arg-type]
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.FAILED
    # The first attempt got somewhere; then max_attempts (5) that got no further.
    assert len(gets) == 6 and len(sleep.delays) == 5
    assert all("range" not in request.headers for request in gets)


async def test_a_redirect_body_that_never_comes_does_not_hold_the_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The redirect's small body is read to keep its connection, but only briefly."""
    monkeypatch.setattr(download_module, "_SMALL_BODY_WAIT", 0.05)

    class Stalled(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[override]
            await asyncio.Event().wait()  # promises 20 bytes, sends none
            yield b""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            headers = {"Location": "http://storage.test/blob.zip", "Content-Length": "20"}
            return httpx.Response(302, headers=headers, stream=Stalled())
        headers = {"Content-Length": str(len(GOOD)), "Content-Type": "application/zip"}
        return httpx.Response(200, headers=headers, stream=CutStream([GOOD]))

    client, _ = mock_client(handler)  # type: ignore[arg-type]
    result = await asyncio.wait_for(download_run_output(client, 901, tmp_path / "901"), 10)
    assert result.state is DownloadState.DONE, result.message


async def test_a_full_disk_names_the_file_and_keeps_what_arrived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing write to an open file names no file: the message names the `.part`."""
    cut = len(GOOD) // 2
    real_open = open

    class Full:
        def __init__(self, handle) -> None:  # type: ignore[no-untyped-def]
            self.handle = handle
            self.written = 0

        def write(self, data) -> int:  # type: ignore[no-untyped-def]
            if self.written + len(data) > cut:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.handle.write(data)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.handle, name)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    def fake_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(file, mode, *args, **kwargs)
        return Full(handle) if str(file).endswith(".zip.part") and "b" in mode else handle

    monkeypatch.setattr(download_module, "open", fake_open, raising=False)
    chunks = [GOOD[i : i + 1000] for i in range(0, len(GOOD), 1000)]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(302, headers={"Location": "http://storage.test/blob"})
        headers = {"ETag": '"v1"', "Accept-Ranges": "bytes", "Content-Length": str(len(GOOD))}
        return httpx.Response(200, headers=headers, stream=CutStream(chunks))

    client, _ = mock_client(handler)
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.FAILED
    assert result.message == f"cannot write {tmp_path / '901.zip.part'}: No space left on device"
    kept = (tmp_path / "901.zip.part").read_bytes()
    assert 0 < len(kept) <= cut and GOOD.startswith(kept)  # resumable later


async def test_a_stale_sidecar_goes_when_the_new_answer_cannot_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else it would stay beside bytes of another answer, and a later call resume them."""
    (tmp_path / "901.zip.part").write_bytes(b"x" * 10)
    sidecar = {
        "run_id": 901,
        "include_source": False,
        "url": "http://storage.test/old",
        "validator": '"v0"',
        "size": 10,  # complete by its own account: not resumed, asked for again
    }
    (tmp_path / "901.zip.part.json").write_text(json.dumps(sidecar))
    seen: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(302, headers={"Location": "http://storage.test/new"})
        headers = {"Content-Length": str(len(GOOD))}  # no ETag: cannot be resumed
        return httpx.Response(200, headers=headers, stream=CutStream([GOOD]))

    client, _ = mock_client(handler)
    original = download_module._Download._stream

    async def observe(self: object, *args: object) -> int:
        seen.append((tmp_path / "901.zip.part.json").exists())
        return await original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(download_module._Download, "_stream", observe)
    result = await download_run_output(client, 901, tmp_path / "901")
    assert result.state is DownloadState.DONE, result.message
    assert seen == [False]  # gone before the new answer's bytes were written
