"""Dashboard settings from `~/.config/kbench-tui/config.toml` (keymap, bell, poll cadence).

```toml
bell = true                # ring the terminal bell when a watched run finishes or fails

[keymap]                   # binding id = "key" (comma-separate several keys)
all-runs-log = "L"
refresh = "f5"
```

Python 3.11+ reads TOML with the standard `tomllib`; on 3.10 the file is read only if
`tomli` is installed, otherwise it is ignored with a warning shown in the dashboard.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# tmux and vim users keep these for themselves; a keymap entry using one is refused.
RESERVED_KEYS = frozenset({"ctrl+a", "ctrl+b", "ctrl+h", "ctrl+j", "ctrl+k", "ctrl+l"})


@dataclass
class DashboardSettings:
    """Everything the user can tune about the dashboard."""

    bell: bool = True
    keymap: dict[str, str] = field(default_factory=dict)
    fast_poll: float = 2.0
    slow_poll: float = 30.0
    offline_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 30.0)
    """Waits between attempts while the service is unreachable."""
    log_max_lines: int = 20_000
    """Lines kept in the log pane; the full log stays in the spool file."""
    log_batch_seconds: float = 0.1
    log_waiting_poll: float = 2.0
    """How often a queued run's log is asked for again."""
    log_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    """Waits before reconnecting a log stream the client's own retries gave up on."""
    spool_dir: Path | None = None
    save_dir: Path = field(default_factory=Path.cwd)
    """Where `s` saves logs."""
    warnings: list[str] = field(default_factory=list)
    """Problems found while reading the file, shown once as a toast."""


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/kbench-tui/config.toml`, else `~/.config/kbench-tui/config.toml`."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kbench-tui" / "config.toml"


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    with path.open("rb") as handle:
        return tomllib.load(handle)


def load_settings(path: Path | None = None) -> DashboardSettings:
    """Read the settings file; a missing file gives the defaults, a bad one a warning."""
    path = config_path() if path is None else path
    settings = DashboardSettings()
    if not path.is_file():
        return settings
    try:
        data = _load_toml(path)
    except ModuleNotFoundError:
        settings.warnings.append(f"{path} ignored: reading TOML on Python 3.10 needs `tomli`.")
        return settings
    except (OSError, ValueError) as error:
        settings.warnings.append(f"{path} ignored: {error}")
        return settings
    bell = data.get("bell", True)
    if isinstance(bell, bool):
        settings.bell = bell
    else:
        settings.warnings.append(f"{path}: `bell` must be true or false.")
    for name in ("fast_poll", "slow_poll"):
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            setattr(settings, name, float(value))
        else:
            settings.warnings.append(f"{path}: `{name}` must be a positive number of seconds.")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        settings.warnings.append(f'{path}: [keymap] must be a table of binding-id = "key".')
        return settings
    for binding_id, keys in keymap.items():
        if not isinstance(keys, str) or not keys.strip():
            settings.warnings.append(f"{path}: keymap `{binding_id}` must be a key string.")
            continue
        reserved = RESERVED_KEYS.intersection(k.strip() for k in keys.split(","))
        if reserved:
            settings.warnings.append(
                f"{path}: keymap `{binding_id}` uses {', '.join(sorted(reserved))}, "
                "kept free for tmux and vim."
            )
            continue
        settings.keymap[str(binding_id)] = keys
    return settings
