"""The two npm registry endpoints the stack reads, with answers checked for shape.

- Package metadata (the "packument"): `GET {registry}/{name}`, a scoped name's slash encoded
  (`/@angular%2Fcore`), with npm's own `Accept` header asking for the abbreviated form
  (`dist-tags`, `versions`, `modified`); a registry that only serves the full form also sends
  `time` (publication dates), used when present. 404 means the registry does not know the
  package (a private one): `None`, not an error.
- Bulk advisories: `POST {registry}/-/npm/v1/security/advisories/bulk` with the JSON body
  `{"name": ["1.2.3", ...]}` -> `{"name": [{"id", "url", "title", "severity",
  "vulnerable_versions", "cwe", "cvss"}]}`, what `npm audit` sends.

`sources.npm.token` is sent as `Authorization: Bearer <token>` (private registries); the
Fetcher logs URLs, never headers. Any other shape than the above is a FeedError naming the URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tma_agent.errors import FeedError
from tma_agent.models import Advisory
from tma_agent.sources import Fetcher, FetchResult
from tma_agent.versions import NpmRange

__all__ = [
    "ABBREVIATED_ACCEPT",
    "BULK_ADVISORY_PATH",
    "NpmAdvisory",
    "Packument",
    "fetch_advisories",
    "fetch_packument",
    "packument_url",
]

#: What the npm CLI sends: the abbreviated document first, the full one as a fallback.
ABBREVIATED_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
BULK_ADVISORY_PATH = "/-/npm/v1/security/advisories/bulk"


@dataclass(frozen=True)
class Packument:
    url: str
    latest: str | None
    #: version -> its manifest (`deprecated` is the one field read).
    versions: Mapping[str, Mapping[str, Any]]
    #: version -> ISO publication time; empty for the abbreviated form.
    time: Mapping[str, str] = field(default_factory=dict)
    dist_tags: Mapping[str, str] = field(default_factory=dict)

    def deprecation(self, version: str | None) -> str | None:
        message = self.versions.get(version or "", {}).get("deprecated")
        return message if isinstance(message, str) and message else None

    def released(self, version: str | None) -> str | None:
        """The publication date (YYYY-MM-DD) of `version`, when the registry sent `time`."""
        stamp = self.time.get(version or "")
        return stamp[:10] if isinstance(stamp, str) and len(stamp) >= 10 else None


@dataclass(frozen=True)
class NpmAdvisory:
    id: str
    vulnerable: NpmRange
    severity: str | None
    url: str | None
    title: str | None
    cve: str | None

    def to_advisory(self) -> Advisory:
        return Advisory(self.id, self.cve, self.severity, self.url, self.title)


def packument_url(registry: str, name: str) -> str:
    # One path segment whatever the name holds: `@scope/x` -> `@scope%2Fx`, as npm sends it.
    return f"{registry}/{quote(name, safe='@')}"


def _object(answer: FetchResult) -> dict[str, Any]:
    data = answer.json()
    if not isinstance(data, dict):
        raise FeedError(answer.url, f"expected a JSON object, got {type(data).__name__}")
    return data


def _string_map(answer: FetchResult, data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise FeedError(answer.url, f"`{key}` is not an object")
    return {k: v for k, v in value.items() if isinstance(v, str)}


def fetch_packument(
    fetcher: Fetcher, registry: str, name: str, headers: Mapping[str, str]
) -> Packument | None:
    url = packument_url(registry, name)
    answer = fetcher.get(
        url, headers={**headers, "Accept": ABBREVIATED_ACCEPT}, ok_statuses=frozenset({404})
    )
    if answer.status == 404:
        return None
    data = _object(answer)
    versions = data.get("versions")
    if not isinstance(versions, dict) or not all(isinstance(v, dict) for v in versions.values()):
        raise FeedError(answer.url, "`versions` is missing or not an object of manifests")
    dist_tags = _string_map(answer, data, "dist-tags")
    return Packument(
        answer.url, dist_tags.get("latest"), versions, _string_map(answer, data, "time"), dist_tags
    )


def _advisory(answer: FetchResult, name: str, raw: object) -> NpmAdvisory:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int | str):
        raise FeedError(answer.url, f"an advisory for {name!r} has no `id`")
    spec = raw.get("vulnerable_versions")
    if not isinstance(spec, str):
        raise FeedError(answer.url, f"advisory {raw['id']} has no `vulnerable_versions`")
    try:
        vulnerable = NpmRange(spec)
    except ValueError as exc:
        raise FeedError(answer.url, f"advisory {raw['id']}: {exc}") from None
    cves = raw.get("cves")
    cve = raw.get("cve") or (cves[0] if isinstance(cves, list) and cves else None)

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) and value else None

    return NpmAdvisory(
        str(raw["id"]),
        vulnerable,
        text("severity"),
        text("url"),
        text("title"),
        cve if isinstance(cve, str) else None,
    )


def fetch_advisories(
    fetcher: Fetcher,
    registry: str,
    installed: Mapping[str, Iterable[str]],
    headers: Mapping[str, str],
) -> dict[str, list[NpmAdvisory]]:
    """Advisories per package name for the installed versions given (one request; none when
    nothing is installed). Advisories are not yet matched against the versions here."""
    body = {name: sorted(set(versions)) for name, versions in installed.items()}
    if not body:
        return {}
    answer = fetcher.post_json(f"{registry}{BULK_ADVISORY_PATH}", body, headers=headers)
    data = _object(answer)
    found: dict[str, list[NpmAdvisory]] = {}
    for name, entries in data.items():
        if not isinstance(entries, list):
            raise FeedError(answer.url, f"advisories for {name!r} are not a list")
        found[name] = [_advisory(answer, name, entry) for entry in entries]
    return found
