"""What a finished run says to people: found, opened, applied, failed, bucket alerts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tma_agent.tickets.summary import RunInfo, RunSummary

__all__ = ["RunDigest", "digest_of"]

_FAILED = ("unreachable", "error")
_SECURITY = ("security", "insecure", "revoked", "unsupported")


@dataclass
class RunDigest:
    sites: int = 0
    security_sites: list[str] = field(default_factory=list)
    update_sites: list[str] = field(default_factory=list)
    failed_sites: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    opened: list[str] = field(default_factory=list)
    applies: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    ticket_errors: list[str] = field(default_factory=list)
    queued: int = 0

    @property
    def changed(self) -> bool:
        """Something a person should hear about (`only_changes`): new or closed requests, an
        apply, a failure, an alert. A run that found the same as yesterday is silent."""
        return bool(
            self.requests["created"]
            or self.requests["closed"]
            or self.requests["updated"]
            or self.applies
            or self.failed_sites
            or self.alerts
            or self.ticket_errors
        )

    def subject(self) -> str:
        parts = [f"{self.sites} sites"]
        if self.security_sites:
            parts.append(f"{len(self.security_sites)} with security updates")
        if self.requests["created"]:
            parts.append(f"{self.requests['created']} requests opened")
        if self.failed_sites:
            parts.append(f"{len(self.failed_sites)} failed")
        if self.alerts:
            parts.append(f"{len(self.alerts)} bucket alerts")
        return "tma-agent: " + ", ".join(parts)

    def lines(self) -> list[str]:
        out = [self.subject().removeprefix("tma-agent: ")]
        if self.security_sites:
            out.append("Security: " + ", ".join(self.security_sites))
        if self.update_sites:
            out.append("Updates: " + ", ".join(self.update_sites))
        if self.requests:
            counts = ", ".join(f"{n} {verb}" for verb, n in sorted(self.requests.items()))
            out.append(f"Requests: {counts}")
        out += [f"  opened: {ref}" for ref in self.opened]
        for apply in self.applies:
            out.append(
                f"Applied: {apply.get('site')} {apply.get('status')} {apply.get('detail') or ''}".rstrip()
            )
        if self.failed_sites:
            out.append("Failed: " + ", ".join(self.failed_sites))
        for alert in self.alerts:
            out.append(f"Bucket alert: {alert.get('client')} at {alert.get('threshold')} %")
        out += [f"Ticket system: {e}" for e in self.ticket_errors]
        if self.queued:
            out.append(f"Queued ticket writes: {self.queued}")
        return out


def digest_of(run: RunInfo, summary: RunSummary) -> RunDigest:
    digest = RunDigest(sites=len(summary.reports), queued=summary.queued + summary.parked)
    for report in summary.reports:
        if report.status in _FAILED:
            digest.failed_sites.append(f"{report.site} ({report.error or report.status})")
        elif any(c.update in _SECURITY for c in report.components):
            digest.security_sites.append(report.site)
        elif report.status == "updates":
            digest.update_sites.append(report.site)
    for outcome in summary.requests:
        digest.requests[outcome.action] += 1
        if outcome.action == "created":
            digest.opened.append(f"{outcome.site}: {outcome.ticket or outcome.fingerprint}")
    digest.applies = [a for a in summary.applies if a.get("state") != "nothing"]
    digest.alerts = list(summary.alerts)
    digest.ticket_errors = list(summary.ticket_errors)
    return digest
