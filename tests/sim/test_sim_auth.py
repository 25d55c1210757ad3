"""Authentication, routing and error shape: what every RPC has in common."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import httpx
import pytest
from sim_helpers import ALL_RPCS, GOOD_NOTEBOOK, rpc_path

from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[RunningSim]:
    """One simulator for the whole credential matrix (read-only checks)."""
    with start_sim(SimConfig(seed="demo"), clock=ManualClock()) as running:
        yield running


@pytest.mark.parametrize("method", ALL_RPCS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic " + base64.b64encode(b"demo:wrong").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"nobody:demo-token").decode()},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Token demo-token"},
    ],
    ids=["none", "bad-bearer", "bad-basic-key", "bad-basic-user", "garbled-basic", "bad-scheme"],
)
def test_every_rpc_refuses_missing_or_wrong_credentials(
    shared_sim: RunningSim, method: str, headers: dict
) -> None:
    with httpx.Client(base_url=shared_sim.url, timeout=10) as http:
        response = http.post(rpc_path(method), json={}, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert response.json()["message"]


def test_bearer_and_basic_both_authenticate(anon_client: httpx.Client, auth_headers) -> None:
    for headers in (auth_headers("demo"), auth_headers("demo", basic=True)):
        response = anon_client.post(rpc_path("ListBenchmarkTasks"), json={}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"tasks": []}


def test_both_prefixes_and_empty_bodies_are_served(client: httpx.Client) -> None:
    for prefix in ("/v1", "/api/v1"):
        response = client.post(rpc_path("GetBenchmarkTaskQuota", prefix), content=b"")
        assert response.status_code == 200
        assert set(response.json()) == {"dailyQuotaUsed", "totalDailyQuotaAllowed"}


def test_unknown_rpc_and_bad_bodies_are_json_errors(client: httpx.Client) -> None:
    unknown = client.post("/api/v1/benchmarks.BenchmarksApiService/GetBenchmarkModelVersionConfig")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 404
    assert unknown.json()["message"].startswith("Unknown RPC")
    not_json = client.post(rpc_path("ListBenchmarkTasks"), content=b"{nope")
    assert not_json.status_code == 400 and not_json.json()["code"] == 400
    not_object = client.post(rpc_path("ListBenchmarkTasks"), json=[1, 2])
    assert not_object.status_code == 400
    wrong_verb = client.get(rpc_path("ListBenchmarkTasks"))
    assert wrong_verb.status_code == 405 and wrong_verb.json()["code"] == 405
    nowhere = client.get("/nothing/here")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == 404


def test_no_api_version_header_and_no_compression(client: httpx.Client) -> None:
    response = client.post(
        rpc_path("ListBenchmarkModels"), json={}, headers={"Accept-Encoding": "gzip, deflate"}
    )
    assert "x-kaggle-apiversion" not in response.headers
    assert "content-encoding" not in response.headers


def test_introspect_token(anon_client: httpx.Client, client: httpx.Client) -> None:
    known = client.post(rpc_path("IntrospectToken"), json={"token": "alice-token"}).json()
    assert known["active"] is True
    assert known["username"] == "alice"
    assert known["clientId"] == "kaggle-cli"
    assert isinstance(known["userId"], int) and known["scope"]
    unknown = client.post(rpc_path("IntrospectToken"), json={"token": "stale"})
    assert unknown.status_code == 200 and unknown.json() == {"active": False}
    # The kaggle CLI introspects a stale token with itself as the Bearer: 200, inactive.
    stale = anon_client.post(
        rpc_path("IntrospectToken"),
        json={"token": "stale"},
        headers={"Authorization": "Bearer stale"},
    )
    assert stale.status_code == 200 and stale.json() == {"active": False}


def test_users_see_only_their_own_private_tasks(sim: RunningSim, auth_headers) -> None:
    sim.engine.add_task("alice", "secret-task")
    demo = httpx.Client(base_url=sim.url, headers=auth_headers("demo"))
    alice = httpx.Client(base_url=sim.url, headers=auth_headers("alice"))
    slug = {"slug": {"ownerSlug": "alice", "taskSlug": "secret-task"}}
    assert alice.post(rpc_path("GetBenchmarkTask"), json=slug).status_code == 200
    hidden = demo.post(rpc_path("GetBenchmarkTask"), json=slug)
    assert hidden.status_code == 404 and hidden.json()["code"] == 404
    assert demo.post(rpc_path("ListBenchmarkTasks"), json={}).json() == {"tasks": []}
    # Once public, others can read it but not change it.
    assert alice.post(rpc_path("PublishBenchmarkTask"), json=slug).status_code == 200
    assert demo.post(rpc_path("GetBenchmarkTask"), json=slug).json()["isPublic"] is True
    assert demo.post(rpc_path("PublishBenchmarkTask"), json=slug).status_code == 403


def test_absolute_form_request_target_is_routed(sim: RunningSim) -> None:
    """The kaggle CLI through HTTP_PROXY sends `POST http://localhost/api/v1/...`."""
    body = b"{}"
    request = (
        f"POST http://localhost{rpc_path('ListBenchmarkTasks')} HTTP/1.1\r\n"
        "Host: localhost\r\nAuthorization: Bearer demo-token\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer.endswith(b'{"tasks":[]}')


def test_create_needs_auth_even_with_a_valid_body(
    sim: RunningSim, anon_client: httpx.Client
) -> None:
    response = anon_client.post(
        rpc_path("CreateBenchmarkTask"), json={"slug": "x", "text": GOOD_NOTEBOOK}
    )
    assert response.status_code == 401
    assert sim.store.latest_versions("demo") == []
