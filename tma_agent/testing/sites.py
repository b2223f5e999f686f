"""Check one site tree from a test, without a config file: the real runner, host and fetcher."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy
import structlog

from tma_agent.config import SourceSettings, load_config
from tma_agent.context import SiteContext
from tma_agent.hosts import Host, LocalHost
from tma_agent.models import SiteReport
from tma_agent.plugin_settings import registered_settings
from tma_agent.plugins import get_plugin_manager
from tma_agent.run_scope import RunScope
from tma_agent.runner import CheckRun, check_site
from tma_agent.sources import Fetcher

__all__ = ["check_path", "run_fleet", "site_context", "write_fleet_config"]


def site_context(
    host: Host,
    path: str,
    *,
    fetcher: Fetcher,
    source_urls: Mapping[str, str],
    stack: str | None = None,
    site_id: str = "test-site",
    options: Mapping[str, Any] | None = None,
    sources: Mapping[str, SourceSettings] | None = None,
    run: RunScope | None = None,
) -> SiteContext:
    """A context as the runner builds it; give several sites one `run` to share a run scope."""
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
        sources=sources or {},
        run=run or RunScope(),
    )


def check_path(
    path: str | Path,
    *,
    fetcher: Fetcher,
    source_urls: Mapping[str, str],
    stack: str | None = None,
    site_id: str = "test-site",
    options: Mapping[str, Any] | None = None,
    sources: Mapping[str, SourceSettings] | None = None,
    host: Host | None = None,
    pm: pluggy.PluginManager | None = None,
    run: RunScope | None = None,
) -> SiteReport:
    """Detect, inventory and evaluate the site at `path` (on `host`, local by default) as
    `tma check` would, with only the given sources registered; sites checked with one `run`
    (and one fetcher) are sites of one run."""
    site = site_context(
        host or LocalHost(),
        str(path),
        fetcher=fetcher,
        source_urls=source_urls,
        stack=stack,
        site_id=site_id,
        options=options,
        sources=sources,
        run=run,
    )
    report = check_site(site, pm or get_plugin_manager())
    if report is None:  # only an `only_stack` filter, never passed here, rules a site out
        raise AssertionError(f"{path}: no report")
    return report


def write_fleet_config(
    tmp_path: Path,
    sources: Mapping[str, Any],
    sites: Mapping[str, str | Path],
    **extra: Any,
) -> Path:
    """Write `tmp_path/tma.yaml`: one client, one `local` site per name -> path, the given
    sources and any other top-level keys. JSON is YAML, so the real loader reads it."""
    config = {
        "state_dir": str(tmp_path / "state"),
        "sources": dict(sources),
        "clients": [{"id": "acme", "name": "ACME"}],
        "sites": [
            {"id": name, "client": "acme", "environments": {"production": {"path": str(path)}}}
            for name, path in sites.items()
        ],
        **extra,
    }
    target = tmp_path / "tma.yaml"
    target.write_text(json.dumps(config, indent=1))
    return target


def run_fleet(
    config_path: Path,
    *,
    fetcher: Fetcher,
    concurrency: int = 4,
    pm: pluggy.PluginManager | None = None,
) -> tuple[dict[str, SiteReport], CheckRun]:
    """Load the config and check every site as `tma check` does; reports by site id, and the
    run (its `round_trips`, its `fetcher.sent`)."""
    config = load_config(config_path)
    pm = pm or get_plugin_manager()
    config.check_settings(registered_settings(pm))  # as `tma check` does before any site
    run = CheckRun(config, pm, fetcher=fetcher)
    reports = run.run(config.sites, concurrency=concurrency)
    return {report.site: report for report in reports}, run
