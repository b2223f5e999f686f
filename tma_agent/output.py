"""How `tma check` shows its reports: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.table import Table

from tma_agent.models import SECURITY_KINDS, SiteReport
from tma_agent.policies import needs_work

__all__ = ["render_json", "render_table"]

_STATUS_STYLE = {"ok": "green", "updates": "yellow", "unreachable": "red", "error": "red"}
_STATUS_STYLE["partial"] = "magenta"  # some findings, but a source failed: never clean
_UPDATE_STYLE = {
    "insecure": "bold red",
    "revoked": "bold red",
    "security": "bold red",
    "unsupported": "red",
    "bugfix": "yellow",
    "feature": "cyan",
    "unknown": "dim",
}


def render_json(reports: Sequence[SiteReport], stream: IO[str]) -> None:
    json.dump({"sites": [r.to_dict() for r in reports]}, stream, indent=2)
    stream.write("\n")


def render_table(reports: Sequence[SiteReport], console: Console) -> None:
    summary = Table(title="Sites", title_justify="left")
    summary.add_column("site", no_wrap=True)
    for column in ("stack", "env", "status", "security", "updates", "held", "unknown"):
        summary.add_column(column)
    summary.add_column("error", overflow="fold")
    for report in reports:
        active = [c.update for c in report.components if needs_work(c)]
        kinds = [c.update for c in report.components]
        security = sum(k in SECURITY_KINDS for k in active)
        other = len(active) - security
        held = sum(c.policy is not None for c in report.components)
        style = _STATUS_STYLE.get(report.status, "")
        summary.add_row(
            report.site,
            report.stack or "-",
            report.env,
            f"[{style}]{report.status}[/]",
            str(security) if security else "",
            str(other) if other else "",
            str(held) if held else "",
            str(kinds.count("unknown")) if "unknown" in kinds else "",
            report.error or "",
        )
    console.print(summary)
    details = Table(title="Components to update or look at", title_justify="left")
    details.add_column("site", no_wrap=True)
    details.add_column("component", no_wrap=True)
    for column in ("kind", "installed", "recommended", "latest", "update"):
        details.add_column(column)
    details.add_column("policy", overflow="fold")
    for report in reports:
        for c in report.components:
            if c.update == "none":
                continue
            style = _UPDATE_STYLE.get(c.update, "")
            details.add_row(
                report.site,
                c.name,
                c.kind,
                c.installed or "?",
                c.recommended or "",
                c.latest or "",
                f"[{style}]{c.update}[/]",
                f"{c.policy}: {c.policy_reason}" if c.policy else "",
            )
    if details.row_count:
        console.print(details)
