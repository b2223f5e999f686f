"""Fixtures for the feed server and the shared fetcher (owned by the sources work)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tma_agent.sources import Fetcher
from tma_agent.testing.feeds import FeedServer

__all__ = ["feed_server", "fetcher"]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh local feed server for one test."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    """A Fetcher for one test: no disk cache, short timeout, near-zero retry backoff."""
    with Fetcher(timeout=2.0, backoff=0.001, max_retry_after=0.05) as shared:
        yield shared
