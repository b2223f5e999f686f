"""`tma_apply_plan` for Drupal 8+: the `drupal-composer` playbook and its variables.

Core is `drupal/core` plus `drupal/core-*` (core-recommended, the scaffold...: Composer skips a
pattern that matches nothing); a contributed project is `drupal/<project>` at the Composer form
of its drupal.org version (`8.x-1.13` is 1.13.0). A target outside the caret constraint of the
installed version (a new major) is also `composer require`d. Drupal 7 is not Composer-managed:
another playbook answers for it (None here).
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
from tma_agent.versions import drupal_to_composer

__all__ = ["PLAYBOOK", "drupal_plan"]

PLAYBOOK = "drupal-composer"


def _drupal7(findings: list[Finding]) -> bool:
    core = next((f for f in findings if f.kind == "core"), None)
    return core is not None and (core.installed or "").startswith("7.")


def _composer_form(site: str, version: str | None) -> str:
    try:
        converted = drupal_to_composer(version or "")
    except ValueError:
        converted = version or ""
    return composer_version(site, converted)


def drupal_plan(site: Site, findings: list[Finding]) -> ApplyPlan | None:
    if _drupal7(findings):
        return None
    targets = ComposerTargets(site.id)
    for finding in actionable(findings):
        target = _composer_form(site.id, finding.recommended)
        if finding.kind == "core":
            targets.packages += ["drupal/core", "drupal/core-*"]
            targets.expect["drupal/core"] = target
            continue
        name = composer_name(site.id, f"drupal/{finding.name}")
        installed = _composer_form(site.id, finding.installed) if finding.installed else None
        targets.add(name, installed, target)
    return targets.plan(PLAYBOOK)
