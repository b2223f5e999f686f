"""Finding the ticket of a fingerprint although Jira's search is eventually consistent.

Jira Cloud's search index lags behind writes: an issue created a second ago may be missing
from `search/jql` while `GET /issue/{key}` already shows it. The outbox searches by
fingerprint before re-sending a create whose answer was lost, which is exactly when the index
is most likely behind, so a plain search could open a duplicate. `find` therefore looks in
this order, and stops at the first ticket that carries the fingerprint:

1. a key this process got back from a create (read with `GET /issue/{key}`: never stale);
2. the search by label `tma-fp-<hash>` (the strongest key), then by the marker line's text
   (`text ~`, fuzzy in Jira: every hit is checked against the description);
3. the newest keys: issue keys of a project are numbered in creation order, so the issues the
   index does not show yet are the numbers above the highest it shows, plus the holes among
   its last `_RECENT` numbers. Those are read one by one with `GET /issue/{key}`, strongly
   consistent, up to `_MISSES` absent numbers in a row;
4. all of it again until `search_lag` seconds have passed, for the indexing that step 3 cannot
   see (more than `_RECENT` issues created in the project meanwhile).
"""

from __future__ import annotations

import re
import time
from typing import Any

from tma_agent.tickets import RemoteTicket, TicketUnavailable, marker_line
from tma_jira.adf import adf_text
from tma_jira.api import JiraAPI
from tma_jira.issues import as_dict, fingerprint_label, labels_of, remote_ticket

__all__ = ["Finder", "jql_string"]

_RECENT = 20
_MISSES = 3
_MAX_PROBES = 50
_FIELDS = "status,labels,description"


def jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Finder:
    def __init__(self, api: JiraAPI, project: str, base_url: str, lag: float) -> None:
        self.api = api
        self.project = project
        self.base_url = base_url
        self.lag = lag
        self._created: dict[str, str] = {}
        self._number = re.compile(rf"^{re.escape(project)}-(\d+)$")

    def created(self, fingerprint: str, key: str) -> None:
        self._created[fingerprint] = key

    def issue(self, key: str, fields: str, *, expand: str | None = None) -> dict[str, Any] | None:
        """The issue itself (never stale), None when Jira says it does not exist."""
        params = {"fields": fields, **({"expand": expand} if expand else {})}
        answer = self.api.call("GET", f"/issue/{key}", params=params, allow=(404,))
        if answer.status == 404:
            return None
        data = answer.json()
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            raise TicketUnavailable("jira", answer.url, "answer is not an issue")
        return data

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        """Only a create sent moments ago (`recent`) is waited for: the search then lags. A
        fingerprint looked up before its first create, or days after, needs one look."""
        if not recent:
            return self._known(fingerprint) or self._search(fingerprint)
        deadline = time.monotonic() + self.lag
        absent: set[int] = set()  # holes read once: a number Jira skipped stays skipped
        while True:
            found = (
                self._known(fingerprint)
                or self._search(fingerprint)
                or self._newest(fingerprint, absent)
            )
            left = deadline - time.monotonic()
            if found is not None or left <= 0:
                return found
            time.sleep(min(0.5, left))

    def _ticket(self, issue: dict[str, Any]) -> RemoteTicket:
        return remote_ticket(issue, self.base_url, self.api.url("/issue"))

    def _ours(self, issue: dict[str, Any], fingerprint: str) -> bool:
        if fingerprint_label(fingerprint) in labels_of(issue):
            return True
        description = as_dict(issue.get("fields")).get("description")
        lines = (line.strip() for line in adf_text(description).splitlines())
        return marker_line(fingerprint) in lines

    def _known(self, fingerprint: str) -> RemoteTicket | None:
        key = self._created.get(fingerprint)
        issue = self.issue(key, _FIELDS) if key else None
        return self._ticket(issue) if issue and self._ours(issue, fingerprint) else None

    def _search(self, fingerprint: str) -> RemoteTicket | None:
        project = f"project = {jql_string(self.project)}"
        label = f"{project} AND labels = {jql_string(fingerprint_label(fingerprint))}"
        # Jira's text search splits on punctuation: the phrase of the marker's words.
        words = " ".join(re.findall(r"[^\W_]+", marker_line(fingerprint)))
        text = f"{project} AND text ~ {jql_string(jql_string(words))}"
        for jql in (label, text):
            for issue in self.api.search(f"{jql} ORDER BY key ASC", _FIELDS):
                if self._ours(issue, fingerprint):
                    return self._ticket(issue)
        return None

    def _newest(self, fingerprint: str, absent: set[int]) -> RemoteTicket | None:
        jql = f"project = {jql_string(self.project)} ORDER BY key DESC"
        shown: set[int] = set()
        for issue in self.api.search(jql, "labels", page=_RECENT, limit=_RECENT):
            match = self._number.match(issue["key"])
            if match:
                shown.add(int(match[1]))
        top = max(shown, default=0)
        holes = [n for n in range(max(top - _RECENT + 1, 1), top + 1) if n not in shown | absent]
        for number in holes:
            hole = self.issue(f"{self.project}-{number}", _FIELDS)
            if hole is None:
                absent.add(number)
            elif self._ours(hole, fingerprint):
                return self._ticket(hole)
        misses = 0
        for number in range(top + 1, top + 1 + _MAX_PROBES):
            probed = self.issue(f"{self.project}-{number}", _FIELDS)
            if probed is None:
                misses += 1
                if misses >= _MISSES:
                    break
                continue
            misses = 0
            if self._ours(probed, fingerprint):
                return self._ticket(probed)
        return None
