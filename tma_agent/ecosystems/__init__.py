"""Package ecosystems shared by several stacks, written once.

- `composer_lock`: what a Composer project has installed (composer.lock, installed.json) and
  asks for (composer.json), parsed from text the stack plugin read with the site's host.
- `composer_repository`: releases of a package from Composer v2 repositories (p2 metadata).
- `packagist_advisories`: security advisories from Packagist's API, matched against versions.

Used by the Drupal 8+, Magento, PrestaShop and Composer-site (Symfony...) plugins.
"""

from __future__ import annotations

from tma_agent.ecosystems.composer_lock import (
    ComposerManifest,
    LockedPackage,
    ManifestRepository,
    parse_composer_json,
    parse_composer_lock,
    parse_installed_json,
)
from tma_agent.ecosystems.composer_repository import (
    ComposerRepositories,
    PackageMetadata,
    PackageRelease,
    expand_minified,
)
from tma_agent.ecosystems.packagist_advisories import (
    PackageAdvisory,
    PackagistAdvisories,
    affecting,
)

__all__ = [
    "ComposerManifest",
    "ComposerRepositories",
    "LockedPackage",
    "ManifestRepository",
    "PackageAdvisory",
    "PackageMetadata",
    "PackageRelease",
    "PackagistAdvisories",
    "affecting",
    "expand_minified",
    "parse_composer_json",
    "parse_composer_lock",
    "parse_installed_json",
]
