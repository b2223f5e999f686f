"""`tma_apply_plan` for Magento / Adobe Commerce: the `magento` playbook.

The core finding is the product meta-package (`magento/product-community-edition`...): its
target is set exactly in composer.json (`composer require <meta>:<version> --no-update`, as
Adobe's upgrade guide does), then updated with its dependencies together with the other
packages found outdated; a package's new major is required at `^target` likewise.
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

__all__ = ["PLAYBOOK", "magento_plan"]

PLAYBOOK = "magento"


def magento_plan(site: Site, findings: list[Finding]) -> ApplyPlan:
    targets = ComposerTargets(site.id)
    for finding in actionable(findings):
        name = composer_name(site.id, finding.name)
        target = composer_version(site.id, finding.recommended)
        # The platform's metapackage moves to exactly the target, first.
        targets.add(name, finding.installed, target, pin=finding.kind == "core")
    return targets.plan(PLAYBOOK)
