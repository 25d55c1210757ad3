"""The oracle never reaches the internet: without a loopback endpoint it does not start."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_harness import CLI_SCRIPT

pytestmark = pytest.mark.conformance

PATCH_FAILED = 97


@pytest.mark.parametrize(
    "endpoint",
    [None, "", "https://api.kaggle.com", "http://example.invalid:8765"],
    ids=["unset", "empty", "production", "remote-host"],
)
def test_kaggle_cli_at_refuses_to_start_without_a_loopback_endpoint(
    tmp_path, endpoint: str | None
) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KAGGLE_API_TOKEN": "demo-token"}
    if endpoint is not None:
        env["KBENCH_TEST_ENDPOINT"] = endpoint
    # -X importtime lists every module imported: kaggle must not be among them.
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(CLI_SCRIPT), "b", "t", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == PATCH_FAILED, result
    assert "kaggle_cli_at: refusing endpoint" in result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "kagglesdk.kaggle_env" in imported
    assert not {name for name in imported if name == "kaggle" or name.startswith("kaggle.")}
