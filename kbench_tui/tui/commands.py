"""Command palette provider: every dashboard action, found by name (ctrl+p)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kbench_tui.tui.actions import ACTION_COMMANDS


@dataclass(frozen=True)
class Command:
    """One palette entry: run `action` on the widget matching `target` (None = the screen)."""

    title: str
    help: str
    action: str
    target: str | None = None
    binding_id: str | None = None


COMMANDS: tuple[Command, ...] = (
    Command("Refresh now", "Poll tasks and runs immediately", "refresh", None, "refresh"),
    Command(
        "All runs log",
        "Stream every run of the task together, each line prefixed by its model",
        "all_runs_log",
        None,
        "all-runs-log",
    ),
    Command(
        "Filter tasks",
        "Show only tasks whose slug matches a regex",
        "filter",
        "#task-list",
        "filter-tasks",
    ),
    Command(
        "Search log",
        "Highlight a regex in the log; n / N move between matches",
        "search",
        "#log-pane",
        "search-log",
    ),
    Command(
        "Next match",
        "Move to the next search match in the log",
        "next_match",
        "#log-pane",
        "next-match",
    ),
    Command(
        "Previous match",
        "Move to the previous search match in the log",
        "previous_match",
        "#log-pane",
        "previous-match",
    ),
    Command(
        "Follow log",
        "Jump to the end of the log and follow new lines",
        "follow",
        "#log-view",
        "follow-log",
    ),
    Command(
        "Toggle wrap",
        "Wrap long log lines, or scroll them sideways",
        "toggle_wrap",
        "#log-pane",
        "toggle-wrap",
    ),
    Command(
        "Toggle timestamps",
        "Show each log line's kernel time",
        "toggle_times",
        "#log-pane",
        "toggle-timestamps",
    ),
    Command(
        "Save log",
        "Write the whole log (not only what is shown) to a file",
        "save",
        "#log-pane",
        "save-log",
    ),
    Command("Delete task", "Not supported by the server yet", "delete_task", None, "delete-task"),
    *(Command(title, text, action, None, bid) for title, text, action, bid in ACTION_COMMANDS),
    Command("Help", "Show every key binding", "help", None, "help"),
)


class DashboardCommands(Provider):
    """Offers every dashboard action while the dashboard is the active screen."""

    def _commands(self) -> list[Command]:
        from kbench_tui.tui.screens.dashboard import DashboardScreen

        return list(COMMANDS) if isinstance(self.screen, DashboardScreen) else []

    async def _run(self, command: Command) -> None:
        node = self.screen if command.target is None else self.screen.query_one(command.target)
        await node.run_action(command.action)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, partial(self._run, command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    partial(self._run, command),
                    text=command.title,
                    help=command.help,
                )
