"""`SimConfig`: the simulator's settings, mirroring the options of `kbench-tui sim`."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

DEFAULT_USERS = {"demo": "demo-token"}


class SimConfigError(ValueError):
    """A setting that cannot be used (bad `--user`, bad `--fault`, ...); one clear line."""


@dataclass
class SimConfig:
    """Everything that shapes a simulator instance.

    `users` maps user name -> access token. Given `--user` values replace the default
    `demo:demo-token` (so an operator who configures users gets no well-known token).
    Seeded data belongs to the first user. `log_lines` is the number of log lines a run
    scheduled through the API produces; tests and benchmarks can ask for more per run
    through `Engine.add_run(..., log_lines=N)`.
    """

    host: str = "127.0.0.1"
    port: int = 0
    db: str = ":memory:"
    seed: str = "empty"
    speed: float = 1.0
    rng_seed: int = 0
    build_seconds: float = 10.0
    queue_seconds: float = 5.0
    run_seconds: float = 60.0
    score_seconds: float = 0.0
    run_error_rate: float = 0.1
    users: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_USERS))
    faults: list[str] = field(default_factory=list)
    log_lines: int = 60

    def __post_init__(self) -> None:
        if self.seed not in ("demo", "empty", "large"):
            raise SimConfigError(f"unknown seed {self.seed!r}: use demo, empty or large")
        if not self.users:
            raise SimConfigError("at least one user is required")
        for name, value in (
            ("--speed", self.speed),
            ("--build-seconds", self.build_seconds),
            ("--queue-seconds", self.queue_seconds),
            ("--run-seconds", self.run_seconds),
            ("--score-seconds", self.score_seconds),
        ):
            # NaN fails every comparison, so it is refused too; infinity would freeze states.
            if not 0 <= value < math.inf:
                raise SimConfigError(f"{name} must be a finite number >= 0, got {value}")
        if not 0 <= self.port <= 65535:
            raise SimConfigError(f"--port must be 0..65535 (0 picks a free port), got {self.port}")
        if not 0.0 <= self.run_error_rate <= 1.0:
            raise SimConfigError(
                f"--run-error-rate must be between 0 and 1, got {self.run_error_rate}"
            )
        if self.log_lines < 0:
            raise SimConfigError(f"log_lines must be >= 0, got {self.log_lines}")

    @property
    def default_user(self) -> str:
        """The owner of seeded data: the first configured user."""
        return next(iter(self.users))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SimConfig:
        """Build from parsed `kbench-tui sim` options; raises SimConfigError on bad values."""
        from kbench_tui.sim.faults import FaultSpecError, parse_faults

        users = parse_users(args.user) if args.user else dict(DEFAULT_USERS)
        faults = list(args.fault)
        try:
            parse_faults(faults)
        except FaultSpecError as error:
            raise SimConfigError(str(error)) from error
        return cls(
            host=args.host,
            port=args.port,
            db=args.db,
            seed=args.seed,
            speed=args.speed,
            rng_seed=args.rng_seed,
            build_seconds=args.build_seconds,
            queue_seconds=args.queue_seconds,
            run_seconds=args.run_seconds,
            score_seconds=args.score_seconds,
            run_error_rate=args.run_error_rate,
            users=users,
            faults=faults,
        )


def parse_users(values: list[str]) -> dict[str, str]:
    """`["alice:tok1", "bob:tok2"]` -> {"alice": "tok1", "bob": "tok2"}."""
    users: dict[str, str] = {}
    for value in values:
        name, sep, token = value.partition(":")
        if not sep or not name.strip() or not token.strip():
            raise SimConfigError(f"bad --user {value!r}: expected NAME:TOKEN, e.g. alice:secret")
        if name in users:
            raise SimConfigError(f"bad --user {value!r}: user {name!r} given twice")
        users[name.strip()] = token.strip()
    tokens = list(users.values())
    if len(set(tokens)) != len(tokens):
        raise SimConfigError("bad --user: two users share a token; tokens must be unique")
    return users
