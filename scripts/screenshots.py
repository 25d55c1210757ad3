"""Regenerate `screenshots/*.svg` (and `MANIFEST.txt`) from the demo simulator.

Each screenshot is one scene: a fresh demo simulator on a `ManualClock` frozen at
2026-03-01 12:00 UTC, the real `KbenchApp` driven by Textual's Pilot at a fixed terminal
size, and `App.export_screenshot()` once the picture has stopped changing. Nothing on
screen comes from real time or from the simulator's random port (the status bar shows a
fixed endpoint label, as the snapshot tests do), and every path shown is relative to a
scratch working directory, so two runs write byte-identical files.

    python scripts/screenshots.py                 # regenerate everything
    python scripts/screenshots.py --only help     # one scene (the manifest keeps the others)
    python scripts/screenshots.py --check         # regenerate into a temp dir, compare sha256
    python scripts/screenshots.py --png           # also screenshots/*.png (needs rsvg-convert)

Exit codes: 0 done (or `--check` matched), 1 `--check` found a difference, 2 usage or a
picture that would show a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from kbench_tui.api.client import BenchmarksClient, RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.envfile import ProxySettings
from kbench_tui.sim.clock import DEFAULT_START, ManualClock
from kbench_tui.sim.runner import RunningSim, start_sim
from kbench_tui.sim.settings import SimConfig
from kbench_tui.tui.actions import ActionSettings
from kbench_tui.tui.app import KbenchApp
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.settings import DashboardSettings
from kbench_tui.tui.widgets.log_view import LogView
from kbench_tui.watch.logstream import LogPhase

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots"
MANIFEST = "MANIFEST.txt"

# Shown in the status bar instead of the simulator's random port (as in the snapshot tests).
ENDPOINT_LABEL = "http://127.0.0.1:8765"
TOKEN = "demo-token"
# A made-up model-proxy key: the status bar shows its expiry, and the pictures are checked
# to never contain more of it than the last 4 characters.
PROXY_KEY = "kbpx-screenshot-demo-key-7f3a"
SECRETS = (TOKEN, PROXY_KEY[:-4])

# A task file with mistakes the push dialog's lint exists for: never `.run()` (an error, so
# the acknowledgement box shows), a bare `assert`, a return value without an annotation.
FLAWED_TASK = """\
# %%
import kaggle_benchmarks as kbench


# %%
@kbench.task(name="Math QA")
def math_qa(llm):
    answer = llm.prompt("What is 6 x 7? Reply with the number only.")
    assert answer.strip() == "42"
    return answer.strip() == "42"
"""

GOOD_TASK = """\
# %%
import kaggle_benchmarks as kbench


@kbench.task(name="Capital cities")
def capital_cities(llm) -> bool:
    answer = llm.prompt("What is the capital of Australia? One word.")
    kbench.assertions.assert_in("canberra", answer.lower(), expectation="Names Canberra")
    return "canberra" in answer.lower()


# %%
capital_cities.run(llm=kbench.llm)
"""


class PictureError(Exception):
    """A scene did not reach its state, or its picture would show something it must not."""


@dataclass
class Stage:
    """What a scene works with: the simulator behind the app, and its scratch directory."""

    sim: RunningSim
    workdir: Path
    """The working directory: what the push browser shows, where downloads go."""


Steps = Callable[[Pilot[Any], Stage], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    """One screenshot: how to get there, at which terminal size, and what it shows."""

    name: str
    description: str
    steps: Steps
    size: tuple[int, int] = (140, 40)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.name}.svg"


# -- waiting -------------------------------------------------------------------------------


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], what: str) -> None:
    """Let the app work until `predicate()` holds; a scene that never gets there fails."""
    deadline = time.monotonic() + 20.0
    while not predicate():
        if time.monotonic() > deadline:
            raise PictureError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def wait_for_screen(pilot: Pilot[Any], kind: type) -> Any:
    """Wait until the active screen is a `kind` and return it."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)
    return pilot.app.screen


async def steady_picture(pilot: Pilot[Any]) -> str:
    """The screenshot, once two exports a quarter of a second apart are identical.

    The clock is frozen, so the screen stops changing once every answer has arrived; toasts
    (they carry timing, not state) are dropped and text cursors stop blinking first.
    """
    app = pilot.app
    previous: str | None = None
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        app.clear_notifications()
        for text_input in app.screen.query(Input):
            text_input.cursor_blink = False
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.25)
        picture = app.export_screenshot()
        if picture == previous:
            return picture
        previous = picture
    raise PictureError("the screen kept changing")


async def dashboard(pilot: Pilot[Any], task: str) -> DashboardScreen:
    """The dashboard with all demo tasks and the status bar loaded, `task` selected."""
    screen = pilot.app.screen
    if not isinstance(screen, DashboardScreen):
        raise PictureError("the dashboard did not open")
    table = screen.task_list.table
    await wait_for(pilot, lambda: table.row_count == 12, "the demo tasks")
    status = screen.status_bar
    await wait_for(pilot, lambda: status.user == "demo" and status.quota is not None, "the user")
    table.move_cursor(row=table.get_row_index(task))
    await wait_for(pilot, lambda: screen.run_table.task_slug == task, f"the runs of {task}")
    await wait_for(
        pilot,
        lambda: (
            bool(screen.runs) and all(r.task_slug.task_slug == task for r in screen.runs.values())
        ),
        f"the runs of {task}",
    )
    return screen


async def select_run(pilot: Pilot[Any], screen: DashboardScreen, run_id: int) -> None:
    """Move the run table's cursor to `run_id` and wait until its log is showing."""
    runs = screen.run_table.table
    await wait_for(pilot, lambda: str(run_id) in runs.rows, f"run {run_id}")
    runs.move_cursor(row=runs.get_row_index(str(run_id)))
    pane = screen.log_pane
    await wait_for(pilot, lambda: run_id in pane.phases, f"the log of run {run_id}")


def runs_in(screen: DashboardScreen, state: str) -> list[int]:
    """Ids of the selected task's runs in `state` (short name), lowest first."""
    return sorted(run.id for run in screen.runs.values() if run.state.short == state)


async def finished_run_selected(pilot: Pilot[Any], task: str) -> DashboardScreen:
    """`task` selected with its first finished run's whole log on screen (dialog backdrop)."""
    screen = await dashboard(pilot, task)
    first = runs_in(screen, "COMPLETED")[0]
    await select_run(pilot, screen, first)
    pane = screen.log_pane
    await wait_for(pilot, lambda: pane.phases[first].phase is LogPhase.ENDED, "the whole log")
    return screen


# -- scenes --------------------------------------------------------------------------------


async def dashboard_scene(pilot: Pilot[Any], stage: Stage) -> None:
    screen = await dashboard(pilot, "math-qa")
    running = runs_in(screen, "RUNNING")[0]
    await select_run(pilot, screen, running)
    pane = screen.log_pane
    await wait_for(pilot, lambda: pane.phases[running].phase is LogPhase.STREAMING, "the stream")
    await wait_for(pilot, lambda: bool(pane.view.lines), "the first log lines")
    before = len(pane.view.lines)
    # Half a minute later: the stream has delivered the lines written meanwhile.
    stage.sim.clock.advance(30)
    await wait_for(pilot, lambda: len(pane.view.lines) > before, "new log lines")
    # The elapsed times and the proxy key's countdown follow the clock on a 1 s tick: show
    # them now, or a picture taken before the next tick would still be 30 s old.
    screen.run_table.tick()
    screen.status_bar.refresh()
    screen.run_table.table.focus()


async def all_runs_scene(pilot: Pilot[Any], stage: Stage) -> None:
    screen = await dashboard(pilot, "long-context-recall")
    await select_run(pilot, screen, runs_in(screen, "RUNNING")[0])
    await pilot.press("l")
    pane = screen.log_pane
    await wait_for(pilot, lambda: len(pane.phases) == 2, "both logs")
    await wait_for(pilot, lambda: bool(pane.view.lines), "the running log")
    await lines_settled(pilot, pane.view)
    # The queued run starts within half a minute; from then on both write a line every
    # couple of seconds. Moving the clock a second at a time, and letting each step's lines
    # land before the next, interleaves them the same way on every run.
    for _ in range(48):
        stage.sim.clock.advance(1)
        await lines_settled(pilot, pane.view)
    sources = {line.source for line in pane.view.lines[-20:]}
    if len(sources) != 2:
        raise PictureError(f"expected both runs in the last lines, got {sources}")


async def lines_settled(pilot: Pilot[Any], view: LogView) -> None:
    """Wait until no log line has arrived for longer than the batch window."""
    count = -1
    while len(view.lines) != count:
        count = len(view.lines)
        await pilot.pause(0.15)


async def model_picker_scene(pilot: Pilot[Any], stage: Stage) -> None:
    from kbench_tui.tui.screens.model_picker import ModelPicker

    await finished_run_selected(pilot, "refusal-check")
    await pilot.press("r")
    picker: ModelPicker = await wait_for_screen(pilot, ModelPicker)
    await wait_for(pilot, lambda: picker.option_list.option_count > 20, "the models")
    await pilot.press(*"gemini", "space", "down", "down", "space", "up")


async def push_scene(pilot: Pilot[Any], stage: Stage) -> None:
    from kbench_tui.tui.screens.push import PushDialog

    await finished_run_selected(pilot, "math-qa")
    await pilot.press("p")
    dialog: PushDialog = await wait_for_screen(pilot, PushDialog)
    dialog.query_one("#push-file", Input).value = "tasks/math_qa.py"
    await wait_for(pilot, lambda: dialog.datasets == ["demo/math-word-problems"], "datasets")
    tree = dialog.query_one("#push-browser")
    await wait_for(pilot, lambda: bool(tree.root.children) and tree.root.is_expanded, "files")


async def download_scene(pilot: Pilot[Any], stage: Stage) -> None:
    await download_all(pilot)
    # Lose one run's copy, then download again: that run is fetched, the others are cached.
    gone = next((stage.workdir / "out" / "math-qa" / "2").glob("gpt-5-mini*/*"))
    shutil.rmtree(gone)
    await pilot.press("escape")
    await wait_for_screen(pilot, DashboardScreen)
    await download_all(pilot)


async def download_all(pilot: Pilot[Any]) -> None:
    """`d`, accept the defaults, and wait until every run has its final state."""
    from kbench_tui.tui.screens.download import DownloadDialog, DownloadProgressScreen

    await finished_run_selected(pilot, "math-qa")
    await pilot.press("d")
    await wait_for_screen(pilot, DownloadDialog)
    await pilot.press("enter")
    progress: DownloadProgressScreen = await wait_for_screen(pilot, DownloadProgressScreen)
    await wait_for(pilot, lambda: progress.summary is not None, "the downloads to finish")


async def results_scene(pilot: Pilot[Any], stage: Stage) -> None:
    from kbench_tui.tui.screens.results import ResultsScreen

    await download_all(pilot)
    await pilot.press("escape")
    await wait_for_screen(pilot, DashboardScreen)
    await pilot.press("v")
    await wait_for_screen(pilot, ResultsScreen)


async def help_scene(pilot: Pilot[Any], stage: Stage) -> None:
    from kbench_tui.tui.screens.help import HelpScreen

    await dashboard(pilot, "what-is-kaggle")
    await pilot.press("question_mark")
    await wait_for_screen(pilot, HelpScreen)


SCENES: tuple[Scene, ...] = (
    Scene(
        "dashboard",
        "The dashboard: tasks, the runs of math-qa per model, the RUNNING run's log streaming live (FOLLOW)",
        dashboard_scene,
    ),
    Scene(
        "all-runs",
        "`l`: both runs of long-context-recall streaming into one log, each line prefixed by its model",
        all_runs_scene,
        # One batch window gathers the finished logs, which answer concurrently, run by run
        # in the run table's order, whichever answer came first: the picture is stable.
        settings={"log_batch_seconds": 0.5},
    ),
    Scene(
        "model-picker",
        "`r`: the model picker filtered by 'gemini', two models checked",
        model_picker_scene,
    ),
    Scene(
        "push",
        "`p`: the push dialog on a task file with mistakes: lint findings, datasets of the previous version",
        push_scene,
        size=(140, 48),
    ),
    Scene(
        "download",
        "`d`: math-qa's finished runs downloaded again after one copy was lost: Done and Cached",
        download_scene,
    ),
    Scene(
        "results",
        "`v`: results of math-qa across models: table, bar chart, failed assertions",
        results_scene,
    ),
    Scene("help", "`?`: every key binding with its binding id", help_scene, size=(140, 48)),
)


# -- one scene -----------------------------------------------------------------------------


def prepare_workdir(workdir: Path) -> None:
    """The files a scene may show: task files to push (paths on screen are relative)."""
    (workdir / "tasks").mkdir(parents=True)
    (workdir / "tasks" / "math_qa.py").write_text(FLAWED_TASK)
    (workdir / "tasks" / "capital_cities.py").write_text(GOOD_TASK)


def build_app(sim: RunningSim, state: Path, overrides: dict[str, Any]) -> KbenchApp:
    """The dashboard app as the CLI builds it, with fast polling and no bell."""
    credentials = Credentials.token(TOKEN, source="--demo")
    values: dict[str, Any] = {
        "bell": False,
        "fast_poll": 0.05,
        "slow_poll": 0.2,
        "offline_delays": (0.1,),
        "log_batch_seconds": 0.0,
        "log_waiting_poll": 0.05,
        "spool_dir": state / "spool",
        "save_dir": Path("."),
    }
    values.update(overrides)

    def client() -> BenchmarksClient:
        return BenchmarksClient(sim.url, credentials, retry=RetryPolicy(max_attempts=1))

    proxy = ProxySettings(
        path=Path(".env"),
        url=f"{ENDPOINT_LABEL}/model-proxy",
        api_key=PROXY_KEY,
        expiry=DEFAULT_START + timedelta(hours=20),
    )
    app = KbenchApp(
        client,
        endpoint=ENDPOINT_LABEL,
        token=TOKEN,
        proxy=proxy,
        settings=DashboardSettings(**values),
        now=sim.clock.now,
    )
    app.action_settings = ActionSettings(  # type: ignore[attr-defined]
        push_poll_cap=0.05,
        picks_path=state / "picks.json",
        env_file=Path(".env"),
        download_output=Path("out"),
        browse_root=Path("."),
    )
    return app


def visible_text(svg: str) -> str:
    """The characters an SVG screenshot shows, without markup (for the secret checks)."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def check_picture(scene: Scene, svg: str) -> None:
    """Refuse a picture that shows a secret or a port other than the fixed label's."""
    text = visible_text(svg)
    for secret in SECRETS:
        if secret in text or secret in svg:
            raise PictureError(f"{scene.filename} would show a secret")
    ports = set(re.findall(r"127\.0\.0\.1:(\d+)", text))
    if ports - {ENDPOINT_LABEL.rsplit(":", 1)[1]}:
        raise PictureError(f"{scene.filename} shows the simulator's random port")


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


async def shoot(scene: Scene) -> str:
    """Run `scene` against a fresh demo simulator and return its SVG."""
    with tempfile.TemporaryDirectory(prefix="kbench-screenshot-") as scratch:
        workdir, state = Path(scratch) / "work", Path(scratch) / "state"
        prepare_workdir(workdir)
        (state / "spool").mkdir(parents=True)
        sim = start_sim(SimConfig(seed="demo", rng_seed=0), clock=ManualClock())
        try:
            with working_directory(workdir):
                app = build_app(sim, state, scene.settings)
                async with app.run_test(size=scene.size) as pilot:
                    await scene.steps(pilot, Stage(sim, workdir))
                    svg = await steady_picture(pilot)
        finally:
            sim.stop()
    check_picture(scene, svg)
    return svg


# -- manifest, PNG, command line ---------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(directory: Path) -> dict[str, str]:
    """`MANIFEST.txt` as {file name: sha256}."""
    path = directory / MANIFEST
    if not path.exists():
        return {}
    entries: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, digest, _ = line.split(maxsplit=2)
            entries[name] = digest
    return entries


def write_manifest(directory: Path, digests: dict[str, str]) -> None:
    """One line per scene, in scene order: file, sha256 of the SVG, what it shows."""
    lines = [
        "# Generated by `python scripts/screenshots.py` from the demo simulator (frozen clock,",
        "# fixed terminal size); `python scripts/screenshots.py --check` verifies the sha256.",
        "# file  sha256  what it shows",
    ]
    for scene in SCENES:
        if scene.filename in digests:
            lines.append(f"{scene.filename}  {digests[scene.filename]}  {scene.description}")
    (directory / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")


def to_png(svg_path: Path) -> Path:
    """Render `svg_path` next to itself as PNG with rsvg-convert."""
    png_path = svg_path.with_suffix(".png")
    # Rich writes spaces as &#160; and relies on browsers keeping them; librsvg drops those
    # at the start of a text run (`user  demo` would read `userdemo`) unless told to keep them.
    svg = svg_path.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    subprocess.run(
        ["rsvg-convert", "--format", "png", "--output", str(png_path)],
        input=svg.encode("utf-8"),
        check=True,
    )
    return png_path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python scripts/screenshots.py",
        description="Regenerate screenshots/*.svg and MANIFEST.txt from the demo simulator.",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[scene.name for scene in SCENES],
        metavar="NAME",
        help=f"only this scene (repeatable): {', '.join(scene.name for scene in SCENES)}",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and compare with MANIFEST.txt (exit 1 on a difference)",
    )
    parser.add_argument(
        "--png", action="store_true", help="also write a PNG of each SVG (needs rsvg-convert)"
    )
    parser.add_argument(
        "--out", type=Path, default=SCREENSHOTS, help="output directory (default: screenshots/)"
    )
    return parser.parse_args(argv)


async def generate(scenes: Sequence[Scene], directory: Path) -> dict[str, str]:
    """Write each scene's SVG into `directory`; return {file name: sha256}."""
    digests: dict[str, str] = {}
    for scene in scenes:
        started = time.monotonic()
        data = (await shoot(scene)).encode("utf-8")
        (directory / scene.filename).write_bytes(data)
        digests[scene.filename] = sha256(data)
        print(f"{scene.filename}  {time.monotonic() - started:.1f} s", file=sys.stderr)
    return digests


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()  # scenes change the working directory while they run
    scenes = [scene for scene in SCENES if not args.only or scene.name in args.only]
    if args.png and shutil.which("rsvg-convert") is None:
        print("--png needs rsvg-convert (apt-get install librsvg2-bin)", file=sys.stderr)
        return 2
    try:
        if args.check:
            expected = read_manifest(args.out)
            with tempfile.TemporaryDirectory(prefix="kbench-screenshots-") as scratch:
                digests = asyncio.run(generate(scenes, Path(scratch)))
            different = [name for name, digest in digests.items() if expected.get(name) != digest]
            for name in different:
                print(f"{name}: differs from {MANIFEST}", file=sys.stderr)
            return 1 if different else 0
        args.out.mkdir(parents=True, exist_ok=True)
        digests = read_manifest(args.out)
        digests.update(asyncio.run(generate(scenes, args.out)))
        write_manifest(args.out, digests)
    except PictureError as error:
        print(f"screenshots: {error}", file=sys.stderr)
        return 2
    if args.png:
        for scene in scenes:
            to_png(args.out / scene.filename)
    return 0


if __name__ == "__main__":
    sys.exit(main())
