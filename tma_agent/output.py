"""How `tma check` shows its reports: JSON for machines, rich tables for people.

Tables fit the terminal without cutting what a reader acts on: versions and update kinds are
never truncated or wrapped; component names wrap; long text (errors, policy reasons) is
listed under its table on one line each, shortened with `…` (JSON keeps the full form).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tma_agent._masking import mask, mask_tree
from tma_agent.models import SECURITY_KINDS, SiteReport
from tma_agent.policies import needs_work

__all__ = ["render_json", "render_table"]

_STATUS_STYLE = {
    "ok": "green",
    "updates": "yellow",
    "partial": "magenta",  # some findings, but a source failed: never clean
    "unreachable": "red",
    "error": "red",
}
_UPDATE_STYLE = {
    "insecure": "bold red",
    "revoked": "bold red",
    "security": "bold red",
    "unsupported": "red",
    "bugfix": "yellow",
    "feature": "cyan",
    "unknown": "dim",
}
#: Below this width the `latest` column gives way (`recommended` is what to act on).
_WIDTH_FOR_LATEST = 100


def render_json(reports: Sequence[SiteReport], stream: IO[str]) -> None:
    # Masked here too: a plugin's own message (`internal error (...)`) or a component's
    # source URL may carry a secret that never went through a TmaError.
    json.dump({"sites": [mask_tree(r.to_dict()) for r in reports]}, stream, indent=2)
    stream.write("\n")


def render_table(reports: Sequence[SiteReport], console: Console) -> None:
    summary = _table("Sites")
    summary.add_column("site", overflow="fold")
    for column in ("stack", "env"):
        summary.add_column(column, overflow="fold")
    summary.add_column("status", no_wrap=True, min_width=len("unreachable"))
    for column in ("security", "updates", "held", "unknown"):
        summary.add_column(column, no_wrap=True, justify="right")
    errors = []
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
        )
        if report.error:
            errors.append((report.site, report.error))
    console.print(summary)
    _print_notes(console, "errors", errors)
    _render_components(reports, console)


def _render_components(reports: Sequence[SiteReport], console: Console) -> None:
    # A component with no update whose security data could not be read is shown too: it must
    # never look clean.
    rows = [
        (r.site, c)
        for r in reports
        for c in r.components
        if c.update != "none" or c.advisories_unavailable
    ]
    if not rows:
        return
    with_latest = console.width >= _WIDTH_FOR_LATEST
    versions = ["installed", "recommended", *(["latest"] if with_latest else [])]
    details = _table("Components to update or look at")
    details.add_column("site", overflow="fold")
    details.add_column("component", overflow="fold")
    details.add_column("kind", overflow="fold")
    for column in versions:
        values = [_version(getattr(c, column), column) for _, c in rows]
        details.add_column(column, no_wrap=True, min_width=max(map(len, [column, *values])))
    kinds = [c.update for _, c in rows]
    details.add_column("update", no_wrap=True, min_width=max(map(len, ["update", *kinds])))
    held: list[tuple[str, str]] = []
    unread: list[tuple[str, str]] = []
    previous = None
    for site, c in rows:
        style = _UPDATE_STYLE.get(c.update, "")
        cells = [_version(getattr(c, column), column) for column in versions]
        # The site is named once per group of rows: the repeat only costs width.
        details.add_row(
            site if site != previous else "", c.name, c.kind, *cells, f"[{style}]{c.update}[/]"
        )
        if c.policy:
            held.append((f"{site} {c.name}", f"{c.policy}: {c.policy_reason}"))
        if c.reason:
            unread.append((f"{site} {c.name}", c.reason))
        elif c.advisories_unavailable:
            unread.append((f"{site} {c.name}", "security data unavailable (see the site's error)"))
        previous = site
    console.print(details)
    _print_notes(console, "held back", held)
    _print_notes(console, "not evaluated", unread)


def _version(value: str | None, column: str) -> str:
    return value or ("?" if column == "installed" else "")


def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )


def _print_notes(console: Console, heading: str, notes: list[tuple[str, str]]) -> None:
    """`heading:` then one line per note, cut with `…` at the console's width."""
    if not notes:
        return
    console.print(f"{heading}:")
    for who, text in notes:
        line = Text.assemble("  ", (who, "bold"), ": ", " ".join(mask(text).split()))
        line.truncate(console.width, overflow="ellipsis")
        console.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=False)
    console.print()
