"""SQLite persistence for the simulator (stdlib `sqlite3`).

What is stored is only what cannot be derived: who pushed what and when, which runs were
scheduled and their predetermined outcome. States (QUEUED/RUNNING/...) are *derived* from
the clock on every read (see `engine.py`), so nothing needs a background ticker and a
`--db FILE` restored after a restart continues exactly where it was. Times are clock
times in epoch seconds.

Threading: the server handles requests on its own event-loop thread while tests call
engine hooks from theirs, so one connection is shared (`check_same_thread=False`) and
every access holds `lock` (re-entrant, so the engine can hold it across several calls to
make check-then-insert sequences atomic).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    slug TEXT NOT NULL,
    latest INTEGER NOT NULL,
    is_public INTEGER NOT NULL DEFAULT 0,
    notebook_published INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner, slug)
);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    task_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    create_time REAL NOT NULL,
    build_seconds REAL NOT NULL,
    outcome TEXT NOT NULL,
    error_message TEXT,
    datasets TEXT NOT NULL DEFAULT '[]',
    UNIQUE (task_id, number)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES versions (id),
    model TEXT NOT NULL,
    owner TEXT NOT NULL,
    schedule_time REAL NOT NULL,
    queue_seconds REAL NOT NULL,
    run_seconds REAL NOT NULL,
    outcome TEXT NOT NULL,
    log_lines INTEGER NOT NULL,
    output_padding INTEGER NOT NULL DEFAULT 0,
    score_seconds REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_version ON runs (version_id, id);
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, schedule_time);
CREATE TABLE IF NOT EXISTS benchmarks (
    owner TEXT NOT NULL,
    slug TEXT NOT NULL,
    version INTEGER NOT NULL,
    tasks TEXT NOT NULL,
    PRIMARY KEY (owner, slug)
);
"""

# Backing-notebook ids are derived from version ids so they stay stable across restarts.
KERNEL_ID_BASE = 51_230_000

_VERSION_COLUMNS = (
    "v.id, v.task_id, t.owner, t.slug, v.number, t.latest, v.text, v.task_name, v.definition,"
    " v.create_time, v.build_seconds, v.outcome, v.error_message, v.datasets,"
    " t.is_public, t.notebook_published"
)
_RUN_COLUMNS = (
    "r.id, r.version_id, r.model, r.owner, r.schedule_time, r.queue_seconds, r.run_seconds,"
    " r.outcome, r.log_lines, r.output_padding, r.score_seconds, t.owner, t.slug, v.number,"
    " v.task_name, v.definition, t.is_public"
)
_RUN_JOIN = "FROM runs r JOIN versions v ON v.id = r.version_id JOIN tasks t ON t.id = v.task_id"
_VERSION_JOIN = "FROM versions v JOIN tasks t ON t.id = v.task_id"


@dataclass(frozen=True)
class VersionRow:
    """One task version with its task's flags."""

    id: int
    task_id: int
    owner: str
    slug: str
    number: int
    latest: int
    text: str
    task_name: str
    definition: str
    create_time: float
    build_seconds: float
    outcome: str
    error_message: str | None
    datasets: list[str]
    is_public: bool
    notebook_published: bool

    @property
    def source_kernel_id(self) -> int:
        return KERNEL_ID_BASE + self.id

    @classmethod
    def from_row(cls, row: Sequence) -> VersionRow:
        values = list(row)
        values[13] = json.loads(values[13])
        values[14] = bool(values[14])
        values[15] = bool(values[15])
        return cls(*values)


@dataclass(frozen=True)
class RunRow:
    """One scheduled run with the task version it belongs to."""

    id: int
    version_id: int
    model: str
    owner: str
    schedule_time: float
    queue_seconds: float
    run_seconds: float
    outcome: str
    log_lines: int
    output_padding: int
    score_seconds: float  # spent in SCORE_PENDING after `end_time` when it will complete
    task_owner: str
    task_slug: str
    version_number: int
    task_name: str
    definition: str
    task_public: bool

    @property
    def start_time(self) -> float:
        return self.schedule_time + self.queue_seconds

    @property
    def end_time(self) -> float:
        return self.start_time + self.run_seconds


class Store:
    """The simulator's tables behind one lock."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        with self.lock:
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            if "score_seconds" not in columns:  # a --db FILE written by an earlier version
                self._db.execute(
                    "ALTER TABLE runs ADD COLUMN score_seconds REAL NOT NULL DEFAULT 0"
                )
            self._db.commit()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # -- meta -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            self._db.commit()

    # -- tasks and versions ---------------------------------------------------------------

    def get_version(self, owner: str, slug: str, number: int | None = None) -> VersionRow | None:
        """A task's version `number`, or its latest version when `number` is None."""
        condition = "v.number = ?" if number is not None else "v.number = t.latest"
        params: tuple = (owner, slug, number) if number is not None else (owner, slug)
        with self.lock:
            row = self._db.execute(
                f"SELECT {_VERSION_COLUMNS} {_VERSION_JOIN}"
                f" WHERE t.owner = ? AND t.slug = ? AND {condition}",
                params,
            ).fetchone()
        return VersionRow.from_row(row) if row else None

    def latest_versions(self, owner: str) -> list[VersionRow]:
        """The latest version of each of `owner`'s tasks, newest first."""
        with self.lock:
            rows = self._db.execute(
                f"SELECT {_VERSION_COLUMNS} {_VERSION_JOIN}"
                " WHERE t.owner = ? AND v.number = t.latest"
                " ORDER BY v.create_time DESC, v.id DESC",
                (owner,),
            ).fetchall()
        return [VersionRow.from_row(row) for row in rows]

    def add_version(
        self,
        owner: str,
        slug: str,
        *,
        text: str,
        task_name: str,
        definition: str,
        create_time: float,
        build_seconds: float,
        outcome: str,
        error_message: str | None,
        datasets: list[str],
    ) -> VersionRow:
        """Create the task if new, then its next version; returns the new version."""
        with self.lock:
            row = self._db.execute(
                "SELECT id, latest FROM tasks WHERE owner = ? AND slug = ?", (owner, slug)
            ).fetchone()
            if row is None:
                task_id = self._db.execute(
                    "INSERT INTO tasks (owner, slug, latest) VALUES (?, ?, 1)", (owner, slug)
                ).lastrowid
                number = 1
            else:
                task_id, number = row[0], row[1] + 1
                self._db.execute("UPDATE tasks SET latest = ? WHERE id = ?", (number, task_id))
            self._db.execute(
                "INSERT INTO versions (task_id, number, text, task_name, definition, create_time,"
                " build_seconds, outcome, error_message, datasets)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task_id,
                    number,
                    text,
                    task_name,
                    definition,
                    create_time,
                    build_seconds,
                    outcome,
                    error_message,
                    json.dumps(datasets),
                ),
            )
            self._db.commit()
            version = self.get_version(owner, slug, number)
        assert version is not None
        return version

    def set_published(self, task_id: int, *, notebook: bool) -> None:
        """Make a task public, and its backing notebook too when `notebook`."""
        with self.lock:
            self._db.execute(
                "UPDATE tasks SET is_public = 1,"
                " notebook_published = MAX(notebook_published, ?) WHERE id = ?",
                (int(notebook), task_id),
            )
            self._db.commit()

    # -- runs -----------------------------------------------------------------------------

    def add_run(
        self,
        version_id: int,
        model: str,
        owner: str,
        *,
        schedule_time: float,
        queue_seconds: float,
        run_seconds: float,
        log_lines: int,
        output_padding: int = 0,
        score_seconds: float = 0.0,
    ) -> int:
        """Insert a run whose outcome is decided later (`set_run_outcome`); returns its id."""
        with self.lock:
            run_id = self._db.execute(
                "INSERT INTO runs (version_id, model, owner, schedule_time, queue_seconds,"
                " run_seconds, outcome, log_lines, output_padding, score_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?)",
                (
                    version_id,
                    model,
                    owner,
                    schedule_time,
                    queue_seconds,
                    run_seconds,
                    log_lines,
                    output_padding,
                    score_seconds,
                ),
            ).lastrowid
            self._db.commit()
        assert run_id is not None
        return run_id

    def set_run_outcome(self, run_id: int, outcome: str) -> None:
        with self.lock:
            self._db.execute("UPDATE runs SET outcome = ? WHERE id = ?", (outcome, run_id))
            self._db.commit()

    def set_run_output_padding(self, run_id: int, size: int) -> None:
        with self.lock:
            self._db.execute("UPDATE runs SET output_padding = ? WHERE id = ?", (size, run_id))
            self._db.commit()

    def get_run(self, run_id: int) -> RunRow | None:
        with self.lock:
            row = self._db.execute(f"SELECT {_RUN_COLUMNS} {_RUN_JOIN} WHERE r.id = ?", (run_id,))
            found = row.fetchone()
        return RunRow(*found) if found else None

    def runs_of_version(self, version_id: int) -> list[RunRow]:
        """A version's runs in scheduling order (stable)."""
        with self.lock:
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} {_RUN_JOIN} WHERE r.version_id = ? ORDER BY r.id",
                (version_id,),
            ).fetchall()
        return [RunRow(*row) for row in rows]

    def runs_of_task(self, owner: str, slug: str) -> list[RunRow]:
        """Every run of every version of a task, oldest first."""
        with self.lock:
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} {_RUN_JOIN} WHERE t.owner = ? AND t.slug = ? ORDER BY r.id",
                (owner, slug),
            ).fetchall()
        return [RunRow(*row) for row in rows]

    def count_runs_since(self, owner: str, since: float) -> int:
        with self.lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM runs WHERE owner = ? AND schedule_time >= ?", (owner, since)
            ).fetchone()
        return int(row[0])

    # -- benchmarks -----------------------------------------------------------------------

    def put_benchmark(
        self, owner: str, slug: str, version: int, tasks: list[tuple[str, str]]
    ) -> None:
        """Define (or redefine) a benchmark as a list of (owner, task slug)."""
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO benchmarks VALUES (?, ?, ?, ?)",
                (owner, slug, version, json.dumps(tasks)),
            )
            self._db.commit()

    def get_benchmark(self, owner: str, slug: str) -> tuple[int, list[tuple[str, str]]] | None:
        with self.lock:
            row = self._db.execute(
                "SELECT version, tasks FROM benchmarks WHERE owner = ? AND slug = ?", (owner, slug)
            ).fetchone()
        if row is None:
            return None
        return int(row[0]), [(owner_, slug_) for owner_, slug_ in json.loads(row[1])]

    # -- bulk loading (seeds) -------------------------------------------------------------

    def bulk_load(
        self,
        tasks: Iterable[tuple],
        versions: Iterable[tuple],
        runs: Iterable[tuple],
        *,
        score_seconds: float = 0.0,
    ) -> None:
        """Insert pre-built rows with explicit ids in one transaction (fast seeding).

        tasks: (id, owner, slug, latest, is_public, notebook_published)
        versions: (id, task_id, number, text, task_name, definition, create_time,
                   build_seconds, outcome, error_message, datasets_json)
        runs: (id, version_id, model, owner, schedule_time, queue_seconds, run_seconds,
               outcome, log_lines, output_padding); each run scores in `score_seconds`
        """
        with self.lock:
            self._db.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?)", tasks)
            self._db.executemany(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", versions
            )
            self._db.executemany(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((*run, score_seconds) for run in runs),
            )
            self._db.commit()

    def max_ids(self) -> tuple[int, int, int]:
        """The largest task, version and run ids so far (0 when empty)."""
        with self.lock:
            return tuple(  # type: ignore[return-value]
                self._db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
                for table in ("tasks", "versions", "runs")
            )
