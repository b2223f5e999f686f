"""pytest fixtures of default Drupal trees: `drupal10_tree`, `drupal7_tree`.

Load them with `pytest_plugins = ["tma_drupal.testing.fixtures"]` in a conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tma_drupal.testing.trees import DrupalTree, build_drupal7, build_drupal10

__all__ = ["drupal7_tree", "drupal10_tree"]


@pytest.fixture
def drupal10_tree(tmp_path: Path) -> Iterator[DrupalTree]:
    """A default Drupal 10 site (web/ docroot, composer.lock, pathauto, token, a custom module)."""
    yield build_drupal10(tmp_path / "drupal10")


@pytest.fixture
def drupal7_tree(tmp_path: Path) -> Iterator[DrupalTree]:
    """A default Drupal 7 site (views, ctools, a custom module)."""
    yield build_drupal7(tmp_path / "drupal7")
