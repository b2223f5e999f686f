"""`tma_apply_plan` for Composer projects (Symfony, Laravel...): the `composer-update` playbook.

Each finding is a locked package named by its Composer name; the target is its `recommended`
version. A target outside the caret constraint of the installed version (a new major) is also
`composer require`d at `^target`, since `composer update` alone stays inside composer.json.
"""

from __future__ import annotations

from tma_agent.apply import ApplyPlan
from tma_agent.config import Site
from tma_agent.ecosystems.apply_plans import (
    ComposerTargets,
    actionable,
    composer_name,
    composer_version,
)
from tma_agent.models import Finding

__all__ = ["PLAYBOOK", "composer_plan"]

PLAYBOOK = "composer-update"


def composer_plan(site: Site, findings: list[Finding]) -> ApplyPlan:
    targets = ComposerTargets(site.id)
    for finding in actionable(findings):
        name = composer_name(site.id, finding.name)
        targets.add(name, finding.installed, composer_version(site.id, finding.recommended))
    return targets.plan(PLAYBOOK)
