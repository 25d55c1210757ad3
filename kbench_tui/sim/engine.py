"""The simulated service: task and run lifecycles and the RPCs that read and change them.

States are derived from the clock on every read, never stored:
- a task version is QUEUED for the first 30% of its build time, RUNNING until the build
  time has passed, then its predetermined outcome (COMPLETED, or ERRORED /
  VALIDATION_FAILED decided from the notebook when it was pushed);
- a run is QUEUED until `schedule + queue_seconds`, RUNNING for `run_seconds`, then
  COMPLETED or ERRORED, drawn once from `random.Random(f"{seed}:run:{run id}")`; a run
  that will complete first spends `--score-seconds` (default 0; kept with the run when
  it is scheduled, like its other timings) in SCORE_PENDING: its
  session has ended (end time, full log) but its score is awaited, so it is not finished
  (no output to download, not on the leaderboard; the kaggle CLI keeps waiting).

Policies the upstream service does not document (API reference "[unknown]"):
- pushing while the latest version is QUEUED/RUNNING is refused with HTTP 400
  `Task '<slug>' creation is still pending...` (the CLI refuses the same way locally);
- a (task version, model) pair that already has a QUEUED, RUNNING or COMPLETED run is
  skipped with `A run for this task version and model already exists`; an ERRORED run
  may be re-run;
- ListBenchmarkTaskRuns without a version returns the latest version's runs, oldest first;
- `statusFilter` accepts state suffixes in any case, full enum names, `created`
  (= completed) and `error` (= any failed build); see validation.py.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict

from kbench_tui.sim import wire
from kbench_tui.sim.catalog import CatalogModel, find_model
from kbench_tui.sim.clock import Clock
from kbench_tui.sim.logs import RunLog, generate_log
from kbench_tui.sim.notebook import NotebookError, analyse, make_notebook
from kbench_tui.sim.outputs import build_zip, error_message
from kbench_tui.sim.settings import SimConfig
from kbench_tui.sim.store import RunRow, Store, VersionRow
from kbench_tui.sim.validation import dataset_sources, regex_filter, status_filter
from kbench_tui.sim.wire import ApiError
from kbench_tui.slugs import slugify

QUEUED_FRACTION = 0.3
PENDING = ("QUEUED", "RUNNING")
TERMINAL_RUN = ("COMPLETED", "ERRORED")
SKIP_REASON = "A run for this task version and model already exists"

DEFAULT_TASK_CODE = (
    "import kaggle_benchmarks as kbench\n\n"
    '@kbench.task(name="What is Kaggle?")\n'
    "def what_is_kaggle(llm):\n"
    '    response = llm.prompt("What is Kaggle?")\n'
    '    kbench.assertions.assert_true("kaggle" in response.lower(), expectation="mentions Kaggle")\n\n'
    "what_is_kaggle.run(llm=kbench.llm)\n"
)


class Engine:
    """Business logic over a `Store`, all time from one `Clock`."""

    def __init__(self, store: Store, clock: Clock, config: SimConfig) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        # Small caches of generated artefacts; tests read them from their own thread.
        self._cache_lock = threading.Lock()
        self._logs: OrderedDict[int, RunLog] = OrderedDict()
        self._zips: OrderedDict[tuple[int, bool, int], bytes] = OrderedDict()

    # -- derived states -------------------------------------------------------------------

    def version_state(self, version: VersionRow) -> str:
        elapsed = self.clock.time() - version.create_time
        if elapsed >= version.build_seconds:
            return version.outcome
        return "QUEUED" if elapsed < version.build_seconds * QUEUED_FRACTION else "RUNNING"

    def run_state(self, run: RunRow | int) -> str:
        """QUEUED, RUNNING, SCORE_PENDING, COMPLETED or ERRORED (a row or a run id)."""
        row = self._run_row(run) if isinstance(run, int) else run
        now = self.clock.time()
        if now < row.start_time:
            return "QUEUED"
        if now < row.end_time:
            return "RUNNING"
        if row.outcome == "COMPLETED" and now < row.end_time + row.score_seconds:
            return "SCORE_PENDING"
        return row.outcome

    def _run_row(self, run_id: int) -> RunRow:
        row = self.store.get_run(run_id)
        if row is None:
            raise ApiError(404, f"Run {run_id} not found.")
        return row

    def task_wire(self, version: VersionRow) -> dict:
        return wire.task_to_wire(version, self.version_state(version))

    def run_wire(self, run: RunRow) -> dict:
        state = self.run_state(run)
        message = error_message(run, self.config.rng_seed) if state == "ERRORED" else None
        return wire.run_to_wire(run, state, message)

    # -- lookups --------------------------------------------------------------------------

    def resolve(self, user: str, slug: object, *, own: bool = False) -> VersionRow:
        """The version an ApiBenchmarkTaskSlug names, as `user` may see it (404 otherwise)."""
        if not isinstance(slug, dict):
            raise ApiError(
                400, "slug must be an object with taskSlug (and ownerSlug, versionNumber)."
            )
        owner = slug.get("ownerSlug") or user
        task = slug.get("taskSlug") or ""
        number = slug.get("versionNumber") or None
        if not task:
            raise ApiError(400, "slug.taskSlug is required.")
        version = self.store.get_version(owner, task, number)
        name = f"{owner}/{task}"
        if version is None or (owner != user and not version.is_public):
            suffix = f" version {number}" if number and version is None else ""
            raise ApiError(404, f"Task '{name}'{suffix} not found.")
        if own and owner != user:
            raise ApiError(403, f"Task '{name}' belongs to {owner}; only its owner can change it.")
        return version

    def visible_run(self, user: str, run_id: object) -> RunRow:
        """A run `user` may see (its task is theirs or public), else 404."""
        if not isinstance(run_id, int) or run_id <= 0:
            raise ApiError(400, "runId is required (a positive integer).")
        run = self.store.get_run(run_id)
        if run is None or (run.task_owner != user and not run.task_public):
            raise ApiError(404, f"Run {run_id} not found.")
        return run

    # -- tasks ----------------------------------------------------------------------------

    def create_task(self, user: str, body: dict) -> dict:
        slug = body.get("slug")
        if not isinstance(slug, str) or not slug or slugify(slug) != slug:
            raise ApiError(400, f"Invalid task slug {slug!r}: use a slug like 'my-task'.")
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "text is required: the task notebook as .ipynb JSON.")
        datasets = dataset_sources(body.get("options"))
        with self.store.lock:
            latest = self.store.get_version(user, slug)
            if latest is not None and self.version_state(latest) in PENDING:
                raise ApiError(
                    400,
                    f"Task '{slug}' creation is still pending. Wait for the current version "
                    "to finish building before pushing a new one.",
                )
            version = self._add_version(user, slug, text, self.config.build_seconds, datasets)
        return self.task_wire(version)

    def _add_version(
        self, owner: str, slug: str, text: str, build_seconds: float, datasets: list[str]
    ) -> VersionRow:
        try:
            build = analyse(text, fallback_name=slug.replace("-", " ").title())
        except NotebookError as error:
            raise ApiError(400, str(error)) from error
        return self.store.add_version(
            owner,
            slug,
            text=text,
            task_name=build.task_name,
            definition=build.definition,
            create_time=self.clock.time(),
            build_seconds=build_seconds,
            outcome=build.outcome,
            error_message=build.error_message,
            datasets=datasets,
        )

    def get_task(self, user: str, body: dict) -> dict:
        return self.task_wire(self.resolve(user, body.get("slug")))

    def list_tasks(self, user: str, body: dict) -> dict:
        states = status_filter(body.get("statusFilter") or "")
        pattern = regex_filter(body.get("regexFilter") or "")
        versions = self.store.latest_versions(user)
        tasks = []
        for version in versions:
            state = self.version_state(version)
            if states is not None and state not in states:
                continue
            if pattern is not None and not pattern.search(version.slug):
                continue
            tasks.append(wire.task_to_wire(version, state))
        page, token = wire.paginate(tasks, body, "tasks")
        answer: dict = {"tasks": page}
        if tasks:
            answer["totalResults"] = len(tasks)
        if token:
            answer["nextPageToken"] = token
        return answer

    def publish(self, user: str, body: dict) -> dict:
        version = self.resolve(user, body.get("slug"), own=True)
        self.store.set_published(version.task_id, notebook=bool(body.get("publishBackingNotebook")))
        refreshed = self.store.get_version(version.owner, version.slug, version.number)
        assert refreshed is not None
        return self.task_wire(refreshed)

    # -- runs -----------------------------------------------------------------------------

    def batch_schedule(self, user: str, body: dict) -> dict:
        slugs = body.get("taskSlugs") or []
        names = body.get("modelVersionSlugs") or []
        if not isinstance(slugs, list) or not slugs:
            raise ApiError(400, "taskSlugs is required: at least one task.")
        if not isinstance(names, list) or not names:
            raise ApiError(400, "modelVersionSlugs is required: at least one model.")
        models = [(name, find_model(str(name))) for name in names]
        unknown = [str(name) for name, model in models if model is None]
        if unknown:
            raise ApiError(404, f"Model version(s) not found: {', '.join(unknown)}.")
        with self.store.lock:
            # Validate every task first, so a bad one schedules nothing.
            versions = [self.resolve(user, slug, own=True) for slug in slugs]
            for version in versions:
                state = self.version_state(version)
                if state != "COMPLETED":
                    raise ApiError(
                        400,
                        f"Task '{version.slug}' is not ready to run (status: {state}). "
                        "Only completed tasks can be run.",
                    )
            results = []
            for version in versions:  # task-major order, then models in request order
                for _, model in models:
                    assert model is not None
                    results.append(self._schedule_pair(user, version, model))
        return {"results": results}

    def _schedule_pair(self, user: str, version: VersionRow, model: CatalogModel) -> dict:
        result: dict = {
            "benchmarkTaskVersionId": version.id,
            "benchmarkModelVersionId": model.version_id,
        }
        for run in self.store.runs_of_version(version.id):
            if run.model == model.version_slug and self.run_state(run) != "ERRORED":
                result["runSkippedReason"] = SKIP_REASON
                return result
        self._insert_run(version, model.version_slug, user)
        result["runScheduled"] = True
        return result

    def _insert_run(
        self,
        version: VersionRow,
        model: str,
        owner: str,
        *,
        log_lines: int | None = None,
        output_padding: int = 0,
        outcome: str | None = None,
        queue_seconds: float | None = None,
        run_seconds: float | None = None,
    ) -> int:
        config = self.config
        run_id = self.store.add_run(
            version.id,
            model,
            owner,
            schedule_time=self.clock.time(),
            queue_seconds=config.queue_seconds if queue_seconds is None else queue_seconds,
            run_seconds=config.run_seconds if run_seconds is None else run_seconds,
            log_lines=config.log_lines if log_lines is None else log_lines,
            output_padding=output_padding,
            score_seconds=config.score_seconds,
        )
        if outcome is None:
            outcome = draw_outcome(config.rng_seed, run_id, config.run_error_rate)
        self.store.set_run_outcome(run_id, outcome)
        return run_id

    def list_runs(self, user: str, body: dict) -> dict:
        version = self.resolve(user, body.get("taskSlug"))
        wanted = body.get("modelVersionSlugs") or []
        if not isinstance(wanted, list):
            raise ApiError(400, "modelVersionSlugs must be a list of model slugs.")
        canonical = {wire_model(str(name)) for name in wanted}
        runs = [
            self.run_wire(run)
            for run in self.store.runs_of_version(version.id)
            if not canonical or run.model in canonical
        ]
        page, token = wire.paginate(runs, body, "runs")
        answer: dict = {"runs": page}
        if runs:
            answer["totalResults"] = len(runs)
        if token:
            answer["nextPageToken"] = token
        return answer

    def run_log(self, run: RunRow) -> RunLog:
        """The run's whole log (cached: a 200k-line log is generated once)."""
        with self._cache_lock:
            log = self._logs.get(run.id)
        if log is None:
            log = generate_log(run, run.outcome, self.config.rng_seed)
            with self._cache_lock:
                self._logs[run.id] = log
                while len(self._logs) > 16:
                    self._logs.popitem(last=False)
        return log

    def output_zip(self, run: RunRow, include_source: bool) -> bytes:
        """The run's output archive (cached; identical bytes every time)."""
        key = (run.id, include_source, run.output_padding)
        with self._cache_lock:
            data = self._zips.get(key)
        if data is None:
            version = self.store.get_version(run.task_owner, run.task_slug, run.version_number)
            notebook = version.text if version else make_notebook("")
            data = build_zip(run, self.config.rng_seed, run.outcome, notebook, include_source)
            with self._cache_lock:
                self._zips[key] = data
                while len(self._zips) > 8:
                    self._zips.popitem(last=False)
        return data

    # -- hooks for seeds, tests and benchmarks --------------------------------------------

    def add_task(
        self,
        owner: str,
        slug: str,
        *,
        code: str = DEFAULT_TASK_CODE,
        build_seconds: float = 0.0,
        datasets: list[str] | None = None,
    ) -> dict:
        """Push a task version directly (no pending check); COMPLETED at once by default."""
        with self.store.lock:
            version = self._add_version(
                owner, slug, make_notebook(code), build_seconds, datasets or []
            )
        return self.task_wire(version)

    def add_run(
        self,
        owner: str,
        slug: str,
        model: str,
        *,
        log_lines: int | None = None,
        output_padding: int = 0,
        outcome: str | None = None,
        queue_seconds: float | None = None,
        run_seconds: float | None = None,
    ) -> int:
        """Schedule a run on the latest version now, bypassing checks; returns the run id.

        `log_lines` sizes the log (e.g. 200_000 for throughput tests), `output_padding`
        adds that many bytes to the output zip, `outcome` forces COMPLETED/ERRORED.
        """
        version = self.store.get_version(owner, slug)
        model_row = find_model(model)
        if version is None or model_row is None:
            raise ValueError(f"unknown task {owner}/{slug} or model {model}")
        with self.store.lock:
            return self._insert_run(
                version,
                model_row.version_slug,
                owner,
                log_lines=log_lines,
                output_padding=output_padding,
                outcome=outcome,
                queue_seconds=queue_seconds,
                run_seconds=run_seconds,
            )


def draw_outcome(rng_seed: int, run_id: int, error_rate: float) -> str:
    """COMPLETED or ERRORED, reproducible from the seed and the run id alone."""
    return (
        "ERRORED"
        if random.Random(f"{rng_seed}:run:{run_id}").random() < error_rate
        else "COMPLETED"
    )


def wire_model(slug: str) -> str:
    """The canonical slug of a model in any form (unknown models normalise per §9.3)."""
    model = find_model(slug)
    return model.version_slug if model else slug.rsplit("/", 1)[-1].replace("@", "-")
