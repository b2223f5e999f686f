"""What `tma run` does for applies once its requests are open: recover the sites' runs killed
in the middle, and auto-apply in staging what the policy's `auto_apply` allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pluggy
from sqlalchemy import select

from tma_agent.apply.findings import STAGING, auto_appliable
from tma_agent.apply.gate import Waiting
from tma_agent.config import Config, Site
from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.locks import LockHeld
from tma_agent.ledger.models import ApplyRun, ApplyState
from tma_agent.models import SiteReport

__all__ = ["after_run"]

#: Check statuses whose findings can be trusted to start an apply.
_TRUSTED = frozenset({"ok", "updates"})


def after_run(
    config: Config, pm: pluggy.PluginManager, ledger: Ledger, reports: Sequence[SiteReport]
) -> list[dict[str, Any]]:
    """One entry per site touched: `{site, state, request, journal, error, recovered}` with
    state succeeded, rolled_back, failed, nothing, waiting, locked, recovered or error."""
    from tma_agent.apply.service import apply_site

    sites = {s.id: s for s in config.sites}
    stale = _sites_with_stale_runs(ledger)
    results = []
    for report in reports:
        site = sites.get(report.site)
        if site is None:
            continue
        levels = config.policy_for(site).auto_apply or []
        wanted = (
            bool(levels)
            and STAGING in site.environments
            and report.status in _TRUSTED
            and bool(auto_appliable(report.components, levels))
        )
        if not wanted and site.id not in stale:
            continue
        entry: dict[str, Any] = {"site": site.id, "request": None, "journal": None}
        try:
            if wanted:
                outcome = apply_site(config, pm, site, auto_levels=levels)
                entry.update(
                    state=outcome.state,
                    request=outcome.request,
                    journal=outcome.journal,
                    error=outcome.error,
                    recovered=outcome.recovered,
                )
            else:
                entry.update(state="recovered", error=None, recovered=_recover(config, pm, site))
        except Waiting as exc:
            entry.update(state="waiting", error=str(exc), recovered=[])
        except LockHeld as exc:
            entry.update(state="locked", error=str(exc), recovered=[])
        except TmaError as exc:
            entry.update(state="error", error=str(exc), recovered=[])
        results.append(entry)
    return results


def _recover(config: Config, pm: pluggy.PluginManager, site: Site) -> list[dict[str, Any]]:
    from tma_agent.apply.service import site_session

    with site_session(config, pm, site, what=None, dry_run=False) as (_, recovered):
        return recovered


def _sites_with_stale_runs(ledger: Ledger) -> set[str]:
    with ledger.session() as session:
        return set(
            session.scalars(select(ApplyRun.site).where(ApplyRun.state == ApplyState.RUNNING))
        )
