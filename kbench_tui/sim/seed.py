"""Initial data: `empty`, `demo` (a dozen tasks in every state) and `large` (1,000 tasks).

Seeds write rows directly (`Store.bulk_load`, one transaction) with times relative to
the clock's now, so the demo looks alive whenever it starts: some runs are RUNNING with
logs streaming, some are QUEUED and start within seconds, builds are in progress. A
store that was already seeded (a reused `--db FILE`) is left as it is.
"""

from __future__ import annotations

import json
import random

from kbench_tui.sim.catalog import MODELS
from kbench_tui.sim.clock import Clock
from kbench_tui.sim.notebook import analyse, make_notebook
from kbench_tui.sim.settings import SimConfig
from kbench_tui.sim.store import Store

_CODE = (
    "import kaggle_benchmarks as kbench\n\n"
    "@kbench.task(name={name!r})\n"
    "def {function}(llm) -> float:\n"
    '    """{name}: a simulated benchmark task."""\n'
    '    response = llm.prompt("Question for {name}")\n'
    '    kbench.assertions.assert_true(len(response) > 0, expectation="Model answers")\n'
    "    return 1.0\n\n"
    "{function}.run(llm=kbench.llm)\n"
)
_BROKEN = (
    "import kaggle_benchmarks as kbench\n\n"
    "@kbench.task(name='Broken import')\n"
    "def broken(llm):\n"
    "    return kbnch.assertions  # typo\n"
)
_BROKEN_MESSAGE = (
    "Traceback (most recent call last):\n"
    '  File "/kaggle/working/__notebook__.ipynb", line 5, in broken\n'
    "    return kbnch.assertions  # typo\n"
    "NameError: name 'kbnch' is not defined"
)
_NO_TASK = "import kaggle_benchmarks as kbench\n\ndef helper(llm):\n    return llm.prompt('hi')\n"

# (slug, display name, build state, extra versions, public, datasets)
_DEMO_TASKS = [
    ("what-is-kaggle", "What is Kaggle?", "COMPLETED", 0, False, []),
    ("math-qa", "Math QA", "COMPLETED", 1, False, ["demo/math-word-problems"]),
    ("refusal-check", "Refusal check", "COMPLETED", 0, False, []),
    ("code-golf", "Code golf", "COMPLETED", 2, False, []),
    (
        "multilingual-translation",
        "Multilingual translation",
        "COMPLETED",
        0,
        False,
        ["demo/flores-200", "demo/wmt-24"],
    ),
    ("long-context-recall", "Long context recall", "COMPLETED", 0, False, []),
    ("summarization-faithfulness", "Summarization faithfulness", "COMPLETED", 0, True, []),
    ("json-extraction", "JSON extraction", "COMPLETED", 0, False, []),
    ("image-captioning", "Image captioning", "QUEUED", 0, False, []),
    ("chart-reading", "Chart reading", "RUNNING", 1, False, []),
    ("broken-import", "Broken import", "ERRORED", 0, False, []),
    ("no-task-defined", "No task defined", "VALIDATION_FAILED", 0, False, []),
]
# Demo runs per task: (model, state) with state in QUEUED/RUNNING/COMPLETED/ERRORED.
_DEMO_RUNS = {
    "what-is-kaggle": [
        ("gemini-2.5-flash", "COMPLETED"),
        ("claude-sonnet-4-6-default", "COMPLETED"),
        ("gpt-5", "ERRORED"),
        ("grok-4.3", "RUNNING"),
        ("deepseek-r1-0528", "QUEUED"),
    ],
    "math-qa": [
        ("gemini-2.5-pro", "COMPLETED"),
        ("gemini-2.5-flash", "COMPLETED"),
        ("claude-opus-4-6-default", "COMPLETED"),
        ("gpt-5-mini", "COMPLETED"),
        ("qwen3-235b-a22b-instruct-2507", "RUNNING"),
        ("llama-4-maverick", "ERRORED"),
    ],
    "refusal-check": [
        ("gemini-2.5-flash", "COMPLETED"),
        ("claude-sonnet-4-6-default", "COMPLETED"),
        ("gpt-5", "COMPLETED"),
        ("mistral-large-2411", "QUEUED"),
    ],
    "code-golf": [
        ("gemini-2.5-pro", "COMPLETED"),
        ("gpt-5", "COMPLETED"),
        ("grok-4.3", "ERRORED"),
        ("claude-opus-4-6-default", "RUNNING"),
    ],
    "multilingual-translation": [
        ("gemini-2.5-flash", "COMPLETED"),
        ("qwen3-235b-a22b-instruct-2507", "COMPLETED"),
        ("deepseek-v3.2", "RUNNING"),
    ],
    "long-context-recall": [("gemini-2.5-pro", "RUNNING"), ("claude-sonnet-4-6-default", "QUEUED")],
    # The newest runnable task is where the dashboard starts: a live run there means the
    # demo opens on a streaming log.
    "json-extraction": [
        ("qwen3-235b-a22b-instruct-2507", "RUNNING"),
        ("gpt-5-mini", "COMPLETED"),
    ],
    "summarization-faithfulness": [
        ("gemini-2.5-flash", "COMPLETED"),
        ("gpt-5-mini", "COMPLETED"),
        ("claude-haiku-4-5-20251001", "ERRORED"),
    ],
}
DEMO_BENCHMARK = ("reasoning-suite", ["what-is-kaggle", "math-qa", "refusal-check", "code-golf"])


def seed_store(store: Store, clock: Clock, config: SimConfig) -> None:
    """Load `config.seed` into an unseeded store, then mark it seeded."""
    if store.get_meta("seeded") is not None:
        return
    if config.seed == "demo":
        _seed_demo(store, clock, config)
    elif config.seed == "large":
        _seed_large(store, clock, config)
    store.set_meta("seeded", config.seed)


def _function(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "task"


def _version_row(
    version_id: int,
    task_id: int,
    number: int,
    code: str,
    fallback: str,
    created: float,
    build: float,
    outcome: str | None,
    message: str | None,
    datasets: list[str],
) -> tuple:
    text = make_notebook(code)
    found = analyse(text, fallback)
    return (
        version_id,
        task_id,
        number,
        text,
        found.task_name,
        found.definition,
        created,
        build,
        outcome or found.outcome,
        message or found.error_message,
        json.dumps(datasets),
    )


def _demo_run(
    run_id: int,
    version_id: int,
    model: str,
    owner: str,
    state: str,
    now: float,
    rng: random.Random,
    log_lines: int,
) -> tuple:
    if state == "QUEUED":  # starts within half a minute
        queue, run_seconds = rng.uniform(8, 25), rng.uniform(90, 240)
        return (
            run_id,
            version_id,
            model,
            owner,
            now - 2,
            queue,
            run_seconds,
            "COMPLETED",
            log_lines,
            0,
        )
    if state == "RUNNING":  # long runs, a log line every couple of seconds
        run_seconds = rng.uniform(420, 900)
        elapsed = run_seconds * rng.uniform(0.15, 0.5)
        lines = int(run_seconds / 2)
        return (
            run_id,
            version_id,
            model,
            owner,
            now - 5 - elapsed,
            5.0,
            run_seconds,
            "COMPLETED",
            lines,
            0,
        )
    run_seconds = rng.uniform(45, 300)
    schedule = now - rng.uniform(3600, 5 * 86400)
    return (run_id, version_id, model, owner, schedule, 5.0, run_seconds, state, log_lines, 0)


def _seed_demo(store: Store, clock: Clock, config: SimConfig) -> None:
    owner, now = config.default_user, clock.time()
    rng = random.Random(f"{config.rng_seed}:seed:demo")
    task_id, version_id, run_id = store.max_ids()
    tasks, versions, runs = [], [], []
    for index, (slug, name, state, extra, public, datasets) in enumerate(_DEMO_TASKS):
        task_id += 1
        code = _CODE.format(name=name, function=_function(name))
        if state == "ERRORED":
            code = _BROKEN
        elif state == "VALIDATION_FAILED":
            code = _NO_TASK
        created = now - 86400 * (len(_DEMO_TASKS) - index) / 2
        for number in range(1, extra + 2):
            version_id += 1
            latest = number == extra + 1
            build, outcome, message = 12.0, "COMPLETED", None
            if latest and state == "QUEUED":
                created, build = now - 1, 120.0
            elif latest and state == "RUNNING":
                created, build = now - 100, 300.0  # RUNNING for 200 s more
            elif latest and state == "ERRORED":
                outcome, message = "ERRORED", _BROKEN_MESSAGE
            elif latest and state == "VALIDATION_FAILED":
                outcome = "VALIDATION_FAILED"
            versions.append(
                _version_row(
                    version_id,
                    task_id,
                    number,
                    code,
                    name,
                    created,
                    build,
                    outcome,
                    message,
                    datasets if latest else [],
                )
            )
            for model, run_state in _DEMO_RUNS.get(slug, []) if latest else []:
                run_id += 1
                runs.append(
                    _demo_run(
                        run_id, version_id, model, owner, run_state, now, rng, config.log_lines
                    )
                )
            created += 3600
        tasks.append((task_id, owner, slug, extra + 1, int(public), int(public)))
    store.bulk_load(tasks, versions, runs, score_seconds=config.score_seconds)
    bench_slug, bench_tasks = DEMO_BENCHMARK
    store.put_benchmark(owner, bench_slug, 1, [(owner, slug) for slug in bench_tasks])


def _seed_large(store: Store, clock: Clock, config: SimConfig) -> None:
    """1,000 tasks with 0-8 runs each, in one transaction (well under 2 s)."""
    owner, now = config.default_user, clock.time()
    rng = random.Random(f"{config.rng_seed}:seed:large")
    task_id, version_id, run_id = store.max_ids()
    text = make_notebook(_CODE.format(name="Scale task", function="scale_task"))
    found = analyse(text, "Scale task")
    slugs = [model.version_slug for model in MODELS]
    tasks, versions, runs = [], [], []
    for index in range(1, 1001):
        task_id += 1
        version_id += 1
        created = now - (1001 - index) * 600.0
        outcome, message, build = "COMPLETED", None, 12.0
        if index % 53 == 0:
            outcome, message = "ERRORED", _BROKEN_MESSAGE
        elif index == 1000:
            build = 600.0  # the newest task is still building
        tasks.append((task_id, owner, f"task-{index:04d}", 1, 0, 0))
        versions.append(
            (
                version_id,
                task_id,
                1,
                text,
                f"Task {index:04d}",
                found.definition,
                created,
                build,
                outcome,
                message,
                "[]",
            )
        )
        if outcome != "COMPLETED" or index == 1000:
            continue
        for model in rng.sample(slugs, rng.randint(0, 8)):
            run_id += 1
            state = rng.choice(("COMPLETED", "COMPLETED", "COMPLETED", "ERRORED", "RUNNING"))
            runs.append(
                _demo_run(run_id, version_id, model, owner, state, now, rng, config.log_lines)
            )
    store.bulk_load(tasks, versions, runs, score_seconds=config.score_seconds)
    store.put_benchmark(owner, "scale-suite", 1, [(owner, f"task-{i:04d}") for i in range(1, 21)])
