"""The state behind `FakeGitHub`: one repository's issues (and pull requests, which share the
numbers), comments, labels and issue events, shaped as the REST API answers them."""

from __future__ import annotations

import itertools
from typing import Any

__all__ = ["Repository"]

_WHEN = "2026-01-01T00:00:00Z"


class Repository:
    def __init__(self, site: str, full_name: str, labels: tuple[str, ...]) -> None:
        self.site = site
        self.full_name = full_name
        self.user: dict[str, Any] = {"login": "tma-bot", "id": 1, "type": "User"}
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        #: The issue events (`labeled`, `unlabeled`) per number, oldest first.
        self.events: dict[int, list[dict[str, Any]]] = {}
        self._ids = itertools.count(5000)
        for name in labels:
            self.label(name)

    def new_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        number = max(self.issues, default=0) + 1
        issue: dict[str, Any] = {
            "id": next(self._ids),
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "user": self.user,
            "closed_by": None,
            "closed_at": None,
            "comments": 0,
            "labels": [],
            "url": f"{self.site}/repos/{self.full_name}/issues/{number}",
            "html_url": f"{self.site}/{self.full_name}/issues/{number}",
        }
        self.issues[number] = issue
        self.comments[number] = []
        self.events[number] = []
        self.relabel(issue, labels, self.user)
        return issue

    def close(self, issue: dict[str, Any], reason: str) -> None:
        issue.update(state="closed", state_reason=reason, closed_by=self.user, closed_at=_WHEN)

    def reopen(self, issue: dict[str, Any]) -> None:
        issue.update(state="open", state_reason="reopened", closed_by=None, closed_at=None)

    def comment(self, issue: dict[str, Any], body: str) -> dict[str, Any]:
        comment = {
            "id": next(self._ids),
            "body": body,
            "user": self.user,
            "html_url": f"{issue['html_url']}#issuecomment-{len(self.comments) + 1}",
            "created_at": _WHEN,
        }
        self.comments[issue["number"]].append(comment)
        issue["comments"] += 1
        return comment

    def relabel(self, issue: dict[str, Any], labels: list[str], actor: dict[str, Any]) -> None:
        old = [label["name"] for label in issue["labels"]]
        new = list(dict.fromkeys(labels))
        added = [name for name in new if name not in old]
        removed = [name for name in old if name not in new]
        for event, names in (("labeled", added), ("unlabeled", removed)):
            for name in names:
                color = self.label(name)["color"]
                self.events[issue["number"]].append(
                    {
                        "id": next(self._ids),
                        "event": event,
                        "actor": actor,
                        "label": {"name": name, "color": color},
                        "created_at": _WHEN,
                    }
                )
        issue["labels"] = [self.label(name) for name in new]

    def label(self, name: str) -> dict[str, Any]:
        return self.labels.setdefault(
            name, {"id": next(self._ids), "name": name, "color": "ededed", "default": False}
        )

    def listed(self, state: str, labels: set[str]) -> list[dict[str, Any]]:
        """`GET /repos/{o}/{r}/issues`: newest first, pull requests included, labels ANDed."""
        items = sorted(self.issues.values(), key=lambda i: -i["number"])
        if state != "all":
            items = [i for i in items if i["state"] == state]
        return [i for i in items if labels <= {label["name"] for label in i["labels"]}]

    def searched(self, phrases: list[str], issues_only: bool) -> list[dict[str, Any]]:
        """`GET /search/issues` over bodies: every phrase, without case."""
        items = sorted(self.issues.values(), key=lambda i: -i["number"])
        if issues_only:
            items = [i for i in items if "pull_request" not in i]
        wanted = [phrase.casefold() for phrase in phrases]
        return [i for i in items if all(p in (i["body"] or "").casefold() for p in wanted)]
