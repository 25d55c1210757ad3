"""The model picker's memory: the last models picked for each task, in a small JSON file.

`$XDG_STATE_HOME/kbench-tui/picks.json`, else `~/.local/state/kbench-tui/picks.json` (the
XDG base-directory default for state that survives restarts but is not configuration).
A missing or unreadable file means "nothing remembered" — a picker must open regardless —
while a failed write is reported to the caller, who shows it as a warning.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["PicksStore", "state_dir"]

# Tasks remembered at most; the oldest entries go first so the file stays small.
MAX_TASKS = 200


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/kbench-tui`, else `~/.local/state/kbench-tui`."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kbench-tui"


class PicksStore:
    """Reads and writes `{task slug: [model slug, …]}`; the newest write is kept last."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_dir() / "picks.json"

    def _load(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(task): [str(model) for model in models]
            for task, models in data.items()
            if isinstance(models, list)
        }

    def get(self, task: str) -> list[str]:
        """The models last picked for `task` (empty when none are remembered)."""
        return self._load().get(task, [])

    def remember(self, task: str, models: list[str]) -> None:
        """Store `models` for `task` (raises OSError when the file cannot be written)."""
        data = self._load()
        data.pop(task, None)
        data[task] = list(models)
        while len(data) > MAX_TASKS:
            data.pop(next(iter(data)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: a crash mid-write never leaves half a JSON file behind.
        fd, temp = tempfile.mkstemp(prefix=".picks.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
