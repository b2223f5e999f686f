"""The Drupal 7 branch of `tma_apply_plan`: core updates from the release archive.

`drupal7_apply_plan` answers for Drupal 7 sites only (a core finding installed at `7.x`):
`drupal7-core` with `version`, checked as a Drupal 7 version (a value that is not one refuses
the plan with one line). Drupal 7 contrib modules are not planned here; for any other site it
returns None and the Drupal 8+ branch of the hook answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from tma_agent.apply import ApplyPlan
from tma_agent.errors import TmaError
from tma_agent.models import Finding
from tma_drupal.steps7 import check_drupal7_version

__all__ = ["DRUPAL7_PLAYBOOK", "drupal7_apply_plan"]

DRUPAL7_PLAYBOOK = "drupal7-core"


def drupal7_apply_plan(stack: str, findings: Sequence[Finding]) -> ApplyPlan | None:
    if stack != "drupal":
        return None
    core = next((f for f in findings if f.kind == "core" and f.name == "drupal"), None)
    if core is None or not (core.installed or "").startswith("7."):
        return None
    if core.update in ("none", "unknown") or core.policy is not None or not core.recommended:
        return None
    if core.recommended == core.installed:
        return None
    try:
        version = check_drupal7_version(core.recommended)
    except ValueError as exc:
        raise TmaError(f"Drupal core: {exc}") from None
    return ApplyPlan(DRUPAL7_PLAYBOOK, {"version": version})
