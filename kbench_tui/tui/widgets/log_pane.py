"""The log pane (right, bottom): a header with the run and FOLLOW/PAUSED badge, search, the log."""

from __future__ import annotations

import inspect
import re
import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input, Static

from kbench_tui.tui.widgets.log_view import LogView
from kbench_tui.watch.logstream import LogLines, LogPhase, LogStatus

# While lines stream, the header's count is updated at most this often (seconds): a count
# changing with every frame cannot be read, and each update repaints the header.
HEADER_INTERVAL = 0.2
# `Static.update(..., layout=False)` (recent Textual) repaints without laying the screen out.
_UPDATE_HAS_LAYOUT = "layout" in inspect.signature(Static.update).parameters


class LogPane(Vertical):
    """Shows one run's log (or all runs of a task) with follow, search, wrap and timestamps."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="search-log"),
        Binding("n", "next_match", "Next match", show=False, id="next-match"),
        Binding("N", "previous_match", "Previous match", show=False, id="previous-match"),
        Binding("w", "toggle_wrap", "Wrap", id="toggle-wrap"),
        Binding("t", "toggle_times", "Timestamps", id="toggle-timestamps"),
        Binding("s", "save", "Save log", id="save-log"),
        Binding("escape", "close_search", "Close search", show=False, id="close-search"),
    ]

    @dataclass
    class SaveRequested(Message):
        """The user asked to save the whole log (the screen owns the spool)."""

        log_pane: LogPane

        @property
        def control(self) -> LogPane:
            return self.log_pane

    @dataclass
    class SearchRequested(Message):
        """A search was submitted: count matches across the whole log (the spool)."""

        log_pane: LogPane
        pattern: re.Pattern[str]

        @property
        def control(self) -> LogPane:
            return self.log_pane

    def __init__(self, *, max_lines: int = 20_000, id: str | None = None) -> None:
        super().__init__(id=id)
        self._max_lines = max_lines
        self.title = "Log"
        self.phases: dict[int, LogStatus] = {}
        self.labels: list[str] = []
        self.note = ""
        self._match_note: str | Text = ""
        self._total_note = ""
        self.session = 0
        """Bumped for every new log session; lines from an older session are dropped."""
        self.received = 0
        """Lines of this session received so far (the phase reports only count at changes)."""
        self._header_due = False
        self._header_at = 0.0
        self._shown: tuple[Text, Text] | None = None
        """The title and badge on screen (updates that change nothing are skipped)."""
        self._badge_width = 0
        """The widest badge of this session: narrower ones are padded to it (see below)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-header"):
            yield Static("Log", id="log-title")
            yield Static("", id="log-badge")
        with Horizontal(id="log-search-bar", classes="hidden"):
            yield Input(placeholder="search log (regex)", id="log-search")
            yield Static("", id="log-search-status")
        yield LogView(max_lines=self._max_lines, id="log-view")
        yield Static("Select a run to see its log.", id="log-empty")

    @property
    def view(self) -> LogView:
        """The log widget itself."""
        return self.query_one(LogView)

    def focus_log(self) -> None:
        """Give the keyboard to the log."""
        self.view.focus()

    # -- session lifecycle (driven by the screen) -----------------------------------------

    def start(self, title: str, labels: list[str] | None = None) -> int:
        """Empty the pane for a new session; returns the session number to tag lines with."""
        self.session += 1
        self.title = title
        self.labels = labels or []
        self.phases = {}
        self.received = 0
        self.note = ""
        self._badge_width = 0
        self.view.clear()
        self.view.prefix_width = max((len(label) for label in self.labels), default=0)
        self.view.remove_class("hidden")
        self.query_one("#log-empty", Static).add_class("hidden")
        self._render_header()
        return self.session

    def show_message(self, message: str | Text) -> None:
        """No session: say why (no run selected, no runs yet)."""
        self.session += 1
        self.title = "Log"
        self.phases = {}
        self.received = 0
        self._badge_width = 0
        self.view.clear()
        self.view.add_class("hidden")
        empty = self.query_one("#log-empty", Static)
        empty.update(message)
        empty.remove_class("hidden")
        self._render_header()

    def add_lines(self, session: int, lines: LogLines) -> None:
        """A batch arrived; ignored if it belongs to a session that was replaced."""
        if session == self.session and lines:
            try:
                view = self.view
            except NoMatches:  # the last batch of a stream while the app closes
                return
            view.append(lines)
            # Line numbers run through the session's whole log: the last one is the count.
            self.received = max(self.received, lines[-1].number)
            self._schedule_header()

    def _schedule_header(self) -> None:
        """Update the header soon: one update per interval, however many batches arrive."""
        if self._header_due:
            return
        self._header_due = True
        wait = self._header_at + HEADER_INTERVAL - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._render_header)
        else:
            self.call_after_refresh(self._render_header)

    def set_status(self, session: int, status: LogStatus) -> None:
        """A run's log changed phase (waiting, streaming, ended, failed)."""
        if session != self.session:
            return
        self.phases[status.run_id] = status
        self._render_header()

    def set_note(self, note: str) -> None:
        """A short line under the title (saved path, search totals)."""
        self.note = note
        self._render_header()

    # -- header ---------------------------------------------------------------------------

    def _phase_text(self) -> Text:
        if not self.phases:
            return Text("")
        if len(self.phases) == 1:
            status = next(iter(self.phases.values()))
            return _describe(status, max(status.lines, self.received))
        counts: dict[LogPhase, int] = {}
        for status in self.phases.values():
            counts[status.phase] = counts.get(status.phase, 0) + 1
        parts = [f"{n} {phase.value}" for phase, n in counts.items()]
        if self.received:
            parts.append(f"{self.received} lines")
        return Text(" · ".join(parts), style="italic")

    def _render_header(self) -> None:
        self._header_due = False
        self._header_at = time.monotonic()
        title = Text.assemble((self.title, "bold"), "  ", self._phase_text())
        if self.labels:
            title.append(f"  {len(self.labels)} models", style="dim")
        if self.note:
            title.append(f"  {self.note}", style="dim")
        try:
            title_widget = self.query_one("#log-title", Static)
            badge_widget = self.query_one("#log-badge", Static)
            badge = self._badge()
        except NoMatches:
            # A status that arrives while the app closes: the header (or the log the badge
            # describes) has gone already.
            return
        # A badge that changes width lays out the whole screen (every pane re-rendered:
        # 40-70 ms at 1,000 tasks), and it did on every FOLLOW/PAUSED toggle while lines
        # kept coming. Within a session it only grows: narrower ones are padded on the left.
        if badge.cell_len < self._badge_width:
            badge.pad_left(self._badge_width - badge.cell_len)
        else:
            self._badge_width = badge.cell_len
        shown = self._shown
        if shown is None or shown[0] != title:
            # The title takes the header's remaining width whatever it says: no layout.
            _update(title_widget, title, layout=False)
        if shown is None or shown[1] != badge:
            # The badge is as wide as its text: lay out only when that width changes.
            resized = shown is None or shown[1].cell_len != badge.cell_len
            _update(badge_widget, badge, layout=resized)
        self._shown = (title, badge)

    def _badge(self) -> Text:
        """FOLLOW / PAUSED (+ unseen lines), and the wrap / time flags."""
        view = self.view
        if view.has_class("hidden"):
            # No log on screen: a FOLLOW badge would describe nothing.
            return Text("")
        flags = []
        if view.wrap:
            flags.append("wrap")
        if view.show_times:
            flags.append("time")
        badge = Text(" ".join(f"[{flag}]" for flag in flags), style="dim")
        if view.following:
            badge.append(" FOLLOW ", style="bold black on green")
        else:
            badge.append(" PAUSED ", style="bold black on yellow")
            if view.unseen:
                badge.append(f" +{view.unseen} new lines", style="bold yellow")
        return badge

    @on(LogView.FollowChanged)
    def _follow_changed(self, event: LogView.FollowChanged) -> None:
        event.stop()
        self._render_header()

    # -- actions --------------------------------------------------------------------------

    def action_search(self) -> None:
        """Open the search field."""
        self.query_one("#log-search-bar").remove_class("hidden")
        self.query_one("#log-search", Input).focus()

    def action_close_search(self) -> None:
        """Close search and drop the highlight."""
        self.query_one("#log-search-bar").add_class("hidden")
        self.query_one("#log-search", Input).value = ""
        self.view.set_pattern(None)
        self.focus_log()

    def action_next_match(self) -> None:
        """Jump to the next match."""
        self._goto(forward=True)

    def action_previous_match(self) -> None:
        """Jump to the previous match."""
        self._goto(forward=False)

    def _goto(self, forward: bool) -> None:
        if self.view.pattern is None:
            self._search_status("type / to search")
            return
        line = self.view.goto_match(forward)
        if line is None:
            self._search_status(Text("no match", style="bold red"))
        else:
            self._search_status(f"at line {line.number}", self._total_note)

    def _search_status(self, first: str | Text, second: str = "") -> None:
        self._match_note = first
        self._total_note = second
        text = Text.assemble(first, f" · {second}" if second else "")
        self.query_one("#log-search-status", Static).update(text)

    def action_toggle_wrap(self) -> None:
        """Wrap long lines, or scroll them sideways."""
        self.view.wrap = not self.view.wrap
        self._render_header()

    def action_toggle_times(self) -> None:
        """Show or hide each line's kernel time."""
        self.view.show_times = not self.view.show_times
        self._render_header()

    def action_save(self) -> None:
        """Ask the screen to save the whole log."""
        self.post_message(self.SaveRequested(self))

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not event.value:
            self.view.set_pattern(None)
            self._search_status("")
            return
        try:
            pattern = re.compile(event.value, re.IGNORECASE)
        except re.error as problem:
            self._search_status(Text(f"invalid regex: {problem}", style="bold red"))
            return
        matches = self.view.set_pattern(pattern)
        self._search_status(f"{matches} matching lines kept")

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.view.pattern is not None:
            self.post_message(self.SearchRequested(self, self.view.pattern))
            self._goto(forward=True)
        self.focus_log()

    def show_search_total(self, total: int, kept: int) -> None:
        """Totals from the full log, which may hold lines no longer kept on screen."""
        older = total - kept
        extra = f" ({older} in older lines: save with s)" if older > 0 else ""
        self._search_status(self._match_note, f"{total} matching lines in the full log{extra}")


def _update(static: Static, text: Text, *, layout: bool) -> None:
    """`static.update(text)`, without a layout pass of the whole screen if not needed.

    A layout re-arranges every widget on the screen (~10 ms with the dashboard); a fast
    log updates its header several times a second.
    """
    if _UPDATE_HAS_LAYOUT:
        static.update(text, layout=layout)
    else:
        static.update(text)


def _describe(status: LogStatus, lines: int) -> Text:
    """One run's phase; `lines` counts what arrived so far (phases report only at changes)."""
    phase = status.phase
    if phase is LogPhase.WAITING:
        return Text("waiting for logs (queued)", style="italic yellow")
    if phase is LogPhase.STREAMING:
        return Text(f"streaming · {lines} lines", style="cyan")
    if phase is LogPhase.ENDED:
        return Text(f"ended · {lines} lines", style="green")
    if phase is LogPhase.RETRYING:
        seconds = f" in {status.retry_in:.0f} s" if status.retry_in else ""
        return Text(f"connection lost — reconnecting{seconds}", style="bold yellow")
    if phase is LogPhase.FAILED:
        return Text(f"log unavailable: {status.error}", style="bold red")
    return Text("connecting…", style="italic")
