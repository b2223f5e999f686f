"""Fixtures for the feed server (owned by the sources work)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tma_agent.testing.feeds import FeedServer

__all__ = ["feed_server"]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh local feed server for one test."""
    with FeedServer() as server:
        yield server
