"""Fixtures of the simulator tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

import pytest
from sim_helpers import Rpc, call


@pytest.fixture
def rpc() -> Rpc:
    """`rpc(client, "GetBenchmarkTask", {...})` -> the raw httpx response."""
    return call
