"""Findings for Composer packages, written once for every Composer-based stack (Composer sites
such as Symfony and Laravel, Magento).

Releases come from the Composer v2 repositories of `sources.composer.repositories`, asked in
order (default: one repository at `sources.composer.url`; see `composer_site`); advisories
from Packagist's API at `sources.packagist.url`, one batched request for every locked package
of a site, each package asked once per run.

The verdict on one package installed at version I:
- `latest` is the newest stable release overall.
- The *scope* `recommended` is picked in: a direct package's composer.json constraint; for a
  transitive package the same major as I (same major.minor for 0.x, as `^` reads it), because
  the intersection of its dependents' constraints is too costly to compute; a stack may set its
  own (Magento core: the installed patch line).
- Advisories affect I -> `security`, `recommended` the smallest stable release above I, in I's
  major, that none of the package's advisories affects (a stack may prefer the newest such
  release in scope: Magento core); no such release -> `insecure`, no `recommended`.
- Else the lock or the repository says the package is abandoned -> `unsupported` (Finding has no
  field for "abandoned": the replacement is logged; `recommended`/`latest` as below).
- Else the newest release in scope above I -> `bugfix` when only the patch number moves
  (`-pN` included), `feature` for a minor or major step; nothing newer in scope but `latest` is
  newer -> `feature` with `recommended` = `latest`, whatever the step's size (the constraint or
  the line itself must change: Magento 2.4.7-p8 -> 2.4.8 is a feature upgrade); else `none`.
- No repository has the package -> `unknown`, source `unknown` (`insecure` when advisories
  affect I); I a branch (`dev-main`) -> `unknown` (branches have no order), or `insecure`.
`source` is the p2 metadata URL the releases came from; `released` the date of `recommended`.

A failing source never empties the site (`site.attempt`, `SiteReport.source_errors`):
- Packagist advisories fail (source `packagist`) -> every finding has `advisories_unavailable`;
  the releases are still read for direct packages, and a transitive package that would only
  have been checked against advisories is `unknown` (never `none`).
- A repository request fails (HTTP error, timeout, garbage; source `composer`) -> that package
  is `unknown`, the others are kept.
- Every package a site asked for is missing (404) from every repository -> a failure of source
  `composer` naming the last URL asked ("HTTP 404 for all N packages asked"): a repository that
  has none of a site's packages is misconfigured, so the site is never `ok`. One package missing
  while others are found stays a plain `unknown` (a private package from a `vcs` repository).

Metadata is fetched for direct packages, packages a stack insists on (Magento core), packages
advisories affect (to find the fix) and, only with `sites[].options.composer_transitive: true`,
every other transitive package. A transitive package left out gets `none` from its advisories
alone: `latest` and `recommended` empty, `source` the advisories API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_repository import (
    ComposerRepositories,
    PackageMetadata,
    PackageRelease,
)
from tma_agent.ecosystems.composer_settings import ComposerOptions
from tma_agent.ecosystems.composer_site import (
    COMPOSER_SOURCE,
    site_repositories,
)
from tma_agent.ecosystems.packagist_advisories import (
    PACKAGIST,
    PackageAdvisory,
    affecting,
    site_advisories,
)
from tma_agent.errors import FeedError
from tma_agent.models import Component, Finding, UpdateKind
from tma_agent.versions import ComposerVersion, parse_constraint, stability, update_level

__all__ = [
    "PackageRules",
    "Scope",
    "evaluate_packages",
    "line_scope",
    "major_scope",
    "package_finding",
]

#: One advisories request per site: PHP's default max_input_vars (1000) bounds a form.
_ADVISORY_BATCH = 1000
#: Metadata requests in flight per site (the fetcher still sends each URL once per run).
_LOOKUP_WORKERS = 8


def _numbers(normalized: str) -> tuple[int, ...]:
    return tuple(int(part) for part in normalized.split("-", 1)[0].split("."))


@dataclass(frozen=True)
class Scope:
    """The releases `recommended` may be picked among: a test on normalised versions."""

    description: str
    contains: Callable[[str], bool]


def major_scope(installed: ComposerVersion) -> Scope:
    def key(numbers: tuple[int, ...]) -> tuple[int, ...]:
        return numbers[:2] if numbers[0] == 0 else numbers[:1]

    wanted = key(_numbers(installed.normalized))
    return Scope("same major", lambda n: key(_numbers(n)) == wanted)


def line_scope(installed: ComposerVersion, depth: int) -> Scope:
    """Releases sharing the first `depth` numbers (Magento's 2.4.7 line: 2.4.7, 2.4.7-pN)."""
    wanted = _numbers(installed.normalized)[:depth]
    return Scope(f"line {'.'.join(map(str, wanted))}", lambda n: _numbers(n)[:depth] == wanted)


def _constraint_scope(constraint: str | None) -> Scope | None:
    if not constraint:
        return None
    try:
        parsed = parse_constraint(constraint)
    except ValueError:
        return None  # composer.json says something Composer would refuse: use the major
    return Scope(f"constraint {constraint}", parsed.matches_normalized)


@dataclass(frozen=True)
class PackageRules:
    """What a stack asks beyond the defaults for one package."""

    #: Where `recommended` is picked; a function of the installed version.
    scope: Callable[[ComposerVersion], Scope] | None = None
    #: For a security fix, prefer the newest fixed release in scope to the smallest one.
    prefer_newest_fix: bool = False
    #: Fetch the metadata even for a transitive package.
    fetch: bool = False
    #: Other package names whose advisories apply too (Magento's two meta-packages).
    advisory_names: tuple[str, ...] = ()


def _scope(component: Component, current: ComposerVersion, rules: PackageRules) -> Scope | None:
    if rules.scope is not None:
        return rules.scope(current)
    if component.extra.get("direct"):
        return _constraint_scope(component.extra.get("constraint"))
    return None


def _release_date(release: PackageRelease | None) -> str | None:
    return release.time[:10] if release is not None and release.time else None


def package_finding(
    component: Component,
    advisories: Sequence[PackageAdvisory],
    *,
    metadata: PackageMetadata | None,
    fetched: bool,
    advisories_url: str | None,
    rules: PackageRules = PackageRules(),
) -> Finding:
    """The verdict on one package (see the module docstring)."""
    name, kind, installed = component.name, component.kind, component.installed or ""
    found = affecting(advisories, installed) if installed else []

    def finding(
        update: UpdateKind,
        recommended: PackageRelease | str | None = None,
        *,
        latest: str | None = None,
        source: str | None = None,
        released: str | None = None,
    ) -> Finding:
        if isinstance(recommended, PackageRelease):
            released, recommended = _release_date(recommended), recommended.version
        source = source or (metadata.url if metadata else advisories_url) or "unknown"
        return Finding(name, kind, installed, latest, recommended, update, found, source, released)

    if not fetched:  # a transitive package checked against advisories only (never affected)
        return finding("insecure" if found else "none")
    if metadata is None:
        return finding("insecure") if found else finding("unknown", source="unknown")
    stable = [
        (ComposerVersion(r.normalized), r)
        for r in metadata.releases
        if stability(r.normalized) == "stable"
    ]
    latest = stable[0][1] if stable else None
    latest_version = latest.version if latest else None
    try:
        current = ComposerVersion(installed)
    except ValueError:
        current = None
    if current is None or current.is_branch:
        return finding("insecure" if found else "unknown", latest=latest_version)
    same_major = major_scope(current)
    if found:
        # Oldest first: the smallest fix is the least disruptive one.
        fixes = [
            r
            for v, r in reversed(stable)
            if v > current
            and same_major.contains(r.normalized)
            and not affecting(advisories, r.version)
        ]
        pick = fixes[0] if fixes else None
        if fixes and rules.prefer_newest_fix and rules.scope is not None:
            in_scope = [r for r in fixes if rules.scope(current).contains(r.normalized)]
            pick = in_scope[-1] if in_scope else pick
        if pick is None:
            return finding("insecure", latest=latest_version)
        return finding("security", pick, latest=latest_version)
    scope = _scope(component, current, rules) or same_major
    newer = [r for v, r in stable if v > current and scope.contains(r.normalized)]
    target = newer[0] if newer else None
    outside = target is None and latest is not None and stable[0][0] > current
    if outside:
        target = latest
    abandoned = component.extra.get("abandoned") or (
        metadata.releases[0].abandoned if metadata.releases else False
    )
    if abandoned:
        return finding("unsupported", target, latest=latest_version)
    if target is None:
        own = next((r for v, r in stable if v == current), None)
        return finding("none", installed, latest=latest_version, released=_release_date(own))
    patch = not outside and update_level(installed, target.version) == "patch"
    return finding("bugfix" if patch else "feature", target, latest=latest_version)


def _transitive_wanted(site: SiteContext) -> bool:
    return site.options_as(ComposerOptions).composer_transitive


def _merge(lists: Iterable[Sequence[PackageAdvisory]]) -> list[PackageAdvisory]:
    seen: dict[str, PackageAdvisory] = {}
    for advisories in lists:
        for advisory in advisories:
            seen.setdefault(advisory.advisory_id, advisory)
    return list(seen.values())


def evaluate_packages(
    site: SiteContext,
    components: Sequence[Component],
    rules: Mapping[str, PackageRules] | None = None,
) -> list[Finding]:
    """One finding per component, in the order given; `rules` keyed by package name."""
    rules = rules or {}
    api = site_advisories(site, batch_size=_ADVISORY_BATCH)
    names = {c.name.lower() for c in components}
    names.update(n.lower() for r in rules.values() for n in r.advisory_names)
    by_package = (site.attempt(PACKAGIST, lambda: api.for_packages(names)) if api else {}) or {}
    advisories_unavailable = api is not None and PACKAGIST in site.failed_sources()
    transitive = _transitive_wanted(site)
    own: dict[str, list[PackageAdvisory]] = {}
    wanted: list[str] = []
    for component in components:
        rule = rules.get(component.name, PackageRules())
        aliases = (component.name, *rule.advisory_names)
        own[component.name] = _merge(by_package.get(n.lower(), []) for n in aliases)
        affected = bool(own[component.name]) and bool(
            affecting(own[component.name], component.installed or "")
        )
        if transitive or rule.fetch or affected or component.extra.get("direct"):
            wanted.append(component.name)
    repositories = ComposerRepositories(site.fetcher, site_repositories(site))
    metadata = _lookup_all(site, repositories, wanted)
    if transitive is False and len(wanted) < len(components):
        site.log.debug("composer: transitive packages checked against advisories only")
    findings = []
    for component in components:
        fetched = component.name in metadata
        if not fetched and component.name in wanted:
            # Its repository request failed (recorded): no verdict, never `none`, but the
            # advisories affecting it are still shown.
            finding = _unreadable(component, own[component.name])
        elif not fetched and advisories_unavailable:
            # Checked against advisories only, and those could not be read.
            finding = _unreadable(component, [])
        else:
            finding = package_finding(
                component,
                own[component.name],
                metadata=metadata.get(component.name),
                fetched=fetched,
                advisories_url=api.url if api else None,
                rules=rules.get(component.name, PackageRules()),
            )
        finding.advisories_unavailable = advisories_unavailable
        if finding.update == "unsupported":
            found = metadata.get(component.name)
            replacement = component.extra.get("abandoned") or (
                found.releases[0].abandoned if found and found.releases else True
            )
            # Finding has no field for it: the log keeps the suggested replacement.
            site.log.info("composer: abandoned", package=component.name, use=replacement)
        findings.append(finding)
    return findings


def _unreadable(component: Component, advisories: Sequence[PackageAdvisory]) -> Finding:
    found = affecting(advisories, component.installed) if component.installed else []
    name, kind, installed = component.name, component.kind, component.installed
    return Finding(name, kind, installed, None, None, "unknown", found)


def _lookup_all(
    site: SiteContext, repositories: ComposerRepositories, names: Sequence[str]
) -> dict[str, PackageMetadata | None]:
    """Metadata of each name (None: no repository has it); a name whose request failed is
    left out and the failure recorded under the `composer` source."""
    if not names:
        return {}
    failed = "failed"

    def lookup(name: str) -> PackageMetadata | str | None:
        try:
            return repositories.lookup(name)
        except FeedError as exc:
            site.source_failed(COMPOSER_SOURCE, exc)
            return failed

    with ThreadPoolExecutor(min(_LOOKUP_WORKERS, len(names)), "tma-composer") as pool:
        answers = dict(zip(names, pool.map(lookup, names), strict=True))
    found = {n: a for n, a in answers.items() if not isinstance(a, str)}
    if found and all(a is None for a in found.values()) and repositories.last_miss:
        # Every package the site asked for is missing from every repository: the repository
        # is wrong (a bad URL, a proxy answering 404 for all), not the packages unknown.
        reason = f"HTTP 404 for all {len(found)} packages asked (is this a Composer repository?)"
        site.source_failed(COMPOSER_SOURCE, FeedError(repositories.last_miss, reason))
    return found
