"""How states, times and models look on screen (pure functions, shared by the panes)."""

from __future__ import annotations

import zlib
from datetime import datetime, timezone

from rich.text import Text

# One style per state. The state word is always shown next to its colour, so the panes
# read the same without colour; the colours are from the 16/256-colour palette so they
# survive terminals without truecolor.
STATE_STYLES: dict[str, str] = {
    "QUEUED": "bold yellow",
    "RUNNING": "bold cyan",
    "SCORE_PENDING": "bold cyan",
    "COMPLETED": "bold green",
    "ERRORED": "bold red",
    "VALIDATION_FAILED": "bold red",
    "KERNEL_WITHOUT_RUN": "bold magenta",
    "NO_MODEL_SPECIFIED": "bold magenta",
}

STATE_MARKS: dict[str, str] = {
    "QUEUED": "○",
    "RUNNING": "◐",
    "SCORE_PENDING": "◐",
    "COMPLETED": "●",
    "ERRORED": "✗",
    "VALIDATION_FAILED": "✗",
}

# Colours for model prefixes in the all-runs log; picked by a stable hash of the slug so a
# model keeps its colour across sessions and snapshots.
MODEL_COLOURS: tuple[str, ...] = (
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "orange1",
    "orchid",
    "spring_green2",
    "gold1",
    "deep_sky_blue1",
)


# Short words for the narrow task list: a task version's build state in at most 8 letters,
# still a word (readable without colour), always shown after its mark.
TASK_STATE_WORDS: dict[str, str] = {
    "QUEUED": "queued",
    "RUNNING": "building",
    "COMPLETED": "ready",
    "ERRORED": "errored",
    "VALIDATION_FAILED": "invalid",
    "KERNEL_WITHOUT_RUN": "no run",
    "NO_MODEL_SPECIFIED": "no model",
}

TASK_STATE_MARKS: dict[str, str] = {
    **STATE_MARKS,
    "KERNEL_WITHOUT_RUN": "✗",
    "NO_MODEL_SPECIFIED": "✗",
}


def task_state_text(short: str) -> Text:
    """A task version's state as a mark plus a short word, coloured (e.g. "● ready")."""
    style = STATE_STYLES.get(short, "bold")
    word = TASK_STATE_WORDS.get(short, short.lower()[:8])
    return Text(f"{TASK_STATE_MARKS.get(short, '·')} {word}", style=style)


def state_text(short: str, *, mark: bool = True) -> Text:
    """A state as a mark plus its word, coloured (e.g. "● COMPLETED"); the word alone if asked."""
    style = STATE_STYLES.get(short, "bold")
    if not mark:
        return Text(short, style=style)
    return Text(f"{STATE_MARKS.get(short, '·')} {short}", style=style)


def model_colour(model: str) -> str:
    """The colour that stands for `model` in the all-runs log."""
    return MODEL_COLOURS[zlib.crc32(model.encode()) % len(MODEL_COLOURS)]


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes from the wire are UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def format_clock(moment: datetime | None, now: datetime) -> str:
    """`HH:MM` UTC on the day of `now`, `MM-DD HH:MM` on other days; "—" if unknown."""
    if moment is None:
        return "—"
    moment = as_utc(moment)
    if moment.date() == as_utc(now).date():
        return moment.strftime("%H:%M")
    return moment.strftime("%m-%d %H:%M")


def format_created(moment: datetime | None) -> str:
    """`MM-DD HH:MM` UTC for the task list (compact; the year rarely matters there)."""
    if moment is None:
        return "—"
    return as_utc(moment).strftime("%m-%d %H:%M")


def format_duration(seconds: float) -> str:
    """`42s`, `3m 05s`, `2h 01m`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def elapsed(start: datetime | None, end: datetime | None, now: datetime) -> str:
    """Run duration: up to `end`, or up to `now` while the run is going."""
    if start is None:
        return "—"
    stop = as_utc(end) if end is not None else as_utc(now)
    return format_duration((stop - as_utc(start)).total_seconds())


def last_line(message: str | None) -> str:
    """The last non-blank line of an error (tracebacks end with the useful part)."""
    if not message:
        return ""
    for line in reversed(message.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def kernel_time(seconds: float | None) -> str:
    """A log entry's kernel time (seconds from session start) as `HH:MM:SS.s`."""
    if seconds is None:
        return " " * 10
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tenths = int((seconds - whole) * 10)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{tenths}"
