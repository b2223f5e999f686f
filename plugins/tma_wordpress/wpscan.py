"""WPScan API v3 as a `VulnerabilityFeed` (used when `sources.wpscan.token` is set).

Requests, with `Authorization: Token token=<token>`:
- `GET {url}/plugins/{slug}`, `GET {url}/themes/{slug}` -> `{slug: {"latest_version", ...,
  "vulnerabilities": [...]}}`;
- `GET {url}/wordpresses/{version without dots}` -> `{"6.1.9": {"vulnerabilities": [...]}}`.
Each vulnerability: `id`, `title`, `fixed_in`, `introduced_in`, `references` {`cve`: numbers
without the `CVE-` prefix, `url`: [...]}, `cvss` {score, severity}. Affected: introduced_in <=
installed < fixed_in (an absent bound is open; no `fixed_in` = no fix yet).

The shared Fetcher sends each URL once per run whichever sites ask, and keeps it on disk for
revalidation. 404 means WPScan has nothing on that slug or version: no data, not an error. Any
other failure (401 bad token, 429 quota, garbage) is a FeedError naming the URL, never the
token: it only travels in the header, which neither the Fetcher nor this module logs.
Slugs that are not plain wordpress.org slugs are not asked about (no such entry can exist, and
a directory name must not shape the URL path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from tma_agent.context import SiteContext
from tma_agent.errors import FeedError
from tma_agent.models import Advisory, Finding
from tma_agent.sources import FetchResult
from tma_wordpress.settings import TokenSettings
from tma_wordpress.vulnerabilities import VersionRange, Vulnerability, parse_version

__all__ = ["DEFAULT_URL", "WPSCAN", "WPScanFeed", "parse_vulnerabilities"]

WPSCAN = "wpscan"
DEFAULT_URL = "https://wpscan.com/api/v3"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CORE_VERSION = re.compile(r"^\d+(?:\.\d+)*$")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _first(values: object) -> str | None:
    if not isinstance(values, list):
        return None
    return next((str(v) for v in values if isinstance(v, str | int) and str(v).strip()), None)


def _vulnerability(url: str, item: object) -> Vulnerability | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
        raise FeedError(url, "a vulnerability is not an object with an `id`")
    introduced, fixed_in = item.get("introduced_in"), item.get("fixed_in")
    low, high = parse_version(introduced), parse_version(fixed_in)
    if (_text(introduced) and low is None) or (_text(fixed_in) and high is None):
        return None  # a bound that is not a version cannot be compared
    references = item.get("references")
    references = references if isinstance(references, dict) else {}
    cve = _first(references.get("cve"))
    if cve and not cve.upper().startswith("CVE-"):
        cve = f"CVE-{cve}"
    cvss = item.get("cvss")
    severity = _text(cvss.get("severity")) if isinstance(cvss, dict) else None
    advisory = Advisory(
        id=str(item["id"]),
        cve=cve,
        severity=severity.lower() if severity else None,
        url=_first(references.get("url")),
        title=_text(item.get("title")),
    )
    fixed = high is not None and fixed_in is not None
    patched = (str(fixed_in),) if fixed else ()
    return Vulnerability(advisory, (VersionRange(low, True, high, False),), patched, fixed)


def parse_vulnerabilities(answer: FetchResult, key: str) -> list[Vulnerability]:
    """The vulnerabilities of entry `key` (slug, or core version) of a WPScan answer."""
    if answer.status == 404:
        return []
    data = answer.json()
    if not isinstance(data, dict):
        raise FeedError(answer.url, "expected a JSON object")
    entry: Any = data.get(key)
    if entry is None and len(data) == 1:
        entry = next(iter(data.values()))  # e.g. core keyed "6.1" when asked about 6.1.0
    if not isinstance(entry, Mapping):
        raise FeedError(answer.url, f"no `{key[:80]}` entry in the answer")
    items = entry.get("vulnerabilities") or []
    if not isinstance(items, list):
        raise FeedError(answer.url, "`vulnerabilities` is not a list")
    parsed = [_vulnerability(answer.url, item) for item in items]
    return [v for v in parsed if v is not None]


class WPScanFeed:
    def __init__(self, site: SiteContext) -> None:
        self.url = site.source_url(WPSCAN)
        token = site.source_settings_as(WPSCAN, TokenSettings).token
        if not token:
            raise FeedError(self.url, "sources.wpscan.token is not set")
        self._headers = {"Authorization": f"Token token={token}"}

    def _path(self, finding: Finding) -> tuple[str, str] | None:
        """(request path, answer key), or None when there is nothing to ask."""
        if finding.kind == "core":
            version = finding.installed or ""
            if not _CORE_VERSION.match(version):
                return None
            return f"wordpresses/{version.replace('.', '')}", version
        slug = finding.name.lower()
        if not _SLUG.match(slug):
            return None
        return f"{finding.kind}s/{quote(slug, safe='')}", slug

    def known_for(self, site: SiteContext, finding: Finding) -> list[Vulnerability]:
        target = self._path(finding)
        if target is None:
            return []
        path, key = target
        answer = site.fetcher.get(f"{self.url}/{path}", headers=self._headers, ok_statuses={404})
        return parse_vulnerabilities(answer, key)
