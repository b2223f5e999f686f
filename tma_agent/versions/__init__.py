"""Version parsing and comparison, ecosystem-aware, written once for every stack.

One import point (`tma_agent.versions`), one private module per ecosystem:
- `_generic`: release numbers then stability; `-pN` patch releases after the release they patch
  (2.4.7 < 2.4.7-p1 < 2.4.8), pre-releases before the final release.
- `_drupal`: drupal.org's `10.2.3`, `8.x-1.2`, `7.x-3.0-rc1`, `2.0.x-dev`.
- `_composer`, `_composer_constraint`: Composer's normalised versions and constraints, as
  composer/semver reads them (Drupal 8+, Magento, PrestaShop, Symfony).
"""

from __future__ import annotations

from tma_agent.versions._composer import (
    ComposerVersion,
    Stability,
    UpdateLevel,
    normalize_composer,
    stability,
    update_level,
)
from tma_agent.versions._composer_constraint import (
    Comparison,
    Constraint,
    parse_constraint,
    satisfies,
)
from tma_agent.versions._drupal import (
    DrupalVersion,
    composer_to_drupal_candidates,
    drupal_branch_major,
    drupal_major,
    drupal_to_composer,
    parse_drupal,
)
from tma_agent.versions._generic import Version, compare, is_stable, parse
from tma_agent.versions._npm import NpmVersion
from tma_agent.versions._npm_range import NpmRange, max_satisfying, npm_satisfies

__all__ = [
    "Comparison",
    "ComposerVersion",
    "Constraint",
    "DrupalVersion",
    "NpmRange",
    "NpmVersion",
    "Stability",
    "UpdateLevel",
    "Version",
    "compare",
    "composer_to_drupal_candidates",
    "drupal_branch_major",
    "drupal_major",
    "drupal_to_composer",
    "is_stable",
    "max_satisfying",
    "normalize_composer",
    "npm_satisfies",
    "parse",
    "parse_constraint",
    "parse_drupal",
    "satisfies",
    "stability",
    "update_level",
]
