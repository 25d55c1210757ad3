"""Fixtures for the task-file tests: offline by construction, and the kaggle CLI as oracle."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from kaggle_oracle import kaggle_api_class

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to reach a non-loopback host (the simulator on 127.0.0.1 stays usable)."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host is not None and not _is_loopback(host):
            raise AssertionError(f"DNS lookup attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every task-file test runs offline."""
    install_network_guard(monkeypatch)


@pytest.fixture(scope="session")
def kaggle_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[type]:
    """The CLI's `KaggleApi` class, imported with an empty HOME and no credentials at all."""
    patch = pytest.MonkeyPatch()
    # Session fixtures are built before the per-test guard: guard the import itself.
    install_network_guard(patch)
    home = tmp_path_factory.mktemp("home")
    patch.setenv("HOME", str(home))
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        patch.delenv(name, raising=False)
    try:
        api = kaggle_api_class()
    finally:
        patch.undo()
    yield api
