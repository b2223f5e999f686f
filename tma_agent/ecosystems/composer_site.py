"""A Composer project on a site, as the Composer-based stacks (Composer sites, Magento) read it.

Detection reads `composer.json` and `composer.lock` at the site path in the runner's single
round trip; the inventory finds them again in `site.files`, so listing every locked package
costs no further trip. Detection must decide without raising (another stack may own the tree),
hence the tolerant `lock_package_names`; the inventory parses strictly and a broken file is a
`SiteTreeError` naming `host:path/composer.lock`.

Both stacks also read the same configuration: the `composer` source (Composer v2 repositories,
`sources.composer.repositories` asked in order, default one repository at
`sources.composer.url`, https://repo.packagist.org), the `packagist` source (advisories API,
https://packagist.org) and `sites[].options.composer_transitive`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tma_agent._json import JSONError, parse_json
from tma_agent.config import ComposerRepository
from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_lock import (
    ComposerManifest,
    LockedPackage,
    parse_composer_json,
    parse_composer_lock,
)
from tma_agent.ecosystems.composer_settings import ComposerOptions, ComposerSourceSettings
from tma_agent.ecosystems.packagist_advisories import PACKAGIST_SOURCE
from tma_agent.errors import SiteTreeError
from tma_agent.models import Component, ComponentKind, SourceInfo
from tma_agent.plugin_settings import SettingsInfo

__all__ = [
    "COMPOSER_JSON",
    "COMPOSER_LOCK",
    "COMPOSER_SOURCE",
    "DEFAULT_COMPOSER_URL",
    "TRANSITIVE_OPTION",
    "ComposerProject",
    "composer_settings",
    "composer_sources",
    "lock_package_names",
    "locked_version",
    "manifest_name",
    "package_component",
    "read_project",
    "site_repositories",
]

COMPOSER_JSON = "composer.json"
COMPOSER_LOCK = "composer.lock"
COMPOSER_SOURCE = "composer"
DEFAULT_COMPOSER_URL = "https://repo.packagist.org"
TRANSITIVE_OPTION = "composer_transitive"


def composer_sources() -> list[SourceInfo]:
    """What both Composer-based plugins register (the same names: the first one wins)."""
    return [
        SourceInfo(
            COMPOSER_SOURCE,
            DEFAULT_COMPOSER_URL,
            "Composer v2 repository (p2 metadata); `repositories` lists several, with auth",
        ),
        PACKAGIST_SOURCE,
    ]


def composer_settings(stack: str) -> list[SettingsInfo]:
    """What both Composer-based plugins declare: the same models, so either may go first."""
    return [
        SettingsInfo("options", stack, ComposerOptions),
        SettingsInfo("sources", COMPOSER_SOURCE, ComposerSourceSettings),
    ]


def site_repositories(site: SiteContext) -> list[ComposerRepository]:
    settings = site.source_settings_as(COMPOSER_SOURCE, ComposerSourceSettings)
    if settings.repositories:
        return list(settings.repositories)
    return [ComposerRepository(url=site.source_url(COMPOSER_SOURCE))]


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return parse_json(text)
    except JSONError:
        return None


def lock_package_names(text: str | None) -> frozenset[str] | None:
    """Lower-cased names of a lock's `packages` and `packages-dev`, or None when the text is
    not a lock at all (the inventory then reports the file)."""
    data = _load(text)
    if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
        return None
    entries = [*data["packages"], *(data.get("packages-dev") or [])]
    return frozenset(
        entry["name"].lower()
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    )


def locked_version(text: str | None, names: Sequence[str]) -> tuple[str, str] | None:
    """(name, version) of the first of `names` the lock's `packages` holds, or None (also for
    text that is not a lock: detection must never fail on a file another stack owns)."""
    data = _load(text)
    entries = data.get("packages") if isinstance(data, dict) else None
    versions = {
        entry["name"].lower(): entry.get("version")
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
    for name in names:
        version = versions.get(name)
        if isinstance(version, str):
            return name, version
    return None


def manifest_name(text: str | None) -> str | None:
    """composer.json's own `name` (the root package, never listed in the lock)."""
    data = _load(text)
    name = data.get("name") if isinstance(data, dict) else None
    return name.lower() if isinstance(name, str) else None


@dataclass(frozen=True)
class ComposerProject:
    directory: str
    manifest: ComposerManifest
    packages: tuple[LockedPackage, ...]
    #: `host:path/composer.lock`, for messages.
    lock_origin: str

    def locked(self, name: str) -> LockedPackage | None:
        key = name.lower()
        return next((p for p in self.packages if p.name.lower() == key), None)


def read_project(site: SiteContext, directory: str | None = None) -> ComposerProject:
    """composer.json and composer.lock of `directory` (default: the site path), from
    `site.files` when detection read them, else in one round trip."""
    directory = directory or site.path
    json_path = posixpath.join(directory, COMPOSER_JSON)
    lock_path = posixpath.join(directory, COMPOSER_LOCK)
    unread = [path for path in (json_path, lock_path) if path not in site.files]
    if unread:
        site.remember(site.host.read_many(unread))
    lock_origin = f"{site.host.name}:{lock_path}"
    # A file there but not read (unreadable, over the size cap) is the site's error: these two
    # files are its whole inventory.
    for path in (json_path, lock_path):
        problem = site.file_problem(path)
        if problem is not None:
            raise SiteTreeError(f"{site.host.name}:{path}: {problem}")
    lock_text = site.files.get(lock_path)
    if lock_text is None:
        raise SiteTreeError(
            f"{lock_origin}: missing (installed versions are read from the composer.lock that "
            "`composer install` uses; commit it with the project)"
        )
    json_text = site.files.get(json_path)
    # Without composer.json every package counts as transitive: still checked, never guessed.
    manifest = (
        parse_composer_json(json_text, f"{site.host.name}:{json_path}")
        if json_text is not None
        else ComposerManifest()
    )
    packages = parse_composer_lock(lock_text, lock_origin, manifest)
    return ComposerProject(directory, manifest, tuple(packages), lock_origin)


def package_component(package: LockedPackage, kind: ComponentKind) -> Component:
    """A locked package as a component; `extra` carries what the evaluator needs."""
    return Component(
        name=package.name,
        kind=kind,
        installed=package.version,
        origin=COMPOSER_LOCK,
        extra={
            "type": package.type,
            "dev": package.dev,
            "direct": package.direct,
            "constraint": package.constraint,
            "abandoned": package.abandoned,
        },
    )
