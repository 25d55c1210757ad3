"""Credentials, endpoint and `.env` settings, resolved like the kaggle CLI 2.2.4 does.

- Credentials (API reference §1.4), first found wins: `KAGGLE_API_TOKEN` (the token, or a
  path to a file holding it) > `~/.kaggle/access_token` > `~/.kaggle/access_token.txt` >
  `KAGGLE_USERNAME`/`KAGGLE_KEY` merged over `kaggle.json` (in `KAGGLE_CONFIG_DIR`, else
  `~/.kaggle`, else `$XDG_CONFIG_HOME/kaggle` / `~/.config/kaggle` when `~/.kaggle` is absent).
- Endpoint: `--endpoint URL` > `KBENCH_ENDPOINT` > `KAGGLE_API_ENVIRONMENT` > production.
- `.env` (in `envfile.py`, re-exported here) in the working directory (written by `kaggle b init` / `kaggle b auth`): the
  model-proxy key and its expiry plus the LLM defaults, read-only; `upsert_env_file` writes it.

Nothing here prints, and no message or repr ever contains a secret.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from kbench_tui.envfile import ProxySettings, load_dotenv_settings, upsert_env_file

__all__ = [
    "CREDENTIAL_HELP",
    "ENVIRONMENT_ENDPOINTS",
    "PRODUCTION_ENDPOINT",
    "ConfigError",
    "Credentials",
    "ProxySettings",
    "load_credentials",
    "load_dotenv_settings",
    "resolve_endpoint",
    "upsert_env_file",
]

PRODUCTION_ENDPOINT = "https://api.kaggle.com"

# kagglesdk's KaggleEnv table (§1.1). The RPC prefix (`/v1` vs `/api/v1`) is the client's job.
ENVIRONMENT_ENDPOINTS: dict[str, str] = {
    "PROD": PRODUCTION_ENDPOINT,
    "LOCALHOST": "http://localhost",
    "TEST": "http://localhost:7777",
    "STAGING": "https://staging.kaggle.com",
    "ADMIN": "https://admin.kaggle.com",
    "QA": "https://qa.kaggle.com",
}

CREDENTIAL_HELP = """\
kbench-tui uses your Kaggle credentials, found like the kaggle CLI finds them. Create an API
token at https://www.kaggle.com/settings (API > Generate New Token), then either:

  1. export KAGGLE_API_TOKEN=<token>        (or the path of a file that holds the token)
  2. save the token in ~/.kaggle/access_token   (chmod 600 ~/.kaggle/access_token)
  3. export KAGGLE_USERNAME=<user> KAGGLE_KEY=<legacy API key>
  4. put {"username": "<user>", "key": "<legacy API key>"} in ~/.kaggle/kaggle.json
     (or in $KAGGLE_CONFIG_DIR/kaggle.json; chmod 600 it)

The first one found wins, in this order. To try kbench-tui without an account:
kbench-tui --demo"""


class ConfigError(Exception):
    """A configuration problem, with a one-line message saying what to do next.

    `about_credentials` tells the headless path which exit code to use (3 vs 2).
    """

    def __init__(self, message: str, *, about_credentials: bool = False) -> None:
        super().__init__(message)
        self.about_credentials = about_credentials


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: a Bearer access token, or HTTP Basic username + legacy key.

    `secret` never appears in `repr()`; `source` says where it was found (for messages).
    `warnings` carries non-fatal findings, e.g. a kaggle.json readable by other users.
    """

    kind: Literal["token", "basic"]
    secret: str = field(repr=False)
    username: str | None = None
    source: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def token(cls, token: str, *, source: str = "", username: str | None = None) -> Credentials:
        """Bearer credentials from an access token."""
        return cls(kind="token", secret=token, username=username, source=source)

    @classmethod
    def basic(cls, username: str, key: str, *, source: str = "") -> Credentials:
        """HTTP Basic credentials from a username and a legacy API key."""
        return cls(kind="basic", secret=key, username=username, source=source)

    def authorization_header(self) -> str:
        """The value of the `Authorization` header."""
        if self.kind == "token":
            return f"Bearer {self.secret}"
        pair = f"{self.username or ''}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __str__(self) -> str:
        who = f" for {self.username}" if self.username else ""
        return f"{'access token' if self.kind == 'token' else 'API key'}{who} from {self.source}"


def _read_secret_file(path: Path, what: str) -> str:
    """The stripped content of a token file; ConfigError (never the content) if unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(
            f"{what} points at the directory {path}; it must be a file holding the token.",
            about_credentials=True,
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path} is not a text file; save only the API token in it.", about_credentials=True
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path} ({exc.strerror or exc}); fix its permissions (chmod 600 {path}).",
            about_credentials=True,
        ) from None
    token = text.strip()
    if not token:
        raise ConfigError(
            f"{path} is empty; paste your API token into it or delete it.",
            about_credentials=True,
        )
    if not _is_header_safe(token):
        # A token with a line break or a space cannot go into an HTTP header, and the HTTP
        # library's refusal quotes the header: say it here, without the content.
        raise ConfigError(
            f"{path} has a line break, space or control character inside the token; save "
            "only the API token in it.",
            about_credentials=True,
        )
    return token


def _is_header_safe(token: str) -> bool:
    """Printable ASCII without spaces: what a bearer token is made of."""
    return token.isascii() and all(" " < char < "\x7f" for char in token)


def _config_dir(env: Mapping[str, str], home: Path) -> Path:
    """Where kaggle.json lives, as the CLI decides it (§1.4)."""
    configured = env.get("KAGGLE_CONFIG_DIR")
    if configured:
        return Path(configured).expanduser()
    legacy = home / ".kaggle"
    if legacy.exists():
        return legacy
    xdg = env.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else home / ".config") / "kaggle"


def _read_kaggle_json(path: Path) -> tuple[dict[str, str], list[str]]:
    """username/key from kaggle.json, plus a warning when others can read it."""
    warnings: list[str] = []
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path} ({exc.strerror or exc}); fix its permissions with "
            f"'chmod 600 {path}'.",
            about_credentials=True,
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path} is not valid JSON text; it should be "
            '{"username": "<user>", "key": "<API key>"}.',
            about_credentials=True,
        ) from None
    # Same test as the CLI: group-readable (0o040) or other-readable (0o004).
    if os.name != "nt" and mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.append(
            f"your Kaggle API key in {path} is readable by other users; run 'chmod 600 {path}'."
        )
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}); it should be "
            '{"username": "<user>", "key": "<API key>"}.',
            about_credentials=True,
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f'{path} must hold a JSON object like {{"username": "<user>", "key": "<API key>"}}.',
            about_credentials=True,
        )
    values = {k: str(v) for k, v in data.items() if k in ("username", "key") and v is not None}
    return values, warnings


def load_credentials(
    env: Mapping[str, str] | None = None, home: Path | None = None
) -> Credentials | None:
    """Find credentials like the kaggle CLI; None when there are none at all.

    Raises ConfigError for a source that exists but cannot be used (empty token file,
    malformed kaggle.json, unreadable file, username without key).
    """
    env = os.environ if env is None else env
    home = Path.home() if home is None else home

    value = env.get("KAGGLE_API_TOKEN", "").strip()
    if value:
        # Like kagglesdk: a value naming an existing path is a file holding the token.
        candidate = Path(value).expanduser()
        try:
            is_path = len(value) < 4096 and candidate.exists()
        except (OSError, ValueError):  # e.g. a NUL byte or a name too long for the OS
            is_path = False
        if is_path:
            token = _read_secret_file(candidate, "KAGGLE_API_TOKEN")
            return Credentials.token(token, source=f"KAGGLE_API_TOKEN file {candidate}")
        if not _is_header_safe(value):
            raise ConfigError(
                "KAGGLE_API_TOKEN holds a line break, space or control character; set it to "
                "the API token alone.",
                about_credentials=True,
            )
        return Credentials.token(value, source="KAGGLE_API_TOKEN")

    for name in ("access_token", "access_token.txt"):
        path = home / ".kaggle" / name
        if path.exists():
            return Credentials.token(_read_secret_file(path, str(path)), source=str(path))

    config_path = _config_dir(env, home) / "kaggle.json"
    values: dict[str, str] = {}
    warnings: list[str] = []
    if config_path.exists():
        values, warnings = _read_kaggle_json(config_path)
    # Every KAGGLE_* variable overrides the file's key of the same lower-cased name.
    sources = [str(config_path)] if values else []
    for variable, key in (("KAGGLE_USERNAME", "username"), ("KAGGLE_KEY", "key")):
        if env.get(variable):
            values[key] = env[variable]
            sources.append(variable)
    username, key = values.get("username", "").strip(), values.get("key", "").strip()
    if not username and not key:
        return None
    if not username or not key:
        missing = "username" if not username else "key"
        raise ConfigError(
            f"the Kaggle {missing} is missing ({' + '.join(sources)}); set "
            f'KAGGLE_{missing.upper()} or add "{missing}" to {config_path}.',
            about_credentials=True,
        )
    credentials = Credentials.basic(username, key, source=" + ".join(dict.fromkeys(sources)))
    return replace(credentials, warnings=tuple(warnings))


def validate_endpoint(url: str, origin: str) -> str:
    """A normalised endpoint URL (no trailing slash); ConfigError if it is not http(s)."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{origin} must be an http:// or https:// URL like https://api.kaggle.com, "
            f"got {text!r}."
        )
    if parts.username or parts.password:
        raise ConfigError(
            f"{origin} must not contain a user name or password; provide credentials with "
            "KAGGLE_API_TOKEN or ~/.kaggle instead."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{origin} must not have a query or fragment: {text!r}.")
    try:
        parts.port  # noqa: B018 - validates the port number
    except ValueError:
        raise ConfigError(f"{origin} has an invalid port: {text!r}.") from None
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        # Every request carries the API token: never send it in clear across a network.
        raise ConfigError(
            f"{origin} {text!r} uses plain http to a host that is not this machine, which "
            "would send your Kaggle token unencrypted; use https, or an SSH tunnel to a "
            "local port (ssh -L 8765:localhost:8765 HOST, then http://127.0.0.1:8765)."
        )
    return text.rstrip("/")


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_endpoint(flag: str | None, env: Mapping[str, str] | None = None) -> str:
    """`--endpoint` > `KBENCH_ENDPOINT` > `KAGGLE_API_ENVIRONMENT` > production."""
    env = os.environ if env is None else env
    if flag:
        return validate_endpoint(flag, "--endpoint")
    if env.get("KBENCH_ENDPOINT"):
        return validate_endpoint(env["KBENCH_ENDPOINT"], "KBENCH_ENDPOINT")
    name = env.get("KAGGLE_API_ENVIRONMENT", "").strip()
    if name:
        endpoint = ENVIRONMENT_ENDPOINTS.get(name.upper())
        if endpoint is None:
            choices = ", ".join(ENVIRONMENT_ENDPOINTS)
            raise ConfigError(
                f"unrecognized KAGGLE_API_ENVIRONMENT {name!r}; use one of {choices}, or unset it."
            )
        return endpoint
    return PRODUCTION_ENDPOINT
