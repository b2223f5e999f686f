"""What an apply works on: the staging environment checked now (not the production report of
last night), its findings narrowed to `--component` names and, for auto-apply, to the update
kinds the policy lets the agent apply by itself."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pluggy

from tma_agent.config import Config, Site
from tma_agent.errors import TmaError
from tma_agent.models import SECURITY_KINDS, Finding, SiteReport
from tma_agent.policies import needs_work
from tma_agent.versions import update_level

__all__ = ["STAGING", "auto_appliable", "check_staging", "select_findings"]

STAGING = "staging"


def check_staging(config: Config, pm: pluggy.PluginManager, site: Site) -> SiteReport:
    """Check the site's staging environment with the same runner as `tma check`."""
    from tma_agent.runner import CheckRun
    from tma_agent.sources import Fetcher

    if STAGING not in site.environments:
        raise TmaError(f"site {site.id!r} has no staging environment: apply works in staging")
    staging = site.model_copy(update={"check": STAGING})
    cache_dir = config.ensure_state_dir() / "http-cache"
    with Fetcher.from_config(config, cache_dir) as fetcher:
        report = CheckRun(config, pm, fetcher=fetcher).check_one(staging)
    if report is None:  # only with --stack, which apply never passes
        raise TmaError(f"site {site.id!r}: the staging check gave no report")
    if report.status in ("unreachable", "error"):
        raise TmaError(f"site {site.id!r}: staging check {report.status}: {report.error}")
    return report


def select_findings(findings: Sequence[Finding], components: Collection[str]) -> list[Finding]:
    """The findings that need work, only those of `components` when given (each must be one)."""
    wanted = [f for f in findings if needs_work(f)]
    if not components:
        return wanted
    names = {f.name for f in wanted}
    unknown = sorted(set(components) - names)
    if unknown:
        listed = ", ".join(sorted(names)) or "none"
        raise TmaError(
            f"--component {', '.join(unknown)}: no update to apply in staging (updatable: {listed})"
        )
    return [f for f in wanted if f.name in components]


def auto_appliable(findings: Sequence[Finding], levels: Collection[str]) -> list[Finding]:
    """The findings the policy's `auto_apply` levels cover (`security`, `patch`, ...)."""
    chosen = []
    for finding in findings:
        if not needs_work(finding):
            continue
        if finding.update in SECURITY_KINDS and "security" in levels:
            chosen.append(finding)
            continue
        level = _level(finding)
        if level is not None and level in levels:
            chosen.append(finding)
    return chosen


def _level(finding: Finding) -> str | None:
    if not finding.installed or not finding.recommended:
        return None
    try:
        return update_level(finding.installed, finding.recommended)
    except ValueError:
        return None
