"""The Magento stack (`magento`): Magento 2, Adobe Commerce and Mage-OS.

Modules: `detect` (the product package in composer.lock, app/etc/env.php), `inventory` (core
meta-package and every locked package, from the lock detection read: one round trip per
site), `evaluate` (release lines of the core, over the shared Composer evaluator), `hooks`
(the `StackPlugin`), `testing` (Magento trees and product releases).

Configuration (shared with the `composer` stack):
- `sources.composer.repositories`: Composer v2 repositories asked in order, e.g. a mirror, then
  `https://repo.magento.com` with `auth: {username: {$env: MAGENTO_PUBLIC_KEY}, password:
  {$env: MAGENTO_PRIVATE_KEY}}` (Marketplace keys, sent only to that host); default one
  repository at `sources.composer.url` (https://repo.packagist.org).
- `sources.packagist.url`: the security advisories API (https://packagist.org).
- `sites[].options.composer_transitive: true`: fetch release metadata for transitive packages
  too (Magento's own `magento/module-*` follow the product; by default they, like every
  transitive package, are checked against advisories only).
"""

from __future__ import annotations

from tma_magento.hooks import MagentoStack

__all__ = ["MagentoStack", "plugin"]

#: What the `tma_agent` entry point registers.
plugin = MagentoStack()
