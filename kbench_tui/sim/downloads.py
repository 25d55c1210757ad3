"""Run-output downloads: the signed redirect target and the resumable zip response (§7).

The RPC answers `302 Location: <prefix>/downloads/<token>.zip`. The token is an opaque,
HMAC-signed `runId.includeSource`, so the GET needs no credentials (like a signed blob
URL) and a retry with `Range`/`If-Range` (which the CLI sends without a body) can still
tell which run it wants.

The GET serves the zip with `Content-Length`, a strong `ETag` (hash of the bytes),
`Last-Modified` (run end, RFC 1123 GMT), `Accept-Ranges: bytes`; one `bytes=` range gives
206 with `Content-Range` if `If-Range` is absent or matches the ETag or Last-Modified
(otherwise the full 200), an unsatisfiable range 416. No `Content-Encoding`, ever.

The body goes out in 1 MiB pieces, each sent once the previous one drained (uvicorn's flow
control): one 20 MB `send` would make asyncio copy the unsent rest of the bytes twice and
hold it in a transport buffer. The ETag is computed once per archive (the engine caches
the bytes, so the same object comes back), not on every request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from email.utils import formatdate

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

_KEY = b"kbench-sim-download-url"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1024 * 1024
# id(bytes) -> (the bytes, their ETag); the bytes are held so the id cannot be reused.
_ETAGS: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
_ETAGS_LOCK = threading.Lock()
_ETAGS_KEPT = 8  # as many archives as the engine caches


def make_token(run_id: int, include_source: bool) -> str:
    payload = f"{run_id}.{int(include_source)}"
    signature = hmac.new(_KEY, payload.encode(), hashlib.sha256).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{payload}.{signature}".encode()).decode().rstrip("=")


def read_token(token: str) -> tuple[int, bool] | None:
    """(run id, includeSource) of a token this simulator signed, else None."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        run_id, include, signature = text.split(".")
        payload = f"{run_id}.{include}"
        expected = hmac.new(_KEY, payload.encode(), hashlib.sha256).hexdigest()[:16]
        if not hmac.compare_digest(signature, expected) or include not in ("0", "1"):
            return None
        return int(run_id), include == "1"
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def etag_of(data: bytes) -> str:
    """The strong ETag of an archive: a hash of its bytes, remembered per bytes object."""
    with _ETAGS_LOCK:
        found = _ETAGS.get(id(data))
        if found is not None and found[0] is data:
            _ETAGS.move_to_end(id(data))
            return found[1]
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    with _ETAGS_LOCK:
        _ETAGS[id(data)] = (data, etag)
        while len(_ETAGS) > _ETAGS_KEPT:
            _ETAGS.popitem(last=False)
    return etag


def last_modified(epoch_seconds: float) -> str:
    """`Sun, 01 Mar 2026 12:00:00 GMT` (locale-independent)."""
    return formatdate(epoch_seconds, usegmt=True)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) inclusive; None = ignore the header; "unsatisfiable" for 416."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multiple or malformed ranges: serve the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


class ZipDownload(Response):
    """The zip (or a range of it); with `cut`, only that fraction is sent before closing."""

    media_type = "application/zip"

    def __init__(
        self,
        data: bytes,
        end_time: float,
        request_headers: dict,
        cut: float | None,
        speed: float | None = None,
    ) -> None:
        etag = etag_of(data)
        modified = last_modified(end_time)
        headers = {"ETag": etag, "Last-Modified": modified, "Accept-Ranges": "bytes"}
        status, body = 200, data
        requested = request_headers.get("range")
        condition = request_headers.get("if-range")
        if requested and (condition is None or condition.strip() in (etag, modified)):
            parsed = _parse_range(requested, len(data))
            if parsed == "unsatisfiable":
                status, body = 416, b""
                headers["Content-Range"] = f"bytes */{len(data)}"
            elif isinstance(parsed, tuple):
                first, last = parsed
                status, body = 206, data[first : last + 1]
                headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        super().__init__(content=body, status_code=status, headers=headers)
        self.cut = cut
        self.speed = speed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        body = memoryview(self.body)
        cut = self.cut is not None and len(body) > 0
        # Fault: the declared Content-Length stays, only part of the body goes out;
        # returning without the final message makes uvicorn drop the connection.
        end = int(len(body) * self.cut) if cut else len(body)
        # Fault: at most `speed` bytes a second, in pieces of a tenth of a second.
        piece = max(1, int(self.speed / 10)) if self.speed else CHUNK
        for start in range(0, end, piece):
            stop = min(start + piece, end)
            more = cut or stop < len(body)
            await send(
                {"type": "http.response.body", "body": bytes(body[start:stop]), "more_body": more}
            )
            if self.speed:
                await asyncio.sleep((stop - start) / self.speed)
        if not cut and not body:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
