"""A stateful GitLab REST v4 on 127.0.0.1, as documented: `PRIVATE-TOKEN` auth, projects by id
or URL-encoded path, issues with labels (created on first use), notes (running `/spend` into
`time_stats.total_time_spent`), `time_estimate`, Markdown uploads (multipart `file`, 413 over
`max_upload_bytes`), offset
pagination with `X-*-Page` and `Link` headers, and GitLab's error bodies (`{"message": ...}`,
`{"error": ...}`). Failures are queued with `fail()` (see `tma_agent.testing.fake_api`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from tma_agent.testing.fake_api import FakeAPI, json_reply, page_of, params_of
from tma_agent.testing.feeds import Reply, Request
from tma_agent.testing.forge_fakes import form_parts
from tma_gitlab.testing._project import Project

__all__ = ["FakeGitLab"]

_UNIT = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60, "s": 1}
_ROUTE = re.compile(
    r"/api/v4/projects/([^/]+)(?:/(issues|labels|uploads)(?:/(\d+)(?:/(notes|time_estimate|resource_label_events))?)?)?"
)


class FakeGitLab(FakeAPI):
    def __init__(
        self,
        *,
        token: str = "glpat-fake-0123456789",  # noqa: S107 - a test token
        project: str = "agency/maintenance",
        project_id: int = 7,
        page_size: int = 100,
        labels: tuple[str, ...] = ("tma::validated", "tma::rejected"),
    ) -> None:
        super().__init__()
        self.token = token
        #: The most items a page holds whatever `per_page` asks (tests make it small).
        self.page_size = page_size
        #: The instance's maximum attachment size (Admin > Settings > Account and limit).
        self.max_upload_bytes = 10 * 1024 * 1024
        self.user = {"id": 1, "username": "tma-bot", "name": "TMA bot", "state": "active"}
        self.project = Project(project_id, project, site=self.url, user=self.user)
        self.projects = {project_id: self.project}
        for name in labels:
            self.project.label(name)

    # -- what tests use ------------------------------------------------------------------------

    def add_issue(
        self,
        title: str,
        *,
        description: str = "",
        labels: list[str] | None = None,
        state: str = "opened",
    ) -> dict[str, Any]:
        """An issue a person made (not through the API under test)."""
        with self.state_lock:
            issue = self.project.new_issue(title, description, labels or [])
            if state == "closed":
                self.project.close(issue)
            return issue

    def set_labels(self, iid: int, labels: list[str], *, by: str = "client-pm") -> None:
        """What a person (`by`) does in GitLab's sidebar."""
        with self.state_lock:
            self.project.relabel(self.project.issues[iid], set(labels), {"username": by})

    # -- the API -------------------------------------------------------------------------------

    def bad_request(self) -> Reply:
        return json_reply({"error": "400 Bad request - the body is not valid JSON"}, 400)

    def handle(self, request: Request) -> Reply:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("private-token") != self.token:
            return json_reply({"message": "401 Unauthorized"}, 401)
        if request.path == "/api/v4/user" and request.method == "GET":
            return json_reply(self.user)
        match = _ROUTE.fullmatch(request.path)
        if not match:
            return json_reply({"error": "404 Not Found"}, 404)
        key, collection, iid, sub = match.groups()
        project = self._project(unquote(key))
        if project is None:
            return json_reply({"message": "404 Project Not Found"}, 404)
        if collection == "uploads" and iid is None and request.method == "POST":
            return self._upload(project, request)
        params = params_of(request)
        route = (request.method, collection, iid is not None, sub)
        if route == ("GET", None, False, None):
            return json_reply(self._project_json(project))
        if collection == "labels" and route[0] == "GET" and iid is None:
            return self._page(
                request, params, sorted(project.labels.values(), key=lambda x: x["name"])
            )
        if collection != "issues":
            return json_reply({"error": "404 Not Found"}, 404)
        if not project.issues_enabled:
            return json_reply({"message": "403 Forbidden"}, 403)
        if iid is None:
            if request.method == "GET":
                return self._page(request, params, self._search(project, params))
            if request.method == "POST":
                return self._create(project, params)
            return json_reply({"error": "405 Method Not Allowed"}, 405)
        issue = project.issues.get(int(iid))
        if issue is None:
            return json_reply({"message": "404 Issue Not Found"}, 404)
        if route == ("GET", "issues", True, None):
            return json_reply(issue)
        if route == ("PUT", "issues", True, None):
            return self._update(project, issue, params)
        if sub == "notes" and request.method == "GET":
            return self._page(request, params, project.notes[issue["iid"]])
        if sub == "notes" and request.method == "POST":
            body = _one(params, "body")
            if not body:
                return json_reply({"error": "body is missing"}, 400)
            return self._note(project, issue, body)
        if sub == "resource_label_events" and request.method == "GET":
            return self._page(request, params, project.label_events[issue["iid"]])
        if sub == "time_estimate" and request.method == "POST":
            seconds = _seconds(_one(params, "duration"))
            if seconds is None:
                return json_reply({"message": "400 Bad request - Invalid time format"}, 400)
            issue["time_stats"]["time_estimate"] = seconds
            issue["time_stats"]["human_time_estimate"] = _one(params, "duration")
            return json_reply(issue["time_stats"])
        return json_reply({"error": "404 Not Found"}, 404)

    def _upload(self, project: Project, request: Request) -> Reply:
        """`POST /projects/:id/uploads`: a multipart form whose `file` field is the file."""
        try:
            parts = form_parts(request.headers, request.body)
        except ValueError:
            return self.bad_request()
        files = [part for part in parts if part.name == "file" and part.filename is not None]
        if not files:
            return json_reply({"error": "file is missing"}, 400)
        if len(files[0].content) > self.max_upload_bytes:
            return json_reply({"message": "413 Request Entity Too Large"}, 413)
        return json_reply(project.upload(unquote(files[0].filename or ""), files[0].content), 201)

    def _note(self, project: Project, issue: dict[str, Any], body: str) -> Reply:
        """A note; its quick actions run and leave it, as GitLab's do (`/spend` only here:
        `/spend 1h30m [YYYY-MM-DD]`, negative to subtract; the total never goes below 0)."""
        kept, changes = [], {}
        for line in body.split("\n"):
            command = re.fullmatch(r"/spend\s+(-?)(\S+)(?:\s+\d{4}-\d{2}-\d{2})?\s*", line)
            if command is None:
                kept.append(line)
                continue
            seconds = _seconds(command.group(2))
            if seconds is None:
                kept.append(line)  # not a valid command: GitLab leaves the text
                continue
            stats = issue["time_stats"]
            change = -seconds if command.group(1) else seconds
            stats["total_time_spent"] = max(0, stats["total_time_spent"] + change)
            changes["spend_time"] = {"duration": change}
            verb = "subtracted" if change < 0 else "added"
            project.add_note(issue, f"{verb} {command.group(2)} of time spent", system=True)
        text = "\n".join(kept).strip()
        if not text:
            return json_reply({"commands_changes": changes, "summary": ["Added time spent."]}, 202)
        return json_reply(project.add_note(issue, text), 201)

    def _project(self, key: str) -> Project | None:
        for project in self.projects.values():
            if key in (str(project.id), project.path):
                return project
        return None

    def _project_json(self, project: Project) -> dict[str, Any]:
        return {
            "id": project.id,
            "path_with_namespace": project.path,
            "web_url": f"{self.url}/{project.path}",
            "issues_enabled": project.issues_enabled,
            "issues_access_level": "enabled" if project.issues_enabled else "disabled",
            "permissions": {
                "project_access": {"access_level": project.access_level, "notification_level": 3},
                "group_access": None,
            },
        }

    def _create(self, project: Project, params: dict[str, list[str]]) -> Reply:
        title = _one(params, "title")
        if not title:
            return json_reply({"error": "title is missing"}, 400)
        if len(title) > 255:
            return json_reply(
                {"message": {"title": ["is too long (maximum is 255 characters)"]}}, 400
            )
        labels = _names(params, "labels")
        if any(len(name) > 255 for name in labels):
            return json_reply({"message": {"labels": ["is invalid"]}}, 400)
        issue = project.new_issue(title, _one(params, "description"), labels)
        return json_reply(issue, 201)

    def _update(
        self, project: Project, issue: dict[str, Any], params: dict[str, list[str]]
    ) -> Reply:
        if "title" in params:
            title = _one(params, "title")
            if not title or len(title) > 255:
                return json_reply({"message": {"title": ["can't be blank or too long"]}}, 400)
            issue["title"] = title
        if "description" in params:
            issue["description"] = _one(params, "description")
        labels = set(issue["labels"])
        if "labels" in params:
            labels = set(_names(params, "labels"))
        labels |= set(_names(params, "add_labels"))
        labels -= set(_names(params, "remove_labels"))
        project.relabel(issue, labels, self.user)
        event = _one(params, "state_event")
        if event == "close" and issue["state"] != "closed":
            project.close(issue)
        elif event == "reopen" and issue["state"] == "closed":
            project.reopen(issue)
        return json_reply(issue)

    def _search(self, project: Project, params: dict[str, list[str]]) -> list[dict[str, Any]]:
        issues = sorted(project.issues.values(), key=lambda i: -i["iid"])  # created_at desc
        state = _one(params, "state") or "all"
        if state != "all":
            issues = [i for i in issues if i["state"] == state]
        wanted = set(_names(params, "labels"))
        issues = [i for i in issues if wanted <= set(i["labels"])]  # AND semantics
        iids = params.get("iids[]")
        if iids:
            issues = [i for i in issues if str(i["iid"]) in iids]
        search = _one(params, "search").casefold()
        if search:
            fields = (_one(params, "in") or "title,description").split(",")
            issues = [
                i for i in issues if any(search in (i[f.strip()] or "").casefold() for f in fields)
            ]
        return issues

    def _page(self, request: Request, params: dict[str, list[str]], items: list[Any]) -> Reply:
        page = page_of(self.url, request, items, default=20, cap=min(100, self.page_size))
        more = page.number < page.last
        headers = {
            "X-Page": str(page.number),
            "X-Per-Page": str(page.per_page),
            "X-Next-Page": str(page.number + 1) if more else "",
            "X-Prev-Page": str(page.number - 1) if page.number > 1 else "",
            "X-Total": str(page.total),
            "X-Total-Pages": str(page.last),
            "Link": page.link_header(),
        }
        return json_reply(page.items, headers=headers)


def _one(params: dict[str, list[str]], key: str) -> str:
    values = params.get(key) or [""]
    return str(values[0]) if values[0] is not None else ""


def _names(params: dict[str, list[str]], key: str) -> list[str]:
    values = params.get(key) or []
    names = [n for v in values for n in (v if isinstance(v, list) else str(v).split(","))]
    return [n.strip() for n in names if n.strip()]


def _seconds(text: str) -> int | None:
    parts = re.findall(r"(\d+)\s*([wdhms])", text)
    if not parts or re.sub(r"(\d+)\s*([wdhms])|\s", "", text):
        return None
    return sum(int(n) * _UNIT[u] for n, u in parts)
