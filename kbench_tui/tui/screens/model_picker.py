"""`ModelPicker`: choose the models to run a task on, typing to filter, keys to check.

The filter input keeps the focus the whole time: ↑/↓ (and page keys) move the highlight in
the list below it, space toggles the highlighted model (so the filter holds no spaces —
matching ignores them anyway), ctrl+t checks every visible model, ctrl+n clears, enter
schedules the checked models (the highlighted one when none is checked), escape cancels.
The keys avoid ctrl+a/b/h/j/k/l (tmux and vim) and the Input's own editing keys.

The result is the list of version slugs to send (`version.slug`, as the CLI's menu sends).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kbench_tui.slugs import normalize_model_slug
from kbench_tui.tui.cli_equivalent import run_command
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen

if TYPE_CHECKING:
    from kbench_tui.api.models import BenchmarkModel

__all__ = ["ModelPicker", "PickerModel", "filter_models"]


@dataclass(frozen=True)
class PickerModel:
    """One row of the picker: what the CLI's menu shows (Model / Slug / Modality)."""

    display_name: str
    slug: str
    modality: str

    @classmethod
    def of(cls, model: BenchmarkModel) -> PickerModel:
        """From the catalogue entry; the slug is the version slug the run is scheduled with."""
        return cls(model.display_name or model.slug, model.version_slug, model.modality_label)


def _compact(text: str) -> str:
    return "".join(text.lower().split())


def _is_subsequence(needle: str, haystack: str) -> bool:
    position = 0
    for char in needle:
        position = haystack.find(char, position) + 1
        if position == 0:
            return False
    return True


def filter_models(models: Sequence[PickerModel], query: str) -> list[PickerModel]:
    """Models matching `query`: substrings first, then fuzzy subsequences, each in order.

    A query in any slug form (`anthropic/claude-sonnet-4-6@default`) is normalised like a
    `-m` value (§9.3) before matching, so pasting a proxy slug finds its model.
    """
    query = query.strip()
    if not query:
        return list(models)
    variants = {_compact(query), _compact(normalize_model_slug(query))}
    exact: list[PickerModel] = []
    fuzzy: list[PickerModel] = []
    for model in models:
        haystack = _compact(f"{model.display_name}|{model.slug}")
        if any(variant in haystack for variant in variants):
            exact.append(model)
        elif any(_is_subsequence(variant, haystack) for variant in variants):
            fuzzy.append(model)
    return exact + fuzzy


class FilterInput(Input):
    """The picker's filter: every printable key is text except space, which toggles."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # Textual drops bindings for keys the focused Input consumes; giving space up lets
        # the picker's space binding toggle the highlighted model instead of typing a blank.
        return key != "space" and super().check_consume_key(key, character)


class ModelPicker(DialogScreen[list[str] | None]):
    """Pick models for `task`; dismisses with version slugs, or None when cancelled."""

    DEFAULT_CSS = """
    ModelPicker #picker-list {
        height: 20;
        border: round $primary 50%;
    }
    ModelPicker #picker-filter {
        border: round $accent;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the Input would otherwise take these keys as text or cursor moves.
        Binding("up", "move(-1)", "Up", show=False, priority=True, id="picker-up"),
        Binding("down", "move(1)", "Down", show=False, priority=True, id="picker-down"),
        Binding("pageup", "move(-10)", "Page up", show=False, priority=True, id="picker-page-up"),
        Binding(
            "pagedown", "move(10)", "Page down", show=False, priority=True, id="picker-page-down"
        ),
        Binding("space", "toggle_model", "Toggle", priority=True, id="picker-toggle"),
        Binding("ctrl+t", "check_visible", "Check visible", priority=True, id="picker-check-all"),
        Binding("ctrl+n", "clear_checks", "Clear", priority=True, id="picker-clear"),
    ]

    def __init__(
        self, task: str, models: Iterable[PickerModel], remembered: Iterable[str] = ()
    ) -> None:
        super().__init__()
        self.task_slug = task
        self.models = list(models)
        known = {model.slug for model in self.models}
        # Remembered picks may name models that left the catalogue: drop those silently,
        # they cannot be scheduled anyway.
        self.checked: list[str] = [
            slug for slug in (normalize_model_slug(s) for s in remembered) if slug in known
        ]
        self.shown: list[PickerModel] = list(self.models)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="picker-dialog"):
            yield Static(f"Run '{self.task_slug}' on…", classes="dialog-title", id="picker-title")
            yield FilterInput(
                placeholder="Type to filter (name or slug, fuzzy)", id="picker-filter"
            )
            option_list = OptionList(id="picker-list")
            option_list.can_focus = False  # the filter keeps the focus; keys move this list
            yield option_list
            yield Static("", id="picker-status", classes="dialog-hint")
            yield Static(
                "↑/↓ move · space toggle · ctrl+t check visible · ctrl+n clear · "
                "enter schedule · esc cancel",
                classes="dialog-hint",
                id="picker-keys",
            )
            yield CliLine(id="picker-cli")

    def on_mount(self) -> None:
        self._show(self.models)
        self.query_one("#picker-filter", Input).focus()
        super().on_mount()

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#picker-list", OptionList)

    # -- rendering ------------------------------------------------------------------------

    def _prompt(self, model: PickerModel) -> Text:
        mark = "[x]" if model.slug in self.checked else "[ ]"
        text = Text(
            f"{mark} ",
            style="bold green" if model.slug in self.checked else "dim",
            # One model, one line: a long modality is cut rather than wrapped.
            no_wrap=True,
            overflow="ellipsis",
        )
        # 4 + 26 + 33 columns leave 31 for the longest modality text on a 100-wide dialog.
        text.append(f"{model.display_name[:25]:<26}", style="bold")
        text.append(f"{model.slug[:32]:<33}")
        text.append(model.modality, style="italic")
        return text

    def _show(self, models: list[PickerModel]) -> None:
        # A new filter puts the best match (the first) under the highlight, as fuzzy
        # finders do: enter then schedules what the user just typed.
        self.shown = models
        option_list = self.option_list
        option_list.set_options(Option(self._prompt(m), id=m.slug) for m in models)
        if models:
            option_list.highlighted = 0
        self._update_status()

    def _update_status(self) -> None:
        status = (
            f"{len(self.shown)} of {len(self.models)} models shown · {len(self.checked)} checked"
        )
        if not self.shown:
            status = f"No model matches — {len(self.checked)} checked"
        self.query_one("#picker-status", Static).update(status)
        self.refresh_cli()

    def _rerender(self, slugs: Iterable[str]) -> None:
        visible = {m.slug: m for m in self.shown}
        for slug in slugs:
            if slug in visible:
                self.option_list.replace_option_prompt(slug, self._prompt(visible[slug]))
        self._update_status()

    # -- what enter would schedule --------------------------------------------------------

    def selection(self) -> list[str]:
        """The checked models, else the highlighted one, else nothing."""
        if self.checked:
            return list(self.checked)
        highlighted = self.option_list.highlighted_option
        return [highlighted.id] if highlighted is not None and highlighted.id else []

    def cli_command(self) -> str:
        return run_command(self.task_slug, self.selection())

    # -- events and actions ---------------------------------------------------------------

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._show(filter_models(self.models, event.value))

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_schedule()

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.refresh_cli()

    @on(OptionList.OptionSelected, "#picker-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        # A mouse click toggles, like space on the highlighted row.
        self.action_toggle_model()

    def action_move(self, delta: int) -> None:
        """Move the highlight without leaving the filter."""
        option_list = self.option_list
        if not self.shown:
            return
        current = option_list.highlighted or 0
        option_list.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    def action_toggle_model(self) -> None:
        """Check or uncheck the highlighted model."""
        highlighted = self.option_list.highlighted_option
        if highlighted is None or highlighted.id is None:
            return
        slug = highlighted.id
        if slug in self.checked:
            self.checked.remove(slug)
        else:
            self.checked.append(slug)
        self._rerender([slug])

    def action_check_visible(self) -> None:
        """Check every model the filter shows."""
        added = [m.slug for m in self.shown if m.slug not in self.checked]
        self.checked.extend(added)
        self._rerender(added)

    def action_clear_checks(self) -> None:
        """Uncheck everything (hidden models too)."""
        cleared, self.checked = self.checked, []
        self._rerender(cleared)

    def action_schedule(self) -> None:
        """Dismiss with the models to schedule; refuse inline when there are none."""
        chosen = self.selection()
        if not chosen:
            self.query_one("#picker-status", Static).update(
                Text("Nothing to schedule: no model matches the filter.", style="bold red")
            )
            return
        self.dismiss(chosen)
