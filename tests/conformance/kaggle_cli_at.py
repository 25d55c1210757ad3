"""Run the real, unmodified kaggle CLI against a simulator on any port (API reference §1.1a).

Usage: KBENCH_TEST_ENDPOINT=http://127.0.0.1:PORT KAGGLE_API_TOKEN=demo-token \\
           python kaggle_cli_at.py b t list

Only kagglesdk's LOCAL endpoint is rewritten, before `kaggle` is imported (importing it
already authenticates over the network). If the rewrite did not take, the process exits
with status 97 before `kaggle` is imported, so the oracle can never reach the production
host.
"""

import os
import sys

import kagglesdk.kaggle_env as kaggle_env

ENDPOINT = os.environ.get("KBENCH_TEST_ENDPOINT", "").rstrip("/")
PATCH_FAILED = 97

if not ENDPOINT.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
    print(f"kaggle_cli_at: refusing endpoint {ENDPOINT!r} (loopback only)", file=sys.stderr)
    sys.exit(PATCH_FAILED)
kaggle_env._env_to_endpoint[kaggle_env.KaggleEnv.LOCAL] = ENDPOINT
os.environ["KAGGLE_API_ENVIRONMENT"] = "LOCALHOST"
if (
    kaggle_env.get_env() is not kaggle_env.KaggleEnv.LOCAL
    or kaggle_env.get_endpoint(kaggle_env.KaggleEnv.LOCAL) != ENDPOINT
):
    print("kaggle_cli_at: endpoint patch did not take; not starting the CLI", file=sys.stderr)
    sys.exit(PATCH_FAILED)

from kaggle.cli import main  # noqa: E402  (importing `kaggle` authenticates: IntrospectToken)

sys.argv = ["kaggle", *sys.argv[1:]]
main()
