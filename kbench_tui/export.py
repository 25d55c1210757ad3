"""`kbench-tui export`: the whole benchmark state in one command, with no terminal.

This is the headless path: it must never import Textual (a test checks `sys.modules`)
and imports jupytext only if it needs it (it does not). It talks to the service through
the dashboard's connection layer (`TaskReader`: same requests, retries and errors, with
answers decoded without pydantic so a one-task export starts fast), fetching the runs of
many tasks concurrently with a bound, and writes the document atomically so a failed
export never leaves a partial file.

Exit codes: 0 ok; 1 a run ERRORED (with --fail-on-error); 2 usage (bad arguments, unknown
task); 3 credentials missing or rejected; 4 service unreachable after retries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kbench_tui.cli import (
    EXIT_CREDENTIALS,
    EXIT_OK,
    EXIT_RUN_ERRORED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from kbench_tui.export_formats import SCHEMA_VERSION, render
from kbench_tui.slugs import InvalidTaskArgument, TaskRef, normalize_model_slug, parse_task_argument

# How many requests the export keeps in flight at once: enough to hide latency, few
# enough not to trip the service's rate limits.
CONCURRENCY = 8
STATUS_CHOICES = ("queued", "running", "completed", "errored")
# A normalised model-version slug (`gemini-2.5-flash`, `claude-sonnet-4-6-default`).
_MODEL_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
KAGGLE_WEB = "https://www.kaggle.com"


class ExportUsageError(Exception):
    """Bad arguments: reported as one line, exit code 2."""


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a `Z`; milliseconds only when the service sent them."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def absolute_url(url: str | None) -> str | None:
    if not url:
        return None
    return KAGGLE_WEB + url if url.startswith("/") else url


def model_output_url(task_url: str | None) -> str | None:
    """The page where a task's model outputs are compared (what the kaggle CLI prints as
    'Model Output'): the task URL without its trailing version, plus `?compare=true`."""
    if not task_url:
        return None
    return re.sub(r"/\d+$", "", task_url) + "?compare=true"


def _validate(args: argparse.Namespace) -> tuple[list[TaskRef], re.Pattern[str] | None]:
    try:
        tasks = [parse_task_argument(t) for t in args.tasks]
    except InvalidTaskArgument as exc:
        raise ExportUsageError(str(exc)) from None
    for raw, ref in zip(args.tasks, tasks, strict=True):
        if not ref.task:
            raise ExportUsageError(f"Task '{raw}' is not a valid task name.")
    pattern = None
    if args.regex is not None:
        try:
            pattern = re.compile(args.regex)
        except re.error as exc:
            raise ExportUsageError(f"--regex {args.regex!r} is not a valid regex: {exc}.") from None
    if args.status is not None and args.status.lower() not in STATUS_CHOICES:
        raise ExportUsageError(
            f"--status {args.status!r} is not a state; use one of: {', '.join(STATUS_CHOICES)}."
        )
    for model in args.models:
        slug = normalize_model_slug(model).strip()
        if not slug:
            raise ExportUsageError(
                f"-m {model!r} names no model; use a slug like gemini-2.5-flash."
            )
        if not _MODEL_SLUG.match(slug):
            # A typo here would silently export no runs at all: refuse it instead.
            raise ExportUsageError(
                f"-m {model!r} is not a model slug (letters, digits, '.', '-', '_'); "
                "use one like gemini-2.5-flash or google/gemini-2.5-flash."
            )
    if args.output:
        target = Path(args.output).expanduser()
        if target.is_dir():
            raise ExportUsageError(
                f"Cannot write {args.output}: it is a directory; give a file name "
                f"such as {target / 'export.json'}."
            )
        parent = target.resolve().parent
        if not parent.is_dir():
            raise ExportUsageError(
                f"Cannot write {args.output}: directory {parent} does not exist."
            )
        problem = _cannot_create_in(parent)
        if problem:
            raise ExportUsageError(
                f"Cannot write {args.output}: directory {parent} is not writable ({problem}); "
                "choose another -o path."
            )
    if args.download:
        target = Path(args.download).expanduser()
        if target.exists() and not target.is_dir():
            raise ExportUsageError(f"--download {args.download}: not a directory.")
    return tasks, pattern


def _cannot_create_in(directory: Path) -> str | None:
    """Why no file can be created in `directory`, or None if one can.

    Checked before any request, by creating (and removing) a temporary file: `os.access`
    says yes to root on a read-only mount or in /proc, and the export would only fail at
    the very end.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".kbench-tui-probe.", dir=directory)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(name)
    return None


class _Progress:
    """Progress on stderr, only when stderr is a terminal (stdout stays clean)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.done = 0
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n
        self._show()

    def step(self) -> None:
        self.done += 1
        self._show()

    def _show(self) -> None:
        if self.enabled:
            print(f"\rexporting… {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


async def build_document(
    client: Any,
    endpoint: str,
    *,
    tasks: list[TaskRef],
    pattern: re.Pattern[str] | None,
    status: str | None,
    models: list[str],
    with_results: bool,
    with_logs: bool,
    download_dir: Path | None,
    cache_dir: Path,
    progress: _Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> dict[str, Any]:
    """Fetch everything and return the export document (schema in export_formats)."""
    from kbench_tui.api.errors import NotFoundError

    progress = progress or _Progress(False)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def bounded(coro: Any) -> Any:
        try:
            async with limit:
                try:
                    return await coro
                finally:
                    progress.step()
        finally:
            coro.close()  # cancelled before its turn: never started, and no warning for it

    # A named task's runs are listed while the task is looked up (one round trip instead
    # of two), under the name given, as the kaggle CLI lists them; not when a filter may
    # leave the task out (its runs would be asked for, and could fail, for nothing).
    eager = bool(tasks) and not status and not pattern
    run_lists: list[list[Any]] | None = None
    if tasks:
        progress.add(2 * len(tasks) if eager else len(tasks))

        async def runs_of(ref: TaskRef) -> list[Any]:
            # The lookup is made here, not passed in: cancelled before it starts (the task
            # was not found), it then leaves no coroutine that was never awaited.
            return await bounded(client.list_all_runs(ref, models=models or None))

        async def get(ref: TaskRef) -> tuple[Any, list[Any] | None]:
            runs_lookup = asyncio.ensure_future(runs_of(ref)) if eager else None
            try:
                try:
                    task = await bounded(client.get_task(ref))
                except NotFoundError:
                    raise ExportUsageError(
                        f"Task '{ref}' not found. Verify the name, or run 'kbench-tui "
                        "export' with no task to export all of them."
                    ) from None
                return task, (await runs_lookup if runs_lookup is not None else None)
            finally:
                if runs_lookup is not None and not runs_lookup.done():
                    runs_lookup.cancel()
                elif runs_lookup is not None and not runs_lookup.cancelled():
                    runs_lookup.exception()  # retrieved: no "never retrieved" warning

        pairs = await asyncio.gather(*(get(ref) for ref in tasks))
        if status:
            pairs = [p for p in pairs if p[0].creation_state.short.lower() == status.lower()]
        if pattern:
            pairs = [p for p in pairs if pattern.search(p[0].slug.task_slug)]
        found = [task for task, _ in pairs]
        if eager:
            run_lists = [runs or [] for _, runs in pairs]
    else:
        found = await client.list_all_tasks(
            status=status, regex=pattern.pattern if pattern else None
        )
    if run_lists is None:
        progress.add(len(found))
        run_lists = await asyncio.gather(
            *(bounded(client.list_all_runs(_ref_of(t), models=models or None)) for t in found)
        )

    documents = [_task_json(t, runs) for t, runs in zip(found, run_lists, strict=True)]

    extras: list[Any] = []
    for task, runs, doc in zip(found, run_lists, documents, strict=True):
        for run, run_doc in zip(runs, doc["runs"], strict=True):
            if with_results and run.state.is_terminal:
                extras.append(
                    bounded(
                        _attach_result(
                            client, task, run, run_doc, download_dir or cache_dir, download_dir
                        )
                    )
                )
            if with_logs:
                extras.append(bounded(_attach_log(client, run, run_doc)))
    progress.add(len(extras))
    await asyncio.gather(*extras)
    # Results and logs arrive in any order; key order must not depend on it.
    for doc in documents:
        doc["runs"] = [_ordered(run) for run in doc["runs"]]

    return {
        "schemaVersion": SCHEMA_VERSION,
        "generatedAt": iso(now()),
        "endpoint": endpoint,
        "tasks": documents,
    }


_RUN_KEY_ORDER = ("result", "log")


def _ordered(run: dict[str, Any]) -> dict[str, Any]:
    tail = {key: run.pop(key) for key in _RUN_KEY_ORDER if key in run}
    return {**run, **tail}


def _ref_of(task: Any) -> TaskRef:
    return TaskRef(task=task.slug.task_slug, owner=task.slug.owner_slug or None)


def _task_json(task: Any, runs: list[Any]) -> dict[str, Any]:
    url = absolute_url(task.url)
    options = task.options
    return {
        "slug": task.slug.task_slug,
        "owner": task.slug.owner_slug or None,
        "version": task.slug.version_number or None,
        "state": task.creation_state.short,
        "created": iso(task.create_time),
        "url": url,
        "public": bool(task.is_public),
        "datasets": list(options.dataset_data_sources) if options else [],
        "error": task.creation_error_message or task.error or None,
        "runs": [_run_json(run, url) for run in runs],
    }


def _run_json(run: Any, task_url: str | None) -> dict[str, Any]:
    duration = None
    if run.start_time is not None and run.end_time is not None:
        duration = round((run.end_time - run.start_time).total_seconds(), 3)
    return {
        "id": run.id,
        "model": normalize_model_slug(run.model_version_slug),
        "state": run.state.short,
        "started": iso(run.start_time),
        "ended": iso(run.end_time),
        "durationSeconds": duration,
        "error": run.error_message or None,
        "url": model_output_url(task_url),
    }


async def _attach_result(
    client: Any,
    task: Any,
    run: Any,
    run_doc: dict[str, Any],
    root: Path,
    keep: Path | None,
) -> None:
    """Download (or reuse) the run's output and add its parsed headline result."""
    from kbench_tui.api.download import DownloadState, download_run_output, run_output_dir
    from kbench_tui.results import RunFileError, headline_result

    owner = task.slug.owner_slug
    task_dir = f"{owner}/{task.slug.task_slug}" if keep is None and owner else task.slug.task_slug
    target = run_output_dir(
        root, task_dir, task.slug.version_number, run.model_version_slug, run.id
    )
    outcome = await download_run_output(client, run.id, target)
    if outcome.state not in (DownloadState.DONE, DownloadState.CACHED):
        print(
            f"warning: output of run {run.id} ({run_doc['model']}) could not be read: "
            f"{outcome.state.value}{': ' + outcome.message if outcome.message else ''}",
            file=sys.stderr,
        )
        run_doc["result"] = None
        return
    try:
        result = headline_result(target)
    except RunFileError as exc:
        print(f"warning: run {run.id} ({run_doc['model']}): {exc}", file=sys.stderr)
        result = None
    run_doc["result"] = result.to_json() if result else None


async def _attach_log(client: Any, run: Any, run_doc: dict[str, Any]) -> None:
    """The full log text of a finished run; a run still going has no complete log yet."""
    from kbench_tui.api.logs import LogEntry, stream_run_logs

    if not run.state.is_terminal:
        run_doc["log"] = None
        return
    parts: list[str] = []
    async for event in stream_run_logs(client, run.id):
        if isinstance(event, LogEntry):
            parts.append(event.data)
    run_doc["log"] = "".join(parts)


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside the target and rename it into place."""
    path = path.expanduser()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_cache_dir(endpoint: str) -> Path:
    """Where --with-results keeps run outputs between exports when --download is not given."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = re.sub(r"[^A-Za-z0-9.-]+", "_", endpoint.split("://", 1)[-1]).strip("_")
    return base / "kbench-tui" / "outputs" / key


def run_export(args: argparse.Namespace) -> int:
    """Entry point of `kbench-tui export`; returns the exit code."""
    from kbench_tui.api.errors import ApiError, AuthError, UnreachableError
    from kbench_tui.config import ConfigError, load_credentials, resolve_endpoint

    def fail(code: int, message: str) -> int:
        print(f"kbench-tui export: {message}", file=sys.stderr)
        return code

    try:
        tasks, pattern = _validate(args)
    except ExportUsageError as exc:
        return fail(EXIT_USAGE, str(exc))

    sim = None
    try:
        if args.demo:
            from kbench_tui.sim.runner import SimConfig, start_sim

            sim = start_sim(SimConfig(seed="demo", port=0))
            endpoint = sim.url
            from kbench_tui.config import Credentials

            credentials = Credentials.token("demo-token", source="--demo")
        else:
            try:
                endpoint = resolve_endpoint(args.endpoint, os.environ)
                credentials = load_credentials()
            except ConfigError as exc:
                return fail(EXIT_CREDENTIALS if exc.about_credentials else EXIT_USAGE, str(exc))
            for warning in credentials.warnings if credentials is not None else ():
                print(f"kbench-tui export: warning: {warning}", file=sys.stderr)
            if credentials is None:
                return fail(
                    EXIT_CREDENTIALS,
                    "no Kaggle credentials found. Set KAGGLE_API_TOKEN, or create "
                    "~/.kaggle/access_token or ~/.kaggle/kaggle.json (see `kbench-tui --help`).",
                )
        try:
            document = asyncio.run(_export(args, endpoint, credentials, tasks, pattern))
        except ExportUsageError as exc:
            return fail(EXIT_USAGE, str(exc))
        except AuthError as exc:
            return fail(EXIT_CREDENTIALS, str(exc))
        except UnreachableError as exc:
            return fail(EXIT_UNREACHABLE, str(exc))
        except ApiError as exc:
            return fail(EXIT_UNREACHABLE, str(exc))
    finally:
        if sim is not None:
            sim.stop()

    text = render(document, args.format)
    if args.output:
        try:
            _write_atomically(Path(args.output), text)
        except OSError as exc:
            return fail(EXIT_USAGE, f"cannot write {args.output}: {exc.strerror or exc}.")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()

    errored = any(run["state"] == "ERRORED" for task in document["tasks"] for run in task["runs"])
    return EXIT_RUN_ERRORED if args.fail_on_error and errored else EXIT_OK


def make_client(endpoint: str, credentials: Any, **options: Any) -> Any:
    """The client the export uses: one connection pool, and the kaggle CLI's bound of 10
    attempts per request (with shorter waits), so a flaky service still yields a
    complete export while an unreachable one fails within about half a minute.

    It is a `TaskReader` (api/reader.py): the dashboard client's requests and rules, with
    answers decoded without pydantic, which would be half of a one-task export's time."""
    from kbench_tui.api.reader import TaskReader
    from kbench_tui.api.retry import RetryPolicy

    return TaskReader(
        endpoint, credentials, retry=RetryPolicy(max_attempts=10, cap=10.0), **options
    )


async def _export(
    args: argparse.Namespace,
    endpoint: str,
    credentials: Any,
    tasks: list[TaskRef],
    pattern: re.Pattern[str] | None,
) -> dict[str, Any]:
    progress = _Progress(sys.stderr.isatty())
    download_dir = Path(args.download).expanduser() if args.download else None
    try:
        async with make_client(endpoint, credentials) as client:
            return await build_document(
                client,
                endpoint,
                tasks=tasks,
                pattern=pattern,
                status=args.status,
                models=args.models,
                with_results=args.with_results,
                with_logs=args.with_logs,
                download_dir=download_dir,
                cache_dir=default_cache_dir(endpoint),
                progress=progress,
            )
    finally:
        progress.close()
