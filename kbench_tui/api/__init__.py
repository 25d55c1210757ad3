"""The Kaggle Benchmarks protocol: models, client, log streaming, downloads. No Textual here."""

import sys

if "httpx" not in sys.modules:
    # httpx imports its optional command-line client (click, rich, pygments) at import time
    # whenever those happen to be installed, and Textual installs rich. We never use that
    # client; hiding it for the duration of the import saves ~35 ms of every start-up
    # (httpx then defines its own fallback `main`). Nothing else of httpx changes.
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    finally:
        del sys.modules["httpx._main"]
