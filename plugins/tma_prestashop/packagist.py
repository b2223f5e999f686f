"""PrestaShop core advisories from Packagist's security-advisories API.

PrestaShop publishes its core security advisories on GitHub, and Packagist serves them for the
Composer package `prestashop/prestashop` with Composer ranges over the real version numbers
(`>=1.7.0.0,<1.7.8.9|>=8.0.0,<8.0.4`). One POST per run asks for that one package, shared by
every PrestaShop site. Module names are never sent: an agency's custom module names are its
clients' business. A failing API is recorded as a failure of source `packagist`
(`site.source_failed`): None, and the core finding gets `advisories_unavailable`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tma_agent.context import SiteContext
from tma_agent.ecosystems import PackageAdvisory, affecting
from tma_agent.ecosystems.packagist_advisories import PACKAGIST, site_advisories
from tma_agent.models import Advisory

__all__ = ["CORE_PACKAGE", "combine", "core_package_advisories"]

CORE_PACKAGE = "prestashop/prestashop"


def core_package_advisories(site: SiteContext) -> list[PackageAdvisory] | None:
    """The core's Packagist advisories; None when the API failed (recorded on the site)."""
    client = site_advisories(site)
    if client is None:
        return []
    answer = site.attempt(PACKAGIST, lambda: client.for_packages([CORE_PACKAGE]))
    return None if answer is None else answer.get(CORE_PACKAGE, [])


def combine(
    first: Callable[[str], list[Advisory]], packagist: Sequence[PackageAdvisory]
) -> Callable[[str], list[Advisory]]:
    """A matcher giving `first`'s advisories, then Packagist's not already there (same id or
    same CVE: Friends of Presta and Packagist often describe one flaw)."""

    def affected(version: str) -> list[Advisory]:
        found = first(version)
        seen = {a.id for a in found} | {a.cve for a in found if a.cve}
        extra = [a for a in affecting(packagist, version) if a.id not in seen]
        return found + [a for a in extra if not (a.cve and a.cve in seen)]

    return affected
