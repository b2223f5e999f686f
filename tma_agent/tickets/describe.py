"""The words of a request: its title, its Markdown description, and the notes added when it
changes or closes. Ticket fields are data from feeds and sites: they are quoted as text (code
spans, escaped table cells), never able to turn into links or markup that was not meant."""

from __future__ import annotations

from collections.abc import Sequence

from tma_agent.tickets._types import marker_line
from tma_agent.tickets.plan import PlannedRequest, Target

__all__ = ["change_note", "close_note", "describe", "title"]

_MAX_TITLE = 250


def title(plan: PlannedRequest) -> str:
    targets = plan.targets
    if len(targets) == 1:
        t = targets[0]
        what = f"{t.name} {t.installed or '?'} → {t.target or 'no fix yet'} ({t.update})"
    else:
        security = sum(1 for t in targets if t.security)
        routine = len(targets) - security
        parts = [f"{security} security update{'s' * (security != 1)}"] if security else []
        parts += [f"{routine} update{'s' * (routine != 1)}"] if routine else []
        what = ", ".join(parts)
    return f"[TMA] {plan.site}: {what}"[:_MAX_TITLE]


def describe(
    plan: PlannedRequest, *, url: str | None, fingerprint: str, previous_ref: str | None = None
) -> str:
    lines = [
        f"Preventive maintenance for site `{_code(plan.site)}` (client `{_code(plan.client)}`), "
        f"environment `{_code(plan.env)}`, stack `{_code(plan.stack or 'unknown')}`.",
    ]
    if url:
        lines.append(f"Site URL: <{_code(url)}>")
    if previous_ref:
        lines.append(f"Follows the closed request {_code(previous_ref)}.")
    lines += ["", "| Component | Installed | Target | Update |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(t.name)} | {_cell(t.installed or '?')} | {_cell(t.target or 'no fix yet')} "
        f"| {_cell(t.update)} |"
        for t in plan.targets
    ]
    advisories = [(t, a) for t in plan.targets for a in t.advisories]
    if advisories:
        lines += ["", "## Advisories", ""]
        lines += [_advisory(t, a) for t, a in advisories]
    lines += [
        "",
        "## What an apply does",
        "",
        "In staging: a database and files backup, the update of the components above, smoke "
        "checks, and a rollback if one fails. Production only after the client's validation.",
        "",
        f"Estimate: {_hours(plan.estimate_minutes)}. Priority: {plan.priority}.",
        "",
        marker_line(fingerprint),
    ]
    return "\n".join(lines)


def change_note(before: Sequence[Target], after: Sequence[Target]) -> str:
    """What changed since the ticket was last written: newer targets, new advisories, added
    and finished components."""
    old = {t.name: t for t in before}
    new = {t.name: t for t in after}
    lines = ["The maintenance check found changes:"]
    for name, target in new.items():
        if name not in old:
            lines.append(f"- added `{_code(name)}` → {_code(target.target or 'no fix yet')}")
            continue
        was = old[name]
        if was.target != target.target:
            lines.append(
                f"- `{_code(name)}`: target {_code(was.target or '?')} → "
                f"{_code(target.target or 'no fix yet')}"
            )
        added = sorted(set(target.advisory_ids) - set(was.advisory_ids))
        if added:
            lines.append(f"- `{_code(name)}`: new advisories {', '.join(map(_code, added))}")
    lines += [f"- `{_code(name)}` is up to date" for name in old if name not in new]
    return "\n".join(lines)


def close_note() -> str:
    return "Every target of this request was reached (seen by the maintenance check): closing."


def _advisory(target: Target, advisory: dict[str, object]) -> str:
    ident = _code(str(advisory.get("id", "?")))
    url = advisory.get("url")
    head = f"[{ident}](<{_code(str(url))}>)" if isinstance(url, str) and _safe(url) else ident
    extra = [str(advisory[k]) for k in ("cve", "severity") if advisory.get(k)]
    tail = f" ({', '.join(map(_code, extra))})" if extra else ""
    return f"- {head}: `{_code(target.name)}`{tail}"


def _safe(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in "<> \n")


def _code(text: str) -> str:
    # Backticks, pipes and newlines would break out of a code span or a table cell.
    return " ".join(text.replace("`", "'").replace("|", "/").split())[:200]


def _cell(text: str) -> str:
    return f"`{_code(text)}`"


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"
