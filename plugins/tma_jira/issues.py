"""What a Jira issue is to the backend, both ways: the labels and estimate it writes, and the
`RemoteTicket` it reads back from an answer (any shape: a wrong one is a garbled answer, never
an exception of another kind).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tma_agent.tickets import RemoteTicket, TicketUnavailable

__all__ = [
    "FINGERPRINT_LABEL_PREFIX",
    "as_dict",
    "as_list",
    "estimate_text",
    "fingerprint_label",
    "jira_label",
    "labels_of",
    "remote_ticket",
]

FINGERPRINT_LABEL_PREFIX = "tma-fp-"


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when an answer put an object there, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def labels_of(issue: Mapping[str, Any]) -> tuple[str, ...]:
    # Only a list counts: `in` on a string would match a label's prefix.
    labels = as_list(as_dict(issue.get("fields")).get("labels"))
    return tuple(label for label in labels if isinstance(label, str))


def fingerprint_label(fingerprint: str) -> str:
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:24]
    return f"{FINGERPRINT_LABEL_PREFIX}{digest}"


def jira_label(text: str) -> str:
    return re.sub(r"\s+", "-", text.strip())[:255]


def estimate_text(minutes: int) -> str:
    """`2h 30m`: hours, never days (a Jira day is a site setting, 8 h or not)."""
    hours, rest = divmod(max(minutes, 1), 60)
    return " ".join(
        part for part in (f"{hours}h" if hours else "", f"{rest}m" if rest else "") if part
    )


def _changed_by(issue: Mapping[str, Any]) -> str | None:
    """Who made the latest status change, from the changelog the answer carries (if any)."""
    best: tuple[datetime, str] | None = None
    for history in as_list(as_dict(issue.get("changelog")).get("histories")):
        history = as_dict(history)
        items = as_list(history.get("items"))
        if not any(as_dict(item).get("field") == "status" for item in items):
            continue
        author = as_dict(history.get("author"))
        who = author.get("displayName") or author.get("emailAddress") or author.get("accountId")
        try:
            when = datetime.strptime(str(history.get("created")), "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            continue
        if isinstance(who, str) and (best is None or when > best[0]):
            best = (when, who)
    return best[1] if best else None


def remote_ticket(issue: Mapping[str, Any], base_url: str, url: str) -> RemoteTicket:
    fields = as_dict(issue.get("fields"))
    name = as_dict(fields.get("status")).get("name")
    if not isinstance(name, str):
        raise TicketUnavailable("jira", url, f"issue {issue.get('key')} has no status name")
    key = str(issue["key"])
    return RemoteTicket(
        ref=key,
        status=name,
        url=f"{base_url}/browse/{key}",
        changed_by=_changed_by(issue),
        labels=labels_of(issue),
    )
