"""Tell a Drupal tree and its document root from the marker files read during detection.

Drupal 8 to 11 is recognised by `core/lib/Drupal.php` (`const VERSION = '10.2.3';`), Drupal 7 by
`includes/bootstrap.inc` (`define('VERSION', '7.98');`), each either in the site path or in a
`web/` or `docroot/` sub-directory (Composer and Acquia layouts). `composer.lock` sits at the
site path (the project root), whatever the docroot; when it pins `drupal/core` its version wins
over the PHP constant, as for contrib (see inventory.py).
"""

from __future__ import annotations

import posixpath
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tma_agent._json import JSONError, parse_json
from tma_agent.errors import SiteTreeError

__all__ = [
    "DOCROOT_CANDIDATES",
    "CoreFacts",
    "composer_packages",
    "core_facts",
    "detect_paths",
    "parse_core_constant",
    "strict_composer_packages",
]

#: Sub-directories of the site path that may hold the docroot, most specific layouts first.
DOCROOT_CANDIDATES = ("", "web", "docroot")
DRUPAL8_MARKER = "core/lib/Drupal.php"
DRUPAL7_MARKER = "includes/bootstrap.inc"
COMPOSER_LOCK = "composer.lock"

_D8_VERSION = re.compile(r"""const\s+VERSION\s*=\s*['"]([^'"]+)['"]""")
_D7_VERSION = re.compile(r"""define\(\s*['"]VERSION['"]\s*,\s*['"]([^'"]+)['"]\s*\)""")
#: The last lock parsed by this thread: detection and inventory of one site (one thread) each
#: read the same composer.lock, a ~1 ms parse per 60 KB. Big locks are not kept alive for it.
_last_parse = threading.local()
_MEMO_MAX_CHARS = 1024 * 1024
#: Composer packages that carry the core version, most authoritative first.
_CORE_PACKAGES = ("drupal/core", "drupal/core-recommended", "drupal/drupal")


@dataclass(frozen=True)
class CoreFacts:
    """Where Drupal lives in a site path and which core it runs."""

    #: The docroot relative to the site path ("" when the site path is the docroot).
    docroot: str
    drupal7: bool
    #: The core version, None when no file states it legibly.
    version: str | None
    #: The file the version was read from, or the marker file that failed to give one.
    origin: str


def detect_paths() -> list[str]:
    paths = [COMPOSER_LOCK]
    for docroot in DOCROOT_CANDIDATES:
        paths.append(posixpath.join(docroot, DRUPAL8_MARKER))
        paths.append(posixpath.join(docroot, DRUPAL7_MARKER))
    return paths


def parse_core_constant(content: str, *, drupal7: bool) -> str | None:
    match = (_D7_VERSION if drupal7 else _D8_VERSION).search(content)
    return match.group(1).strip() if match else None


def core_facts(files: Mapping[str, str | None]) -> CoreFacts | None:
    """Find Drupal among `files` (paths relative to the site path); None when it is not there."""
    lock = composer_packages(files.get(COMPOSER_LOCK))
    for docroot in DOCROOT_CANDIDATES:
        d8_file = posixpath.join(docroot, DRUPAL8_MARKER)
        d8_content = files.get(d8_file)
        if d8_content is not None:
            composer_core = next(
                (lock[name]["version"] for name in _CORE_PACKAGES if name in lock), None
            )
            if isinstance(composer_core, str) and composer_core:
                return CoreFacts(docroot, False, composer_core.removeprefix("v"), COMPOSER_LOCK)
            version = parse_core_constant(d8_content, drupal7=False)
            return CoreFacts(docroot, False, version, d8_file)
        d7_file = posixpath.join(docroot, DRUPAL7_MARKER)
        d7_content = files.get(d7_file)
        # Other PHP applications ship an includes/bootstrap.inc too: require Drupal's constant.
        if d7_content is not None and "DRUPAL_" in d7_content:
            return CoreFacts(docroot, True, parse_core_constant(d7_content, drupal7=True), d7_file)
    return None


def composer_packages(content: str | None) -> dict[str, dict[str, Any]]:
    """name -> package of a composer.lock or installed.json (Composer 1 list or Composer 2
    object); an unreadable file gives no packages (the caller falls back to the tree)."""
    if not content:
        return {}
    try:
        return strict_composer_packages(content, "")
    except SiteTreeError:
        return {}


def strict_composer_packages(content: str, where: str) -> dict[str, dict[str, Any]]:
    """`composer_packages`, but a file that is not a lock is a SiteTreeError naming `where`."""
    last = getattr(_last_parse, "entry", None)
    if last is not None and last[0] is content:
        return dict(last[1])
    packages = _parse_packages(content, where)
    _last_parse.entry = (content, packages) if len(content) <= _MEMO_MAX_CHARS else None
    return dict(packages)


def _parse_packages(content: str, where: str) -> dict[str, dict[str, Any]]:
    try:
        data = parse_json(content)
    except JSONError as exc:
        raise SiteTreeError(f"{where}: {exc}") from None
    if isinstance(data, dict):
        sections = [data.get("packages") or [], data.get("packages-dev") or []]
        if not all(isinstance(section, list) for section in sections):
            raise SiteTreeError(f"{where}: packages is not a list")
        entries = [*sections[0], *sections[1]]
    elif isinstance(data, list):
        entries = data
    else:
        raise SiteTreeError(f"{where}: not a composer.lock or installed.json")
    return {
        entry["name"]: entry
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }
