"""Security advisories for Drupal 8+ sites from Packagist's advisories API.

drupal.org's release history only says "a newer release is a security update"; Packagist's
API (which carries the Drupal Security Team's advisories for `drupal/core` and `drupal/<project>`)
says which installed versions an advisory affects, with its id, CVE and link. For each Drupal 8+
site, core and every drupal.org project are asked in one batched call (shared across the sites
of a run); advisories whose `affectedVersions` include the installed Composer version are
attached to the finding, and a finding not already `security`, `insecure` or `revoked` becomes
`security` (its release-history `recommended` is kept).

Composer versions of contrib come from the drupal.org ones (`8.x-1.2` is `1.2.0`). A failing API
is recorded as a failure of source `packagist` (`site.source_failed`): the release-history
verdicts are kept and every finding with a Composer package gets `advisories_unavailable`.
Drupal 7 is not asked:
its contrib is not on Packagist.
"""

from __future__ import annotations

from collections.abc import Sequence

from tma_agent.context import SiteContext
from tma_agent.ecosystems import affecting
from tma_agent.ecosystems.packagist_advisories import PACKAGIST, site_advisories
from tma_agent.models import SECURITY_KINDS, Component, Finding
from tma_agent.versions import drupal_to_composer

__all__ = ["apply_packagist_advisories", "composer_package"]


def composer_package(component: Component) -> str | None:
    """The Composer package a component is published as, None for custom code."""
    if component.kind == "core":
        return "drupal/core"
    project = component.extra.get("project")
    if not project or "error" in component.extra:
        return None
    return f"drupal/{project}"


def apply_packagist_advisories(
    site: SiteContext, components: Sequence[Component], findings: Sequence[Finding]
) -> None:
    """Attach the advisories affecting each finding's installed version (see module doc)."""
    client = site_advisories(site)
    packages = {c.name: p for c in components if (p := composer_package(c)) is not None}
    if client is None or not packages:
        return
    advisories = site.attempt(PACKAGIST, lambda: client.for_packages(packages.values()))
    if advisories is None:
        for finding in findings:
            if finding.name in packages:
                finding.advisories_unavailable = True
        return
    by_component = {c.name: c for c in components}
    for finding in findings:
        package = packages.get(finding.name)
        version = _composer_version(finding, by_component.get(finding.name))
        if package is None or version is None:
            continue
        matching = affecting(advisories.get(package, []), version)
        known = {advisory.id for advisory in finding.advisories}
        finding.advisories.extend(a for a in matching if a.id not in known)
        if matching and finding.update not in SECURITY_KINDS:
            site.log.info(
                "drupal: installed version has advisories",
                component=finding.name,
                version=version,
                advisories=[a.id for a in matching],
            )
            finding.update = "security"


def _composer_version(finding: Finding, component: Component | None) -> str | None:
    if finding.installed:
        try:
            return drupal_to_composer(finding.installed)
        except ValueError:
            pass
    # No drupal.org reading of the version: the Composer one from the lock, when there is one.
    version = component.extra.get("composer_version") if component else None
    return version if isinstance(version, str) and version else None
