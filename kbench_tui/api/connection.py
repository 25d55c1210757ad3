"""The HTTP layer under `BenchmarksClient`: URLs, headers, answer checks, retries, streams.

One `httpx.AsyncClient` per connection (keep-alive, explicit timeouts, TLS verification
always on). `call()` posts a JSON RPC with the retry rules of `retry.py`; `open_stream()`
is the raw streaming request used by `logs.py` and `download.py`; `answer_error()` applies
the service's error rules (§1.5) to any answer.

Credentials only ever travel in the `Authorization` header; they are never logged nor put
in an exception, and `repr()` shows the endpoint only.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from kbench_tui import __version__
from kbench_tui.api.bulk import BulkPool, BulkResponse
from kbench_tui.api.bulk import open_get as open_bulk_get
from kbench_tui.api.errors import (
    ApiError,
    HostNotFoundError,
    ProtocolError,
    ProxyRefusedError,
    ProxyUnreachableError,
    UnreachableError,
    error_for_status,
    names_no_host,
)
from kbench_tui.api.retry import (
    RetryableFailure,
    RetryCallback,
    RetryPolicy,
    RpcKind,
    Sleep,
    parse_retry_after,
    run_with_retries,
)
from kbench_tui.api.tls import OnDemandTLSTransport
from kbench_tui.api.turns import BodyTurns
from kbench_tui.config import Credentials

if TYPE_CHECKING:
    # Only for annotations: importing the models (pydantic) here would put ~60 ms on the
    # headless export's start-up, which never needs them (see `reader.py`).
    from kbench_tui.api.wire import WireModel

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
# Streams (logs, downloads) may stay silent for long stretches while a run works: no read
# timeout, the caller cancels them instead.
STREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=10.0)

ResponseT = TypeVar("ResponseT", bound="WireModel")
ConnectionT = TypeVar("ConnectionT", bound="RpcConnection")


class RpcConnection:
    """Endpoint, credentials, retry policy and the shared `httpx.AsyncClient`."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials | None,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        on_retry: RetryCallback | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng
        self.on_retry = on_retry
        self.timeout = timeout or DEFAULT_TIMEOUT
        parts = urlsplit(self.endpoint)
        self._host = parts.hostname or ""
        self._origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        # Hosts that answered in this session: for them a lookup that says "no such name"
        # is a blip (a VPN or network switch, macOS offline), retried like any other.
        self._answered_hosts: set[str] = set()
        path = parts.path.rstrip("/")
        if path.endswith("/v1"):
            self._prefix = self.endpoint  # already a full RPC prefix: use it as-is
        elif self._host == "api.kaggle.com":
            self._prefix = f"{self.endpoint}/v1"  # production has no /api segment (§1.1)
        else:
            self._prefix = f"{self.endpoint}/api/v1"
        # TLS checks are never turned off, for any endpoint: https always goes through a
        # verifying pool (see tls.py for why it is built on first use).
        # Downloads' GETs read with api/bulk.py on the same verification; a transport given
        # by the caller (tests, custom setups) carries everything instead.
        self._tls = None if transport is not None else OnDemandTLSTransport()
        self._bulk_pool = BulkPool() if self._tls is not None else None
        # Downloads' bodies take turns (see turns.py); their requests never wait.
        self.body_turns = BodyTurns()
        self.http = httpx.AsyncClient(
            transport=transport or self._tls,
            timeout=self.timeout,
            follow_redirects=False,
            verify=True,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._origin + urlsplit(self.endpoint).path!r})"

    async def __aenter__(self: ConnectionT) -> ConnectionT:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pools."""
        if self._bulk_pool is not None:
            self._bulk_pool.close()
        await self.http.aclose()

    # --- building blocks -------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """`scheme://host[:port]` of the endpoint (credentials only go to this origin)."""
        return self._origin

    def rpc_url(self, service: str, method: str) -> str:
        """`{endpoint}/v1/{service}/{Method}` on production, `.../api/v1/...` elsewhere."""
        return f"{self._prefix}/{service}/{method}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Request headers: JSON content type, user agent and Authorization."""
        headers = {"Content-Type": "application/json", "User-Agent": f"kbench-tui/{__version__}"}
        if self.credentials is not None:
            headers["Authorization"] = self.credentials.authorization_header()
        if extra:
            headers.update(extra)
        return headers

    def transport_failure(
        self, exc: httpx.HTTPError, rpc: str, *, reading_body: bool, write: bool = False
    ) -> RetryableFailure:
        """Classify an httpx exception; the message names the host, never a header.

        `write` adds the warning that matters for a write whose answer was lost: the
        server may have acted, so the user should look before trying again.
        """
        reason = type(exc).__name__
        if isinstance(exc, httpx.LocalProtocolError):
            # The request itself could not be written; h11's message quotes the offending
            # header, which may be the Authorization header with the token in it.
            detail = "a header holds a character HTTP does not allow"
        else:
            detail = str(exc).split("\n", 1)[0][:200] or "no detail"
        try:
            target: httpx.URL | None = exc.request.url  # a download's host is not the API's
        except RuntimeError:  # no request attached
            target = None
        origin = self._origin if target is None else _origin_of(target)
        variable = self._proxy_variable(exc)
        if isinstance(exc, httpx.ProxyError):
            # httpx's message is the proxy's status line, never the proxy's address.
            if detail[:3] in ("502", "503", "504") or not detail[:3].isdigit():
                unreachable = ProxyUnreachableError(
                    f"the proxy in {variable or 'the environment'} could not reach "
                    f"{origin} ({detail})",
                    rpc=rpc,
                )
                return RetryableFailure(unreachable, sent=False)
            refused = ProxyRefusedError(
                f"the proxy in {variable or 'the environment'} refused the connection to "
                f"{origin} ({detail})",
                rpc=rpc,
            )
            return RetryableFailure(refused, sent=True)  # as if answered: never repeated
        if variable is not None and isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            error = ProxyUnreachableError(
                f"cannot connect to the proxy in {variable} for {origin} ({reason}: {detail})",
                rpc=rpc,
            )
            return RetryableFailure(error, sent=False)
        host = urlsplit(origin).hostname
        if (
            isinstance(exc, httpx.ConnectError)
            and host not in self._answered_hosts
            and names_no_host(exc)
        ):
            missing = HostNotFoundError(f"cannot find host {host} ({reason}: {detail})", rpc=rpc)
            return RetryableFailure(missing, sent=False)
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            error: ApiError = UnreachableError(
                f"cannot connect to {origin} ({reason}: {detail})", rpc=rpc
            )
            return RetryableFailure(error, sent=False)
        caveat = "; the change may have been applied, refresh to check" if write else ""
        if reading_body:
            error = ProtocolError(f"the answer was cut off ({reason}: {detail}){caveat}", rpc=rpc)
        elif isinstance(exc, httpx.TimeoutException):
            error = UnreachableError(f"no answer from {origin} in time ({reason}){caveat}", rpc=rpc)
        else:
            error = UnreachableError(
                f"the connection to {origin} failed ({reason}: {detail}){caveat}", rpc=rpc
            )
        return RetryableFailure(error, sent=True)

    def _proxy_variable(self, exc: httpx.HTTPError) -> str | None:
        """The variable naming the proxy a failed request went through, if it did."""
        try:
            url = str(exc.request.url)
        except RuntimeError:  # no request attached
            return None
        return self._proxy_variable_for(url)

    def _proxy_variable_for(self, url: str) -> str | None:
        if self._tls is None:
            return None
        try:
            chosen = self._tls.proxies.chosen_for(url)
        except ApiError:
            return None
        return chosen[0] if chosen is not None else None

    def answer_error(
        self, response: httpx.Response | BulkResponse, content: bytes, rpc: str
    ) -> ApiError | None:
        """The error an answer carries (§1.5), or None if it is a success.

        A JSON object with `code >= 400` and a `message` is an error even with HTTP 200;
        it is classified by the HTTP status when that is an error, else by `code`.
        """
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        body: Any = None
        if "application/json" in response.headers.get("content-type", ""):
            try:
                body = json.loads(content) if content else None
            except ValueError:
                body = None
        is_error_object = (
            isinstance(body, dict) and isinstance(body.get("code"), int) and "message" in body
        )
        if status in (403, 407) and not is_error_object and isinstance(response, httpx.Response):
            # A plain-http request through a forwarding proxy: its refusal is not Kaggle's
            # (which answers errors as JSON objects, and never 407).
            variable = self._proxy_variable_for(str(response.request.url))
            if variable is not None:
                return ProxyRefusedError(
                    f"the proxy in {variable} refused the request to {self._origin} "
                    f"(HTTP {status} {response.reason_phrase})",
                    rpc=rpc,
                )
        if is_error_object:
            code = body["code"]
            if code >= 400 or status >= 400:
                message = str(body.get("message") or "")
                return error_for_status(
                    status if status >= 400 else code, message, rpc=rpc, retry_after=retry_after
                )
        if status >= 400:
            return error_for_status(
                status, response.reason_phrase, rpc=rpc, retry_after=retry_after
            )
        if 300 <= status < 400:
            return ProtocolError(f"unexpected redirect (HTTP {status})", status=status, rpc=rpc)
        return None

    def parse_json_answer(
        self, response: httpx.Response, content: bytes, rpc: str
    ) -> dict[str, Any]:
        """Decode a JSON RPC answer into a dict, or raise a retryable failure."""
        error = self.answer_error(response, content, rpc)
        if error is not None:
            raise RetryableFailure(error, sent=True)
        content_type = response.headers.get("content-type", "")
        if "application/json" not in content_type:
            shown = content_type.split(";")[0] or "no content type"
            raise RetryableFailure(ProtocolError(f"expected JSON, got {shown}", rpc=rpc), sent=True)
        try:
            data = json.loads(content)
        except ValueError:
            raise RetryableFailure(
                ProtocolError("the answer is not valid JSON (malformed or truncated)", rpc=rpc),
                sent=True,
            ) from None
        if not isinstance(data, dict):
            raise RetryableFailure(
                ProtocolError(f"expected a JSON object, got {type(data).__name__}", rpc=rpc),
                sent=True,
            )
        return data

    @asynccontextmanager
    async def open_stream(
        self,
        url: str,
        body: dict[str, Any] | None,
        *,
        rpc: str,
        method: Literal["POST", "GET"] = "POST",
        headers: dict[str, str] | None = None,
        with_credentials: bool = True,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streaming request (no read timeout); httpx errors become RetryableFailure."""
        all_headers = self.headers(headers)
        if not with_credentials:
            all_headers.pop("Authorization", None)
        if body is None:
            all_headers.pop("Content-Type", None)
        try:
            request = self.http.build_request(
                method, url, json=body, headers=all_headers, timeout=STREAM_TIMEOUT
            )
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self.transport_failure(exc, rpc, reading_body=False) from None
        except httpx.InvalidURL:
            raise _invalid_url(rpc) from None
        self._answered_hosts.add(request.url.host)
        try:
            yield response
        finally:
            await response.aclose()

    @asynccontextmanager
    async def open_get(
        self,
        url: str,
        *,
        rpc: str,
        headers: dict[str, str] | None = None,
        with_credentials: bool = True,
    ) -> AsyncIterator[httpx.Response | BulkResponse]:
        """A download's streaming GET: read by api/bulk.py (one copy per byte) on the
        default transport, by `open_stream` when the caller gave its own transport or the
        environment sends `url` through a proxy."""
        try:
            proxied = self._tls is not None and self._tls.proxies.proxy_for(url) is not None
        except ApiError as error:
            error.rpc = rpc
            raise
        if self._tls is None or proxied:
            async with self.open_stream(
                url,
                None,
                rpc=rpc,
                method="GET",
                headers=headers,
                with_credentials=with_credentials,
            ) as streamed:
                yield streamed
            return
        all_headers = self.headers(headers)
        all_headers.pop("Content-Type", None)
        if not with_credentials:
            all_headers.pop("Authorization", None)
        try:
            response = await open_bulk_get(
                url,
                all_headers,
                ssl_context=await self._tls.context_for(urlsplit(url).scheme),
                connect_timeout=STREAM_TIMEOUT.connect,
                pool=self._bulk_pool,
            )
        except httpx.HTTPError as exc:
            try:
                exc.request  # noqa: B018 - raises when bulk.py attached none
            except RuntimeError:
                exc.request = httpx.Request("GET", url)  # so the message names its host
            raise self.transport_failure(exc, rpc, reading_body=False) from None
        except httpx.InvalidURL:
            raise _invalid_url(rpc) from None
        self._answered_hosts.add(urlsplit(url).hostname or "")
        try:
            yield response
        finally:
            response.close()

    # --- generic RPC -----------------------------------------------------------------------

    async def call(
        self,
        service: str,
        method: str,
        body: dict[str, Any],
        *,
        kind: RpcKind,
        retry: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """POST one JSON RPC with retries; the decoded JSON object of the answer."""
        url = self.rpc_url(service, method)
        request_headers = self.headers()

        async def attempt() -> dict[str, Any]:
            request = self.http.build_request("POST", url, json=body, headers=request_headers)
            try:
                response = await self.http.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise self.transport_failure(
                    exc, method, reading_body=False, write=kind == "write"
                ) from None
            self._answered_hosts.add(self._host)
            try:
                content = await response.aread()
            except httpx.HTTPError as exc:
                raise self.transport_failure(
                    exc, method, reading_body=True, write=kind == "write"
                ) from None
            finally:
                await response.aclose()
            return self.parse_json_answer(response, content, method)

        return await run_with_retries(
            attempt,
            kind=kind,
            policy=retry or self.retry,
            sleep=self.sleep,
            rng=self.rng,
            on_retry=self.on_retry,
        )

    async def _rpc(
        self,
        service: str,
        method: str,
        request: WireModel,
        response_type: type[ResponseT],
        kind: RpcKind,
    ) -> ResponseT:
        data = await self.call(service, method, request.to_wire(), kind=kind)
        return self.validated(response_type, data, method)

    @staticmethod
    def validated(response_type: type[ResponseT], data: dict[str, Any], rpc: str) -> ResponseT:
        """`data` as a `response_type` model; a shape it refuses is a ProtocolError."""
        try:
            return response_type.model_validate(data)
        except (ValueError, ArithmeticError) as exc:  # e.g. a date or number out of range
            raise ProtocolError(
                f"unexpected answer shape ({exc.__class__.__name__})", rpc=rpc
            ) from None


def _invalid_url(rpc: str) -> ProtocolError:
    """A redirect to a URL nothing can connect to (a bad port, say): a server's mistake
    that asking again repeats, so not retried; the URL may be a signed link, not shown."""
    return ProtocolError("the answer pointed to an invalid URL", rpc=rpc)


def _origin_of(url: httpx.URL) -> str:
    """`scheme://host[:port]` of a request's URL, as errors name it (never its userinfo)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{host}{port}"
