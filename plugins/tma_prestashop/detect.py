"""Tell a PrestaShop site, and its core version, from the files of the detection round trip.

- 1.7, 8 and 9: `app/AppKernel.php` declares `const VERSION = '8.1.7';` (`public const` on
  newer releases). It wins over settings.inc.php, which a shop upgraded from 1.6 keeps with its
  old `_PS_VERSION_`.
- 1.6 (and 1.5): `config/settings.inc.php` has `define('_PS_VERSION_', '1.6.1.24');`, usually
  guarded by `if (!defined('_PS_VERSION_'))`.

Both are PHP read as data with regexes, comments stripped first, never executed. A Symfony app
also has an app/AppKernel.php, so that file alone is not enough: `config/defines.inc.php`
(every PrestaShop since 1.5) or the word PrestaShop in AppKernel.php must back it up.
The document root is the site path, or `public/` / `htdocs/` / `www/` below it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tma_agent.context import SiteContext
from tma_agent.models import Detection

__all__ = [
    "APP_KERNEL",
    "DEFINES",
    "DOCROOT_PREFIXES",
    "SETTINGS",
    "STACK",
    "CoreFacts",
    "core_facts",
    "detect_paths",
    "detect_prestashop",
    "strip_php_comments",
]

STACK = "prestashop"
APP_KERNEL = "app/AppKernel.php"
SETTINGS = "config/settings.inc.php"
DEFINES = "config/defines.inc.php"
DOCROOT_PREFIXES = ("", "public/", "htdocs/", "www/")

_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT = re.compile(r"(?m)^\s*(?://|#).*$")
_KERNEL_VERSION = re.compile(
    r"""(?<![\w$])(?:(?:public|final)\s+)*const\s+VERSION\s*=\s*(['"])([^'"\s]+)\1\s*;"""
)
_PS_VERSION_DEFINE = re.compile(
    r"""define\(\s*(['"])_PS_VERSION_\1\s*,\s*(['"])([^'"\s]+)\2\s*\)"""
)


def strip_php_comments(text: str) -> str:
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", text))


@dataclass(frozen=True)
class CoreFacts:
    #: The root relative to the site path ("" or "public" ...).
    docroot: str
    version: str | None
    #: The file the version came from, relative to the root.
    origin: str


def _kernel_version(text: str) -> str | None:
    match = _KERNEL_VERSION.search(strip_php_comments(text))
    return match.group(2) if match else None


def _settings_version(text: str) -> str | None:
    match = _PS_VERSION_DEFINE.search(strip_php_comments(text))
    return match.group(3) if match else None


def core_facts(files: Mapping[str, str | None]) -> CoreFacts | None:
    """The first document root that is PrestaShop, or None. `version` is None when the tree is
    PrestaShop but its version cannot be read (the inventory then names the file)."""
    for prefix in DOCROOT_PREFIXES:
        kernel, settings = files.get(prefix + APP_KERNEL), files.get(prefix + SETTINGS)
        has_defines = files.get(prefix + DEFINES) is not None
        docroot = prefix.rstrip("/")
        if kernel is not None and (has_defines or "prestashop" in kernel.lower()):
            return CoreFacts(docroot, _kernel_version(kernel), APP_KERNEL)
        if settings is not None:
            version = _settings_version(settings)
            if version or has_defines:
                return CoreFacts(docroot, version, SETTINGS)
    return None


def detect_paths() -> list[str]:
    return [
        prefix + name for prefix in DOCROOT_PREFIXES for name in (APP_KERNEL, SETTINGS, DEFINES)
    ]


def detect_prestashop(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    if site.stack not in (None, STACK):
        return None
    facts = core_facts(files)
    if facts is None:
        return None
    root = posixpath.normpath(posixpath.join(site.path, facts.docroot))
    return Detection(STACK, root, facts.version)
