"""The simulator's HTTP face: a Starlette app speaking the Kaggle Benchmarks RPC protocol.

- Every RPC is `POST /v1/{service}/{Method}` or `POST /api/v1/{service}/{Method}`, JSON
  body (`{}` or an empty body allowed). Unknown RPC -> 404 `{"code":404,"message":...}`.
  Every error is HTTP status == body `code`, body `{"code", "message"}`.
- Auth on every RPC: `Bearer <token>` or `Basic base64(user:token)`; else 401. One
  exception, for the kaggle CLI's start-up check: IntrospectToken with a Bearer token
  that is itself the token being introspected answers `{"active": false}` when unknown
  (the real service validates tokens there rather than rejecting the call).
- `GET {prefix}/downloads/<token>.zip` serves run outputs without auth (signed URL).
- Absolute-form request targets (`POST http://localhost/api/v1/...`, sent by the CLI
  through HTTP_PROXY) are reduced to their path before routing.
- No gzip middleware, no `X-Kaggle-APIVersion` header.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kbench_tui.sim import extras
from kbench_tui.sim.downloads import ZipDownload, make_token, read_token
from kbench_tui.sim.engine import TERMINAL_RUN, Engine
from kbench_tui.sim.faults import DOWNLOAD, FaultPlan, FaultSet
from kbench_tui.sim.logs import LogStream
from kbench_tui.sim.wire import ApiError

TASKS = "benchmarks.BenchmarkTasksApiService"
BENCHMARKS = "benchmarks.BenchmarksApiService"
OAUTH = "security.OAuthService"
PROXY = "models.ModelProxyApiService"
_RPC_PATH = re.compile(r"^/(?:api/)?v1/([^/]+)/([^/]+)$")
_DOWNLOAD_PATH = re.compile(r"^/(?:api/)?v1/downloads/[^/]+$")
_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.code, headers=error.headers)


class SimState:
    """What the request handlers share: the engine, the users, the faults, shutdown."""

    def __init__(self, engine: Engine, users: dict[str, str], faults: FaultSet) -> None:
        self.engine = engine
        self.users = users
        self.faults = faults
        self.stopping = asyncio.Event()
        # Requests seen per RPC method (and "download" for the signed GET), counted before
        # any fault applies: tests use it to prove that retries are bounded.
        self.requests: Counter[str] = Counter()

    async def wait_stopping(self) -> None:
        await self.stopping.wait()

    def authenticate(self, header: str | None) -> str:
        """The user named by an Authorization header, else ApiError 401."""
        if not header:
            raise ApiError(401, "Missing credentials: send Authorization: Bearer <token>.")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            for name, token in self.users.items():
                if value and value == token:
                    return name
        elif scheme.lower() == "basic":
            try:
                name, _, key = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                name, key = "", ""
            if name in self.users and key == self.users[name]:
                return name
        raise ApiError(401, "Invalid credentials: the token or API key was not accepted.")


@dataclass
class Call:
    """One RPC call as the handlers see it."""

    state: SimState
    user: str
    body: dict
    request: Request

    @property
    def engine(self) -> Engine:
        return self.state.engine


def _logs(call: Call) -> Response:
    engine = call.engine
    run = engine.visible_run(call.user, call.body.get("runId"))
    state = engine.run_state(run)
    if state == "QUEUED":
        raise ApiError(404, f"No logs yet for run {run.id}: it is still queued.")
    log = engine.run_log(run)
    if state != "RUNNING":
        return Response(log.as_json_array(), media_type="application/json")
    wants_ids = "text/event-stream" in call.request.headers.get("accept", "")
    last_id = call.request.headers.get("last-event-id", "").strip()
    start = int(last_id) if last_id.isdigit() else 0
    plan: FaultPlan = call.request.scope.get("kbench.faults") or FaultPlan()
    return LogStream(
        run,
        log,
        engine.clock,
        start_index=start,
        with_ids=wants_ids,
        drop_after=plan.sse_drop_after,
        shutdown=call.state.wait_stopping,
    )


def _download(call: Call) -> Response:
    engine = call.engine
    run = engine.visible_run(call.user, call.body.get("runId"))
    state = engine.run_state(run)
    if state not in TERMINAL_RUN:
        raise ApiError(
            400, f"Run {run.id} is {state}; only COMPLETED or ERRORED runs have output to download."
        )
    token = make_token(run.id, bool(call.body.get("includeSource")))
    prefix = "/api/v1" if call.request.url.path.startswith("/api/") else "/v1"
    return Response(status_code=302, headers={"Location": f"{prefix}/downloads/{token}.zip"})


HANDLERS: dict[tuple[str, str], Callable[[Call], dict | Response]] = {
    (TASKS, "CreateBenchmarkTask"): lambda c: c.engine.create_task(c.user, c.body),
    (TASKS, "BatchScheduleBenchmarkTaskRuns"): lambda c: c.engine.batch_schedule(c.user, c.body),
    (TASKS, "ListBenchmarkTasks"): lambda c: c.engine.list_tasks(c.user, c.body),
    (TASKS, "GetBenchmarkTask"): lambda c: c.engine.get_task(c.user, c.body),
    (TASKS, "ListBenchmarkTaskRuns"): lambda c: c.engine.list_runs(c.user, c.body),
    (TASKS, "DownloadBenchmarkTaskRunOutput"): _download,
    (TASKS, "GetBenchmarkTaskRunLogs"): _logs,
    (TASKS, "GetBenchmarkTaskQuota"): lambda c: extras.quota(c.engine, c.user),
    (TASKS, "PublishBenchmarkTask"): lambda c: c.engine.publish(c.user, c.body),
    (BENCHMARKS, "ListBenchmarkModels"): lambda c: extras.list_models(c.body),
    (BENCHMARKS, "GetBenchmarkLeaderboard"): lambda c: extras.leaderboard(c.engine, c.user, c.body),
    (OAUTH, "IntrospectToken"): lambda c: extras.introspect(c.state.users, c.body),
    (PROXY, "CreateDefaultModelProxyToken"): lambda c: extras.proxy_token(
        c.engine, c.user, str(c.request.base_url)
    ),
}


async def _read_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"Request body is not valid JSON: {error}.") from error
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    return body


def _introspection_user(state: SimState, header: str | None, body: dict) -> str:
    """IntrospectToken's caller: a stale token may introspect itself (see module doc)."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip() and value.strip() == body.get("token"):
        return ""
    return state.authenticate(header)


async def rpc(request: Request) -> Response:
    state: SimState = request.app.state.sim
    service, method = request.path_params["service"], request.path_params["method"]
    handler = HANDLERS.get((service, method))
    try:
        if handler is None:
            raise ApiError(404, f"Unknown RPC {service}/{method}.")
        body = await _read_body(request)
        header = request.headers.get("authorization")
        if (service, method) == (OAUTH, "IntrospectToken"):
            user = _introspection_user(state, header, body)
        else:
            user = state.authenticate(header)
        result = handler(Call(state, user, body, request))
    except ApiError as error:
        return error_response(error)
    return result if isinstance(result, Response) else JSONResponse(result)


async def download(request: Request) -> Response:
    state: SimState = request.app.state.sim
    token = request.path_params["token"].removesuffix(".zip")
    found = read_token(token)
    run = state.engine.store.get_run(found[0]) if found else None
    if found is None or run is None or state.engine.run_state(run) not in TERMINAL_RUN:
        return error_response(ApiError(404, "Download not found or expired."))
    data = state.engine.output_zip(run, found[1])
    plan: FaultPlan = request.scope.get("kbench.faults") or FaultPlan()
    return ZipDownload(
        data, run.end_time, dict(request.headers), plan.download_cut, plan.download_speed
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return error_response(ApiError(error.status_code, error.detail))


class AbsoluteFormMiddleware:
    """Reduce `http://host/path` request targets to `/path` (the CLI via HTTP_PROXY)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and _ABSOLUTE_FORM.match(path):
            after = path.split("://", 1)[1]
            slash = after.find("/")
            path = after[slash:] if slash >= 0 else "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class FaultMiddleware:
    """Counts each RPC and download request, then applies the active `--fault`s (faults.py)."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, verb = scope["path"], scope["method"]
        match = _RPC_PATH.match(path) if verb == "POST" else None
        method = match.group(2) if match else None
        if method is None and verb == "GET" and _DOWNLOAD_PATH.match(path):
            method = DOWNLOAD
        if method is not None:
            self.state.requests[method] += 1
        faults = self.state.faults
        if method is None or not faults.faults:
            await self.app(scope, receive, send)
            return
        if method == DOWNLOAD:
            subject = path.rsplit("/", 1)[-1].encode()  # the signed token names the archive
        else:
            subject, receive = await _buffered(receive)
        request = faults.name(method, subject)
        delay = faults.latency(method, request)
        if delay > 0:
            await asyncio.sleep(delay)
        if method != DOWNLOAD:
            fault = faults.status(method, request)
            if fault is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                message = f"Injected fault: HTTP {fault.status} ({fault.spec})."
                response = error_response(ApiError(fault.status, message, headers))
                await response(scope, receive, send)
                return
        scope["kbench.faults"] = faults.plan(method, request)
        if method != DOWNLOAD and faults.malformed(method, request):
            send = _truncating_send(send)
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Read a request's whole body (an RPC's: small), and a `receive` that hands it on."""
    chunks: list[bytes] = []
    held: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away mid-body: pass that on
            held.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    # Cut short, the body stays unfinished (`more_body`), so the app sees the disconnect
    # as it would have, and does not act on half a request.
    held.insert(0, {"type": "http.request", "body": body, "more_body": bool(held)})

    async def replay() -> Message:
        return held.pop(0) if held else await receive()

    return body, replay


def _truncating_send(send: Send) -> Send:
    """Wrap `send` so a 200 JSON answer goes out cut in half (valid HTTP, broken JSON)."""
    held: dict = {}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            if message["status"] == 200 and b"application/json" in headers.get(
                b"content-type", b""
            ):
                held["start"], held["body"] = message, b""
                return
        elif held and message["type"] == "http.response.body":
            held["body"] += message.get("body", b"")
            if message.get("more_body"):
                return
            body = held["body"][: len(held["body"]) // 2]
            start = held["start"]
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        await send(message)

    return wrapped


def build_app(state: SimState) -> ASGIApp:
    """The full ASGI app: absolute-form fix -> faults -> Starlette routes."""
    routes = []
    for prefix in ("/v1", "/api/v1"):
        routes.append(Route(f"{prefix}/downloads/{{token}}", download, methods=["GET"]))
        routes.append(Route(f"{prefix}/{{service}}/{{method}}", rpc, methods=["POST"]))
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.sim = state
    return AbsoluteFormMiddleware(FaultMiddleware(app, state))
