"""`tma check --fail-on`: which reports fail the run, and one line per site saying why.

- `security`: a finding no policy ignores is `security`, `insecure` or `revoked`, or an
  advisory affects it whatever its update kind; or the site's security data could not be read:
  a component has `advisories_unavailable`, or the site is `error`/`unreachable` (nothing was
  read). A site whose security is unknown never passes.
- `updates`: a finding needs work (`policies.needs_work`: an update no policy holds back).
- `error`: the site is `error`, `unreachable` or `partial` (a source failed: its data is
  missing from the report, so the run is not clean).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tma_agent.models import SECURITY_KINDS, SiteReport

__all__ = ["FAIL_ON_CHOICES", "fail_reasons"]

FAIL_ON_CHOICES = ("security", "updates", "error")


def fail_reasons(reports: Sequence[SiteReport], fail_on: Iterable[str]) -> list[str]:
    """One line per site and reason that fails the run; empty when the run passes."""
    # policies pulls in the config models: imported only when a run is judged.
    from tma_agent.policies import needs_work

    wanted = set(fail_on)
    reasons: list[str] = []
    for report in reports:
        if "security" in wanted:
            reasons.extend(f"security: {report.site}: {why}" for why in _security(report))
        if "updates" in wanted:
            count = sum(needs_work(f) for f in report.components)
            if count:
                reasons.append(f"updates: {report.site}: {count} component(s) to update")
        if "error" in wanted and report.status in ("error", "unreachable", "partial"):
            reasons.append(f"error: {report.site}: {report.status}: {report.error or ''}".rstrip())
    return reasons


def _security(report: SiteReport) -> list[str]:
    if report.status in ("error", "unreachable"):
        return [f"security data could not be read ({report.status}: {report.error or ''})"]
    watched = [f for f in report.components if f.policy != "ignored"]
    found = [f.name for f in watched if f.update in SECURITY_KINDS or f.advisories]
    unread = [f.name for f in watched if f.advisories_unavailable]
    why = []
    if found:
        why.append(f"{len(found)} component(s) with security findings ({_names(found)})")
    if unread:
        failed = sorted({e.source for e in report.source_errors}) or ["a source"]
        why.append(
            f"security data unavailable for {len(unread)} component(s) ({_names(unread)}): "
            f"{', '.join(failed)} failed"
        )
    return why


def _names(names: Sequence[str], shown: int = 3) -> str:
    more = f", +{len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
