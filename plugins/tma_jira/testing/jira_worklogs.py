"""Worklogs of the fake Jira, as Jira Cloud's REST API v3 has them: `timeSpentSeconds` (at
least 60), `started` (`2026-11-05T12:00:00.000+0000`), an ADF `comment`, paged with `startAt`,
`startedAfter`/`startedBefore` in epoch milliseconds; ids unique across issues."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any

from tma_jira.testing.adf_schema import adf_problems
from tma_jira.testing.jira_state import Answer, FakeIssue, jira_error

__all__ = ["FakeWorklogs"]

_STARTED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")


def _millis(started: str) -> int:
    return int(datetime.strptime(started, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


class FakeWorklogs:
    def __init__(self, author: str) -> None:
        self.author = author
        #: Worklogs by issue key, in creation order.
        self.by_issue: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(30001)

    def _valid(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body must be an object"
        seconds = body.get("timeSpentSeconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 60:
            return "timeSpentSeconds: Worklog must not be less than one minute."
        started = body.get("started")
        if not isinstance(started, str) or not _STARTED.match(started):
            return "started: Invalid date format. Please enter the date in the format yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        if "comment" in body and adf_problems(body["comment"]):
            return "comment: Comment body is not valid!"
        return None

    def add(self, issue: FakeIssue, body: Any) -> Answer:
        problem = self._valid(body)
        if problem:
            return jira_error(400, problem)
        worklog = {
            "id": str(next(self._ids)),
            "issueId": str(issue.number),
            "author": {"displayName": self.author},
            "timeSpentSeconds": body["timeSpentSeconds"],
            "started": body["started"],
            "comment": body.get("comment"),
        }
        self.by_issue.setdefault(issue.key, []).append(worklog)
        return 201, worklog

    def _find(self, issue: FakeIssue, worklog_id: str) -> dict[str, Any] | None:
        return next((w for w in self.by_issue.get(issue.key, []) if w["id"] == worklog_id), None)

    def edit(self, issue: FakeIssue, worklog_id: str, body: Any) -> Answer:
        found = self._find(issue, worklog_id)
        if found is None:
            return jira_error(404, "Cannot find worklog with id: " + worklog_id)
        problem = self._valid(body)
        if problem:
            return jira_error(400, problem)
        found.update({k: body[k] for k in ("timeSpentSeconds", "started", "comment") if k in body})
        return 200, found

    def delete(self, issue: FakeIssue, worklog_id: str) -> Answer:
        found = self._find(issue, worklog_id)
        if found is None:
            return jira_error(404, "Cannot find worklog with id: " + worklog_id)
        self.by_issue[issue.key].remove(found)
        return 204, None

    def page(self, issue: FakeIssue, arg: Any, page_size: int) -> Answer:
        items = list(self.by_issue.get(issue.key, []))
        after, before = arg("startedAfter"), arg("startedBefore")
        if after:
            items = [w for w in items if _millis(w["started"]) >= int(after)]
        if before:
            items = [w for w in items if _millis(w["started"]) <= int(before)]
        start = int(arg("startAt", "0") or 0)
        size = min(int(arg("maxResults", "5000") or 5000), page_size)
        chunk = items[start : start + size]
        return 200, {"startAt": start, "maxResults": size, "total": len(items), "worklogs": chunk}
