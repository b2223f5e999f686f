"""Build a SiteContext for plugin tests without a config file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from tma_agent.context import SiteContext
from tma_agent.hosts import Host
from tma_agent.sources import Fetcher

__all__ = ["site_context"]


def site_context(
    host: Host,
    path: str,
    *,
    fetcher: Fetcher,
    source_urls: Mapping[str, str],
    stack: str | None = None,
    site_id: str = "test-site",
    options: Mapping[str, Any] | None = None,
) -> SiteContext:
    return SiteContext(
        site_id=site_id,
        client="test-client",
        env="production",
        host=host,
        path=path,
        url=None,
        fetcher=fetcher,
        source_urls=source_urls,
        log=structlog.get_logger().bind(site=site_id),
        stack=stack,
        options=options or {},
    )
