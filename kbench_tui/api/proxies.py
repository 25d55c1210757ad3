"""HTTP proxies from the environment, chosen per URL the way the kaggle CLI chooses them.

The CLI (requests) honours `HTTPS_PROXY` / `HTTP_PROXY` for their scheme, `ALL_PROXY` for
any, and `NO_PROXY`; so do we, for every request: the RPCs, the download's signed storage
URL and its resumes. The variables are read in either case, the lowercase one winning, as
`urllib.request.getproxies` reads them; `HTTP_PROXY` is ignored when `REQUEST_METHOD` is
set (a CGI environment, where a client's `Proxy:` header becomes `HTTP_PROXY`), and an
empty lowercase variable (`https_proxy=`) turns its proxy off. A proxy given without a
scheme is `http://` (as requests assumes).

`NO_PROXY` is `*` (nothing goes through a proxy) or a comma-separated list of: a host name,
which also covers its subdomains (`example.com`, `.example.com`), `host:port`, an IP
address (`[2001:db8::5]:8443` with a port) or an IP network (`10.0.0.0/8`).

Loopback (`localhost`, `127.0.0.0/8`, `::1`) always goes direct, as Go's HTTP client
does: a proxy elsewhere cannot reach this machine's loopback, and `--demo` and
`kbench-tui sim` live there. (requests sends even those through the proxy, which is how
the CLI can be pointed at a simulator.)

Only http:// and https:// proxies are supported (a SOCKS proxy needs a package we do not
ship): another scheme, or a value that is not a URL, is a clear error naming the variable,
never the proxy's address, which may hold a password.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from kbench_tui.api.errors import ApiError

__all__ = ["EnvironmentProxies", "ProxySettingError"]

_SUPPORTED = ("http", "https")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


class ProxySettingError(ApiError):
    """A proxy variable we cannot use."""

    hint = "use an http:// proxy, or list the host in NO_PROXY"


class EnvironmentProxies:
    """The proxy settings of one environment; `proxy_for(url)` per request."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        # As urllib.request.getproxies_environment reads them (requests uses it): any case
        # first; then names spelt `*_proxy` in lowercase win, and an empty one removes it.
        found: dict[str, tuple[str, str]] = {}  # scheme -> (variable, value)
        for name, value in environ.items():
            if value and name.lower().endswith("_proxy"):
                found[name.lower()[: -len("_proxy")]] = (name, value.strip())
        if "REQUEST_METHOD" in environ:
            found.pop("http", None)
        for name, value in environ.items():
            if name.endswith("_proxy"):
                key = name.lower()[: -len("_proxy")]
                if value:
                    found[key] = (name, value.strip())
                else:
                    found.pop(key, None)
        no_proxy = found.pop("no", ("", ""))[1]
        self._proxies = found
        self._everything_direct = no_proxy.strip() == "*"
        self._no_proxy = [entry.strip() for entry in no_proxy.split(",") if entry.strip()]
        self._decided: dict[tuple[str, str, int | None], tuple[str, str] | None] = {}

    def __bool__(self) -> bool:
        return bool(self._proxies)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL to send `url` through, or None to connect directly."""
        chosen = self.chosen_for(url)
        return chosen[1] if chosen is not None else None

    def chosen_for(self, url: str) -> tuple[str, str] | None:
        """(the variable, the proxy URL) that `url` goes through, or None for direct."""
        if not self._proxies:
            return None
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None  # not a URL anything can connect to; the request fails on its own
        key = (parts.scheme, (parts.hostname or "").lower(), port)
        if key not in self._decided:
            self._decided[key] = self._decide(*key)
        return self._decided[key]

    def _decide(self, scheme: str, host: str, port: int | None) -> tuple[str, str] | None:
        chosen = self._proxies.get(scheme) or self._proxies.get("all")
        if chosen is None or self._bypassed(host, port):
            return None
        variable, proxy = chosen
        if "://" not in proxy:
            proxy = f"http://{proxy}"
        proxy_scheme = proxy.split("://", 1)[0]
        if not _SCHEME.match(proxy_scheme):
            raise ProxySettingError(f"{variable} is not a proxy URL such as http://proxy:3128")
        if proxy_scheme.lower() not in _SUPPORTED:
            raise ProxySettingError(
                f"{variable} names a {proxy_scheme}:// proxy, which kbench-tui does not support"
            )
        try:
            httpx.Proxy(proxy)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise ProxySettingError(
                f"{variable} is not a proxy URL such as http://proxy:3128"
            ) from None
        return variable, proxy

    def _bypassed(self, host: str, port: int | None) -> bool:
        address = _ip(host)
        if host == "localhost" or host.endswith(".localhost"):
            return True
        if address is not None and address.is_loopback:
            return True
        if self._everything_direct:
            return True
        for entry in self._no_proxy:
            name, wanted_port = _split_port(entry)
            if wanted_port is not None and wanted_port != port:
                continue
            name = name.lstrip(".").lower()
            if "/" in name:
                if address is not None and _in_network(address, name):
                    return True
                continue
            entry_address = _ip(name)
            if entry_address is not None:
                if address == entry_address:
                    return True
                continue
            if host == name or host.endswith("." + name):
                return True
        return False


def _split_port(entry: str) -> tuple[str, int | None]:
    """`host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address or a name."""
    if entry.startswith("["):
        address, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return address, int(port) if port.isdigit() else None
    head, colon, tail = entry.rpartition(":")
    if colon and tail.isdigit() and ":" not in head:
        return head, int(tail)
    return entry, None


def _in_network(address: ipaddress.IPv4Address | ipaddress.IPv6Address, network: str) -> bool:
    try:
        return address in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
