"""Tell a WordPress site from the files the runner reads in its single detection round trip.

A site is WordPress when `wp-includes/version.php` assigns `$wp_version`. The document root is
the site path itself or one of a few usual sub-directories (`public/`, `web/`, `htdocs/`,
`wordpress/`), so a repository that keeps WordPress one level down is found without a second
round trip. `wp-config.php` is read in the same trip because the inventory needs it to find the
content directory (see `inventory.py`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tma_agent.context import SiteContext
from tma_agent.models import Detection
from tma_wordpress.headers import read_php_string_variable

__all__ = [
    "DOCROOT_PREFIXES",
    "STACK",
    "VERSION_FILE",
    "CoreFacts",
    "detect_paths",
    "detect_wordpress",
    "read_core_facts",
]

STACK = "wordpress"
VERSION_FILE = "wp-includes/version.php"
_MARKER_FILES = (VERSION_FILE, "wp-config.php", "wp-load.php")
#: Tried in this order; "" is the site path itself.
DOCROOT_PREFIXES = ("", "public/", "web/", "htdocs/", "wordpress/")


@dataclass(frozen=True)
class CoreFacts:
    """What wp-includes/version.php says."""

    version: str | None
    required_php: str | None
    db_version: str | None


def read_core_facts(version_php: str) -> CoreFacts:
    return CoreFacts(
        version=read_php_string_variable(version_php, "wp_version"),
        required_php=read_php_string_variable(version_php, "required_php_version"),
        db_version=_read_php_int(version_php, "wp_db_version"),
    )


def _read_php_int(text: str, variable: str) -> str | None:
    match = re.search(
        r"^\s*\$" + re.escape(variable) + r"\s*=\s*(\d+)\s*;", text, flags=re.MULTILINE
    )
    return match.group(1) if match else None


def detect_paths() -> list[str]:
    return [prefix + name for prefix in DOCROOT_PREFIXES for name in _MARKER_FILES]


def detect_wordpress(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    if site.stack not in (None, STACK):
        return None
    for prefix in DOCROOT_PREFIXES:
        version_php = files.get(prefix + VERSION_FILE)
        if version_php is None:
            continue
        facts = read_core_facts(version_php)
        if facts.version is None and files.get(prefix + "wp-load.php") is None:
            # A lone version.php without $wp_version is not enough to call it WordPress.
            continue
        root = posixpath.join(site.path, prefix.rstrip("/")) if prefix else site.path
        return Detection(STACK, root, facts.version)
    return None
