"""Fault injection: `--fault SPEC` (repeatable), parsed strictly, decided by a seeded RNG.

Spec grammar: comma-separated `key[=value]` items; exactly one of the kind keys below,
plus optional `rate=F` (0..1, default 1: every eligible request), `rpc=Method` (only
that RPC, e.g. `rpc=ListBenchmarkTasks`) and, for status faults, `retry-after=SECONDS`.

| kind                   | effect                                                       | applies to        |
|------------------------|--------------------------------------------------------------|-------------------|
| `status=503`           | answer HTTP 503 `{"code":503,...}` before the RPC acts        | RPC POSTs         |
| `status=429,retry-after=1` | same, with `Retry-After: 1`                              | RPC POSTs         |
| `latency=30ms` / `0.03s` | delay the answer (real time, not clock time)               | RPCs and downloads|
| `sse-drop-after=20`    | close a log stream abruptly after 20 events (no final chunk) | SSE log streams   |
| `download-cut=0.5`     | send half the zip body, then close (full Content-Length)     | download GETs     |
| `download-speed=4MB`   | send each zip body at most 4 MB/s (per connection, real time; B, KB, MB, GB: powers of 1000) | download GETs |
| `malformed-json`       | 200 with a truncated JSON body                               | 200 JSON RPC answers |

Status faults are injected *before* the handler runs, so the server "cannot have acted"
(clients may safely retry creates on 429/503). Faults never touch stored state: an
injected failure leaves the simulator exactly as it was. The signed download URL is not
an RPC, so status and malformed-json faults skip it; its faults are `download-cut` and
`download-speed` (a storage host that sends each connection slowly, as a distant or
throttling one does).
Whether a fault hits a request is drawn from `--rng-seed`, the spec and its position, and
the request itself: its RPC, its body (for a download, its signed URL) and how many
identical requests came before it. The same requests therefore meet the same faults every
time, in whatever order a concurrent client sends them: the 3rd attempt of one run's log
fetch is decided the same way whether 7 other fetches raced it or none did. Replacing the
faults (`RunningSim.set_faults`) starts the count afresh.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

DOWNLOAD = "download"  # the name faults use for the signed download GET (not an RPC)
_KINDS = (
    "status",
    "latency",
    "sse-drop-after",
    "download-cut",
    "download-speed",
    "malformed-json",
)
_OPTIONS = ("rate", "rpc", "retry-after")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")
_SPEED = re.compile(r"^(\d+(?:\.\d+)?)(B|KB|MB|GB)?(/s)?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9}


class FaultSpecError(ValueError):
    """A `--fault` value that does not parse; the message names the problem and the fix."""


@dataclass
class Fault:
    """One parsed fault spec; `seed` makes its decisions reproducible."""

    spec: str
    kind: str
    rate: float = 1.0
    status: int = 0
    retry_after: str | None = None
    latency: float = 0.0
    drop_after: int = 0
    cut_fraction: float = 0.0
    speed: float = 0.0  # bytes per second
    rpc: str | None = None
    seed: str = ""

    def fires(self, method: str | None, request: str) -> bool:
        """Whether this fault hits the request named `request` (see `FaultSet.name`).

        A pure function of the seed and the name: asking again gives the same answer.
        """
        if self.rpc is not None and method != self.rpc:
            return False
        if self.rate >= 1.0:
            return True
        digest = hashlib.blake2b(f"{self.seed}\n{request}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.rate


def _number(spec: str, key: str, value: str, cast: type = float) -> float:
    try:
        return cast(value)
    except ValueError:
        raise FaultSpecError(f"bad fault {spec!r}: {key}={value!r} is not a number") from None


def _duration(spec: str, value: str) -> float:
    match = _DURATION.match(value.strip())
    if not match:
        raise FaultSpecError(f"bad fault {spec!r}: latency={value!r}; use e.g. 30ms or 0.03s")
    amount = float(match.group(1))
    return amount / 1000 if match.group(2) == "ms" else amount


def _speed(spec: str, value: str) -> float:
    match = _SPEED.match(value.strip())
    if not match or float(match.group(1)) <= 0:
        raise FaultSpecError(
            f"bad fault {spec!r}: download-speed={value!r}; use e.g. 4MB or 500KB (per second)"
        )
    return float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def parse_fault(spec: str, rng_seed: int = 0, index: int = 0) -> Fault:
    """Parse one spec such as `status=429,rate=0.15,retry-after=1`."""
    items: dict[str, str | None] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            raise FaultSpecError(f"bad fault {spec!r}: empty item; separate items with one comma")
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if key not in _KINDS and key not in _OPTIONS:
            known = ", ".join((*_KINDS, *_OPTIONS))
            raise FaultSpecError(f"bad fault {spec!r}: unknown key {key!r} (known: {known})")
        if key in items:
            raise FaultSpecError(f"bad fault {spec!r}: {key!r} given twice")
        if key == "malformed-json" and sep:
            raise FaultSpecError(f"bad fault {spec!r}: malformed-json takes no value")
        if key != "malformed-json" and not value.strip():
            raise FaultSpecError(f"bad fault {spec!r}: {key} needs a value ({key}=...)")
        items[key] = value.strip() if sep else None
    kinds = [key for key in items if key in _KINDS]
    if len(kinds) != 1:
        raise FaultSpecError(
            f"bad fault {spec!r}: give exactly one of {', '.join(_KINDS)} (got {len(kinds)})"
        )
    kind = kinds[0]
    fault = Fault(spec=spec, kind=kind, seed=f"{rng_seed}:fault:{index}:{spec}")
    value = items[kind] or ""
    if kind == "status":
        fault.status = int(_number(spec, "status", value, int))
        if not 400 <= fault.status <= 599:
            raise FaultSpecError(f"bad fault {spec!r}: status must be 400..599")
    elif kind == "latency":
        fault.latency = _duration(spec, value)
    elif kind == "sse-drop-after":
        fault.drop_after = int(_number(spec, "sse-drop-after", value, int))
        if fault.drop_after < 0:
            raise FaultSpecError(f"bad fault {spec!r}: sse-drop-after must be >= 0")
    elif kind == "download-cut":
        fault.cut_fraction = _number(spec, "download-cut", value)
        if not 0.0 <= fault.cut_fraction < 1.0:
            raise FaultSpecError(f"bad fault {spec!r}: download-cut must be in [0, 1)")
    elif kind == "download-speed":
        fault.speed = _speed(spec, value)
    if "rate" in items:
        fault.rate = _number(spec, "rate", items["rate"] or "")
        if not 0.0 <= fault.rate <= 1.0:
            raise FaultSpecError(f"bad fault {spec!r}: rate must be between 0 and 1")
    if "retry-after" in items:
        if kind != "status":
            raise FaultSpecError(f"bad fault {spec!r}: retry-after only goes with status=...")
        seconds = _number(spec, "retry-after", items["retry-after"] or "")
        if seconds < 0:
            raise FaultSpecError(f"bad fault {spec!r}: retry-after must be >= 0")
        fault.retry_after = items["retry-after"]
    if "rpc" in items:
        fault.rpc = items["rpc"]
    return fault


def parse_faults(specs: list[str], rng_seed: int = 0) -> list[Fault]:
    """Parse every spec; raises FaultSpecError on the first bad one."""
    return [parse_fault(spec, rng_seed, index) for index, spec in enumerate(specs)]


@dataclass
class FaultPlan:
    """What the faults decided for one request (read by the log and download handlers)."""

    sse_drop_after: int | None = None
    download_cut: float | None = None
    download_speed: float | None = None  # bytes per second


class FaultSet:
    """The active faults; replaceable at run time (`RunningSim.set_faults`).

    Every decision for one request is made under the name `name` gave it, so a request's
    faults depend on what it is and how many identical ones came before, never on what
    other requests were in flight.
    """

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.faults = faults or []
        self._seen: Counter[str] = Counter()

    def name(self, method: str, subject: bytes) -> str:
        """A request's name: its method, a digest of `subject` (the body, or the download
        URL's token) and how many requests of that name this set saw before (from 0)."""
        key = f"{method}\n{hashlib.blake2b(subject, digest_size=12).hexdigest()}"
        occurrence = self._seen[key]
        self._seen[key] = occurrence + 1
        return f"{key}\n{occurrence}"

    def latency(self, method: str | None, request: str) -> float:
        return sum(
            f.latency for f in self.faults if f.kind == "latency" and f.fires(method, request)
        )

    def status(self, method: str, request: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind == "status" and fault.fires(method, request):
                return fault
        return None

    def malformed(self, method: str, request: str) -> bool:
        return any(f.kind == "malformed-json" and f.fires(method, request) for f in self.faults)

    def plan(self, method: str | None, request: str) -> FaultPlan:
        plan = FaultPlan()
        for fault in self.faults:
            if fault.kind == "sse-drop-after":
                applies = method == "GetBenchmarkTaskRunLogs"
            else:
                applies = method == DOWNLOAD and fault.kind in ("download-cut", "download-speed")
            if not applies or not fault.fires(method, request):
                continue
            if fault.kind == "sse-drop-after":
                plan.sse_drop_after = fault.drop_after
            elif fault.kind == "download-cut":
                plan.download_cut = fault.cut_fraction
            else:
                plan.download_speed = fault.speed
        return plan
