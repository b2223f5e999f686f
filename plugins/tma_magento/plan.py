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
    actionable,
    composer_name,
    composer_version,
    new_major,
    nothing_to_apply,
)
from tma_agent.models import Finding

__all__ = ["PLAYBOOK", "magento_plan"]

PLAYBOOK = "magento"


def magento_plan(site: Site, findings: list[Finding]) -> ApplyPlan:
    packages: list[str] = []
    require: list[str] = []
    expect: dict[str, str] = {}
    for finding in actionable(findings):
        name = composer_name(site.id, finding.name)
        target = composer_version(site.id, finding.recommended)
        if finding.kind == "core":
            require.append(f"{name}:{target}")
            packages.insert(0, name)
        else:
            if new_major(finding.installed, target):
                require.append(f"{name}:^{target.removeprefix('v')}")
            packages.append(name)
        expect[name] = target
    if not packages:
        raise nothing_to_apply(site.id)
    return ApplyPlan(
        PLAYBOOK,
        {"packages": packages, "require": require, "expect": expect},
    )
