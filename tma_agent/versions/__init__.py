"""Version parsing and comparison, ecosystem-aware, written once for every stack.

One import point (`tma_agent.versions`), one private module per ecosystem:
- `_generic`: release numbers then stability; `-pN` patch releases after the release they patch
  (2.4.7 < 2.4.7-p1 < 2.4.8), pre-releases before the final release.
- `_drupal`: drupal.org's `10.2.3`, `8.x-1.2`, `7.x-3.0-rc1`, `2.0.x-dev`.
"""

from __future__ import annotations

from tma_agent.versions._drupal import (
    DrupalVersion,
    composer_to_drupal_candidates,
    drupal_branch_major,
    drupal_major,
    drupal_to_composer,
    parse_drupal,
)
from tma_agent.versions._generic import Version, compare, is_stable, parse

__all__ = [
    "DrupalVersion",
    "Version",
    "compare",
    "composer_to_drupal_candidates",
    "drupal_branch_major",
    "drupal_major",
    "drupal_to_composer",
    "is_stable",
    "parse",
    "parse_drupal",
]
