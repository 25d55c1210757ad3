"""TLS verification stays on: an https server with an untrusted certificate is refused.

The client builds its trust store on the first https request (start-up speed); these tests
prove that laziness never weakens verification.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import ApiError
from kbench_tui.api.tls import OnDemandTLSTransport
from kbench_tui.config import Credentials


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_an_untrusted_certificate_is_refused(self_signed_https: str) -> None:
    credentials = Credentials.token("kbench-canary-tls-secret", source="test")
    async with BenchmarksClient(self_signed_https, credentials, sleep=_no_sleep) as client:
        with pytest.raises(ApiError) as raised:
            await client.get_quota()
    assert "certificate" in str(raised.value).lower() or "ssl" in str(raised.value).lower()
    assert "kbench-canary-tls-secret" not in str(raised.value)


async def test_plain_http_never_loads_the_trust_store_and_https_gets_the_default_one() -> None:
    transport = OnDemandTLSTransport()
    assert not transport.secure_context_loaded
    pool = await transport._secure_pool()
    context = pool._pool._ssl_context  # httpcore's pool keeps the context it verifies with
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0, "the CA bundle is loaded"
    await transport.aclose()
