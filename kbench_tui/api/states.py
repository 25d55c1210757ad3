"""States of task versions and runs (§4), as `WireEnum`s, with the CLI's helpers.

Kept free of pydantic (unlike `models.py`, which re-exports them and uses them as field
types) so that the headless export can decode tasks and runs without importing it.
"""

from __future__ import annotations

from kbench_tui.api.codec import WireEnum

# --- enums (§4); declared in proto-number order -------------------------------------------


class BenchmarkTaskVersionCreationState(WireEnum):
    """State of a task version's build (its first kernel session)."""

    UNSPECIFIED = "BENCHMARK_TASK_VERSION_CREATION_STATE_UNSPECIFIED"
    QUEUED = "BENCHMARK_TASK_VERSION_CREATION_STATE_QUEUED"
    RUNNING = "BENCHMARK_TASK_VERSION_CREATION_STATE_RUNNING"
    COMPLETED = "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED"
    ERRORED = "BENCHMARK_TASK_VERSION_CREATION_STATE_ERRORED"
    KERNEL_WITHOUT_RUN = "BENCHMARK_TASK_VERSION_CREATION_STATE_KERNEL_WITHOUT_RUN"
    VALIDATION_FAILED = "BENCHMARK_TASK_VERSION_CREATION_STATE_VALIDATION_FAILED"
    NO_MODEL_SPECIFIED = "BENCHMARK_TASK_VERSION_CREATION_STATE_NO_MODEL_SPECIFIED"

    @property
    def is_pending(self) -> bool:
        """Still being built (QUEUED or RUNNING): poll again."""
        return self in (type(self).QUEUED, type(self).RUNNING)

    @property
    def is_ready(self) -> bool:
        """Only a COMPLETED version can be run (the CLI refuses every other state)."""
        return self is type(self).COMPLETED

    @property
    def is_failed(self) -> bool:
        """Every known state that is neither pending nor COMPLETED ends a wait as a failure."""
        return self.known and not self.is_pending and not self.is_ready


class BenchmarkTaskRunState(WireEnum):
    """State of one model's run of a task version."""

    UNSPECIFIED = "BENCHMARK_TASK_RUN_STATE_UNSPECIFIED"
    QUEUED = "BENCHMARK_TASK_RUN_STATE_QUEUED"
    RUNNING = "BENCHMARK_TASK_RUN_STATE_RUNNING"
    COMPLETED = "BENCHMARK_TASK_RUN_STATE_COMPLETED"
    ERRORED = "BENCHMARK_TASK_RUN_STATE_ERRORED"
    SCORE_PENDING = "BENCHMARK_TASK_RUN_STATE_SCORE_PENDING"

    @property
    def is_terminal(self) -> bool:
        """COMPLETED or ERRORED (SCORE_PENDING is not terminal, as in the CLI)."""
        return self in (type(self).COMPLETED, type(self).ERRORED)


class BenchmarkTaskVersionSource(WireEnum):
    """How a task version was made (`CLI` for pushes)."""

    UNSPECIFIED = "BENCHMARK_TASK_VERSION_SOURCE_UNSPECIFIED"
    EVAL_SANDBOX = "EVAL_SANDBOX"
    WEB = "WEB"
    CLI = "CLI"


RunState = BenchmarkTaskRunState
CreationState = BenchmarkTaskVersionCreationState
