"""Apply updates: playbooks of steps run on a site's environment, with rollback.

`playbook` loads and checks playbooks, `engine` runs them, `context` is what a step gets,
`registry` finds steps and playbooks; the steps themselves are plugins (`tma_agent.apply.steps`
and the stacks' own) registered through `tma_register_steps`.
"""

from __future__ import annotations

from tma_agent.apply._types import ApplyPlan, PlaybookError, StepFailed, StepInfo, StepResult
from tma_agent.apply.context import StepContext
from tma_agent.apply.settings import ApplySettings

__all__ = [
    "ApplyPlan",
    "ApplySettings",
    "PlaybookError",
    "StepContext",
    "StepFailed",
    "StepInfo",
    "StepResult",
]
