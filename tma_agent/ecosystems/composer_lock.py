"""What a Composer project installed and what it asks for, from the text of its files.

- `composer.lock`: `packages[]` and `packages-dev[]` (name, version, type, `abandoned`...);
- `vendor/composer/installed.json`: Composer 2 `{"packages": [...], "dev-package-names": [...]}`
  or Composer 1's bare list (which does not say which packages are dev ones);
- `composer.json`: `require` / `require-dev` constraints and `repositories`.

The stack plugin reads the files with the site's host and hands the text over with `origin`
(the path it read, for messages). A file that is not what Composer writes raises SiteTreeError
naming that path; nothing here trusts a field's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tma_agent._json import JSONError, parse_json
from tma_agent.errors import SiteTreeError

__all__ = [
    "ComposerManifest",
    "LockedPackage",
    "ManifestRepository",
    "parse_composer_json",
    "parse_composer_lock",
    "parse_installed_json",
]


@dataclass(frozen=True)
class LockedPackage:
    """One installed package. `direct` and `constraint` come from composer.json when given."""

    name: str
    version: str
    type: str
    dev: bool
    direct: bool
    constraint: str | None
    #: What the lock says of abandonment: False, True, or the suggested replacement package.
    abandoned: bool | str = False
    version_normalized: str | None = None
    #: The package's `extra` block (e.g. Drupal's `extra.drupal.version`).
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ManifestRepository:
    """One entry of composer.json `repositories` (`composer`, `vcs`, `path`, `artifact`...)."""

    type: str
    url: str | None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComposerManifest:
    #: Lower-cased package name -> constraint, platform packages (`php`, `ext-*`) included.
    require: Mapping[str, str] = field(default_factory=dict)
    require_dev: Mapping[str, str] = field(default_factory=dict)
    repositories: tuple[ManifestRepository, ...] = ()
    #: `{"packagist.org": false}` was given: the project does not use Packagist.
    packagist_disabled: bool = False

    def constraint_for(self, name: str) -> str | None:
        key = name.lower()
        return self.require.get(key) or self.require_dev.get(key)


def parse_composer_json(text: str, origin: str) -> ComposerManifest:
    data = _load(text, origin)
    if not isinstance(data, dict):
        raise SiteTreeError(f"{origin}: not a composer.json (top level is not an object)")
    repositories, packagist_disabled = _repositories(data.get("repositories"), origin)
    return ComposerManifest(
        require=_links(data.get("require"), origin, "require"),
        require_dev=_links(data.get("require-dev"), origin, "require-dev"),
        repositories=repositories,
        packagist_disabled=packagist_disabled,
    )


def parse_composer_lock(
    text: str, origin: str, manifest: ComposerManifest | None = None
) -> list[LockedPackage]:
    """Packages of a composer.lock, `packages` then `packages-dev`, each in file order."""
    data = _load(text, origin)
    if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
        raise SiteTreeError(f"{origin}: not a composer.lock (no packages list)")
    dev_entries = data.get("packages-dev") or []
    if not isinstance(dev_entries, list):
        raise SiteTreeError(f"{origin}: packages-dev is not a list")
    return [
        *_packages(data["packages"], origin, "packages", manifest, dev_names=frozenset()),
        *_packages(dev_entries, origin, "packages-dev", manifest, dev_names=None),
    ]


def parse_installed_json(
    text: str, origin: str, manifest: ComposerManifest | None = None
) -> list[LockedPackage]:
    """Packages of vendor/composer/installed.json, Composer 2 or Composer 1 format."""
    data = _load(text, origin)
    if isinstance(data, list):  # Composer 1: no record of which packages are dev ones
        return _packages(data, origin, "", manifest, dev_names=frozenset())
    if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
        raise SiteTreeError(f"{origin}: not an installed.json (no packages list)")
    dev_names = data.get("dev-package-names") or []
    if not isinstance(dev_names, list) or not all(isinstance(n, str) for n in dev_names):
        raise SiteTreeError(f"{origin}: dev-package-names is not a list of names")
    lowered = frozenset(name.lower() for name in dev_names)
    return _packages(data["packages"], origin, "packages", manifest, dev_names=lowered)


def _load(text: str, origin: str) -> Any:
    try:
        return parse_json(text)
    except JSONError as exc:
        raise SiteTreeError(f"{origin}: {exc}") from None


def _packages(
    entries: list[Any],
    origin: str,
    key: str,
    manifest: ComposerManifest | None,
    *,
    dev_names: frozenset[str] | None,
) -> list[LockedPackage]:
    """`dev_names` None means every entry is a dev package (composer.lock `packages-dev`)."""
    packages = []
    for index, entry in enumerate(entries):
        where = f"{key}[{index}]" if key else f"[{index}]"
        if not isinstance(entry, dict):
            raise SiteTreeError(f"{origin}: {where} is not an object")
        name, version = entry.get("name"), entry.get("version")
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
            raise SiteTreeError(f"{origin}: {where} has no name or version")
        abandoned = entry.get("abandoned", False)
        extra = entry.get("extra")
        normalized = entry.get("version_normalized")
        constraint = manifest.constraint_for(name) if manifest else None
        packages.append(
            LockedPackage(
                name=name,
                version=version,
                type=str(entry.get("type") or "library"),
                dev=True if dev_names is None else name.lower() in dev_names,
                direct=constraint is not None,
                constraint=constraint,
                abandoned=abandoned if isinstance(abandoned, bool | str) else bool(abandoned),
                version_normalized=normalized if isinstance(normalized, str) else None,
                extra=extra if isinstance(extra, dict) else {},
            )
        )
    return packages


def _links(value: Any, origin: str, key: str) -> dict[str, str]:
    if value is None or value == []:  # PHP writes an empty object as []
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise SiteTreeError(f"{origin}: {key} is not an object of package constraints")
    return {str(name).lower(): constraint for name, constraint in value.items()}


def _repositories(value: Any, origin: str) -> tuple[tuple[ManifestRepository, ...], bool]:
    if value is None:
        return (), False
    if not isinstance(value, dict | list):
        raise SiteTreeError(f"{origin}: repositories is neither a list nor an object")
    # Both a list and an object keyed by name are valid; `"packagist.org": false` disables it.
    entries: list[tuple[Any, Any]] = (
        list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    )
    repositories: list[ManifestRepository] = []
    packagist_disabled = False
    for key, entry in entries:
        if entry is False or (isinstance(entry, dict) and entry.get("packagist.org") is False):
            if key in ("packagist.org", "packagist") or isinstance(entry, dict):
                packagist_disabled = True
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise SiteTreeError(f"{origin}: repositories[{key!r}] has no type")
        url = entry.get("url")
        options = {k: v for k, v in entry.items() if k not in ("type", "url")}
        repositories.append(
            ManifestRepository(entry["type"], url if isinstance(url, str) else None, options)
        )
    return tuple(repositories), packagist_disabled
