"""The Drupal stack plugin: detect Drupal 7 and 8 to 11 sites, list their projects, and classify
each against drupal.org's release history exactly as core's update module does."""

from __future__ import annotations

from tma_drupal.hooks import DrupalStack

__all__ = ["DrupalStack", "plugin"]

#: What the `tma_agent` entry point registers.
plugin = DrupalStack()
