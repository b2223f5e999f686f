"""Turn an npm project's installed packages into findings.

Requests (registry.py): one bulk advisory POST with every installed registry name@version,
direct and transitive; then the metadata of each direct dependency, and of each transitive
package an advisory hits (to name its fixed release). Metadata of the hundreds of other
transitive packages of a big lockfile is never fetched.

Which packages appear: every direct dependency; a transitive package only when an advisory hits
its installed version (a fleet report must stay readable; `npm ls` tells the rest).

Per direct dependency, with `range` its package.json spec:
- `latest` = `dist-tags.latest`; `recommended` = what `npm update` installs: `latest` when it
  satisfies the range, else the highest satisfying version (non-deprecated ones first, as
  npm-pick-manifest chooses), never below the installed version. A dist-tag spec (`next`)
  recommends that tag.
- `update`: `feature` when `latest` is newer and outside the range; else by the newest of
  `latest` and `recommended`: same major.minor as installed -> `bugfix`, else `feature`; none
  newer -> `none`. A deprecated `latest` (a package its authors gave up) -> `unsupported`, the
  deprecation message logged.
- `released`: the publication date of `recommended` when the registry sends `time`.
Advisories (any package): those whose `vulnerable_versions` holds the installed version. Then
`update` is `security` and `recommended`, among the releases above the installed one that no
such advisory covers: the newest inside the declared range when there is one (what `npm update`
would install), else the lowest fixed release anywhere (a transitive package has no range: the
lowest fix); with no such release (or no metadata at all), `insecure` and no `recommended`.

A failing source never empties the site (`site.attempt`, source `npm`): the bulk advisory
POST failing (a mirror answering 405, an outage) keeps the release verdicts and marks every
finding `advisories_unavailable`; one package's metadata failing leaves that package `unknown`
(`security` without `recommended` when an advisory hits it) and the others reported.
Not from the registry (git, `file:`, workspace links), missing from the lockfile, or unknown to
the registry (404: a private package) -> `unknown`, source `unknown`. `source` is the metadata
URL otherwise, so a report says which registry or mirror answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from tma_agent.context import SiteContext
from tma_agent.errors import FeedError
from tma_agent.models import Component, Finding, UpdateKind
from tma_agent.versions import NpmRange, NpmVersion, max_satisfying, npm_satisfies
from tma_npm.registry import NpmAdvisory, Packument, fetch_advisories, fetch_packument
from tma_npm.settings import NpmSourceSettings

__all__ = ["SOURCE_NAME", "evaluate", "pick_recommended", "update_kind"]

#: The registered source (`sources.npm.url`, `sources.npm.token`).
SOURCE_NAME = "npm"
#: Metadata documents of one site fetched side by side; the fetcher still sends each once.
_PARALLEL_FETCHES = 8


def _parse_range(spec: str | None) -> NpmRange | None:
    try:
        return NpmRange(spec) if spec is not None else None
    except ValueError:
        return None  # a dist-tag, git URL or path: no semver range to honour


def _versions(packument: Packument) -> list[NpmVersion]:
    parsed = []
    for raw in packument.versions:
        try:
            parsed.append(NpmVersion(raw))
        except ValueError:
            continue
    return sorted(parsed)


def pick_recommended(packument: Packument, spec: str | None, installed: str) -> str:
    """What `npm update` would install for `spec`, never older than `installed`."""
    range_ = _parse_range(spec)
    wanted: str | None = None
    if range_ is not None:
        latest = packument.latest
        if latest is not None and _satisfies(latest, range_):
            wanted = latest
        else:
            live = [v for v in packument.versions if packument.deprecation(v) is None]
            wanted = max_satisfying(live, range_) or max_satisfying(packument.versions, range_)
    elif spec is not None:
        wanted = packument.dist_tags.get(spec)
    # A dist-tag is registry data: one that is not a version recommends nothing newer.
    return wanted if wanted and _newer(wanted, NpmVersion(installed)) else installed


def _satisfies(version: str, range_: NpmRange) -> bool:
    try:
        return npm_satisfies(version, range_)
    except ValueError:
        return False


def update_kind(
    installed: str, latest: str | None, recommended: str, spec: str | None
) -> UpdateKind:
    current = NpmVersion(installed)
    range_ = _parse_range(spec)
    newer = [NpmVersion(v) for v in (latest, recommended) if v and _newer(v, current)]
    if not newer:
        return "none"
    if latest and range_ is not None and _newer(latest, current) and not _satisfies(latest, range_):
        return "feature"
    target = max(newer)
    return "bugfix" if target.release[:2] == current.release[:2] else "feature"


def _newer(version: str, current: NpmVersion) -> bool:
    try:
        return NpmVersion(version) > current
    except ValueError:
        return False


def _fix(
    packument: Packument, installed: str, hits: list[NpmAdvisory], spec: str | None
) -> str | None:
    current = NpmVersion(installed)
    range_ = _parse_range(spec)
    fixed = [
        v
        for v in _versions(packument)
        if v > current
        and (current.prerelease or not v.prerelease)
        and not any(a.vulnerable.test(v) for a in hits)
    ]
    in_range = [v for v in fixed if range_ is not None and range_.test(v)]
    if in_range:
        # What `npm update` installs once the advisory is out of the way: the newest.
        return str(in_range[-1])
    return str(fixed[0]) if fixed else None


def _finding(
    site: SiteContext,
    component: Component,
    packument: Packument | None,
    hits: list[NpmAdvisory],
) -> Finding:
    name, installed = component.name, component.installed
    spec = component.extra.get("range")
    advisories = [a.to_advisory() for a in hits]
    if installed is None or (packument is None and not hits):
        return Finding(name, "package", installed, None, None, "unknown", advisories)
    if packument is None:
        return Finding(name, "package", installed, None, None, "insecure", advisories)
    finding = Finding(
        name, "package", installed, packument.latest, None, "none", advisories, packument.url
    )
    if hits:
        finding.recommended = _fix(packument, installed, hits, spec)
        finding.update = "security" if finding.recommended else "insecure"
    else:
        finding.recommended = pick_recommended(packument, spec, installed)
        finding.update = update_kind(installed, packument.latest, finding.recommended, spec)
        deprecated = packument.deprecation(packument.latest)
        if deprecated is not None:
            site.log.warning("npm: latest release deprecated", package=name, message=deprecated)
            finding.update = "unsupported"
    finding.released = packument.released(finding.recommended)
    return finding


def _auth_headers(site: SiteContext) -> dict[str, str]:
    token = site.source_settings_as(SOURCE_NAME, NpmSourceSettings).token
    return {"Authorization": f"Bearer {token}"} if token else {}


def _matching(
    components: list[Component], advisories: Mapping[str, list[NpmAdvisory]]
) -> dict[int, list[NpmAdvisory]]:
    hits: dict[int, list[NpmAdvisory]] = {}
    for component in components:
        version = NpmVersion(component.installed or "")
        matched = [a for a in advisories.get(component.name, []) if a.vulnerable.test(version)]
        if matched:
            hits[id(component)] = matched
    return hits


def evaluate(site: SiteContext, components: list[Component]) -> list[Finding]:
    registry, headers = site.source_url(SOURCE_NAME), _auth_headers(site)
    checked = [c for c in components if c.installed and c.extra.get("from_registry")]
    installed: dict[str, list[str]] = {}
    for component in checked:
        installed.setdefault(component.name, []).append(component.installed or "")
    advisories = site.attempt(
        SOURCE_NAME, lambda: fetch_advisories(site.fetcher, registry, installed, headers)
    )
    hits = _matching(checked, advisories or {})

    registry_ids = {id(c) for c in checked}
    reported = [c for c in components if c.extra.get("direct") or id(c) in hits]
    names = sorted({c.name for c in reported if id(c) in registry_ids})
    failed: set[str] = set()

    def fetch(name: str) -> Packument | None:
        try:
            return fetch_packument(site.fetcher, registry, name, headers)
        except FeedError as exc:
            site.source_failed(SOURCE_NAME, exc)
            failed.add(name)
            return None

    with ThreadPoolExecutor(max_workers=_PARALLEL_FETCHES) as pool:
        packuments = dict(zip(names, pool.map(fetch, names), strict=True))
    findings = []
    for component in reported:
        packument = packuments.get(component.name) if id(component) in registry_ids else None
        finding = _finding(site, component, packument, hits.get(id(component), []))
        if component.name in failed and finding.update == "insecure":
            finding.update = "security"  # a fix may exist: its metadata could not be read
        finding.advisories_unavailable = advisories is None and id(component) in registry_ids
        findings.append(finding)
    return findings
