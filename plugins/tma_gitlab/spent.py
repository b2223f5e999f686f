"""GitLab time spent. REST v4 keeps no time entries, only each issue's total
(`time_stats.total_time_spent`); `add_spent_time` answers that total, so a lost answer could
never be told from a write that did not happen. Each write is therefore one note whose
`/spend` quick action changes the total (GitLab runs quick actions in notes created through
the API and keeps the rest of the note): the note carries the delivery line, so a lost answer
is found (`find`) and nothing is counted twice. An edit or a delete spends the difference
(negative durations). The entry's id is `IID/MINUTES` (the minutes it added so far): GitLab
has no id for it. Time is spent by the token's user: `tickets.users` cannot change that."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tma_agent.tickets import (
    TIME_DELIVERY_PREFIX,
    NoTicketToLogOn,
    RemoteTimeEntry,
    TicketRefused,
    TimeEntry,
    time_comment,
)
from tma_agent.tickets.forge.wire import text
from tma_agent.tickets.http import TicketHTTP
from tma_gitlab._wire import NAME, duration, pages

__all__ = ["GitLabSpent"]

_MINUTES = re.compile(r"<!-- tma-minutes: (-?\d+) -->")
_COMMENT_MAX = 1000


def _spend(minutes: int) -> str:
    return ("-" if minutes < 0 else "") + duration(abs(minutes))


def _split(entry_ref: str) -> tuple[str, int]:
    iid, _, minutes = entry_ref.partition("/")
    if not iid.isdigit() or not minutes.lstrip("-").isdigit():
        raise TicketRefused(NAME, "time_stats", f"{entry_ref!r} is not an IID/MINUTES reference")
    return iid, int(minutes)


class GitLabSpent:
    def __init__(self, http: TicketHTTP, project_path: str) -> None:
        self.http = http
        self.project = project_path

    def log(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        if ref is None or not ref.isdigit():
            raise NoTicketToLogOn(NAME, self.http.url(self.project), "no ticket to log on")
        self._note(ref, entry, delivery_id, entry.minutes, f"{_spend(entry.minutes)}")
        return f"{ref}/{entry.minutes}"

    def update(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        iid, before = _split(entry_ref)
        change = entry.minutes - before
        if change:
            self._note(iid, entry, delivery_id, entry.minutes, _spend(change))
        return f"{iid}/{entry.minutes}"

    def delete(self, entry_ref: str, delivery_id: str) -> None:
        iid, before = _split(entry_ref)
        if before:
            body = f"{TIME_DELIVERY_PREFIX} {delivery_id} <!-- tma-minutes: 0 -->"
            self._post(iid, f"{body}\n/spend {_spend(-before)}")

    def find(self, delivery_id: str, ref: str | None) -> str | None:
        if ref is None or not ref.isdigit():
            return None
        line = f"{TIME_DELIVERY_PREFIX} {delivery_id}"
        path = f"{self.project}/issues/{ref}/notes"
        for _answer, notes in pages(self.http, path, {"per_page": 100, "sort": "asc"}):
            for note in notes:
                body = text(note, "body")
                found = _MINUTES.search(body)
                if line in body and found:
                    return f"{ref}/{found.group(1)}"
        return None

    def totals(self, refs: Sequence[str]) -> list[RemoteTimeEntry]:
        iids = sorted({r for r in refs if r.isdigit()}, key=int)
        found: list[RemoteTimeEntry] = []
        for start in range(0, len(iids), 100):
            params = {"iids[]": iids[start : start + 100], "state": "all", "per_page": 100}
            for _answer, issues in pages(self.http, f"{self.project}/issues", params):
                for issue in issues:
                    stats = issue.get("time_stats")
                    spent = stats.get("total_time_spent") if isinstance(stats, dict) else None
                    minutes = spent // 60 if isinstance(spent, int) else 0
                    found.append(RemoteTimeEntry(None, minutes, str(issue.get("iid"))))
        return found

    def _note(self, iid: str, entry: TimeEntry, key: str, total: int, spend: str) -> None:
        shown = time_comment(entry.comment, key, _COMMENT_MAX)
        day = entry.spent_on.isoformat()
        self._post(iid, f"{shown} <!-- tma-minutes: {total} -->\n/spend {spend} {day}")

    def _post(self, iid: str, body: str) -> None:
        self.http.request("POST", f"{self.project}/issues/{iid}/notes", json={"body": body})
