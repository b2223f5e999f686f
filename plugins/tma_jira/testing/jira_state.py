"""The fake Jira's state: one project, its issues, comments, workflow, and a search index that
lags behind writes (`index_lag`), as Jira Cloud's does: a new issue is missing from
`search/jql` for `index_lag` seconds while `GET /issue/{key}` shows it (edits of an indexed
issue are searchable at once: the backend never relies on searching them).

Methods take the parsed request and return `(status, body)` in Jira's shapes; the HTTP side
(`fake`) only routes, authenticates and injects failures.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tma_jira.adf import adf_text
from tma_jira.testing.adf_schema import adf_problems
from tma_jira.testing.jira_fields import field_errors
from tma_jira.testing.jql import words

__all__ = ["FakeIssue", "JiraState", "Transition", "jira_error"]

Answer = tuple[int, Any]
_UNIT = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}


def jira_error(status: int, *messages: str, **errors: str) -> Answer:
    return status, {"errorMessages": list(messages), "errors": errors}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str
    #: Statuses it starts from (empty: a global transition, from every status).
    sources: tuple[str, ...] = ()


@dataclass
class FakeIssue:
    number: int
    key: str
    fields: dict[str, Any]
    created: float
    #: Monotonic time from which the search index shows the issue.
    indexed_at: float
    comments: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.fields["status"]["name"])


def _seconds(estimate: str) -> int:
    return sum(int(n) * _UNIT[u] for n, u in re.findall(r"(\d+)\s*([wdhm])", estimate))


class JiraState:
    def __init__(self, project: str = "TMA", *, user: str = "agent@agency.example") -> None:
        self.project = project
        self.user = user
        self.display_name = "TMA Agent"
        self.issue_types = ["Task", "Bug"]
        self.statuses = ["To Do", "In Progress", "Validated", "Rejected", "Done"]
        self.transitions = [
            Transition("11", "To Do", "To Do"),
            Transition("21", "Start", "In Progress"),
            Transition("41", "Validate", "Validated"),
            Transition("51", "Reject", "Rejected"),
            Transition("31", "Done", "Done"),
        ]
        self.priorities = ["Highest", "High", "Medium", "Low", "Lowest"]
        self.link_types = ["Relates", "Blocks", "Duplicate"]
        #: Fields on the create/edit screen (`createmeta`).
        self.screen = ["summary", "issuetype", "project", "description", "labels", "priority",
                       "timetracking", "issuelinks"]  # fmt: skip
        self.index_lag = 1.5
        self.issues: dict[str, FakeIssue] = {}
        #: Every ADF document refused, with its problems (for tests to read).
        self.rejections: list[list[str]] = []
        self.lock = threading.RLock()
        self._next = 1

    # -- helpers for tests

    def issue(self, key: str) -> FakeIssue:
        return self.issues[key]

    def by_label(self, label: str) -> list[FakeIssue]:
        return [i for i in self.issues.values() if label in i.fields["labels"]]

    def move(self, key: str, status: str, *, by: str = "Client Person") -> None:
        """A person moves the issue (what a client's validation looks like)."""
        with self.lock:
            self._set_status(self.issues[key], status, by)

    def index_now(self) -> None:
        with self.lock:
            for issue in self.issues.values():
                issue.indexed_at = 0.0

    def view(self, issue: FakeIssue) -> dict[str, Any]:
        """What the JQL sees of an issue."""
        text = [issue.fields["summary"], adf_text(issue.fields.get("description"))]
        text += [adf_text(c["body"]) for c in issue.comments]
        return {
            "project": self.project,
            "key": issue.key,
            "number": issue.number,
            "labels": issue.fields["labels"],
            "status": issue.status,
            "summary": words(issue.fields["summary"]),
            "description": words(text[1]),
            "text": words(" ".join(text)),
            "created": issue.created,
            "updated": issue.created,
        }

    def searchable(self) -> list[FakeIssue]:
        now = time.monotonic()
        return [i for i in self.issues.values() if i.indexed_at <= now]

    # -- writes

    def _set_status(self, issue: FakeIssue, status: str, by: str) -> None:
        item = {
            "field": "status",
            "fieldtype": "jira",
            "fromString": issue.status,
            "toString": status,
        }
        author = {"accountId": f"id-{by.lower().replace(' ', '-')}", "displayName": by}
        history = {
            "id": str(len(issue.histories) + 1),
            "author": author,
            "created": _now(),
            "items": [item],
        }
        issue.histories.append(history)
        issue.fields["status"] = {"name": status, "id": str(self.statuses.index(status) + 1)}

    def _store(self, issue: FakeIssue, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if name in ("project", "issuetype"):
                continue
            if name == "timetracking":
                estimate = value["originalEstimate"]
                value = {
                    "originalEstimate": estimate,
                    "originalEstimateSeconds": _seconds(estimate),
                }
            issue.fields[name] = value

    def create(self, body: Any, base: str) -> Answer:
        if not isinstance(body, dict):
            return jira_error(400, "Can not deserialize the request body.")
        fields = body.get("fields")
        refused = field_errors(self, fields, creating=True)
        if refused or not isinstance(fields, dict):
            return refused or jira_error(400, "fields must be an object.")
        links = ((body.get("update") or {}).get("issuelinks")) or []
        for link in links:
            add = link.get("add") or {}
            if (add.get("type") or {}).get("name") not in self.link_types:
                return jira_error(
                    400, "No issue link type with name 'x' found.", issuelinks="invalid link type"
                )
            if (add.get("outwardIssue") or {}).get("key") not in self.issues:
                return jira_error(
                    400, issuelinks="Issue does not exist or you do not have permission to see it."
                )
        number = self._next
        self._next += 1
        key = f"{self.project}-{number}"
        now = time.monotonic()
        issue = FakeIssue(
            number, key, {"summary": "", "labels": [], "status": {}}, now, now + self.index_lag
        )
        issue.fields["status"] = {"name": self.statuses[0], "id": "1"}
        issue.fields["issuetype"] = {"name": fields["issuetype"]["name"]}
        issue.fields["created"] = _now()
        self._store(issue, fields)
        issue.links = [link["add"] for link in links]
        self.issues[key] = issue
        return 201, {
            "id": str(10000 + number),
            "key": key,
            "self": f"{base}/issue/{10000 + number}",
        }

    def edit(self, issue: FakeIssue, body: Any) -> Answer:
        if not isinstance(body, dict):
            return jira_error(400, "Can not deserialize the request body.")
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        both = set(fields) & set(update)
        if both:
            return jira_error(
                400, **{name: "Field cannot be set in both fields and update." for name in both}
            )
        refused = field_errors(self, fields, creating=False)
        if refused:
            return refused
        labels = list(issue.fields["labels"])
        for operation in update.get("labels") or []:
            for verb, label in operation.items():
                if verb == "add" and label not in labels:
                    if " " in label:
                        return jira_error(
                            400, labels=f"The label '{label}' contains spaces which is invalid."
                        )
                    labels.append(label)
                elif verb == "remove" and label in labels:
                    labels.remove(label)
        self._store(issue, fields)
        issue.fields["labels"] = labels
        return 204, None

    def comment(self, issue: FakeIssue, body: Any) -> Answer:
        document = body.get("body") if isinstance(body, dict) else None
        problems = adf_problems(document)
        if problems:
            self.rejections.append(problems)
            return jira_error(
                400,
                comment="Comment body is not valid!"
                if document
                else "Comment body can not be empty!",
            )
        comment = {
            "id": str(20000 + sum(len(i.comments) for i in self.issues.values())),
            "author": {"displayName": self.display_name},
            "body": document,
            "created": _now(),
        }
        issue.comments.append(comment)
        return 201, comment

    def available(self, issue: FakeIssue) -> list[Transition]:
        return [t for t in self.transitions if not t.sources or issue.status in t.sources]

    def transition(self, issue: FakeIssue, body: Any) -> Answer:
        wanted = (
            ((body or {}).get("transition") or {}).get("id") if isinstance(body, dict) else None
        )
        for item in self.available(issue):
            if item.id == str(wanted):
                self._set_status(issue, item.to, self.display_name)
                return 204, None
        return jira_error(400, f"Transition id '{wanted}' is not valid for this issue.")
