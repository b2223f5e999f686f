"""The small vocabulary of the apply engine: steps, their results, plans and failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from tma_agent.errors import ConfigError, TmaError

if TYPE_CHECKING:
    from tma_agent.apply.context import StepContext

__all__ = ["ApplyPlan", "PlaybookError", "StepFailed", "StepInfo", "StepResult"]


@dataclass
class StepResult:
    """What a step did. `register: name` stores `{"rc", "stdout", "stderr", "changed", **data}`."""

    changed: bool = True
    #: JSON-able facts for `register`, the output and the request's note (versions, diff stat...).
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepInfo:
    """A step type a playbook may name, registered through `tma_register_steps`."""

    #: What playbooks write: `shell`, `git.branch`, `drupal.updb`.
    name: str
    #: Does the work: `(ctx, args)` where `args` is an `args_model` instance with its templates
    #: rendered. Raise `StepFailed` for a failure the playbook's `on_failure` must undo.
    run: Callable[[StepContext, Any], StepResult | None]
    #: The step's arguments (best `extra="forbid"`); validated when the playbook is loaded
    #: (`file:line` errors) and again once rendered, before the step runs.
    args_model: type[BaseModel]
    description: str = ""
    #: Read-only checks run for every step before the first step runs (also in dry-run):
    #: raise `StepFailed` to refuse the whole playbook while nothing has changed yet.
    preflight: Callable[[StepContext, Any], None] | None = None
    #: When the playbook gives a list or a scalar instead of a mapping, it becomes this key
    #: (`shell: [composer, update]` is `shell: {argv: [composer, update]}`).
    shorthand: str | None = None


@dataclass(frozen=True)
class ApplyPlan:
    """A stack's answer to `tma_apply_plan`: which playbook applies the findings, and how."""

    playbook: str
    variables: dict[str, Any] = field(default_factory=dict)


class StepFailed(TmaError):
    """A step failed (a command, a check): the playbook's `on_failure` steps run (exit 4)."""

    exit_code = 4


class PlaybookError(ConfigError):
    """A playbook that cannot run (unknown step, missing variable, bad YAML): refused before
    anything runs, `file:line: message` (exit 2)."""
