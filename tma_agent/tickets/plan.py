"""From a site's check report to the requests it asks for: grouping, fingerprints, target
digests, priorities and estimates. Pure functions: no ledger, no ticket system.

Keys (README "Requests"):
- the **fingerprint** names a request for its whole life: `tma:<site>:<group>`, the group being
  `site` (`per_site`), `security` / `routine` (`security_apart`) or `component:<name>`
  (`per_component`); a request that follows a closed one gets `#2`, `#3`... appended;
- the **target digest** hashes what the request asks for (each component's target version and
  advisory ids): when it changes, the open ticket is updated with a note.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tma_agent.models import SECURITY_KINDS, Finding, SiteReport
from tma_agent.policies import needs_work
from tma_agent.tickets._types import Priority
from tma_agent.tickets.settings import RequestSettings

if TYPE_CHECKING:
    from tma_agent.config import Site

__all__ = [
    "MAX_ESTIMATE_MINUTES",
    "MIN_ESTIMATE_MINUTES",
    "PlannedRequest",
    "Target",
    "base_fingerprint",
    "has_newer_target",
    "plan_site",
]

MIN_ESTIMATE_MINUTES = 60
MAX_ESTIMATE_MINUTES = 40 * 60
_URGENT_SEVERITIES = frozenset({"critical", "highly critical", "high"})


@dataclass(frozen=True)
class Target:
    """One component a request asks to update."""

    name: str
    kind: str
    installed: str | None
    #: The version to reach (`recommended`, else `latest`); None when no fixed release exists.
    target: str | None
    update: str
    advisories: tuple[dict[str, Any], ...] = ()

    @property
    def advisory_ids(self) -> list[str]:
        return sorted(str(a["id"]) for a in self.advisories)

    @property
    def security(self) -> bool:
        return self.update in SECURITY_KINDS or bool(self.advisories)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "installed": self.installed,
            "target": self.target,
            "update": self.update,
            "advisories": [dict(a) for a in self.advisories],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        return cls(
            str(data["name"]),
            str(data.get("kind", "")),
            data.get("installed"),
            data.get("target"),
            str(data.get("update", "")),
            tuple(data.get("advisories") or ()),
        )


@dataclass(frozen=True)
class PlannedRequest:
    """What one request should say now, from a successful check."""

    site: str
    client: str
    stack: str | None
    env: str
    group: str
    targets: tuple[Target, ...]
    priority: Priority
    estimate_minutes: int
    kind: str = "preventive"
    labels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def base_fingerprint(self) -> str:
        return base_fingerprint(self.site, self.group)

    @property
    def digest(self) -> str:
        material = [(t.name, t.target, t.advisory_ids) for t in self.targets]
        text = json.dumps(sorted(material, key=lambda m: m[0]), separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def security(self) -> bool:
        return any(t.security for t in self.targets)


def base_fingerprint(site: str, group: str) -> str:
    return f"tma:{site}:{group}"


def plan_site(report: SiteReport, site: Site, settings: RequestSettings) -> list[PlannedRequest]:
    """The requests a successful check asks for (an `ok` site asks for none)."""
    wanted = [f for f in report.components if needs_work(f)]
    groups: dict[str, list[Finding]] = {}
    for finding in wanted:
        groups.setdefault(_group_of(finding, settings.grouping), []).append(finding)
    plans = []
    for group, findings in sorted(groups.items()):
        targets = tuple(_target(f) for f in sorted(findings, key=lambda f: f.name))
        plans.append(
            PlannedRequest(
                site=site.id,
                client=site.client,
                stack=report.stack,
                env=report.env,
                group=group,
                targets=targets,
                priority=_priority(targets),
                estimate_minutes=_estimate(targets, report.stack, settings),
                labels=("preventive", "security")
                if any(t.security for t in targets)
                else ("preventive",),
            )
        )
    return plans


def _group_of(finding: Finding, grouping: str) -> str:
    if grouping == "per_component":
        return f"component:{finding.name}"
    if grouping == "security_apart":
        return "security" if finding.update in SECURITY_KINDS or finding.advisories else "routine"
    return "site"


def _target(finding: Finding) -> Target:
    advisories = tuple(
        {k: v for k, v in vars(a).items() if v is not None} for a in finding.advisories
    )
    return Target(
        finding.name,
        finding.kind,
        finding.installed,
        finding.recommended or finding.latest,
        finding.update,
        advisories,
    )


def _priority(targets: Sequence[Target]) -> Priority:
    severities = {str(a.get("severity") or "").casefold() for t in targets for a in t.advisories}
    if any(t.update in ("insecure", "revoked") for t in targets) or severities & _URGENT_SEVERITIES:
        return "urgent"
    if any(t.security for t in targets):
        return "high"
    if any(t.update == "unsupported" for t in targets):
        return "normal"
    return "low"


def _estimate(targets: Iterable[Target], stack: str | None, settings: RequestSettings) -> int:
    """Hours of the first rule matching each component's stack and update kind (else
    `default_hours`), summed, clamped to 1-40 h, in whole minutes rounded up."""
    total = Decimal(0)
    for target in targets:
        hours = settings.estimates.default_hours
        for rule in settings.estimates.rules:
            if rule.stack in (None, stack) and rule.update in (None, target.update):
                hours = rule.hours
                break
        total += hours
    minutes = math.ceil(total * 60)
    return max(MIN_ESTIMATE_MINUTES, min(MAX_ESTIMATE_MINUTES, minutes))


def has_newer_target(closed: Sequence[Target], planned: Sequence[Target]) -> bool:
    """Whether `planned` asks for something strictly newer than the closed request did: a
    component it did not name, a newer target version, or an advisory it did not list."""
    before = {t.name: t for t in closed}
    for target in planned:
        old = before.get(target.name)
        if old is None or set(target.advisory_ids) - set(old.advisory_ids):
            return True
        if target.target and (old.target is None or _newer(target.target, old.target)):
            return True
    return False


_BRANCH_PREFIX = re.compile(r"^\d+\.x-")


def _newer(a: str, b: str) -> bool:
    from tma_agent.versions import compare

    a, b = _BRANCH_PREFIX.sub("", a), _BRANCH_PREFIX.sub("", b)
    try:
        return compare(a, b) > 0
    except (ValueError, TypeError):
        return a != b  # an unparsable version that changed is news
