"""Turn a PrestaShop site's core and modules into findings.

Core (distribution API, see `distribution.py`; version lines in `lines.py`):
- 1.6 and older -> `unsupported`, `recommended` None (no in-place update exists: moving to a
  supported line is a migration project), `latest` the newest stable release;
- else `recommended` is the newest stable release of the installed major line (1.7.8.x for
  1.7.8.11, 8.x for 8.1.7): `bugfix` when it is in the installed minor line (1.7.8 / 8.1),
  `feature` otherwise, `none` when the site runs it. A newer major only shows in `latest`
  (moving to it is a project, as Drupal's "also available"); a major the API does not list at
  all -> `unknown`.

Modules (a `ModuleReleaseSource`, by default the agency's index of `sources.prestashop.modules`):
`latest` is the newest stable release listed, `recommended` the newest stable one whose
`ps_min`/`ps_max` admit the site's core version; `bugfix` within one major.minor, else `feature`.
A module no source lists (a custom or Addons module) is `unknown` with source `unknown`, never
"up to date". An Addons API client would be another `ModuleReleaseSource`.

Advisories (`sources.prestashop.advisories`, module `prestashop` meaning core, plus Packagist's
advisories for `prestashop/prestashop`, see `packagist.py`): an advisory
whose `versions` match the installed version is attached; when a newer stable release matched
by none of that component's advisories exists (compatible ones first), the update is
`security` and `recommended` is the newest such release; otherwise `insecure` with no
`recommended` (also for an affected module no release source lists: no known fix). For core
the fix must be in the installed major line (another line is a migration), and an affected
1.6 site is `insecure`.
`source` is the URL or file the verdict came from. Findings: core first, then modules by name.

A failing source never empties the site (`site.attempt`): the distribution API failing leaves
core `unknown` (its advisories still attached); a module index failing leaves the modules it
should have listed `unknown`; the advisories file (source `prestashop`) failing marks every
finding `advisories_unavailable`, Packagist's API (source `packagist`) failing marks core.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from tma_agent.context import SiteContext
from tma_agent.models import Advisory, Component, Finding, UpdateKind
from tma_agent.versions import Version
from tma_prestashop.distribution import SOURCE_NAME, CoreRelease, fetch_core_releases
from tma_prestashop.indexes import (
    ModuleAdvisory,
    ModuleRelease,
    load_advisories,
    load_modules_index,
)
from tma_prestashop.lines import is_end_of_life, module_update_kind, same_line, try_version
from tma_prestashop.packagist import combine, core_package_advisories
from tma_prestashop.settings import PrestaShopSourceSettings

__all__ = ["CORE_ADVISORY_NAME", "IndexSource", "ModuleReleaseSource", "evaluate"]

#: The `module` value that makes an advisory about PrestaShop core.
CORE_ADVISORY_NAME = "prestashop"


class ModuleReleaseSource(Protocol):
    """Where module releases come from: the agency's index now, the Addons API later."""

    #: What findings name as their `source`.
    name: str

    def releases(
        self, site: SiteContext, names: Sequence[str]
    ) -> Mapping[str, list[ModuleRelease]]:
        """Releases (newest first) of the modules it knows among `names`; the others are left out.
        Raise FeedError when the source answers badly."""
        ...


class IndexSource:
    """The agency-maintained JSON index (URL or file)."""

    def __init__(self, location: str) -> None:
        self.name = location

    def releases(
        self, site: SiteContext, names: Sequence[str]
    ) -> Mapping[str, list[ModuleRelease]]:
        index = load_modules_index(site.run, site.fetcher, self.name)
        return {name: index[name] for name in names if name in index}


def _affected(version: str, advisories: Sequence[ModuleAdvisory]) -> list[Advisory]:
    """Advisories whose Composer-style `versions` constraint matches `version`."""
    found = []
    for entry in advisories:
        try:
            if entry.constraint.matches(version):
                found.append(entry.advisory)
        except ValueError:
            # Composer cannot read this version (`2.0.3-custom`): no range can speak for it.
            continue
    return found


def _core_finding(
    site: SiteContext, core: Component, affected: Callable[[str], list[Advisory]]
) -> Finding:
    answer = site.attempt(
        SOURCE_NAME, lambda: fetch_core_releases(site.fetcher, site.source_url(SOURCE_NAME))
    )
    if answer is None:  # recorded: the advisories still speak for the installed version
        found = affected(core.installed) if core.installed else []
        return Finding("prestashop", "core", core.installed, None, None, "unknown", found)
    stable = answer.stable()
    latest = stable[0].version if stable else None
    installed = try_version(core.installed)
    if installed is None or core.installed is None:  # inventory refuses those
        return Finding("prestashop", "core", core.installed, latest, None, "unknown", [], "unknown")
    found = affected(core.installed)

    def finding(recommended: str | None, update: UpdateKind) -> Finding:
        return Finding(
            "prestashop", "core", core.installed, latest, recommended, update, found, answer.url
        )

    in_major = [r for r in stable if same_line(r.parsed, installed)]
    if found:
        # Only a fix in the installed major line is an update; another line is a migration.
        fixed = [r for r in in_major if r.parsed > installed and not affected(r.version)]
        eol = is_end_of_life(installed)
        return (
            finding(fixed[0].version, "security")
            if fixed and not eol
            else finding(None, "insecure")
        )
    if is_end_of_life(installed):
        return finding(None, "unsupported")
    if not in_major:
        site.log.warning("prestashop: no release of the installed major line", url=answer.url)
        return finding(None, "unknown")
    best: CoreRelease = in_major[0]
    if best.parsed <= installed:
        return finding(core.installed, "none")
    minor = same_line(best.parsed, installed, minor=True)
    return finding(best.version, "bugfix" if minor else "feature")


def _module_finding(
    module: Component,
    core: Version | None,
    releases: list[ModuleRelease] | None,
    source: str,
    advisories: Sequence[ModuleAdvisory],
    advisories_source: str | None,
) -> Finding:
    name, installed_raw = module.name, module.installed
    installed = try_version(installed_raw)
    if installed is None or installed_raw is None:
        return Finding(name, "module", installed_raw, None, None, "unknown", [], "unknown")
    found = _affected(installed_raw, advisories)
    if releases is None:
        if found:
            return Finding(
                name, "module", installed_raw, None, None, "insecure", found, str(advisories_source)
            )
        return Finding(name, "module", installed_raw, None, None, "unknown", [], "unknown")
    stable = [r for r in releases if r.parsed.is_stable]
    latest = stable[0].version if stable else None
    compatible = [r for r in stable if r.supports(core)]
    if found:
        fixed = [r for r in stable if r.parsed > installed and not _affected(r.version, advisories)]
        target = next((r for r in fixed if r.supports(core)), None) or next(iter(fixed), None)
        if target is None:
            return Finding(name, "module", installed_raw, latest, None, "insecure", found, source)
        return Finding(
            name,
            "module",
            installed_raw,
            latest,
            target.version,
            "security",
            found,
            source,
            target.date,
        )
    if not compatible or compatible[0].parsed <= installed:
        return Finding(name, "module", installed_raw, latest, installed_raw, "none", [], source)
    best = compatible[0]
    update = module_update_kind(installed, best.parsed)
    return Finding(
        name, "module", installed_raw, latest, best.version, update, [], source, best.date
    )


def _module_sources(site: SiteContext) -> list[ModuleReleaseSource]:
    index = site.source_settings_as(SOURCE_NAME, PrestaShopSourceSettings).modules
    return [IndexSource(index)] if index else []


def evaluate(
    site: SiteContext,
    components: list[Component],
    *,
    module_sources: Sequence[ModuleReleaseSource] | None = None,
) -> list[Finding]:
    advisories_location = site.source_settings_as(SOURCE_NAME, PrestaShopSourceSettings).advisories
    advisories: list[ModuleAdvisory] | None = []
    if advisories_location:
        location = advisories_location
        advisories = site.attempt(
            SOURCE_NAME, lambda: load_advisories(site.run, site.fetcher, location)
        )
    advisories_unavailable = advisories is None
    advisories = advisories or []
    by_name: dict[str, list[ModuleAdvisory]] = {}
    for advisory in advisories:
        by_name.setdefault(advisory.module, []).append(advisory)

    core = next(c for c in components if c.kind == "core")
    core_advisories = by_name.get(CORE_ADVISORY_NAME, [])
    packagist = core_package_advisories(site)
    affected = combine(lambda v: _affected(v, core_advisories), packagist or [])
    findings = [_core_finding(site, core, affected)]
    findings[0].advisories_unavailable = advisories_unavailable or packagist is None
    modules = sorted((c for c in components if c.kind == "module"), key=lambda c: c.name)
    names = [m.name for m in modules]
    known: dict[str, tuple[list[ModuleRelease], str]] = {}
    for release_source in _module_sources(site) if module_sources is None else module_sources:
        wanted = [n for n in names if n not in known]
        if wanted:
            listing = site.attempt(
                SOURCE_NAME, functools.partial(release_source.releases, site, wanted)
            )
            for name, listed in (listing or {}).items():
                known.setdefault(name, (listed, release_source.name))
    core_version = try_version(core.installed)
    for module in modules:
        releases, source = known.get(module.name) or (None, "unknown")
        if releases is None:
            site.log.info("prestashop: no release source knows module", module=module.name)
        finding = _module_finding(
            module,
            core_version,
            releases,
            source,
            by_name.get(module.name, []),
            advisories_location,
        )
        finding.advisories_unavailable = advisories_unavailable
        findings.append(finding)
    return findings
