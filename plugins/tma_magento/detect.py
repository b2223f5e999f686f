"""Tell a Magento 2 / Adobe Commerce / Mage-OS site from the files of the detection round trip.

The site path is the Magento root (where `composer.json`, `app/etc/env.php` and `bin/magento`
live; the web server's document root is its `pub/`, but the agent reads from the root). The
lock names the product: `magento/product-enterprise-edition` (Adobe Commerce, which also locks
the community one), `magento/product-community-edition`, `mage-os/product-community-edition`,
or, for a project built on it directly, `magento/magento2-base`: the first found in that order
is the core. `app/etc/env.php` (written by `setup:install`) tells an installed site; a lock that
cannot be read next to it still makes the tree Magento's, and the inventory names the lock.
A tree without env.php whose lock names a product is Magento code too (a fresh checkout).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_site import (
    COMPOSER_JSON,
    COMPOSER_LOCK,
    lock_package_names,
    locked_version,
)
from tma_agent.models import Detection

__all__ = [
    "BIN_MAGENTO",
    "ENV_PHP",
    "PRODUCT_PACKAGES",
    "STACK",
    "detect_magento",
    "detect_paths",
    "mage_mode",
    "product_version",
]

STACK = "magento"
ENV_PHP = "app/etc/env.php"
BIN_MAGENTO = "bin/magento"
#: Packages that carry the Magento version, the core component's name: first found wins.
PRODUCT_PACKAGES = (
    "magento/product-enterprise-edition",
    "magento/product-community-edition",
    "mage-os/product-community-edition",
    "magento/magento2-base",
)
_MAGE_MODE = re.compile(r"""['"]MAGE_MODE['"]\s*=>\s*['"](\w+)['"]""")


def detect_paths() -> list[str]:
    return [COMPOSER_JSON, COMPOSER_LOCK, ENV_PHP]


def product_version(lock_text: str | None) -> tuple[str, str] | None:
    """(product package, version) of a lock, or None when it names no Magento product."""
    return locked_version(lock_text, PRODUCT_PACKAGES)


def mage_mode(env_php: str | None) -> str | None:
    """`MAGE_MODE` of app/etc/env.php (`production`, `developer`, `default`), read as data."""
    match = _MAGE_MODE.search(env_php or "")
    return match.group(1) if match else None


def detect_magento(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    if site.stack not in (None, STACK):
        return None
    lock, env = files.get(COMPOSER_LOCK), files.get(ENV_PHP)
    product = product_version(lock)
    if product is not None:
        return Detection(STACK, site.path, product[1])
    unreadable_lock = lock is not None and lock_package_names(lock) is None
    if site.stack == STACK or (env is not None and (lock is None or unreadable_lock)):
        # Magento's by configuration or by its env.php: let the inventory say what is wrong.
        return Detection(STACK, site.path, None)
    return None
