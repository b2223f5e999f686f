"""The Drupal stack plugin: detect Drupal 7 and 8 to 11 sites, list their projects, and classify
each against drupal.org's release history exactly as core's update module does."""

from __future__ import annotations

from tma_drupal.hooks import (
    tma_detect_paths,
    tma_detect_stack,
    tma_evaluate,
    tma_inventory,
    tma_register_sources,
    tma_register_stacks,
)

__all__ = [
    "tma_detect_paths",
    "tma_detect_stack",
    "tma_evaluate",
    "tma_inventory",
    "tma_register_sources",
    "tma_register_stacks",
]
