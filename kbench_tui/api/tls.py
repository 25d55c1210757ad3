"""A transport that builds its TLS trust store on the first https request, not at start-up.

`httpx.AsyncClient()` loads the whole CA bundle when it is constructed (~30-40 ms), which
is a large share of the headless export's start-up and is wasted against a plain-http
endpoint such as the local simulator. This transport keeps verification exactly as strict
— https requests always go through a pool whose context is httpx's own default one
(CERT_REQUIRED, hostname checks, the certifi bundle) — but creates that pool only when the
first https request is sent. Plain-http requests use a pool whose TLS context trusts
nothing, so even a misrouted https request through it would fail closed, never open.

Both pools are `aio_transport.AsyncioTransport`: httpx's transport with an asyncio-native
httpcore network backend instead of anyio's (bulk bodies cost less CPU; see aio.py).
The TLS contexts are the same ones httpx would use, handed to httpcore unchanged.

A request the environment sends through a proxy (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
`NO_PROXY`; see proxies.py) goes through httpx's own transport for that proxy instead,
which tunnels https with CONNECT and verifies the server with the same verifying context.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import httpx

from kbench_tui.api.aio_transport import AsyncioTransport
from kbench_tui.api.proxies import EnvironmentProxies


class OnDemandTLSTransport(httpx.AsyncBaseTransport):
    """Routes http to a plain pool and https to a verifying pool created on first use."""

    def __init__(self, *, environ: Mapping[str, str] | None = None, **pool_options: Any) -> None:
        self._pool_options = pool_options
        self.proxies = EnvironmentProxies(os.environ if environ is None else environ)
        self._proxied: dict[str, httpx.AsyncHTTPTransport] = {}
        # CERT_REQUIRED with check_hostname and no CA loaded: it cannot verify anything.
        self._plain = AsyncioTransport(
            ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), **pool_options
        )
        self._secure: AsyncioTransport | None = None
        self._lock = asyncio.Lock()

    @property
    def secure_context_loaded(self) -> bool:
        return self._secure is not None

    async def _secure_pool(self) -> AsyncioTransport:
        async with self._lock:
            if self._secure is None:
                # httpx's default context: CERT_REQUIRED, hostname checks, the certifi
                # bundle (or SSL_CERT_FILE / SSL_CERT_DIR, as httpx honours them).
                self._secure = AsyncioTransport(
                    ssl_context=httpx.create_ssl_context(verify=True), **self._pool_options
                )
            return self._secure

    async def context_for(self, scheme: str) -> ssl.SSLContext | None:
        """The context that verifies `scheme` (the https pool's own), None for http.

        For connections made outside the pools (api/bulk.py), checked exactly as strictly.
        """
        if scheme != "https":
            return None
        pool = self._secure or await self._secure_pool()
        return pool.ssl_context

    async def _through(self, proxy: str) -> httpx.AsyncHTTPTransport:
        if proxy not in self._proxied:
            verifying = (self._secure or await self._secure_pool()).ssl_context
            if proxy not in self._proxied:  # (another request may have made it meanwhile)
                self._proxied[proxy] = httpx.AsyncHTTPTransport(
                    proxy=proxy, verify=verifying, trust_env=False
                )
        return self._proxied[proxy]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.proxies:
            proxy = self.proxies.proxy_for(str(request.url))
            if proxy is not None:
                return await (await self._through(proxy)).handle_async_request(request)
        if request.url.scheme == "https":
            pool = self._secure or await self._secure_pool()
            return await pool.handle_async_request(request)
        return await self._plain.handle_async_request(request)

    async def aclose(self) -> None:
        pools: list[httpx.AsyncBaseTransport] = [self._plain, *self._proxied.values()]
        if self._secure is not None:
            pools.append(self._secure)
        for pool in pools:
            with suppress(Exception):  # one failing close must not leave the others open
                await pool.aclose()
