"""`tma_apply_plan` for PrestaShop: the `prestashop-module` playbook for outdated modules.

Each module finding becomes `{name, version}` (the modules index's release, whose `url` the
`prestashop.module_zip` step downloads). The core is not upgraded by a playbook (PrestaShop's
own 1-click upgrade module does it, with its own backup): a plan with only the core is refused.
"""

from __future__ import annotations

from tma_agent.apply import ApplyPlan
from tma_agent.config import Site
from tma_agent.ecosystems.apply_plans import (
    PlanError,
    actionable,
    nothing_to_apply,
    prestashop_module_name,
    prestashop_version,
)
from tma_agent.models import Finding

__all__ = ["PLAYBOOK", "prestashop_plan"]

PLAYBOOK = "prestashop-module"


def prestashop_plan(site: Site, findings: list[Finding]) -> ApplyPlan:
    wanted = actionable(findings)
    modules = [
        {
            "name": prestashop_module_name(site.id, f.name),
            "version": prestashop_version(site.id, f.recommended),
        }
        for f in wanted
        if f.kind == "module"
    ]
    if not modules:
        if any(f.kind == "core" for f in wanted):
            raise PlanError(
                f"site {site.id}: the PrestaShop core is upgraded with PrestaShop's 1-click "
                "upgrade module, not by tma-agent; no module to upgrade"
            )
        raise nothing_to_apply(site.id)
    return ApplyPlan(PLAYBOOK, {"modules": modules})
