"""Typed errors of the Kaggle Benchmarks client; `str()` tells the user what to do next.

Every message is built from the HTTP status, the RPC name and the server's `message`; none
ever contains a credential (the client never passes headers or the request body in here).
"""

from __future__ import annotations

# Shown when the service refuses the credentials. Kept short: the full list of the four
# ways to provide credentials is `config.CREDENTIAL_HELP`.
_AUTH_HINT = (
    "check KAGGLE_API_TOKEN, ~/.kaggle/access_token or ~/.kaggle/kaggle.json "
    "(KAGGLE_USERNAME/KAGGLE_KEY), or create a new token at https://www.kaggle.com/settings"
)


class ApiError(Exception):
    """Base of every client error.

    `status` is the HTTP status (None for transport failures), `message` the server's text,
    `rpc` the method name, `retry_after` the seconds a `Retry-After` header asked for.
    """

    hint: str = "try again later"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        rpc: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.rpc = rpc
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"{self.rpc}: " if self.rpc else ""
        code = f"HTTP {self.status}: " if self.status is not None else ""
        text = self.message.rstrip(".") if self.message else "request failed"
        return f"{where}{code}{text} — {self.hint}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, rpc={self.rpc!r}, message={self.message!r})"


class AuthError(ApiError):
    """401/403: the service refused the credentials."""

    hint = f"credentials rejected — {_AUTH_HINT}"

    def __str__(self) -> str:
        where = f"{self.rpc}: " if self.rpc else ""
        detail = f" ({self.message.rstrip('.')})" if self.message else ""
        code = f"HTTP {self.status}" if self.status is not None else "refused"
        return f"{where}{code}{detail} — {self.hint}"


class NotFoundError(ApiError):
    """404: the task, run or model does not exist (or is not visible to you)."""

    hint = "check the name (task slugs look like 'my-task' or 'owner/my-task') and refresh the list"


class RateLimitedError(ApiError):
    """429: too many requests; `retry_after` is the server's wait in seconds, if it sent one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        rpc: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, rpc=rpc, retry_after=retry_after)

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.retry_after is not None:
            return f"rate limited; wait {self.retry_after:.0f} s and try again"
        return "rate limited; wait a minute and try again"


class ServerError(ApiError):
    """5xx: the service failed; nothing to fix on your side."""

    hint = "the service had a problem; try again in a minute"


class ProtocolError(ApiError):
    """The answer could not be understood: malformed or truncated body, wrong content type."""

    hint = (
        "the service sent an answer this version cannot read; try again, and check the endpoint "
        "(--endpoint / KBENCH_ENDPOINT) points at the Kaggle API"
    )


class UnreachableError(ApiError):
    """The service could not be reached (connection refused, DNS, TLS, timeouts) after retries."""

    hint = "check your network connection and the endpoint (--endpoint / KBENCH_ENDPOINT)"


class HostNotFoundError(UnreachableError):
    """The host name does not exist (DNS answered "no such name") and it never answered in
    this session: not retried, as a typo in the endpoint would otherwise be retried for half
    a minute before it was reported. (For a host that answered before, the same lookup
    failure is a blip, an UnreachableError like any other.)"""

    hint = "check the host name in the endpoint (--endpoint / KBENCH_ENDPOINT) and your network"


def names_no_host(exc: BaseException) -> bool:
    """Whether `exc` was caused by a name lookup that said the host does not exist.

    "Temporary failure in name resolution" (EAI_AGAIN: no DNS server answered, e.g. while
    offline) is not one of these: it is retried like any connection failure.
    """
    import socket

    final = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
    cause: BaseException | None = exc
    for _ in range(8):  # httpx -> httpcore -> OSError, and a margin
        if cause is None:
            return False
        if isinstance(cause, socket.gaierror):
            return cause.errno in final
        cause = cause.__cause__ or cause.__context__
    return False


class ProxyUnreachableError(UnreachableError):
    """The proxy the environment names could not be reached, or could not reach the host."""

    hint = "check the proxy in HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, or list the host in NO_PROXY"


class ProxyRefusedError(ApiError):
    """The proxy the environment names refused the request (407, 403, ...): not retried."""

    hint = (
        "check the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and the proxy's credentials"
    )


class BadRequestError(ApiError):
    """Any other 4xx: the server's message says what was wrong with the request."""

    hint = "fix the request and try again"


def error_for_status(
    status: int, message: str, *, rpc: str | None = None, retry_after: float | None = None
) -> ApiError:
    """The typed error for an HTTP status (or a JSON body's `code`) >= 400."""
    if status in (401, 403):
        return AuthError(message, status=status, rpc=rpc)
    if status == 404:
        return NotFoundError(message, status=status, rpc=rpc)
    if status == 429:
        return RateLimitedError(message, status=status, rpc=rpc, retry_after=retry_after)
    if status >= 500:
        return ServerError(message, status=status, rpc=rpc, retry_after=retry_after)
    return BadRequestError(message, status=status, rpc=rpc)
