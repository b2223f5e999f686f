"""Security advisories from Packagist's API, for any Composer package (drupal/*, magento/*,
prestashop/*, symfony/*...), and which of them affect an installed version.

`POST {base}/api/security-advisories/` with the form `packages[]=vendor/name` repeated answers
`{"advisories": {"vendor/name": [{"advisoryId", "packageName", "remoteId", "title", "link",
"cve", "affectedVersions", "source", "reportedAt", "severity"}]}}` (`"advisories": []` when
there are none). Names are asked sorted, in batches; each package's answer is kept in the run
scope (`site.run`), so a package is asked once however many sites have it.
`affectedVersions` is a Composer constraint (`>=2.4.0,<2.4.3-p3|=2.4.4`) matched with
`tma_agent.versions`; one that cannot be parsed is logged and taken as not matching.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from tma_agent.context import SiteContext
from tma_agent.errors import FeedError
from tma_agent.models import Advisory, SourceInfo
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher
from tma_agent.versions import normalize_composer, parse_constraint

__all__ = [
    "BATCH_SIZE",
    "PACKAGIST",
    "PACKAGIST_SOURCE",
    "PackageAdvisory",
    "PackagistAdvisories",
    "affecting",
    "site_advisories",
]

_log = structlog.get_logger()
#: Packages per request: small enough for any server's form limits, large enough to be few.
BATCH_SIZE = 50

#: The source every Composer-based stack registers (`sources.packagist.url`).
PACKAGIST = "packagist"
PACKAGIST_SOURCE = SourceInfo(
    PACKAGIST,
    "https://packagist.org",
    "Packagist security advisories API (drupal/*, magento/*, prestashop/*, symfony/*...)",
)


@dataclass
class _Answers:
    """What one API URL answered in this run: package -> its advisories."""

    by_package: dict[str, list[PackageAdvisory]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class PackageAdvisory:
    advisory_id: str
    package: str
    affected_versions: str
    title: str | None = None
    link: str | None = None
    cve: str | None = None
    remote_id: str | None = None
    source: str | None = None
    reported_at: str | None = None
    severity: str | None = None

    def to_advisory(self) -> Advisory:
        return Advisory(
            id=self.advisory_id,
            cve=self.cve,
            severity=self.severity,
            url=self.link,
            title=self.title,
        )


class PackagistAdvisories:
    def __init__(
        self, fetcher: Fetcher, base_url: str, *, run: RunScope, batch_size: int = BATCH_SIZE
    ) -> None:
        self._fetcher = fetcher
        self.url = base_url.rstrip("/") + "/api/security-advisories/"
        self._batch_size = max(1, batch_size)
        self._answers = run.memo((PACKAGIST, "advisories", self.url), _Answers)

    def for_packages(self, names: Iterable[str]) -> dict[str, list[PackageAdvisory]]:
        """Advisories of each named package (an empty list for a package without any)."""
        wanted = sorted({name.strip().lower() for name in names if name.strip()})
        known, lock = self._answers.by_package, self._answers.lock
        with lock:
            missing = [name for name in wanted if name not in known]
        for start in range(0, len(missing), self._batch_size):
            batch = missing[start : start + self._batch_size]
            answer = self._fetcher.post_form(self.url, [("packages[]", name) for name in batch])
            found = _parse_answer(answer.json(), self.url)
            with lock:
                for name in batch:
                    known[name] = found.get(name, [])
        return {name: list(known[name]) for name in wanted}


def affecting(advisories: Sequence[PackageAdvisory], installed_version: str) -> list[Advisory]:
    """The advisories whose `affectedVersions` include `installed_version`."""
    try:
        normalized = normalize_composer(installed_version)
    except ValueError:
        _log.warning("packagist: installed version unreadable", version=installed_version)
        return []
    matching = []
    for advisory in advisories:
        try:
            constraint = parse_constraint(advisory.affected_versions)
        except ValueError as exc:
            _log.warning(
                "packagist: advisory constraint unreadable",
                advisory=advisory.advisory_id,
                error=str(exc),
            )
            continue
        if constraint.matches_normalized(normalized):
            matching.append(advisory.to_advisory())
    return matching


def _parse_answer(data: Any, url: str) -> dict[str, list[PackageAdvisory]]:
    if not isinstance(data, dict) or "advisories" not in data:
        raise FeedError(url, "not a security advisories answer (no advisories key)")
    by_package = data["advisories"]
    if by_package == []:  # PHP's empty array: no advisory for any package asked
        return {}
    if not isinstance(by_package, dict):
        raise FeedError(url, "advisories is not an object keyed by package")
    parsed: dict[str, list[PackageAdvisory]] = {}
    for package, entries in by_package.items():
        if not isinstance(entries, list):
            raise FeedError(url, f"advisories of {package} is not a list")
        parsed[str(package).lower()] = [_advisory(e, str(package), url) for e in entries]
    return parsed


def _advisory(entry: Any, package: str, url: str) -> PackageAdvisory:
    if not isinstance(entry, dict):
        raise FeedError(url, f"an advisory of {package} is not an object")
    advisory_id, affected = entry.get("advisoryId"), entry.get("affectedVersions")
    if not isinstance(advisory_id, str) or not advisory_id or not isinstance(affected, str):
        raise FeedError(url, f"an advisory of {package} lacks advisoryId or affectedVersions")

    def text(key: str) -> str | None:
        value = entry.get(key)
        return value if isinstance(value, str) and value else None

    return PackageAdvisory(
        advisory_id=advisory_id,
        package=text("packageName") or package,
        affected_versions=affected,
        title=text("title"),
        link=text("link"),
        cve=text("cve"),
        remote_id=text("remoteId"),
        source=text("source"),
        reported_at=text("reportedAt"),
        severity=text("severity"),
    )


def site_advisories(
    site: SiteContext, *, batch_size: int = BATCH_SIZE
) -> PackagistAdvisories | None:
    """The advisories client for a site, None when no plugin registered the source (only a
    hand-built SiteContext lacks it: the runner passes every registered source)."""
    if PACKAGIST not in site.source_urls:
        site.log.debug("packagist source not registered, advisories skipped")
        return None
    return PackagistAdvisories(
        site.fetcher, site.source_url(PACKAGIST), run=site.run, batch_size=batch_size
    )
