"""Where WordPress updates come from, and how a downloaded package is trusted.

- Core: the version-check offer for the target version gives the package URL
  (`packages.full`, else `download`); the checksums API
  (`{api}/core/checksums/1.0/?version=X&locale=L` -> `{"checksums": {path: md5}}`) gives one
  MD5 per file. Every file of the package must be listed with an equal MD5, and its
  `wp-includes/version.php` must declare the target version: anything else refuses the update.
- Plugins and themes: `{api}/plugins/info/1.2/?action=plugin_information&request[slug]=S`
  (themes: `themes/info/1.2/?action=theme_information`) -> `{"version", "download_link"}`; the
  offered version must be the one planned.

Names, versions, locales and URLs are data from upstream or from a plan: each is matched
against a strict pattern (`check_*`) before it is used anywhere, and refused otherwise.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tma_agent.errors import FeedError, TmaError
from tma_agent.sources import Fetcher
from tma_wordpress.api import DEFAULT_LOCALE
from tma_wordpress.detect import VERSION_FILE, read_core_facts

__all__ = [
    "MAX_PACKAGE_BYTES",
    "UnsafeValue",
    "check_locale",
    "check_slug",
    "check_url",
    "check_version",
    "core_checksums",
    "core_package_url",
    "extension_package_url",
    "lenient",
    "verify_core_tree",
]

#: A full WordPress package is ~25 MB; anything much larger is not one.
MAX_PACKAGE_BYTES = 128 * 1024 * 1024

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+-]{0,39}")
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?(_[a-z0-9]{1,10})?")


class UnsafeValue(TmaError, ValueError):
    """A name, version, locale or URL that does not look like one: never used."""


#: What a playbook writes where a step takes data: `{{ version }}`, rendered before the step runs.
_WHOLE_TEMPLATE = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")


def lenient(check: Callable[[object], object]) -> Callable[[type, object], object]:
    """A field validator for step arguments: `check`, except that a playbook's `{{ name }}`
    passes when the playbook is loaded. The step checks the rendered value again (`check`)."""

    def validate(cls: type, value: object) -> object:
        if isinstance(value, str) and _WHOLE_TEMPLATE.fullmatch(value):
            return value
        return check(value)

    return validate


def _matched(pattern: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise UnsafeValue(f"refused {what} {str(value)[:80]!r}: not a valid {what}")
    return value


def check_slug(value: object) -> str:
    return _matched(_SLUG, value, "slug")


def check_version(value: object) -> str:
    return _matched(_VERSION, value, "version")


def check_locale(value: object) -> str:
    return _matched(_LOCALE, value, "locale")


def check_url(value: object) -> str:
    text = str(value)
    parts = urlsplit(text) if isinstance(value, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or ord(c) < 32 for c in text)
    ):
        raise UnsafeValue(f"refused URL {text[:80]!r}: only http(s) URLs are downloaded")
    return text


def _object(fetcher: Fetcher, url: str, params: dict[str, str]) -> dict[str, Any]:
    answer = fetcher.get(url, params=params)
    data = answer.json()
    if not isinstance(data, dict):
        raise FeedError(answer.url, "expected a JSON object")
    return data


def core_package_url(
    fetcher: Fetcher, api: str, installed: str, version: str, locale: str = DEFAULT_LOCALE
) -> str:
    """The offer's full package for `version`, from the version check WordPress itself sends."""
    params = {"version": installed, "locale": locale}
    url = f"{api}/core/version-check/1.7/"
    offers = _object(fetcher, url, params).get("offers")
    for offer in offers if isinstance(offers, list) else []:
        if not isinstance(offer, dict) or offer.get("current", offer.get("version")) != version:
            continue
        packages = offer.get("packages")
        full = packages.get("full") if isinstance(packages, dict) else None
        return check_url(full or offer.get("download"))
    raise FeedError(url, f"no offer for WordPress {version}")


def extension_package_url(fetcher: Fetcher, api: str, kind: str, slug: str, version: str) -> str:
    """`download_link` of a plugin or theme, when the offered version is the planned one."""
    what = "plugin" if kind == "plugin" else "theme"
    url = f"{api}/{what}s/info/1.2/"
    params = {"action": f"{what}_information", "request[slug]": check_slug(slug)}
    info = _object(fetcher, url, params)
    if info.get("version") != version:
        raise FeedError(url, f"{what} {slug}: offered {info.get('version')!r}, planned {version}")
    return check_url(info.get("download_link"))


def core_checksums(fetcher: Fetcher, api: str, version: str, locale: str) -> dict[str, str]:
    url = f"{api}/core/checksums/1.0/"
    params = {"version": check_version(version), "locale": check_locale(locale)}
    checksums = _object(fetcher, url, params).get("checksums")
    # The API answers `"checksums": false` for a version or locale it does not know.
    if not isinstance(checksums, dict) or not checksums:
        raise FeedError(url, f"no checksums for WordPress {version} ({locale})")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in checksums.items()):
        raise FeedError(url, "checksums are not an object of path: md5")
    return {k: v.lower() for k, v in checksums.items()}


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify_core_tree(root: Path, files: list[str], checksums: dict[str, str], version: str) -> None:
    """Every file of the extracted package (`root` = its `wordpress/` directory) has the
    checksum the API lists, every core file the API lists is in it (its `wp-content/` may be
    left out, as in a `no_content` package), and it is the version planned. Raises
    `UnsafeValue`."""
    for name in files:
        expected = checksums.get(name)
        if expected is None:
            raise UnsafeValue(f"WordPress {version} package: {name} has no published checksum")
        if _md5(root / name) != expected:
            raise UnsafeValue(f"WordPress {version} package: {name} does not match its checksum")
    # A truncated package would leave the site without some of its core files.
    present = set(files)
    lacking = sorted(p for p in checksums if not p.startswith("wp-content/") and p not in present)
    if lacking:
        raise UnsafeValue(f"WordPress {version} package: {lacking[0]} is missing from it")
    if VERSION_FILE not in files:
        raise UnsafeValue(f"WordPress {version} package: no {VERSION_FILE}")
    version_php = root / VERSION_FILE
    declared = read_core_facts(version_php.read_text(errors="replace")).version
    if declared != version:
        raise UnsafeValue(f"WordPress {version} package: {VERSION_FILE} declares {declared!r}")
