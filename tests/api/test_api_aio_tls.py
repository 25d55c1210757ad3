"""TLS through the asyncio backend stays exactly as strict (api/aio.py, api/tls.py).

A throwaway CA and a server certificate for `localhost` only are made with the openssl
command line (no test dependency). The product's transport must refuse the server until
the CA is explicitly trusted, refuse it under another name (127.0.0.1) even then, and map
a handshake that never completes to ConnectTimeout as httpcore's anyio backend does.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from aio_helpers import TRANSPORTS, body_of, head, read_request, serve, sha

from kbench_tui.api.aio_transport import AsyncioTransport
from kbench_tui.api.tls import OnDemandTLSTransport


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem (a CA nobody trusts by default) and server.pem/.key for DNS:localhost only."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificates")
    root = tmp_path_factory.mktemp("pki")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kbench test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=root,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr", cwd=root,
    )  # fmt: skip
    (root / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "server.pem", cwd=root,
    )  # fmt: skip
    return root


# The servers listen on 127.0.0.1; clients reach them as https://localhost (the name in
# the certificate) or https://127.0.0.1 (a name not in it).


def server_context(pki: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    return context


def trusting(pki: Path) -> AsyncioTransport:
    """The product's backend with a context that trusts the test CA, verification on."""
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return AsyncioTransport(ssl_context=context)


BODY = body_of(6_000_000, seed=5)


async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        request = await read_request(reader)
        if b"/cut" in request:
            writer.write(head(len(BODY)) + BODY[:500_000])
            await writer.drain()
            writer.close()
            return
        writer.write(head(len(BODY)) + BODY)
        await writer.drain()


async def test_a_trusted_ca_is_accepted_and_bodies_arrive_byte_exact(pki: Path) -> None:
    async with (
        serve(handler, ssl_context=server_context(pki)) as port,
        httpx.AsyncClient(transport=trusting(pki)) as client,
    ):
        received = bytearray()
        async with client.stream("GET", f"https://localhost:{port}/") as response:
            async for chunk in response.aiter_raw():
                received += chunk
            stream = response.extensions["network_stream"]
            ssl_object = stream.get_extra_info("ssl_object")
            assert ssl_object is not None and ssl_object.version() in ("TLSv1.2", "TLSv1.3")
            assert ssl_object.server_hostname == "localhost"
            assert stream.get_extra_info("server_addr")[1] == port
        assert sha(bytes(received)) == sha(BODY)
        again = await client.get(f"https://localhost:{port}/")  # over the kept-alive connection
        assert sha(again.content) == sha(BODY)


async def test_the_products_transport_trusts_the_ca_only_when_told(
    pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OnDemandTLSTransport's verifying pool uses httpx's default context: the CA bundle
    (refuses our CA), or SSL_CERT_FILE when set, as httpx honours it."""
    async with serve(handler, ssl_context=server_context(pki)) as port:
        url = f"https://localhost:{port}/"
        async with httpx.AsyncClient(transport=OnDemandTLSTransport()) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(url)
        monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.pem"))
        async with httpx.AsyncClient(transport=OnDemandTLSTransport()) as client:
            assert sha((await client.get(url)).content) == sha(BODY)


async def test_a_certificate_for_another_name_is_refused(pki: Path) -> None:
    async with (
        serve(handler, ssl_context=server_context(pki)) as port,
        httpx.AsyncClient(transport=trusting(pki)) as client,
    ):
        # The CA is trusted, but the certificate names localhost, not 127.0.0.1.
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|mismatch"):
            await client.get(f"https://127.0.0.1:{port}/")


async def test_the_plain_pool_never_verifies_anything(pki: Path) -> None:
    """The context OnDemandTLSTransport gives its http pool trusts no CA: fail closed."""
    transport = AsyncioTransport(ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    async with (
        serve(handler, ssl_context=server_context(pki)) as port,
        httpx.AsyncClient(transport=transport) as client,
    ):
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://localhost:{port}/")


async def test_a_cut_over_tls_is_an_error(pki: Path) -> None:
    async with (
        serve(handler, ssl_context=server_context(pki)) as port,
        httpx.AsyncClient(transport=trusting(pki)) as client,
    ):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            async with client.stream("GET", f"https://localhost:{port}/cut") as response:
                async for _ in response.aiter_raw():
                    await asyncio.sleep(0.005)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
async def test_a_handshake_that_never_completes_is_connect_timeout(name: str) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()  # accepts TCP, never answers the ClientHello

    async with (
        serve(silent) as port,
        httpx.AsyncClient(transport=TRANSPORTS[name](), timeout=httpx.Timeout(0.2)) as client,
    ):
        with pytest.raises(httpx.ConnectTimeout):
            await client.get(f"https://127.0.0.1:{port}/")
