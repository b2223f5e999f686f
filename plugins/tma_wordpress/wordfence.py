"""Wordfence Intelligence vulnerability feed (v2, scanner format) as a `VulnerabilityFeed`.

`GET {sources.wordfence.url}` answers one JSON object keyed by vulnerability id; each record has
`title`, `software[]` (`type` plugin|theme|core, `slug`, `affected_versions` {label: {from_version,
from_inclusive, to_version, to_inclusive}} with `*` for an open bound, `patched`,
`patched_versions`), `cvss` {score, rating}, `cve`, `references`, `informational`. With
`sources.wordfence.token` set it is sent as `Authorization: Bearer <token>`.

The feed is tens of MB. It is fetched once per run (the shared Fetcher memoizes it and its disk
cache revalidates it with ETag next run) and parsed once per run into an index keyed by
(type, slug) that every site of the run shares, memoized in the run scope (`site.run`):
concurrent sites wait for the first, and a parse failure is kept too (each site gets a fresh
FeedError, the feed is not parsed again).

Size: the full feed is far above the Fetcher's default cap, so this request raises it to
`FEED_MAX_BYTES`; a larger answer fails with "response larger than N bytes" naming the URL.

Strict on shape (not an object, a record or software entry of the wrong type -> FeedError
naming the URL), lenient on values: `informational` records (notes, not vulnerabilities) and
software of another type are left out; a range whose bound is not a version cannot be compared
and is skipped, counted in `WordfenceIndex.skipped_ranges`. Feed text is only ever data.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from tma_agent.context import SiteContext
from tma_agent.errors import FeedError
from tma_agent.models import Advisory, Finding
from tma_agent.sources import FetchResult
from tma_agent.versions import Version
from tma_wordpress.settings import TokenSettings
from tma_wordpress.vulnerabilities import VersionRange, Vulnerability, parse_version

__all__ = [
    "DEFAULT_URL",
    "WORDFENCE",
    "WordfenceFeed",
    "WordfenceIndex",
    "parse_scanner_feed",
]

#: Cap for the feed download: reported sizes of the full feed are 117-158 MB.
FEED_MAX_BYTES = 512 * 1024 * 1024

WORDFENCE = "wordfence"
DEFAULT_URL = "https://www.wordfence.com/api/intelligence/v2/vulnerabilities/scanner"
_TYPES = frozenset({"plugin", "theme", "core"})
_log = structlog.get_logger()


@dataclass
class WordfenceIndex:
    by_component: dict[tuple[str, str], tuple[Vulnerability, ...]]
    records: int = 0
    skipped_ranges: int = 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _php_object(value: object) -> object:
    # PHP's json_encode writes an empty associative array as [].
    return {} if value == [] else value


def _range(url: str, where: str, spec: object) -> VersionRange | None:
    if not isinstance(spec, dict):
        raise FeedError(url, f"{where}: an affected range is not an object")
    bounds: list[Version | None] = []
    for key in ("from_version", "to_version"):
        raw = spec.get(key)
        if raw == "*":
            bounds.append(None)
            continue
        version = parse_version(raw)
        if version is None:
            return None
        bounds.append(version)
    return VersionRange(
        bounds[0], bool(spec.get("from_inclusive", True)), bounds[1], bool(spec.get("to_inclusive"))
    )


def _advisory(vuln_id: str, record: Mapping[str, Any]) -> Advisory:
    cvss = record.get("cvss")
    rating = _text(cvss.get("rating")) if isinstance(cvss, dict) else None
    references = record.get("references")
    url = None
    if isinstance(references, list):
        url = next((r for r in references if _text(r)), None)
    return Advisory(
        id=vuln_id,
        cve=_text(record.get("cve")),
        severity=rating.lower() if rating else None,
        url=url,
        title=_text(record.get("title")),
    )


def parse_scanner_feed(answer: FetchResult) -> WordfenceIndex:
    url = answer.url
    data = _php_object(answer.json())
    if not isinstance(data, dict):
        raise FeedError(url, "expected a JSON object keyed by vulnerability id")
    index: defaultdict[tuple[str, str], list[Vulnerability]] = defaultdict(list)
    skipped = 0
    for vuln_id, record in data.items():
        where = f"record {vuln_id[:80]!r}"
        if not isinstance(record, dict) or not isinstance(record.get("software"), list):
            raise FeedError(url, f"{where} has no `software` list")
        if record.get("informational") is True:
            continue
        advisory = _advisory(vuln_id, record)
        for software in record["software"]:
            if not isinstance(software, dict):
                raise FeedError(url, f"{where}: a software entry is not an object")
            kind, slug = software.get("type"), _text(software.get("slug"))
            if kind not in _TYPES or slug is None:
                continue
            specs = _php_object(software.get("affected_versions", {}))
            if not isinstance(specs, dict):
                raise FeedError(url, f"{where}: `affected_versions` is not an object")
            parsed = [_range(url, where, spec) for spec in specs.values()]
            ranges = tuple(r for r in parsed if r is not None)
            skipped += len(parsed) - len(ranges)
            if not ranges:
                continue
            patched = software.get("patched_versions") or []
            if not isinstance(patched, list):
                raise FeedError(url, f"{where}: `patched_versions` is not a list")
            fixed = software.get("patched") is True
            versions = tuple(p for p in patched if isinstance(p, str))
            index[(kind, slug.lower())].append(Vulnerability(advisory, ranges, versions, fixed))
    by_component = {key: tuple(vulns) for key, vulns in index.items()}
    return WordfenceIndex(by_component, len(data), skipped)


class WordfenceFeed:
    def __init__(self, site: SiteContext) -> None:
        self.url = site.source_url(WORDFENCE)
        token = site.source_settings_as(WORDFENCE, TokenSettings).token
        self._headers = {"Authorization": f"Bearer {token}"} if token else None
        # The memo key tells credentials apart without holding the clear token.
        tag = hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""
        self.memo_key = (WORDFENCE, self.url, tag)

    def index(self, site: SiteContext) -> WordfenceIndex:
        fetcher = site.fetcher

        def build() -> WordfenceIndex:
            answer = fetcher.get(self.url, headers=self._headers, max_bytes=FEED_MAX_BYTES)
            index = parse_scanner_feed(answer)
            _log.info(
                "wordfence.indexed",
                url=self.url,
                records=index.records,
                components=len(index.by_component),
                skipped_ranges=index.skipped_ranges,
            )
            return index

        return site.run.memo(self.memo_key, build)

    def known_for(self, site: SiteContext, finding: Finding) -> list[Vulnerability]:
        slug = "wordpress" if finding.kind == "core" else finding.name.lower()
        return list(self.index(site).by_component.get((finding.kind, slug), ()))
