"""Security: secrets never leak, archives cannot escape, credentials stay with their host.

A canary token is configured as the Kaggle credential and as `MODEL_PROXY_API_KEY`; every
place a user, a log collector or a CI log could read is searched for it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from reliability_support import (
    CANARY,
    CANARY_USER,
    PROXY_CANARY,
    assert_no_secret,
    no_sleep,
    run_cli,
    simulator,
    snapshot_files,
)

import kbench_tui
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import DownloadState, download_run_output
from kbench_tui.api.errors import ApiError, ProtocolError
from kbench_tui.api.logs import fetch_persisted_logs
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.api.unzip import UnsafeZipError, extract_zip
from kbench_tui.config import Credentials, load_credentials, load_dotenv_settings, upsert_env_file
from kbench_tui.sim.server import HANDLERS

FORMATS = ("json", "csv", "markdown", "junit")


def _all_text(root: Path) -> str:
    """Every file under `root` (names and bytes) as one searchable text."""
    parts = []
    for path in sorted(root.rglob("*")):
        parts.append(str(path))
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


# --- the canary never appears -------------------------------------------------------------


def test_canary_never_appears_in_exports_downloads_errors_or_logs(
    capsys, caplog, monkeypatch, tmp_path
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore, uvicorn and ours, at their chattiest
    monkeypatch.setenv("KAGGLE_API_TOKEN", CANARY)
    (Path.cwd() / ".env").write_text(f"MODEL_PROXY_API_KEY={PROXY_CANARY}\n")
    seen: list[str] = []
    with simulator(seed="demo", users={CANARY_USER: CANARY}) as sim:
        for fmt in FORMATS:
            target = tmp_path / "exports" / f"export.{fmt}"
            target.parent.mkdir(exist_ok=True)
            result = run_cli(
                capsys,
                [
                    "export",
                    "--endpoint",
                    sim.url,
                    "--with-results",
                    "--with-logs",
                    "--download",
                    str(tmp_path / "outputs"),
                    "--format",
                    fmt,
                    "-o",
                    str(target),
                ],
            )
            assert result.code == 0, result.err
            seen += [result.out, result.err]
        # The same canary, now refused (wrong user) and unreachable: error paths too.
        sim.state.users = {"someone-else": "another-token"}
        refused = run_cli(capsys, ["export", "--endpoint", sim.url])
        assert refused.code == 3
        seen += [refused.out, refused.err]
    unreachable = run_cli(capsys, ["export", "--endpoint", "http://127.0.0.1:9"])
    assert unreachable.code == 4
    seen += [unreachable.out, unreachable.err]

    exports = _all_text(tmp_path / "exports")
    assert "<testsuites" in exports and "# Kaggle Benchmarks export" in exports
    assert len(list((tmp_path / "outputs").rglob("*.run.json"))) > 3
    for text, where in (
        (exports, "the exports"),
        (_all_text(tmp_path / "outputs"), "the downloaded outputs"),
        ("\n".join(seen), "stdout/stderr"),
        (caplog.text, "the logs (ours, httpx, the simulator's uvicorn)"),
    ):
        assert_no_secret(text, where)


async def test_canary_never_appears_in_client_errors_and_reprs(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bearer = Credentials.token(CANARY, source="KAGGLE_API_TOKEN")
    basic = Credentials.basic("demo", CANARY, source="kaggle.json")
    proxy = load_dotenv_settings(_dotenv_dir(PROXY_CANARY))
    texts = [repr(bearer), str(bearer), repr(basic), str(basic), repr(proxy), str(proxy)]
    # Only a short tail of the key is ever shown, enough to tell two keys apart.
    assert proxy.api_key == PROXY_CANARY and proxy.key_hint is not None
    assert proxy.key_hint.endswith(PROXY_CANARY[-4:]) and len(proxy.key_hint) <= 5

    def hostile(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "GetTask401":
            return httpx.Response(401, json={"code": 401, "message": "Unauthenticated"})
        if method == "ListBenchmarkTasks":
            return httpx.Response(503, text="busy")
        if method == "ListBenchmarkModels":
            return httpx.Response(
                200, content=b"{not json", headers={"content-type": "application/json"}
            )
        if method == "GetBenchmarkTaskQuota":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(401, json={"code": 401, "message": "Unauthenticated"})

    errors: list[ApiError] = []
    for credentials in (bearer, basic):
        async with BenchmarksClient(
            "http://127.0.0.1:9",
            credentials,
            transport=httpx.MockTransport(hostile),
            retry=RetryPolicy(max_attempts=2),
            sleep=no_sleep,
        ) as client:
            texts.append(repr(client))
            for call in (
                client.get_task("t"),
                client.list_tasks(),
                client.list_models(),
                client.get_quota(),
                fetch_persisted_logs(client, 1),
            ):
                with pytest.raises(ApiError) as caught:
                    await call
                errors.append(caught.value)
    assert {type(e).__name__ for e in errors} >= {"AuthError", "ServerError", "ProtocolError"}
    assert any("cannot connect" in str(e) for e in errors)
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [repr(e.args) for e in errors]
    assert_no_secret("\n".join(texts), "client errors and reprs")
    assert_no_secret(caplog.text, "the client's logs")


def _dotenv_dir(key: str) -> Path:
    directory = Path.cwd() / "proxy"
    directory.mkdir(exist_ok=True)
    (directory / ".env").write_text(f"MODEL_PROXY_API_KEY={key}\nMODEL_PROXY_EXPIRY_TIME=soon\n")
    return directory


def test_canary_never_appears_in_the_simulators_own_output(tmp_path) -> None:
    """`kbench-tui sim` as a real process, hit with good, wrong and canary credentials."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kbench_tui",
            "sim",
            "--port",
            "0",
            "--seed",
            "demo",
            "--user",
            f"{CANARY_USER}:{CANARY}",
            "--fault",
            "status=503,rate=0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", first)
        assert match, first
        url = match.group(1) + "/api/v1/benchmarks.BenchmarkTasksApiService/"
        with httpx.Client(timeout=10) as http:
            for header in (
                f"Bearer {CANARY}",
                f"Bearer {CANARY}-but-wrong",
                "Basic " + base64.b64encode(f"{CANARY_USER}:{CANARY}".encode()).decode(),
                "Basic " + base64.b64encode(f"{CANARY}:{CANARY}".encode()).decode(),
            ):
                for method in ("ListBenchmarkTasks", "GetBenchmarkTask", "NoSuchRpc"):
                    answer = http.post(
                        url + method, json={"token": CANARY}, headers={"Authorization": header}
                    )
                    assert_no_secret(answer.text, "a simulator answer")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert_no_secret(first + out + err, "the simulator's output")
    assert "Traceback" not in err


# --- archives cannot write outside their folder -------------------------------------------


def _zip(entries: dict[str, bytes], *, symlink: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.txt", b"fine")
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, symlink[1])
    return buffer.getvalue()


UNSAFE_ZIPS = [
    pytest.param(_zip({"/tmp/kbench-escape.txt": b"x"}), "absolute path", id="absolute-path"),
    pytest.param(_zip({"../escape.txt": b"x"}), "'..'", id="dot-dot"),
    pytest.param(_zip({"results/../../escape.txt": b"x"}), "'..'", id="nested-dot-dot"),
    pytest.param(_zip({"..\\escape.txt": b"x"}), "'..'", id="backslash-dot-dot"),
    pytest.param(_zip({"C:/escape.txt": b"x"}), "absolute path", id="drive-letter"),
    pytest.param(_zip({}, symlink=("link", "../../outside")), "symbolic link", id="symlink-out"),
    pytest.param(_zip({}, symlink=("etc", "/etc")), "symbolic link", id="symlink-absolute"),
]


@pytest.mark.parametrize(("archive", "reason"), UNSAFE_ZIPS)
def test_extracting_an_unsafe_zip_writes_nothing_anywhere(
    archive: bytes, reason: str, tmp_path
) -> None:
    box = tmp_path / "box"
    box.mkdir()
    path = box / "run.zip"
    path.write_bytes(archive)
    before = snapshot_files(tmp_path)
    with pytest.raises(UnsafeZipError) as caught:
        extract_zip(path, box / "staging" / "deep")
    assert reason in str(caught.value) and "\n" not in str(caught.value)
    assert snapshot_files(tmp_path) == before
    assert not (box / "staging").exists() and not Path("/tmp/kbench-escape.txt").exists()


@pytest.mark.parametrize(("archive", "reason"), UNSAFE_ZIPS)
async def test_downloading_an_unsafe_zip_keeps_the_old_output(
    archive: bytes, reason: str, tmp_path
) -> None:
    """Through `download_run_output`: BAD_ZIP, the previous good output is untouched."""
    dest = tmp_path / "out" / "task" / "1" / "model" / "7"
    dest.mkdir(parents=True)
    (dest / "previous.run.json").write_text('{"kept": true}')

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> Iterator[bytes]:  # type: ignore[override]
            yield archive

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            stream=Body(),
            headers={"content-type": "application/zip", "content-length": str(len(archive))},
        )

    before = snapshot_files(tmp_path)
    async with BenchmarksClient(
        "http://127.0.0.1:9",
        Credentials.token("t"),
        transport=httpx.MockTransport(serve),
        sleep=no_sleep,
    ) as client:
        result = await download_run_output(client, 7, dest, force=True)
    assert result.state is DownloadState.BAD_ZIP and reason in result.message
    after = snapshot_files(tmp_path)
    # Only the refused archive is kept beside the run folder (like the kaggle CLI does).
    assert {k: v for k, v in after.items() if not k.endswith("7.zip")} == before
    assert not any("escape" in name for name in after)


# --- credentials stay with their origin ---------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """A loopback HTTP server that records requests and answers from `self.server.routes`."""

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: the test asserts on the recorded requests instead

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, dict(self.headers)))  # type: ignore[attr-defined]
        status, headers, body = self.server.route(self)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


@contextmanager
def recording_server(host: str, route: Callable) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((host, 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.route = route  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


GOOD_ZIP = _zip({"result.run.json": b"{}"})


def _storage(handler: BaseHTTPRequestHandler) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "application/zip"}, GOOD_ZIP


async def test_credentials_are_not_sent_to_another_host_on_redirect(tmp_path) -> None:
    with (
        recording_server("127.0.0.2", _storage) as storage,
        recording_server(
            "127.0.0.1",
            lambda handler: (
                (302, {"Location": _url(storage) + "/blob/7.zip"}, b"")
                if "DownloadBenchmarkTaskRunOutput" in handler.path
                or "ListBenchmarkTasks" in handler.path
                else (200, {"Content-Type": "application/zip"}, GOOD_ZIP)
            ),
        ) as api,
    ):
        async with BenchmarksClient(
            _url(api), Credentials.token(CANARY), retry=RetryPolicy(max_attempts=2), sleep=no_sleep
        ) as client:
            result = await download_run_output(client, 7, tmp_path / "7")
            # A plain RPC never follows a redirect at all.
            with pytest.raises(ProtocolError) as caught:
                await client.list_tasks()
    assert result.state is DownloadState.DONE
    assert (tmp_path / "7" / "result.run.json").read_bytes() == b"{}"
    assert "unexpected redirect" in str(caught.value)
    api_headers = [headers for _, _, headers in api.seen]
    assert api_headers and all(h.get("Authorization") == f"Bearer {CANARY}" for h in api_headers)
    # The other origin got exactly one request, the download, with no credentials.
    assert [(verb, path) for verb, path, _ in storage.seen] == [("GET", "/blob/7.zip")]
    assert all("Authorization" not in headers for _, _, headers in storage.seen)
    assert all(CANARY not in json.dumps(headers) for _, _, headers in storage.seen)


async def test_a_redirect_to_the_same_origin_keeps_the_credentials(tmp_path) -> None:
    """The contrast case: the endpoint's own signed URL still gets the Authorization."""
    with recording_server(
        "127.0.0.1",
        lambda handler: (
            (302, {"Location": "/api/v1/downloads/7.zip"}, b"")
            if handler.command == "POST"
            else _storage(handler)
        ),
    ) as api:
        async with BenchmarksClient(_url(api), Credentials.token(CANARY), sleep=no_sleep) as client:
            result = await download_run_output(client, 7, tmp_path / "7")
    assert result.state is DownloadState.DONE
    assert [h.get("Authorization") for _, _, h in api.seen] == [f"Bearer {CANARY}"] * 2


# --- TLS, file modes, and the simulator's auth ---------------------------------------------


async def _https_context(client: BenchmarksClient) -> ssl.SSLContext:
    """The TLS context https requests go through (httpx 0.28 internals; the client may
    use a transport that builds its verifying pool on the first https request)."""
    transport = client.http._transport
    if hasattr(transport, "_secure_pool"):
        transport = await transport._secure_pool()
    return transport._pool._ssl_context


@pytest.mark.parametrize(
    "endpoint", ["https://api.kaggle.com", "https://staging.kaggle.com", "https://10.0.0.7:8443"]
)
async def test_tls_verification_is_on_for_non_loopback_endpoints(endpoint: str) -> None:
    from kbench_tui import export

    for make in (
        lambda: BenchmarksClient(endpoint, Credentials.token(CANARY)),
        lambda: export.make_client(endpoint, Credentials.token(CANARY)),
    ):
        async with make() as client:
            context = await _https_context(client)
            assert context.verify_mode == ssl.CERT_REQUIRED
            assert context.check_hostname is True
            assert client.http.follow_redirects is False


@pytest.fixture
def self_signed_tls_server(tmp_path: Path) -> Iterator[tuple[str, list]]:
    """An https server on loopback with a certificate nobody trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a throw-away certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with recording_server("127.0.0.1", _storage) as server:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield _url(server).replace("http://", "https://"), server.seen  # type: ignore[attr-defined]


async def test_an_untrusted_certificate_is_refused_before_credentials_are_sent(
    self_signed_tls_server,
) -> None:
    url, seen = self_signed_tls_server
    async with BenchmarksClient(
        url, Credentials.token(CANARY), retry=RetryPolicy(max_attempts=2), sleep=no_sleep
    ) as client:
        with pytest.raises(ApiError) as caught:
            await client.list_tasks()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and CANARY not in str(caught.value)
    assert seen == [], "no request (and so no Authorization header) reached the server"


def test_no_code_turns_tls_verification_off() -> None:
    package = Path(kbench_tui.__file__).parent
    pattern = re.compile(
        r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    )
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_files_holding_secrets_are_private(umask: int, tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# kaggle b init\nLLM_DEFAULT=gemini-2.5-flash\n")
    env_file.chmod(0o644)
    previous = os.umask(umask)
    try:
        upsert_env_file(env_file, {"MODEL_PROXY_API_KEY": PROXY_CANARY})
        fresh = tmp_path / "new" / ".env"
        fresh.parent.mkdir()
        upsert_env_file(fresh, {"MODEL_PROXY_API_KEY": PROXY_CANARY})
    finally:
        os.umask(previous)
    for path in (env_file, fresh):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert load_dotenv_settings(path.parent).api_key == PROXY_CANARY
    assert "LLM_DEFAULT=gemini-2.5-flash" in env_file.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".env.")] == []


async def test_the_resume_sidecar_with_the_signed_url_is_private(tmp_path) -> None:
    with simulator(["download-cut=0.5,rate=1"], users={"demo": "demo-token"}) as sim:
        sim.engine.add_task("demo", "private")
        run_id = sim.engine.add_run(
            "demo",
            "private",
            "gemini-2.5-flash",
            output_padding=50_000,
            queue_seconds=0,
            run_seconds=1,
        )
        sim.clock.advance(5)
        async with BenchmarksClient(
            sim.url,
            Credentials.token("demo-token"),
            retry=RetryPolicy(max_attempts=2),
            sleep=no_sleep,
        ) as client:
            result = await download_run_output(client, run_id, tmp_path / str(run_id))
    assert result.state is DownloadState.FAILED
    sidecar = tmp_path / f"{run_id}.zip.part.json"
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    assert "demo-token" not in sidecar.read_text()


def test_kaggle_json_readable_by_others_is_reported(tmp_path) -> None:
    config = tmp_path / ".kaggle" / "kaggle.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"username": "demo", "key": CANARY}))
    config.chmod(0o644)
    credentials = load_credentials(env={}, home=tmp_path)
    assert credentials is not None and credentials.secret == CANARY
    (warning,) = credentials.warnings
    assert "readable by other users" in warning and f"chmod 600 {config}" in warning
    assert CANARY not in warning
    config.chmod(0o600)
    assert load_credentials(env={}, home=tmp_path).warnings == ()  # type: ignore[union-attr]


RPCS = sorted(f"{service}/{method}" for service, method in HANDLERS)


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_the_simulator_refuses_missing_or_wrong_credentials_on_every_rpc(
    prefix, sim, make_client
) -> None:
    wrong = {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer"},
        "wrong bearer": {"Authorization": "Bearer not-a-token"},
        "canary bearer": {"Authorization": f"Bearer {CANARY}"},
        "wrong basic": {"Authorization": "Basic " + base64.b64encode(b"demo:wrong").decode()},
        "basic of another user": {
            "Authorization": "Basic " + base64.b64encode(b"alice:demo-token").decode()
        },
        "garbage basic": {"Authorization": "Basic !!!"},
        "unknown scheme": {"Authorization": "Token demo-token"},
    }
    assert len(RPCS) >= 13
    with make_client(sim.url) as http:
        for rpc in RPCS:
            for label, headers in wrong.items():
                answer = http.post(f"{prefix}/{rpc}", json={"runId": 1}, headers=headers)
                assert answer.status_code == 401, (rpc, label, answer.text)
                body = answer.json()
                assert body["code"] == 401 and "credentials" in body["message"].lower()
                assert CANARY not in answer.text
            # And the right credentials pass the gate (whatever the RPC then says).
            good = http.post(
                f"{prefix}/{rpc}", json={"runId": 1}, headers={"Authorization": "Bearer demo-token"}
            )
            assert good.status_code != 401, rpc
    assert sim.state.requests.total() == len(RPCS) * (len(wrong) + 1)
