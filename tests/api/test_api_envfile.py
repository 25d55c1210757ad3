"""`.env` reading (model proxy key expiry) and upserting (no duplicates, 0600, atomic)."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dotenv import dotenv_values

from kbench_tui.config import load_dotenv_settings, upsert_env_file

KEY = "proxy-key-canary-abcd"


def test_missing_env_file_gives_empty_settings(tmp_path: Path) -> None:
    settings = load_dotenv_settings(tmp_path)
    assert settings.url is None and settings.api_key is None and settings.key_hint is None
    assert settings.expiry_status(datetime(2026, 3, 1)) == "unknown"


def test_env_file_is_read_without_touching_os_environ(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# from kaggle b init\n"
        "MODEL_PROXY_URL=https://proxy.example/v1\n"
        f"MODEL_PROXY_API_KEY={KEY}\n"
        "MODEL_PROXY_EXPIRY_TIME=2026-03-02T12:00:00.000000Z\n"
        "LLM_DEFAULT=google/gemini-3-flash-preview\n"
        "LLM_DEFAULT_EVAL=google/gemini-3-flash-preview\n"
        "LLMS_AVAILABLE=a/b@default, c/d ,\n"
    )
    before = dict(os.environ)
    settings = load_dotenv_settings(tmp_path)
    assert dict(os.environ) == before
    assert settings.url == "https://proxy.example/v1"
    assert settings.key_hint == "abcd"
    assert KEY not in repr(settings)
    assert settings.expiry == datetime(2026, 3, 2, 12, 0)
    assert settings.llms_available == ("a/b@default", "c/d")
    assert settings.llm_default == "google/gemini-3-flash-preview"
    now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    assert settings.expires_in(now) == timedelta(hours=2)
    assert settings.expiry_status(now) == "ok"
    assert settings.expiry_status(now + timedelta(minutes=90)) == "soon"
    assert settings.expiry_status(now + timedelta(hours=2)) == "expired"
    assert settings.expiry_status(datetime(2026, 3, 2, 11, 59)) == "soon"  # naive = UTC


def test_malformed_expiry_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"MODEL_PROXY_API_KEY={KEY}\nMODEL_PROXY_EXPIRY_TIME=soon-ish\n")
    settings = load_dotenv_settings(tmp_path)
    assert settings.expiry is None
    assert settings.expiry_status(datetime(2026, 3, 1)) == "unknown"
    assert len(settings.warnings) == 1 and "MODEL_PROXY_EXPIRY_TIME" in settings.warnings[0]
    assert KEY not in settings.warnings[0]


def test_upsert_replaces_in_place_and_keeps_everything_else(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# settings\n"
        "OTHER=1\n"
        "MODEL_PROXY_API_KEY=old\n"
        "\n"
        "export MODEL_PROXY_URL=http://old\n"
        "MODEL_PROXY_API_KEY=older-duplicate\n"
        "TAIL=keep me\n"
    )
    path.chmod(0o644)
    upsert_env_file(
        path,
        {
            "MODEL_PROXY_API_KEY": KEY,
            "MODEL_PROXY_URL": "https://proxy.example/v1",
            "MODEL_PROXY_EXPIRY_TIME": "2026-03-02T12:00:00Z",
        },
    )
    assert path.read_text().splitlines() == [
        "# settings",
        "OTHER=1",
        f"MODEL_PROXY_API_KEY={KEY}",
        "",
        "MODEL_PROXY_URL=https://proxy.example/v1",
        "TAIL=keep me",
        "MODEL_PROXY_EXPIRY_TIME=2026-03-02T12:00:00Z",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temp file left behind


def test_upsert_creates_the_file_and_quotes_odd_values(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    upsert_env_file(path, {"A": 'has space # and "quote"', "B": "plain"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dotenv_values(path) == {"A": 'has space # and "quote"', "B": "plain"}
