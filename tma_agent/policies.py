"""Update policies: what a client wants done, applied to findings without hiding any.

A finding that a policy holds back keeps its `update` verdict and gains `policy`
(`ignored`, `too_recent`, `not_allowed`) and `policy_reason`; reports show it, and it no longer
makes the site need work. Choices, in the spirit of Renovate's `ignoreDeps`,
`minimumReleaseAge` and `allowedVersions`:
- an `ignore` rule matches the component name (shell-style pattern allowed), the installed
  version when `versions` is given, and only until its `until` date (inclusive);
- the size of an update (patch, minor, major) is read between installed and recommended;
  a security fix is allowed when `security` is allowed, whatever its size;
- `min_release_age_days` never holds back a security fix;
- a `pin` holds back any recommended version outside its constraint, security fixes included
  (a pin is an explicit decision; the finding stays visible).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from fnmatch import fnmatchcase

from structlog.typing import FilteringBoundLogger

from tma_agent.config import IgnoreRule, Policy
from tma_agent.models import SECURITY_KINDS, UPDATE_SEVERITY, Finding
from tma_agent.versions import satisfies, update_level

__all__ = ["apply_policy", "needs_work"]


def needs_work(finding: Finding) -> bool:
    """Whether a finding asks for an update that no policy holds back."""
    return finding.update in UPDATE_SEVERITY and finding.policy is None


def apply_policy(
    findings: Iterable[Finding], policy: Policy, *, today: date, log: FilteringBoundLogger
) -> None:
    for finding in findings:
        rule = _matching_rule(finding, policy.ignore, today, log)
        if rule is not None:
            until = f" (until {rule.until.isoformat()})" if rule.until else ""
            finding.policy, finding.policy_reason = "ignored", f"{rule.reason}{until}"
            continue
        if finding.update not in UPDATE_SEVERITY:
            continue
        _hold_back(finding, policy, today, log)


def _matching_rule(
    finding: Finding, rules: Iterable[IgnoreRule], today: date, log: FilteringBoundLogger
) -> IgnoreRule | None:
    for rule in rules:
        if not fnmatchcase(finding.name, rule.component):
            continue
        if rule.until is not None and rule.until < today:
            log.info("ignore rule expired", component=finding.name, until=str(rule.until))
            continue
        if rule.versions is not None and not _satisfies(finding.installed, rule.versions, log):
            continue
        return rule
    return None


def _hold_back(finding: Finding, policy: Policy, today: date, log: FilteringBoundLogger) -> None:
    security = finding.update in SECURITY_KINDS
    pin = policy.pin.get(finding.name)
    if pin and finding.recommended and not _satisfies(finding.recommended, pin, log):
        finding.policy = "not_allowed"
        finding.policy_reason = f"pinned to {pin}"
        return
    level = _level(finding)
    if policy.allow is not None:
        allowed = (security and "security" in policy.allow) or (
            level is not None and level in policy.allow
        )
        if not allowed:
            kind = "security" if security else (level or "unknown-size")
            finding.policy = "not_allowed"
            finding.policy_reason = (
                f"{kind} updates are not allowed (allow: {', '.join(policy.allow) or 'nothing'})"
            )
            return
    minimum = policy.min_release_age_days
    if minimum and not security and finding.released:
        try:
            released = date.fromisoformat(finding.released[:10])
        except ValueError:
            log.info("unreadable release date", component=finding.name, released=finding.released)
            return
        age = (today - released).days
        if age < minimum:
            finding.policy = "too_recent"
            finding.policy_reason = (
                f"{finding.recommended} released {released.isoformat()}, {age} days ago "
                f"(minimum {minimum})"
            )


def _level(finding: Finding) -> str | None:
    if not finding.installed or not finding.recommended:
        return None
    try:
        return update_level(finding.installed, finding.recommended)
    except ValueError:
        return None


def _satisfies(version: str | None, constraint: str, log: FilteringBoundLogger) -> bool:
    if version is None:
        return False
    # drupal.org's legacy `8.x-1.2` is release 1.2 of the project: the core prefix is no version.
    version = re.sub(r"^\d+\.x-", "", version)
    try:
        return satisfies(version, constraint)
    except ValueError as exc:
        log.warning("policy constraint not understood", constraint=constraint, error=str(exc))
        return False
