"""Jira worklogs (`/issue/{key}/worklog`): one per intervention, `timeSpentSeconds` exact to
the minute, `started` at noon UTC of the day (so the day is the same in every timezone
within ±11 h), the comment in ADF ending with the delivery line. Jira logs a worklog for the
API token's user only: `tickets.users` cannot change the author (documented). An entry's id is
`KEY/WORKLOG` (the worklog API needs the issue)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

from tma_agent.tickets import (
    TIME_DELIVERY_PREFIX,
    NoTicketToLogOn,
    RemoteTimeEntry,
    TicketRefused,
    TicketUnavailable,
    TimeEntry,
    intervention_of,
    time_comment,
)
from tma_jira.adf import adf_text, paragraph, text_node
from tma_jira.api import JiraAPI

__all__ = ["JiraWorklogs"]

_COMMENT_MAX = 2000


def _started(day: dt.date) -> str:
    return f"{day.isoformat()}T12:00:00.000+0000"


def _split(entry_ref: str) -> tuple[str, str]:
    key, _, worklog = entry_ref.partition("/")
    if not key or not worklog.isdigit():
        raise TicketRefused("jira", "/worklog", f"{entry_ref!r} is not a KEY/WORKLOG reference")
    return key, worklog


class JiraWorklogs:
    def __init__(self, api: JiraAPI) -> None:
        self.api = api

    def log(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        if ref is None:
            raise NoTicketToLogOn("jira", self.api.url("/worklog"), "no ticket to log on")
        answer = self.api.object("POST", f"/issue/{ref}/worklog", json=_body(entry, delivery_id))
        worklog = answer.get("id")
        if not isinstance(worklog, str | int):
            raise TicketUnavailable("jira", self.api.url(f"/issue/{ref}/worklog"), "no worklog id")
        return f"{ref}/{worklog}"

    def update(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        key, worklog = _split(entry_ref)
        self.api.call("PUT", f"/issue/{key}/worklog/{worklog}", json=_body(entry, delivery_id))
        return entry_ref

    def delete(self, entry_ref: str) -> None:
        key, worklog = _split(entry_ref)
        # Gone already (deleted by hand, or a lost answer of this very delete): done.
        self.api.call("DELETE", f"/issue/{key}/worklog/{worklog}", allow=(404,))

    def find(self, delivery_id: str, ref: str | None) -> str | None:
        if ref is None:
            return None
        line = f"{TIME_DELIVERY_PREFIX} {delivery_id}"
        for worklog in self._all(ref, {}):
            if adf_text(worklog.get("comment")).rstrip().endswith(line):
                return f"{ref}/{worklog.get('id')}"
        return None

    def entries(self, month: str, refs: Sequence[str]) -> list[RemoteTimeEntry]:
        year, number = (int(part) for part in month.split("-"))
        first = dt.datetime(year, number, 1, tzinfo=dt.UTC)
        last = first.replace(day=calendar.monthrange(year, number)[1], hour=23, minute=59)
        span = {
            "startedAfter": int(first.timestamp() * 1000),
            "startedBefore": int(last.timestamp() * 1000),
        }
        found = []
        for ref in dict.fromkeys(refs):
            for worklog in self._all(ref, span):
                comment = adf_text(worklog.get("comment"))
                started = str(worklog.get("started") or "")
                seconds = worklog.get("timeSpentSeconds")
                found.append(
                    RemoteTimeEntry(
                        ref=f"{ref}/{worklog.get('id')}",
                        minutes=seconds // 60 if isinstance(seconds, int) else 0,
                        ticket_ref=ref,
                        spent_on=dt.date.fromisoformat(started[:10]) if started else None,
                        intervention_id=intervention_of(comment),
                        comment=comment,
                    )
                )
        return found

    def _all(self, ref: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        start, found = 0, []
        while True:
            page = self.api.object(
                "GET", f"/issue/{ref}/worklog", params={**params, "startAt": start}
            )
            worklogs = page.get("worklogs")
            if not isinstance(worklogs, list):
                url = self.api.url(f"/issue/{ref}/worklog")
                raise TicketUnavailable("jira", url, "answer lacks 'worklogs'")
            found += [w for w in worklogs if isinstance(w, dict)]
            start += len(worklogs)
            total = page.get("total")
            if not worklogs or not isinstance(total, int) or start >= total:
                return found


def _body(entry: TimeEntry, delivery_id: str) -> dict[str, Any]:
    text = time_comment(entry.comment, delivery_id, _COMMENT_MAX)
    return {
        "timeSpentSeconds": entry.minutes * 60,
        "started": _started(entry.spent_on),
        "comment": {"type": "doc", "version": 1, "content": [paragraph(text_node(text))]},
    }
