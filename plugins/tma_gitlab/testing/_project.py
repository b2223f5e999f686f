"""The state behind `FakeGitLab`: one project's issues, notes, labels, label events and uploads, shaped
as REST v4 answers them."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

__all__ = ["Project"]

_WHEN = "2026-01-01T00:00:00Z"
_IDS = itertools.count(1000)


@dataclass
class Project:
    id: int
    path: str
    #: The server's address (for `web_url`) and the token's user (who the API acts as).
    site: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    issues_enabled: bool = True
    #: The token's user's access level (Reporter = 20, Developer = 30).
    access_level: int = 30
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: `resource_label_events` per iid, oldest first: who added or removed which label.
    label_events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: Markdown uploads by their `url` (`/uploads/<secret>/<name>`): the answer and the bytes.
    uploads: dict[str, tuple[dict[str, Any], bytes]] = field(default_factory=dict)

    def new_issue(self, title: str, description: str, labels: list[str]) -> dict[str, Any]:
        iid = max(self.issues, default=0) + 1
        issue: dict[str, Any] = {
            "id": next(_IDS),
            "iid": iid,
            "project_id": self.id,
            "title": title,
            "description": description,
            "state": "opened",
            "labels": [],
            "author": self.user,
            "closed_by": None,
            "closed_at": None,
            "web_url": f"{self.site}/{self.path}/-/issues/{iid}",
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
        }
        self.issues[iid] = issue
        self.notes[iid] = []
        self.label_events[iid] = []
        self.relabel(issue, set(labels), self.user)
        return issue

    def close(self, issue: dict[str, Any]) -> None:
        issue.update(state="closed", closed_at=_WHEN, closed_by=self.user)
        self.add_note(issue, "closed", system=True)  # GitLab's own "closed" system note

    def reopen(self, issue: dict[str, Any]) -> None:
        issue.update(state="opened", closed_at=None, closed_by=None)

    def add_note(self, issue: dict[str, Any], body: str, system: bool = False) -> dict[str, Any]:
        note = {
            "id": next(_IDS),
            "body": body,
            "author": self.user,
            "system": system,
            "created_at": _WHEN,
            "noteable_type": "Issue",
            "noteable_iid": issue["iid"],
        }
        self.notes[issue["iid"]].append(note)
        return note

    def relabel(self, issue: dict[str, Any], labels: set[str], user: dict[str, Any]) -> None:
        old = set(issue["labels"])
        for action, names in (("add", labels - old), ("remove", old - labels)):
            for name in sorted(names):
                self.label_events[issue["iid"]].append(
                    {
                        "id": next(_IDS),
                        "user": user,
                        "created_at": _WHEN,
                        "resource_type": "Issue",
                        "resource_id": issue["id"],
                        "label": self.label(name),
                        "action": action,
                    }
                )
        issue["labels"] = sorted(labels)

    def upload(self, filename: str, content: bytes) -> dict[str, Any]:
        """A Markdown upload, answered as `POST /projects/:id/uploads` does (an image's
        Markdown shows it, any other file's links it)."""
        secret = secrets.token_hex(16)
        url = f"/uploads/{secret}/{quote(filename)}"
        alt = filename.rsplit(".", 1)[0]
        image = filename.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"))
        answer = {
            "id": next(_IDS),
            "alt": alt,
            "url": url,
            "full_path": f"/-/project/{self.id}{url}",
            "markdown": f"![{alt}]({url})" if image else f"[{filename}]({url})",
        }
        self.uploads[url] = (answer, content)
        return answer

    def label(self, name: str) -> dict[str, Any]:
        """The label (GitLab creates one the first time an issue uses it)."""
        return self.labels.setdefault(name, {"id": next(_IDS), "name": name, "color": "#6699cc"})
