"""Turn a Magento site's components into findings with the shared Composer evaluator
(`tma_agent.ecosystems.composer_findings`: releases from `sources.composer.repositories`, e.g.
a public mirror then repo.magento.com with Marketplace keys; advisories from Packagist).

The core follows Magento's release lines rather than composer.json's exact pin: its scope is
the installed patch line (2.4.7, 2.4.7-p1 ... 2.4.7-p8; `-pN` sorts after the release it
patches and before the next one), so `recommended` is the newest patch of that line
(2.4.7-p3 -> 2.4.7-p8, not 2.4.8) and the update is `bugfix`; when the line has nothing newer
and a newer line exists, `recommended` is `latest` and the update `feature`. Advisories on
any name a real advisory uses apply to the core, all asked in the site's one advisories request
and merged (with the installed product's own name). The GitHub advisory database, which
Packagist's API serves, files Magento's advisories (CosmicSting, CVE-2024-34102, among them)
under `magento/community-edition` and `magento/project-community-edition`, the names of the
magento/magento2 repository and of the project template, not under the product meta-package;
FriendsOfPHP's database and older records use `magento/product-community-edition` and
`magento/magento2-base`. Adobe Commerce is Magento Open Source plus closed modules, released
with the same version numbers, so its core takes all of those plus its own names
(`magento/product-enterprise-edition`, `magento/project-enterprise-edition`,
`magento/magento2-ee-base`). An affected core is `security` with the newest fixed patch of its
line when there is one (else the smallest fixed release of the major), or `insecure`. Mage-OS
numbers its releases 1.0.x, so its line is major.minor and Magento's advisories (whose ranges
speak of 2.4.x) do not apply to it: it is asked under its own names (`mage-os/...`).
"""

from __future__ import annotations

import functools

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_findings import PackageRules, evaluate_packages, line_scope
from tma_agent.models import Component, Finding

__all__ = [
    "ADOBE_COMMERCE_ADVISORY_NAMES",
    "MAGENTO_ADVISORY_NAMES",
    "MAGE_OS_ADVISORY_NAMES",
    "core_rules",
    "evaluate",
]

#: Every package name real advisories on Magento Open Source are filed under.
MAGENTO_ADVISORY_NAMES = (
    "magento/community-edition",
    "magento/project-community-edition",
    "magento/product-community-edition",
    "magento/magento2-base",
)
#: Adobe Commerce: Open Source's advisories apply (same versions), and its own names.
ADOBE_COMMERCE_ADVISORY_NAMES = (
    *MAGENTO_ADVISORY_NAMES,
    "magento/product-enterprise-edition",
    "magento/project-enterprise-edition",
    "magento/magento2-ee-base",
)
MAGE_OS_ADVISORY_NAMES = (
    "mage-os/product-community-edition",
    "mage-os/project-community-edition",
    "mage-os/magento2-base",
)


def core_rules(core: Component) -> PackageRules:
    names: tuple[str, ...]
    if core.name.startswith("mage-os/"):
        depth, names = 2, MAGE_OS_ADVISORY_NAMES
    elif "enterprise" in core.name:
        depth, names = 3, ADOBE_COMMERCE_ADVISORY_NAMES
    else:
        depth, names = 3, MAGENTO_ADVISORY_NAMES
    return PackageRules(functools.partial(line_scope, depth=depth), True, True, names)


def evaluate(site: SiteContext, components: list[Component]) -> list[Finding]:
    rules = {c.name: core_rules(c) for c in components if c.kind == "core"}
    return evaluate_packages(site, components, rules)
