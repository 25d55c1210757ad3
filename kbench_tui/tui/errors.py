"""Each failure class as a toast title and severity (errors are never silent)."""

from __future__ import annotations

from typing import Literal

from kbench_tui.api.errors import (
    ApiError,
    AuthError,
    HostNotFoundError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UnreachableError,
)

Severity = Literal["information", "warning", "error"]

_TOASTS: tuple[tuple[type[ApiError], str, Severity], ...] = (
    (AuthError, "Credentials rejected", "error"),
    (HostNotFoundError, "Host not found", "error"),
    (UnreachableError, "Offline", "warning"),
    (RateLimitedError, "Rate limited", "warning"),
    (ServerError, "Server error", "warning"),
    (NotFoundError, "Not found", "warning"),
    (ProtocolError, "Unexpected answer", "error"),
)


def toast_for(error: ApiError) -> tuple[str, Severity]:
    """(title, severity) of the toast that reports `error`."""
    for kind, title, severity in _TOASTS:
        if isinstance(error, kind):
            return title, severity
    return "Request failed", "error"


def short_reason(error: ApiError) -> str:
    """A few words for the status bar ("unreachable", "HTTP 503"); the toast has the rest."""
    if isinstance(error, HostNotFoundError):
        return "host not found"
    if isinstance(error, UnreachableError):
        return "unreachable"
    if isinstance(error, RateLimitedError):
        return "rate limited"
    if error.status is not None:
        return f"HTTP {error.status}"
    return toast_for(error)[0].lower()
