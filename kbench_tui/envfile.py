"""The `.env` file of `kaggle b init` / `kaggle b auth`: read it, and upsert keys into it.

Reading uses python-dotenv's `dotenv_values` and never touches `os.environ`. Writing keeps
every other line and comment, replaces existing keys in place (no duplicates), and swaps the
new file in atomically with mode 0600, because it holds the model-proxy API key.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

# A key counts as expiring "soon" within this window: long enough to notice during a session,
# short enough not to nag all day for tokens that last a day or more.
EXPIRY_SOON = timedelta(hours=1)

ExpiryStatus = Literal["ok", "soon", "expired", "unknown"]


def _parse_expiry(text: str) -> datetime | None:
    """`2026-03-02T10:00:00.123Z`-style (any fraction, optional offset) -> naive UTC."""
    # Imported here so that reading settings does not pull pydantic in on the fast paths.
    from kbench_tui.api.wire import parse_timestamp

    return parse_timestamp(text)


@dataclass(frozen=True)
class ProxySettings:
    """Model-proxy settings from `.env` (read-only). The API key never appears in repr."""

    path: Path | None = None
    url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    expiry: datetime | None = None
    llm_default: str | None = None
    llm_default_eval: str | None = None
    llms_available: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def key_hint(self) -> str | None:
        """The last 4 characters of the key (`a1b2`): enough to tell keys apart, safe to show."""
        if not self.api_key:
            return None
        return self.api_key[-4:]

    def expires_in(self, now: datetime) -> timedelta | None:
        """Time left before the key expires (negative once expired); None if unknown."""
        if self.expiry is None:
            return None
        if now.tzinfo is not None:
            now = now.astimezone(timezone.utc).replace(tzinfo=None)
        return self.expiry - now

    def expiry_status(self, now: datetime, soon: timedelta = EXPIRY_SOON) -> ExpiryStatus:
        """`ok`, `soon` (less than `soon` left, 1 h by default), `expired` or `unknown`."""
        left = self.expires_in(now)
        if left is None:
            return "unknown"
        if left <= timedelta(0):
            return "expired"
        return "soon" if left < soon else "ok"


def load_dotenv_settings(cwd: Path) -> ProxySettings:
    """Read `<cwd>/.env`; a missing file gives empty settings, bad values give warnings."""
    path = cwd / ".env"
    if not path.is_file():
        return ProxySettings()
    warnings: list[str] = []
    try:
        from dotenv import dotenv_values  # only when a .env exists: keeps start-up lean

        values: Mapping[str, str | None] = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        return ProxySettings(path=path, warnings=(f"cannot read {path}: {reason}.",))

    def get(key: str) -> str | None:
        value = values.get(key)
        return value.strip() if value and value.strip() else None

    expiry = None
    raw_expiry = get("MODEL_PROXY_EXPIRY_TIME")
    if raw_expiry:
        try:
            expiry = _parse_expiry(raw_expiry)
        except ValueError:
            warnings.append(
                f"MODEL_PROXY_EXPIRY_TIME in {path} is not a date ({raw_expiry!r}); "
                "refresh it with `kaggle b auth -y`."
            )
    available = get("LLMS_AVAILABLE") or ""
    return ProxySettings(
        path=path,
        url=get("MODEL_PROXY_URL"),
        api_key=get("MODEL_PROXY_API_KEY"),
        expiry=expiry,
        llm_default=get("LLM_DEFAULT"),
        llm_default_eval=get("LLM_DEFAULT_EVAL"),
        llms_available=tuple(item.strip() for item in available.split(",") if item.strip()),
        warnings=tuple(warnings),
    )


_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_./:@,+=%~-]*$")


def _assignment(key: str, value: str) -> str:
    """`KEY=value`, double-quoted (with escapes) when dotenv would misread it bare."""
    if _PLAIN_VALUE.match(value):
        return f"{key}={value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{key}="{escaped}"'


def upsert_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Set `values` in the env file at `path`: replace keys in place, append new ones.

    Other lines (comments, blank lines, other keys) are kept byte for byte. A key that
    appears several times is written once, where it first appeared. The file is replaced
    atomically (temp file in the same directory + `os.replace`) and ends with mode 0600.
    """
    for key in values:
        if not _KEY.match(key):
            raise ValueError(f"not a valid environment variable name: {key!r}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    pending = dict(values)
    written: set[str] = set()
    output: list[str] = []
    for line in lines:
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        key = match.group(1) if match else None
        if key is None or key not in values:
            output.append(line)
            continue
        if key in written:
            continue  # a duplicate of a key we already wrote: drop it
        output.append(_assignment(key, values[key]))
        written.add(key)
        pending.pop(key, None)
    output.extend(_assignment(key, value) for key, value in pending.items())

    directory = path.parent if str(path.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates the file 0600 already; chmod again in case of an unusual umask.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(output) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
