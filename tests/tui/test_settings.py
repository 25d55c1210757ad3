"""The settings file: keymap, bell and cadence, with warnings instead of crashes."""

from __future__ import annotations

from pathlib import Path

from kbench_tui.tui.settings import config_path, load_settings


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nope.toml")
    assert settings.bell and settings.keymap == {} and settings.warnings == []


def test_keymap_bell_and_cadence_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('bell = false\nfast_poll = 1\n[keymap]\nall-runs-log = "L"\nrefresh = "f5"\n')
    settings = load_settings(path)
    assert not settings.bell
    assert settings.fast_poll == 1.0
    assert settings.keymap == {"all-runs-log": "L", "refresh": "f5"}


def test_reserved_keys_and_bad_values_are_refused_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('bell = "loud"\nslow_poll = -3\n[keymap]\nrefresh = "ctrl+l"\nhelp = 5\n')
    settings = load_settings(path)
    assert settings.bell and settings.slow_poll == 30.0 and settings.keymap == {}
    assert len(settings.warnings) == 4
    assert any("tmux and vim" in warning for warning in settings.warnings)


def test_a_file_that_is_not_toml_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[keymap\n")
    settings = load_settings(path)
    assert settings.keymap == {} and "ignored" in settings.warnings[0]


def test_config_path_honours_xdg_config_home() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/kbench-tui/config.toml")
