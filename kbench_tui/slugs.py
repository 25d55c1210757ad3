"""Slug rules shared by every mode, identical to the kaggle CLI 2.2.4.

- `slugify` is python-slugify's default pipeline, as the CLI calls it.
- Task arguments (`task` or `owner/task`) are split once at the first `/`, each part
  slugified (API reference §9.2).
- Model slugs keep the part after the last `/` with every `@` replaced by `-` (§9.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A string python-slugify leaves unchanged: lower-case ASCII letters and digits in runs
# joined by single hyphens. Checking for it first spares importing python-slugify (and its
# transliteration tables) on the headless start-up path, where arguments are slugs already.
_ALREADY_A_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slugify(name: str) -> str:
    """The slug the kaggle CLI derives from a task name (`My Task` -> `my-task`)."""
    if _ALREADY_A_SLUG.fullmatch(name):
        return name
    from slugify import slugify as python_slugify

    return python_slugify(name)


class InvalidTaskArgument(ValueError):
    """A task argument like `/task` or `owner/` that names no task."""


@dataclass(frozen=True)
class TaskRef:
    """A task as the user named it, normalised: `owner` is None for the caller's own task."""

    task: str
    owner: str | None = None

    def __str__(self) -> str:
        return f"{self.owner}/{self.task}" if self.owner else self.task

    def to_wire(self, version: int | None = None) -> dict:
        """The ApiBenchmarkTaskSlug JSON object (empty fields omitted, as the CLI sends it)."""
        body: dict = {}
        if self.owner:
            body["ownerSlug"] = self.owner
        if self.task:
            body["taskSlug"] = self.task
        if version is not None:
            body["versionNumber"] = version
        return body


def parse_task_argument(argument: str) -> TaskRef:
    """Normalise a task argument the way `kaggle b t status/run/log/...` does.

    `Owner/My_Task` -> TaskRef("my-task", "owner"); `a/b/c` -> TaskRef("b-c", "a").
    Raises InvalidTaskArgument for `/task`, `owner/` and `/`.
    """
    if "/" in argument:
        owner_part, task_part = argument.split("/", 1)
        owner, task = slugify(owner_part), slugify(task_part)
        if not owner or not task:
            raise InvalidTaskArgument(
                f"Invalid task format '{argument}'. Use 'task-name' or 'owner/task-name'."
            )
        return TaskRef(task=task, owner=owner)
    return TaskRef(task=slugify(argument))


def normalize_model_slug(model: str) -> str:
    """The canonical model-version slug the CLI sends for any slug form.

    `anthropic/claude-sonnet-4-6@default` -> `claude-sonnet-4-6-default`;
    `xai/grok-4.3` -> `grok-4.3`. No lower-casing, no slugify.
    """
    return model.rsplit("/", 1)[-1].replace("@", "-")
