"""Turn a Drupal site's components into findings with the drupal.org release-history feeds.

`Finding.source` is the feed URL the verdict came from (`{base}/{project}/current`), so a report
says which mirror or fixture server answered; it is `unknown` when no feed speaks for the
component (a custom extension, an unreadable info file, a project drupal.org does not know).

Drupal 8+ findings then get the Packagist advisories affecting their installed version
(advisories.py): a matching advisory makes a finding `security` when the feeds did not already
say security, insecure or revoked.

A feed that fails (HTTP error, timeout, garbage) is recorded with `site.source_failed` under
the source `drupal`: that component is `unknown` with `advisories_unavailable`, the other
projects are still reported, and the site is `partial`.

Findings come in a stable order: core first, then modules, themes, profiles, each by name.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tma_agent.context import SiteContext
from tma_agent.models import Component, Finding
from tma_drupal.advisories import apply_packagist_advisories
from tma_drupal.releases import ReleaseHistory, feed_url, fetch_release_history
from tma_drupal.status import Classification, classify

__all__ = ["KIND_ORDER", "SOURCE_NAME", "evaluate"]

KIND_ORDER = ("core", "module", "theme", "profile")
#: The registered source of the release-history feeds (`sources.drupal.url`).
SOURCE_NAME = "drupal"
#: Feeds of one site fetched side by side; the fetcher still sends each URL once per run.
_PARALLEL_FEEDS = 8


def evaluate(site: SiteContext, components: list[Component]) -> list[Finding]:
    base = site.source_url(SOURCE_NAME)
    drupal7 = any(c.kind == "core" and c.extra.get("drupal7") for c in components)
    projects = sorted(
        {str(c.extra["project"]) for c in components if _has_feed(c)},
    )
    urls = {project: feed_url(base, project, drupal7=drupal7) for project in projects}

    def fetch(project: str) -> ReleaseHistory | None:
        # One project's feed failing leaves that component unknown; the others are kept.
        return site.attempt(
            SOURCE_NAME, lambda: fetch_release_history(site.run, site.fetcher, urls[project])
        )

    # Feeds another site of the run already fetched are answered at once: threads only for
    # the others (starting 8 threads per site cost more than the memoized answers).
    waiting = [p for p in projects if not site.fetcher.answered(urls[p])]
    histories = {p: fetch(p) for p in projects if p not in waiting}
    if len(waiting) > 1:
        with ThreadPoolExecutor(max_workers=min(_PARALLEL_FEEDS, len(waiting))) as pool:
            histories.update(zip(waiting, pool.map(fetch, waiting), strict=True))
    else:
        histories.update((p, fetch(p)) for p in waiting)
    findings = []
    for component in components:
        project = str(component.extra.get("project"))
        finding = _finding(site, component, histories.get(project))
        # The feed's security flags (security update, insecure, revoked) were not read.
        finding.advisories_unavailable = project in urls and histories[project] is None
        findings.append(finding)
    if not drupal7:
        apply_packagist_advisories(site, components, findings)
    return sorted(findings, key=_finding_order)


def _has_feed(component: Component) -> bool:
    return bool(component.extra.get("project")) and "error" not in component.extra


def _finding(site: SiteContext, component: Component, history: ReleaseHistory | None) -> Finding:
    if history is None and _has_feed(component):
        return _unknown(component, "unknown")  # its feed failed: recorded in source_errors
    if history is None or not _has_feed(component):
        reason = component.extra.get("error") or "no drupal.org project (custom extension)"
        site.log.info("drupal: no feed for component", component=component.name, reason=reason)
        return _unknown(component, "unknown")
    if history.unknown_reason is not None:
        site.log.warning(
            "drupal: project unknown to the feed", url=history.url, reason=history.unknown_reason
        )
        return _unknown(component, "unknown")
    installed, verdict, released = _verdict(site, component, history)
    if verdict.reason:
        site.log.info("drupal: status unknown", component=component.name, reason=verdict.reason)
    return Finding(
        name=component.name,
        kind=component.kind,
        installed=installed,
        latest=verdict.latest,
        recommended=verdict.recommended,
        update=verdict.update,
        # A list of this finding's own: the Packagist advisories are added to it.
        advisories=list(verdict.advisories),
        source=history.url,
        released=released,
    )


_Verdict = tuple[str | None, Classification, str | None]


def _verdict(site: SiteContext, component: Component, history: ReleaseHistory) -> _Verdict:
    """(installed, classification, release date of the recommended one): a function of the
    feed and the installed version only, so computed once per run for every site running
    that version (a fleet's sites share most of their module versions)."""
    candidates = tuple(component.extra.get("version_candidates") or ())
    datestamp = component.extra.get("datestamp")
    key = (history.url, component.installed, candidates, datestamp)
    verdicts: dict[tuple[object, ...], tuple[ReleaseHistory, _Verdict]] = site.run.memo(
        ("drupal.verdicts",), dict
    )
    known = verdicts.get(key)
    # The run memoizes each feed, so one URL is one history; checked, not assumed.
    if known is not None and known[0] is history:
        return known[1]
    installed = _resolve_installed(component, history)
    verdict = classify(installed, history, datestamp=datestamp)
    found = (installed, verdict, _release_date(history, verdict.recommended))
    verdicts[key] = (history, found)  # a race computes the same value twice, nothing worse
    return found


def _release_date(history: ReleaseHistory, version: str | None) -> str | None:
    """The ISO date drupal.org published `version` (its feed gives epoch seconds)."""
    release = next((r for r in history.releases if r.version == version), None)
    if release is None or release.date is None:
        return None
    return datetime.fromtimestamp(release.date, tz=UTC).date().isoformat()


def _resolve_installed(component: Component, history: ReleaseHistory) -> str | None:
    """Pick the drupal.org reading of an ambiguous Composer version (`1.2.0` is `8.x-1.2` for a
    legacy-numbered project): the candidate the feed has a release for, else the first one."""
    candidates = component.extra.get("version_candidates") or []
    released = {release.version for release in history.releases}
    return next((c for c in candidates if c in released), component.installed)


def _unknown(component: Component, source: str) -> Finding:
    return Finding(
        component.name, component.kind, component.installed, None, None, "unknown", [], source
    )


def _finding_order(finding: Finding) -> tuple[int, str, str]:
    rank = KIND_ORDER.index(finding.kind) if finding.kind in KIND_ORDER else len(KIND_ORDER)
    return rank, finding.kind, finding.name
