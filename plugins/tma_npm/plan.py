"""`tma_apply_plan` for npm front ends: the `npm-update` playbook, `name@version` items.

Install scripts stay off (`--ignore-scripts`) unless the site sets `options.npm_scripts: true`;
`options.npm_dir` is where package.json lives. A name or version that is not npm's (a hostile
registry answer) is refused before anything runs.
"""

from __future__ import annotations

from tma_agent.apply import ApplyPlan
from tma_agent.config import Site
from tma_agent.ecosystems.apply_plans import actionable, nothing_to_apply, npm_name, npm_version
from tma_agent.models import Finding
from tma_agent.plugin_settings import typed_settings
from tma_npm.settings import NpmOptions

__all__ = ["PLAYBOOK", "npm_plan"]

PLAYBOOK = "npm-update"


def npm_plan(site: Site, findings: list[Finding]) -> ApplyPlan:
    options = typed_settings(NpmOptions, site.options, f"site {site.id}: options")
    packages = [
        f"{npm_name(site.id, f.name)}@{npm_version(site.id, f.recommended)}"
        for f in actionable(findings)
    ]
    if not packages:
        raise nothing_to_apply(site.id)
    return ApplyPlan(
        PLAYBOOK,
        {
            "packages": packages,
            "scripts": options.npm_scripts,
            "npm_dir": options.npm_dir or ".",
        },
    )
