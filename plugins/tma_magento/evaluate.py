"""Turn a Magento site's components into findings with the shared Composer evaluator
(`tma_agent.ecosystems.composer_findings`: releases from `sources.composer.repositories`, e.g.
a public mirror then repo.magento.com with Marketplace keys; advisories from Packagist).

The core follows Magento's release lines rather than composer.json's exact pin: its scope is
the installed patch line (2.4.7, 2.4.7-p1 ... 2.4.7-p8; `-pN` sorts after the release it
patches and before the next one), so `recommended` is the newest patch of that line
(2.4.7-p3 -> 2.4.7-p8, not 2.4.8) and the update is `bugfix`; when the line has nothing newer
and a newer line exists, `recommended` is `latest` and the update `feature`. Advisories on
either product name apply to the core: Packagist files Magento's under
`magento/product-community-edition` or `magento/magento2-base`, so both are always asked and
merged (with the installed product's own name). An affected core is `security` with the newest
fixed patch of its line when there is one (else the smallest fixed release of the major), or
`insecure`. Mage-OS numbers its releases 1.0.x, so its line is major.minor and Magento's
advisories (whose ranges speak of 2.4.x) do not apply to it.
"""

from __future__ import annotations

import functools

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_findings import PackageRules, evaluate_packages, line_scope
from tma_agent.models import Component, Finding

__all__ = ["MAGENTO_ADVISORY_NAMES", "core_rules", "evaluate"]

MAGENTO_ADVISORY_NAMES = ("magento/product-community-edition", "magento/magento2-base")


def core_rules(core: Component) -> PackageRules:
    if core.name.startswith("mage-os/"):
        return PackageRules(functools.partial(line_scope, depth=2), True, True)
    return PackageRules(functools.partial(line_scope, depth=3), True, True, MAGENTO_ADVISORY_NAMES)


def evaluate(site: SiteContext, components: list[Component]) -> list[Finding]:
    rules = {c.name: core_rules(c) for c in components if c.kind == "core"}
    return evaluate_packages(site, components, rules)
