"""Credentials and endpoint resolution: the kaggle CLI's sources and precedence."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kbench_tui.config import (
    CREDENTIAL_HELP,
    PRODUCTION_ENDPOINT,
    ConfigError,
    Credentials,
    load_credentials,
    resolve_endpoint,
)

SECRET = "canary-7f3a9d"


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def kaggle_json(home: Path, username: str = "alice", key: str = SECRET, mode: int = 0o600) -> Path:
    return write(
        home / ".kaggle" / "kaggle.json", json.dumps({"username": username, "key": key}), mode
    )


def test_nothing_configured_gives_none(tmp_path: Path) -> None:
    assert load_credentials({}, tmp_path) is None


def test_token_in_environment_wins_over_everything(tmp_path: Path) -> None:
    write(tmp_path / ".kaggle" / "access_token", "file-token")
    kaggle_json(tmp_path)
    creds = load_credentials({"KAGGLE_API_TOKEN": SECRET, "KAGGLE_USERNAME": "bob"}, tmp_path)
    assert creds is not None
    assert (creds.kind, creds.secret, creds.source) == ("token", SECRET, "KAGGLE_API_TOKEN")
    assert creds.authorization_header() == f"Bearer {SECRET}"


def test_token_variable_may_name_a_file(tmp_path: Path) -> None:
    token_file = write(tmp_path / "tok.txt", f"  {SECRET}\n")
    creds = load_credentials({"KAGGLE_API_TOKEN": str(token_file)}, tmp_path)
    assert creds is not None and creds.secret == SECRET
    assert str(token_file) in creds.source


@pytest.mark.parametrize("name", ["access_token", "access_token.txt"])
def test_access_token_files_under_home(tmp_path: Path, name: str) -> None:
    write(tmp_path / ".kaggle" / name, SECRET + "\n")
    kaggle_json(tmp_path, key="legacy")
    creds = load_credentials({}, tmp_path)
    assert creds is not None and (creds.kind, creds.secret) == ("token", SECRET)


def test_access_token_is_preferred_to_access_token_txt(tmp_path: Path) -> None:
    write(tmp_path / ".kaggle" / "access_token", "first")
    write(tmp_path / ".kaggle" / "access_token.txt", "second")
    creds = load_credentials({}, tmp_path)
    assert creds is not None and creds.secret == "first"


def test_kaggle_json_gives_basic_auth(tmp_path: Path) -> None:
    kaggle_json(tmp_path)
    creds = load_credentials({}, tmp_path)
    assert creds is not None
    assert (creds.kind, creds.username, creds.secret) == ("basic", "alice", SECRET)
    expected = base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert creds.authorization_header() == f"Basic {expected}"
    assert creds.warnings == ()


def test_environment_username_and_key_override_the_file(tmp_path: Path) -> None:
    kaggle_json(tmp_path, username="alice", key="old")
    creds = load_credentials({"KAGGLE_KEY": SECRET}, tmp_path)
    assert creds is not None and (creds.username, creds.secret) == ("alice", SECRET)
    assert "KAGGLE_KEY" in creds.source
    only_env = load_credentials({"KAGGLE_USERNAME": "bob", "KAGGLE_KEY": SECRET}, tmp_path / "none")
    assert only_env is not None and only_env.username == "bob"


def test_kaggle_config_dir_is_used_for_kaggle_json(tmp_path: Path) -> None:
    kaggle_json(tmp_path, username="home-user")
    config_dir = tmp_path / "cfg"
    write(config_dir / "kaggle.json", json.dumps({"username": "cfg-user", "key": SECRET}))
    creds = load_credentials({"KAGGLE_CONFIG_DIR": str(config_dir)}, tmp_path)
    assert creds is not None and creds.username == "cfg-user"


def test_xdg_config_is_used_only_when_dot_kaggle_is_absent(tmp_path: Path) -> None:
    write(
        tmp_path / ".config" / "kaggle" / "kaggle.json", json.dumps({"username": "xdg", "key": "k"})
    )
    creds = load_credentials({}, tmp_path)
    assert creds is not None and creds.username == "xdg"
    (tmp_path / ".kaggle").mkdir()
    assert load_credentials({}, tmp_path) is None
    xdg_home = tmp_path / "xdg"
    write(xdg_home / "kaggle" / "kaggle.json", json.dumps({"username": "x2", "key": "k"}))
    (tmp_path / ".kaggle").rmdir()
    creds = load_credentials({"XDG_CONFIG_HOME": str(xdg_home)}, tmp_path)
    assert creds is not None and creds.username == "x2"


def test_world_readable_kaggle_json_warns_like_the_cli(tmp_path: Path) -> None:
    path = kaggle_json(tmp_path, mode=0o644)
    creds = load_credentials({}, tmp_path)
    assert creds is not None and len(creds.warnings) == 1
    assert f"chmod 600 {path}" in creds.warnings[0]
    assert SECRET not in creds.warnings[0]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"username": "alice"}), "key is missing"),
        (json.dumps({"key": SECRET}), "username is missing"),
    ],
)
def test_bad_kaggle_json_is_one_clear_line(tmp_path: Path, text: str, fragment: str) -> None:
    write(tmp_path / ".kaggle" / "kaggle.json", text)
    with pytest.raises(ConfigError) as caught:
        load_credentials({}, tmp_path)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message and SECRET not in message
    assert caught.value.about_credentials


def test_empty_token_file_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / ".kaggle" / "access_token", "  \n")
    with pytest.raises(ConfigError, match="is empty"):
        load_credentials({}, tmp_path)


def test_token_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        load_credentials({"KAGGLE_API_TOKEN": str(tmp_path)}, tmp_path)


def test_unreadable_token_file(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    write(tmp_path / ".kaggle" / "access_token", SECRET, mode=0o000)
    with pytest.raises(ConfigError, match="cannot read"):
        load_credentials({}, tmp_path)


def test_credentials_never_show_their_secret() -> None:
    for creds in (
        Credentials.token(SECRET, source="x"),
        Credentials.basic("u", SECRET, source="y"),
    ):
        assert SECRET not in repr(creds)
        assert SECRET not in str(creds)


def test_credential_help_lists_the_four_ways() -> None:
    for fragment in ("KAGGLE_API_TOKEN", "~/.kaggle/access_token", "KAGGLE_KEY", "kaggle.json"):
        assert fragment in CREDENTIAL_HELP


# --- endpoint -------------------------------------------------------------------------------


def test_endpoint_precedence() -> None:
    env = {"KBENCH_ENDPOINT": "http://127.0.0.1:9/", "KAGGLE_API_ENVIRONMENT": "LOCALHOST"}
    assert resolve_endpoint("https://example.org/", env) == "https://example.org"
    assert resolve_endpoint(None, env) == "http://127.0.0.1:9"
    assert resolve_endpoint(None, {"KAGGLE_API_ENVIRONMENT": "LOCALHOST"}) == "http://localhost"
    assert (
        resolve_endpoint(None, {"KAGGLE_API_ENVIRONMENT": "staging"})
        == "https://staging.kaggle.com"
    )
    assert resolve_endpoint(None, {}) == PRODUCTION_ENDPOINT == "https://api.kaggle.com"


@pytest.mark.parametrize(
    "bad", ["ftp://x", "localhost:8765", "http://", "https://x:99999", "https://u:pw@x"]
)
def test_bad_endpoint_urls_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="endpoint"):
        resolve_endpoint(bad, {})


def test_unknown_api_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="KAGGLE_API_ENVIRONMENT"):
        resolve_endpoint(None, {"KAGGLE_API_ENVIRONMENT": "MARS"})


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://127.9.9.9", "http://localhost:80", "http://[::1]:8765"]
)
def test_plain_http_is_fine_on_this_machine(url: str) -> None:
    assert resolve_endpoint(url, {}) == url


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8765", "http://api.kaggle.com", "http://[fe80::1]"]
)
def test_plain_http_to_another_host_is_refused_so_the_token_never_travels_in_clear(
    url: str,
) -> None:
    with pytest.raises(ConfigError, match="unencrypted; use https"):
        resolve_endpoint(url, {})
    assert resolve_endpoint(url.replace("http://", "https://"), {}).startswith("https://")


@pytest.mark.parametrize("token", [f"{SECRET}\nsecond-line", f"{SECRET} extra", f"{SECRET}\x07"])
def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(
    tmp_path: Path, token: str
) -> None:
    """h11 refuses such a header and quotes it, token included: refuse it here instead."""
    write(tmp_path / ".kaggle" / "access_token", token + "\n")
    with pytest.raises(ConfigError, match="save only the API token") as raised:
        load_credentials({}, tmp_path)
    assert SECRET not in str(raised.value)
    with pytest.raises(ConfigError, match="the API token alone") as raised:
        load_credentials({"KAGGLE_API_TOKEN": token}, tmp_path / "empty-home")
    assert SECRET not in str(raised.value)


def test_a_request_refused_by_http_never_quotes_its_headers() -> None:
    import httpx

    from kbench_tui.api.connection import RpcConnection

    connection = RpcConnection("http://127.0.0.1:9", Credentials.token(SECRET))
    refused = httpx.LocalProtocolError(f"Illegal header value b'Bearer {SECRET}\\n'")
    failure = connection.transport_failure(refused, "GetBenchmarkTaskQuota", reading_body=False)
    assert SECRET not in str(failure.error)
    assert "LocalProtocolError" in str(failure.error)
