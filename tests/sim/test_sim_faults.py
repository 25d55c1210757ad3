"""Fault injection: parsing, each fault's effect, and a healthy server afterwards."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sim_helpers import GOOD_NOTEBOOK, Rpc, rpc_path
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.faults import FaultSpecError, parse_fault
from kbench_tui.sim.runner import RunningSim, SimConfig, SimConfigError, start_sim
from kbench_tui.sim.server import _buffered


@pytest.mark.parametrize(
    ("spec", "field", "value"),
    [
        ("status=503,rate=0.25", "status", 503),
        ("status=429,rate=0.15,retry-after=1", "retry_after", "1"),
        ("latency=30ms", "latency", 0.03),
        ("latency=0.03s", "latency", 0.03),
        ("sse-drop-after=20,rate=1", "drop_after", 20),
        ("download-cut=0.5,rate=0.5", "cut_fraction", 0.5),
        ("download-speed=4MB", "speed", 4_000_000),
        ("download-speed=500KB/s", "speed", 500_000),
        ("download-speed=1.5gb", "speed", 1_500_000_000),
        ("download-speed=2048", "speed", 2048),
        ("malformed-json,rate=0.05", "rate", 0.05),
        ("status=500,rpc=ListBenchmarkTasks", "rpc", "ListBenchmarkTasks"),
    ],
)
def test_good_specs_parse(spec: str, field: str, value: object) -> None:
    assert getattr(parse_fault(spec), field) == value


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "status",
        "status=abc",
        "status=200",
        "status=503,rate=2",
        "status=503,,rate=1",
        "latency=fast",
        "latency=30ms,status=503",
        "rate=0.5",
        "explode=1",
        "malformed-json=1",
        "download-cut=1.5",
        "download-speed=fast",
        "download-speed=0",
        "download-speed=4TB",
        "sse-drop-after=-1",
        "latency=30ms,retry-after=1",
        "status=503,status=500",
    ],
)
def test_bad_specs_are_refused_with_a_reason(spec: str) -> None:
    with pytest.raises(FaultSpecError, match="bad fault"):
        parse_fault(spec)
    with pytest.raises(SimConfigError):
        start_sim(SimConfig(faults=[spec]), clock=ManualClock())


def test_status_faults_act_before_the_handler(
    sim: RunningSim, client: httpx.Client, rpc: Rpc
) -> None:
    sim.set_faults(["status=503,rate=1"])
    failed = rpc(client, "CreateBenchmarkTask", {"slug": "my-task", "text": GOOD_NOTEBOOK})
    assert failed.status_code == 503 and failed.json()["code"] == 503
    assert sim.store.latest_versions("demo") == []  # the server did not act
    sim.set_faults(["status=429,rate=1,retry-after=1"])
    limited = rpc(client, "ListBenchmarkTasks")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    sim.set_faults([])
    assert rpc(client, "ListBenchmarkTasks").status_code == 200


def test_fault_pattern_is_reproducible_and_targetable() -> None:
    def pattern() -> list[int]:
        config = SimConfig(faults=["status=503,rate=0.5,rpc=ListBenchmarkTasks"], rng_seed=3)
        with (
            start_sim(config, clock=ManualClock()) as sim,
            httpx.Client(base_url=sim.url, headers={"Authorization": "Bearer demo-token"}) as http,
        ):
            quota = http.post(rpc_path("GetBenchmarkTaskQuota"), json={})
            assert quota.status_code == 200  # other RPCs are untouched
            return [
                http.post(rpc_path("ListBenchmarkTasks"), json={}).status_code for _ in range(20)
            ]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 503}


def test_a_requests_faults_do_not_depend_on_the_order_requests_come_in() -> None:
    """A concurrent client sends its requests in a new order each time: each request still
    meets the same faults (its 1st, 2nd, 3rd attempt), so a fault run is reproducible."""
    spec = "status=503,rate=0.5,rpc=ListBenchmarkTasks"
    bodies = [{"pageSize": size} for size in range(1, 9)]

    def outcomes(order: list[int]) -> dict[int, list[int]]:
        config = SimConfig(faults=[spec], rng_seed=3)
        seen: dict[int, list[int]] = {index: [] for index in range(len(bodies))}
        with (
            start_sim(config, clock=ManualClock()) as sim,
            httpx.Client(base_url=sim.url, headers={"Authorization": "Bearer demo-token"}) as http,
        ):
            for index in order:
                status = http.post(rpc_path("ListBenchmarkTasks"), json=bodies[index]).status_code
                seen[index].append(status)
        return seen

    round_robin = [index for _ in range(3) for index in range(len(bodies))]
    one_by_one_backwards = [index for index in reversed(range(len(bodies))) for _ in range(3)]
    first = outcomes(round_robin)
    assert first == outcomes(one_by_one_backwards)
    assert {status for statuses in first.values() for status in statuses} == {200, 503}


async def test_a_body_cut_short_by_a_disconnect_stays_unfinished_for_the_handler() -> None:
    """With faults on, the middleware reads the body first; a client that hangs up mid-body
    must still look gone to the handler, which then never acts on half a request."""
    sent: list[Message] = [
        {"type": "http.request", "body": b'{"slug":', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return sent.pop(0)

    body, replay = await _buffered(receive)
    assert body == b'{"slug":'
    request = Request({"type": "http", "method": "POST", "headers": []}, replay)
    with pytest.raises(ClientDisconnect):
        await request.body()

    whole: list[Message] = [
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    ]

    async def receive_whole() -> Message:
        return whole.pop(0)

    body, replay = await _buffered(receive_whole)
    assert body == b'{"a":1}'
    assert await Request({"type": "http", "method": "POST", "headers": []}, replay).body() == body


def test_latency(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.set_faults(["latency=40ms"])
    started = time.perf_counter()
    assert rpc(client, "ListBenchmarkTasks").status_code == 200
    assert time.perf_counter() - started >= 0.04


def test_malformed_json(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.set_faults(["malformed-json,rate=1"])
    response = rpc(client, "ListBenchmarkModels")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    sim.set_faults([])
    assert rpc(client, "ListBenchmarkModels").json()["benchmarkModels"]


def test_sse_drop_after(sim: RunningSim, client: httpx.Client) -> None:
    sim.engine.add_task("demo", "my-task")
    run_id = sim.engine.add_run(
        "demo", "my-task", "gpt-5", log_lines=50, queue_seconds=0, run_seconds=100
    )
    sim.clock.advance(99)
    sim.set_faults(["sse-drop-after=20,rate=1"])
    received = []
    path = rpc_path("GetBenchmarkTaskRunLogs")
    # Closed without the final chunk: the client sees a protocol error, not a clean end.
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", path, json={"runId": run_id}) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append(line)
    assert len(received) == 20
    sim.set_faults([])  # the server is healthy afterwards
    with client.stream(
        "POST", rpc_path("GetBenchmarkTaskRunLogs"), json={"runId": run_id}
    ) as response:
        lines = response.iter_lines()
        assert next(lines) == received[0]


def finished_run_download_url(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> str:
    """The signed URL of a finished run's output, padded to about 200 KB."""
    sim.engine.add_task("demo", "my-task")
    run_id = sim.engine.add_run("demo", "my-task", "gpt-5", output_padding=200_000)
    sim.clock.advance(3600)
    answer = rpc(client, "DownloadBenchmarkTaskRunOutput", {"runId": run_id})
    return sim.url + answer.headers["location"]


def test_download_cut_then_resume(
    sim: RunningSim, client: httpx.Client, anon_client: httpx.Client, rpc: Rpc
) -> None:
    url = finished_run_download_url(sim, client, rpc)
    full = anon_client.get(url).content
    sim.set_faults(["download-cut=0.5,rate=1"])
    partial = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), anon_client.stream("GET", url) as response:
        assert int(response.headers["content-length"]) == len(full)
        for chunk in response.iter_bytes():
            partial += chunk
    assert 0 < len(partial) < len(full)
    sim.set_faults([])
    rest = anon_client.get(url, headers={"Range": f"bytes={len(partial)}-"})
    assert rest.status_code == 206
    assert bytes(partial) + rest.content == full


def test_download_speed_sends_each_body_slowly_and_whole(
    sim: RunningSim, client: httpx.Client, anon_client: httpx.Client, rpc: Rpc
) -> None:
    """A distant or throttling storage host: 200 KB at 1 MB/s takes 0.2 s, in tenths."""
    url = finished_run_download_url(sim, client, rpc)
    full = anon_client.get(url).content
    sim.set_faults(["download-speed=1MB"])
    started = time.perf_counter()
    assert anon_client.get(url).content == full
    assert time.perf_counter() - started >= 0.9 * len(full) / 1_000_000
    rest = anon_client.get(url, headers={"Range": "bytes=100000-"})
    assert rest.status_code == 206 and rest.content == full[100_000:]
