"""Core releases from PrestaShop's distribution API (what the autoupgrade module reads).

`GET {sources.prestashop.url}/prestashop` answers a JSON array, one object per release:
`{"version": "8.1.7", "stability": "stable", "distribution": "open_source",
"php_min_version": "7.2", "php_max_version": "8.1", "zip_download_url": ..., "zip_md5": ...,
"release_notes_url": ...}` (PrestaShop/autoupgrade `classes/Services/DistributionApiService.php`).
Only `version` and `stability` matter here; an answer that is not such an array, or an entry
without a readable version, is a `FeedError` naming the URL. The API gives no release dates.
"""

from __future__ import annotations

from dataclasses import dataclass

from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher
from tma_agent.versions import Version
from tma_prestashop.lines import try_version

__all__ = ["SOURCE_NAME", "CoreRelease", "CoreReleases", "fetch_core_releases", "releases_url"]

#: The registered source (`sources.prestashop.url`, default https://api.prestashop-project.org).
SOURCE_NAME = "prestashop"


@dataclass(frozen=True)
class CoreRelease:
    version: str
    parsed: Version
    stability: str
    php_min: str | None = None
    php_max: str | None = None
    release_notes_url: str | None = None

    @property
    def is_stable(self) -> bool:
        return self.stability.lower() == "stable" and self.parsed.is_stable


@dataclass(frozen=True)
class CoreReleases:
    url: str
    releases: tuple[CoreRelease, ...]

    def stable(self) -> list[CoreRelease]:
        """Stable releases, newest first."""
        return sorted(
            (r for r in self.releases if r.is_stable), key=lambda r: r.parsed, reverse=True
        )


def releases_url(base: str) -> str:
    return f"{base.rstrip('/')}/prestashop"


def _optional(entry: dict[str, object], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


def fetch_core_releases(fetcher: Fetcher, base: str) -> CoreReleases:
    url = releases_url(base)
    data = fetcher.get(url).json()
    if not isinstance(data, list) or not data:
        raise FeedError(url, "expected a non-empty JSON array of releases")
    releases = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise FeedError(url, f"release #{index} is not an object")
        raw, stability = entry.get("version"), entry.get("stability")
        parsed = try_version(raw) if isinstance(raw, str) else None
        if parsed is None or not isinstance(raw, str):
            raise FeedError(url, f"release #{index} has no readable `version`")
        if not isinstance(stability, str):
            raise FeedError(url, f"release {raw} has no `stability`")
        releases.append(
            CoreRelease(
                raw,
                parsed,
                stability,
                _optional(entry, "php_min_version"),
                _optional(entry, "php_max_version"),
                _optional(entry, "release_notes_url"),
            )
        )
    return CoreReleases(url, tuple(releases))
