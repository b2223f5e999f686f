"""List a Magento site's components from the composer.lock detection already read.

- The core: the product meta-package (kind `core`, named by its Composer name, e.g.
  `magento/product-community-edition`). The other product packages of the lock
  (`magento/magento2-base`, and the community edition under Adobe Commerce) carry the same
  version: they are folded into the core (`extra["meta_packages"]`) rather than listed twice.
  `extra["mode"]` is env.php's `MAGE_MODE`, `extra["installed"]` whether env.php exists.
- Every other locked package: kind `module` for type `magento2-module` (Magento's own
  `magento/module-*` and third-party modules), `package` for the rest (libraries, themes,
  language packs, metapackages), as in the Composer stack (see `composer_site`).
Order: core, then direct packages, then the others, each by name.
"""

from __future__ import annotations

import posixpath

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_site import package_component, read_project
from tma_agent.errors import SiteTreeError
from tma_agent.models import Component
from tma_magento.detect import ENV_PHP, PRODUCT_PACKAGES, mage_mode

__all__ = ["list_components"]


def list_components(site: SiteContext) -> list[Component]:
    project = read_project(site)
    locked = {p.name.lower(): p for p in project.packages}
    product = next((name for name in PRODUCT_PACKAGES if name in locked), None)
    if product is None:
        raise SiteTreeError(
            f"{project.lock_origin}: no Magento product package (one of "
            f"{', '.join(PRODUCT_PACKAGES)}) is locked"
        )
    env_php = site.files.get(posixpath.join(site.path, ENV_PHP))
    core = package_component(locked[product], "core")
    core.extra["meta_packages"] = [n for n in PRODUCT_PACKAGES if n in locked and n != product]
    core.extra["installed"] = env_php is not None
    core.extra["mode"] = mage_mode(env_php)
    others = [
        package_component(p, "module" if p.type == "magento2-module" else "package")
        for p in project.packages
        if p.name.lower() not in PRODUCT_PACKAGES
    ]
    others.sort(key=lambda c: (not c.extra["direct"], c.name))
    return [core, *others]
