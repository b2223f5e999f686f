"""Tell a generic Composer project (Symfony, Laravel, any composer.lock site) from the files of
the detection round trip.

The site path holds `composer.json` and `composer.lock`. Detection is *firstresult* in plugin
order, and nearly every PHP stack is a Composer project too, so this stack answers only when no
other stack would claim the tree; it refuses when
- the lock holds a package another stack is built on: `drupal/core`, `drupal/core-recommended`
  (Drupal), `magento/product-community-edition`, `magento/product-enterprise-edition`,
  `mage-os/product-community-edition`, `magento/magento2-base` (Magento),
  `prestashop/prestashop` (PrestaShop; also as composer.json's own `name`);
- a marker file of another stack exists: `wp-includes/version.php` (WordPress, at the site path
  or in `public/`, `web/`, `htdocs/`, `wordpress/`), `core/lib/Drupal.php` (Drupal, also in
  `web/`, `docroot/`), `app/etc/env.php` (Magento), `config/defines.inc.php` (PrestaShop).
Configure `stack: composer` to check such a tree as a plain Composer project anyway (a lock
alone then suffices; without composer.json every package counts as transitive).

A lock that cannot be read does not stop detection (unless a marker file says the tree is
another stack's): the inventory then fails naming composer.lock. The framework, when there is
one, is told by its package: `symfony/framework-bundle` (Symfony) or `laravel/framework`
(Laravel); its installed version becomes `Detection.version` and the component carries
`extra["framework"]`. The root is the site path (composer.json's directory).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_site import (
    COMPOSER_JSON,
    COMPOSER_LOCK,
    lock_package_names,
    locked_version,
    manifest_name,
)
from tma_agent.models import Detection

__all__ = [
    "FRAMEWORKS",
    "OTHER_STACK_FILES",
    "OTHER_STACK_PACKAGES",
    "STACK",
    "detect_composer",
    "detect_paths",
    "framework_of",
]

STACK = "composer"
#: Framework name -> the package that makes a project one.
FRAMEWORKS: Mapping[str, str] = {
    "symfony": "symfony/framework-bundle",
    "laravel": "laravel/framework",
}
#: Locked (or root) package -> the stack that owns such a tree.
OTHER_STACK_PACKAGES: Mapping[str, str] = {
    "drupal/core": "drupal",
    "drupal/core-recommended": "drupal",
    "magento/product-community-edition": "magento",
    "magento/product-enterprise-edition": "magento",
    "mage-os/product-community-edition": "magento",
    "magento/magento2-base": "magento",
    "prestashop/prestashop": "prestashop",
}
#: Marker file (relative to the site path) -> the stack it belongs to.
OTHER_STACK_FILES: Mapping[str, str] = {
    **{
        f"{prefix}wp-includes/version.php": "wordpress"
        for prefix in ("", "public/", "web/", "htdocs/", "wordpress/")
    },
    **{f"{prefix}core/lib/Drupal.php": "drupal" for prefix in ("", "web/", "docroot/")},
    "app/etc/env.php": "magento",
    "config/defines.inc.php": "prestashop",
}


def detect_paths() -> list[str]:
    return [COMPOSER_JSON, COMPOSER_LOCK, *OTHER_STACK_FILES]


def framework_of(lock_text: str | None) -> tuple[str, str] | None:
    """(framework, installed version) from a lock's text, or None."""
    found = locked_version(lock_text, list(FRAMEWORKS.values()))
    if found is None:
        return None
    framework = next(f for f, package in FRAMEWORKS.items() if package == found[0])
    return framework, found[1]


def owner(files: Mapping[str, str | None]) -> str | None:
    """The other stack that owns this tree, if any."""
    for path, stack in OTHER_STACK_FILES.items():
        if files.get(path) is not None:
            return stack
    names = set(lock_package_names(files.get(COMPOSER_LOCK)) or ())
    root = manifest_name(files.get(COMPOSER_JSON))
    if root is not None:
        names.add(root)
    return next(
        (stack for package, stack in OTHER_STACK_PACKAGES.items() if package in names), None
    )


def detect_composer(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    if site.stack not in (None, STACK):
        return None
    manifest, lock = files.get(COMPOSER_JSON), files.get(COMPOSER_LOCK)
    # A lock there but not read (unreadable, too big) still makes the tree Composer's: the
    # inventory then names it.
    lock_found = (
        lock is not None or site.file_problem(posixpath.join(site.path, COMPOSER_LOCK)) is not None
    )
    if site.stack is None and (manifest is None or not lock_found or owner(files) is not None):
        return None
    if manifest is None and not lock_found:
        return None
    found = framework_of(files.get(COMPOSER_LOCK))
    return Detection(STACK, site.path, found[1] if found else None)
