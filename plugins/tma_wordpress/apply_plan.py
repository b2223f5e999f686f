"""How WordPress findings are applied (`tma_apply_plan`): core first, then plugins and themes.

- a core finding with a newer recommended version -> `wordpress-core` with `version`, `locale`
  and `package` (empty: the step takes the version-check offer's package);
- otherwise plugin and theme findings -> `wordpress-extensions` with `packages`, a list of
  `{kind, slug, version, package}` (empty `package`: the info API's `download_link`).

Core and extensions are never mixed in one apply: a core update changes what plugins may
require, so the extensions come with the next apply. Names and versions are data from
upstream: each is checked (`packages.check_*`); one that does not look like a slug or a
version refuses the plan (`UnsafeValue`, one line) instead of reaching a playbook.
Must-use plugins and components whose update is unknown are never planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tma_agent.apply import ApplyPlan
from tma_agent.models import Finding
from tma_wordpress import packages
from tma_wordpress.api import DEFAULT_LOCALE

__all__ = ["CORE_PLAYBOOK", "EXTENSIONS_PLAYBOOK", "wordpress_apply_plan"]

CORE_PLAYBOOK = "wordpress-core"
EXTENSIONS_PLAYBOOK = "wordpress-extensions"


def _applicable(finding: Finding) -> bool:
    return (
        finding.update not in ("none", "unknown")
        and finding.policy is None
        and finding.source != "mu-plugin"
        and finding.recommended is not None
        and finding.recommended != finding.installed
    )


def wordpress_apply_plan(
    stack: str, findings: Sequence[Finding], locale: str = DEFAULT_LOCALE
) -> ApplyPlan | None:
    if stack != "wordpress":
        return None
    wanted = [f for f in findings if _applicable(f)]
    core = next((f for f in wanted if f.kind == "core"), None)
    if core is not None:
        variables: dict[str, Any] = {
            "version": packages.check_version(core.recommended),
            "locale": packages.check_locale(locale),
            "package": "",
        }
        return ApplyPlan(CORE_PLAYBOOK, variables)
    extensions = [
        {
            "kind": f.kind,
            "slug": packages.check_slug(f.name),
            "version": packages.check_version(f.recommended),
            "package": "",
        }
        for f in wanted
        if f.kind in ("plugin", "theme")
    ]
    if not extensions:
        return None
    return ApplyPlan(EXTENSIONS_PLAYBOOK, {"packages": extensions})
