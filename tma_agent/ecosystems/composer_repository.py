"""Releases of a package from Composer v2 repositories (packages.drupal.org, repo.magento.com,
Packagist, Private Packagist, Satis...).

Each repository's `packages.json` is read once per run for its `metadata-url` template (and its
`available-packages` list, which spares asking for a package the repository does not have);
without a packages.json the template is `{url}/p2/%package%.json`. The metadata answer is
`{"packages": {"vendor/name": [{first version, in full}, {what changed}, ...]},
"minified": "composer/2.0"}`: each later entry only holds the keys that differ from the previous
one, `"__unset"` removing a key (composer/metadata-minifier).

Repositories are asked in order; the first that has the package wins, a 404 meaning "not here"
(`last_miss` keeps the URL, for the "404 for every package of a site" rule of composer_findings).
Credentials go in an Authorization header, only to the repository's own host, and are never
logged (the fetcher logs URLs and keys its memo with a hash of the headers).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import structlog

from tma_agent.config import ComposerRepository
from tma_agent.errors import FeedError
from tma_agent.sources import Fetcher
from tma_agent.versions import ComposerVersion, normalize_composer

__all__ = ["ComposerRepositories", "PackageMetadata", "PackageRelease", "expand_minified"]

_log = structlog.get_logger()
_DEFAULT_TEMPLATE = "/p2/%package%.json"
_UNSET = "__unset"


@dataclass(frozen=True)
class PackageRelease:
    version: str
    normalized: str
    #: ISO 8601 release date, when the repository gives one.
    time: str | None
    #: False, True, or the name of the package suggested instead.
    abandoned: bool | str
    require: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PackageMetadata:
    """A package as one repository describes it: the metadata URL and its releases."""

    url: str
    #: Newest first, in Composer's order.
    releases: tuple[PackageRelease, ...]


@dataclass(frozen=True)
class _Index:
    template: str
    #: Names the repository says it has (None: it did not say, so ask for anything).
    available: frozenset[str] | None
    patterns: tuple[re.Pattern[str], ...]

    def may_have(self, name: str) -> bool:
        if self.available is None and not self.patterns:
            return True
        return name in (self.available or ()) or any(p.fullmatch(name) for p in self.patterns)


class ComposerRepositories:
    """The Composer repositories of a site or of the config, asked in order (thread-safe)."""

    def __init__(self, fetcher: Fetcher, repositories: Sequence[ComposerRepository]) -> None:
        self._fetcher = fetcher
        self._repositories = tuple(repositories)
        self._indexes: dict[str, _Index] = {}
        self._lock = threading.Lock()
        #: The last metadata URL that answered 404 (for "404 for everything" errors).
        self.last_miss: str | None = None

    def releases(self, name: str) -> list[PackageRelease]:
        """Releases of `name`, newest first; empty when no repository has it."""
        found = self.lookup(name)
        return list(found.releases) if found else []

    def lookup(self, name: str) -> PackageMetadata | None:
        """The first repository's description of `name`, or None when none has it."""
        package = name.strip().lower()
        for repository in self._repositories:
            index = self._index(repository)
            if not index.may_have(package):
                continue
            url = index.template.replace("%package%", package)
            answer = self._fetcher.get(
                url, ok_statuses={404}, headers=_auth_headers(repository, url)
            )
            if answer.status == 404:
                self.last_miss = url
                continue
            versions = _package_versions(answer.json(), package, url)
            if versions is not None:
                return PackageMetadata(url, _releases(versions, url))
        return None

    def _index(self, repository: ComposerRepository) -> _Index:
        with self._lock:
            known = self._indexes.get(repository.url)
        if known is not None:
            return known
        base = repository.url.rstrip("/")
        index_url = base if base.endswith(".json") else base + "/packages.json"
        if base.endswith(".json"):
            base = base.rsplit("/", 1)[0]
        answer = self._fetcher.get(
            index_url, ok_statuses={404}, headers=_auth_headers(repository, index_url)
        )
        if answer.status == 404:
            index = _Index(base + _DEFAULT_TEMPLATE, None, ())
        else:
            index = _parse_index(answer.json(), base, index_url)
        with self._lock:
            self._indexes[repository.url] = index
        return index


def _parse_index(data: Any, base: str, url: str) -> _Index:
    if not isinstance(data, dict):
        raise FeedError(url, "not a Composer packages.json (top level is not an object)")
    template = data.get("metadata-url")
    if template is None:
        template = base + _DEFAULT_TEMPLATE
    elif not isinstance(template, str) or "%package%" not in template:
        raise FeedError(url, "metadata-url is not a URL template with %package%")
    elif template.startswith("/"):  # relative to the host, as Composer resolves it
        parts = urlsplit(base)
        template = f"{parts.scheme}://{parts.netloc}{template}"
    else:
        template = urljoin(base + "/", template)
    available = data.get("available-packages")
    patterns = data.get("available-package-patterns") or []
    if available is not None and not _names(available):
        raise FeedError(url, "available-packages is not a list of names")
    if not _names(patterns):
        raise FeedError(url, "available-package-patterns is not a list of patterns")
    return _Index(
        template,
        frozenset(n.lower() for n in available) if available is not None else None,
        tuple(re.compile(".*".join(map(re.escape, p.lower().split("*")))) for p in patterns),
    )


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _auth_headers(repository: ComposerRepository, url: str) -> dict[str, str] | None:
    # Credentials belong to the repository's host: a metadata-url on a CDN does not get them.
    if repository.auth is None or urlsplit(url).netloc != urlsplit(repository.url).netloc:
        return None
    pair = f"{repository.auth.username}:{repository.auth.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _package_versions(data: Any, package: str, url: str) -> list[dict[str, Any]] | None:
    if not isinstance(data, dict) or not isinstance(data.get("packages"), dict | list):
        raise FeedError(url, "not Composer v2 metadata (no packages object)")
    packages = data["packages"]
    # A repository may answer for a name without describing it: Composer reads that as absent.
    versions = packages.get(package) if isinstance(packages, dict) else None
    if versions is None:
        return None
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        raise FeedError(url, f"packages.{package} is not a list of versions")
    if data.get("minified") == "composer/2.0":
        return expand_minified(versions)
    return versions


def expand_minified(versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Undo Composer's metadata minification: each entry applies its changes to the previous."""
    expanded: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for entry in versions:
        if not expanded:
            current = dict(entry)
        else:
            current = dict(current)
            for key, value in entry.items():
                if value == _UNSET:
                    current.pop(key, None)
                else:
                    current[key] = value
        expanded.append(current)
    return expanded


def _releases(versions: list[dict[str, Any]], url: str) -> tuple[PackageRelease, ...]:
    releases = []
    for index, entry in enumerate(versions):
        version = entry.get("version")
        if not isinstance(version, str) or not version:
            raise FeedError(url, f"version entry {index} has no version")
        normalized = entry.get("version_normalized")
        try:
            if not isinstance(normalized, str):
                normalized = normalize_composer(version)
            order = ComposerVersion(normalized)
        except ValueError:
            # Composer skips a version it cannot read; so does the agent, with a trace.
            _log.info("composer: unreadable version skipped", url=url, version=version)
            continue
        abandoned = entry.get("abandoned", False)
        require = entry.get("require")
        time = entry.get("time")
        release = PackageRelease(
            version=version,
            normalized=normalized,
            time=time if isinstance(time, str) else None,
            abandoned=abandoned if isinstance(abandoned, bool | str) else bool(abandoned),
            require=(
                {k: v for k, v in require.items() if isinstance(v, str)}
                if isinstance(require, dict)
                else {}
            ),
        )
        releases.append((order, release))
    releases.sort(key=lambda pair: pair[0], reverse=True)
    return tuple(release for _, release in releases)
