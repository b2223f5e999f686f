"""Redmine's REST API as the backend uses it: JSON reads and writes through `TicketHTTP`, 422
answers turned into one line of Redmine's own messages, and the name lookups (trackers,
priorities, statuses, custom fields, projects) cached for the life of the backend object."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tma_agent.tickets import TicketRefused
from tma_agent.tickets.http import TicketAnswer, TicketHTTP
from tma_redmine._answers import BACKEND, garbled, int_of, list_of, str_of
from tma_redmine.settings import RedmineSettings

__all__ = ["FieldInfo", "ProjectInfo", "RedmineAPI", "Status", "errors_of"]


@dataclass(frozen=True)
class Status:
    id: int
    name: str
    is_closed: bool


@dataclass(frozen=True)
class FieldInfo:
    """The fingerprint custom field. `is_filter` is None when the key may not read
    /custom_fields.json (admins only) and the id was learnt another way."""

    id: int
    is_filter: bool | None
    field_format: str | None = None
    tracker_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    identifier: str
    trackers: Mapping[str, int]
    #: Custom fields enabled for this project by name (fields "for all projects" are not listed).
    field_ids: Mapping[str, int]


class RedmineAPI:
    def __init__(
        self,
        settings: RedmineSettings,
        *,
        timeout: float,
        retries: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.http = TicketHTTP(
            BACKEND,
            settings.url,
            headers={"X-Redmine-API-Key": settings.api_key, "Accept": "application/json"},
            timeout=timeout,
            retries=retries,
            transport=transport,
        )
        self._names: dict[str, dict[str, Any]] = {}
        self._shown: dict[str, list[str]] = {}  # the names as Redmine spells them, for messages
        self._fields: list[dict[str, Any]] | None = None
        self._fields_read = False
        self._projects: dict[str, ProjectInfo] = {}
        #: Custom field ids by name, as issues in answers show them (for keys that may not
        #: read /custom_fields.json), and the projects already probed for one.
        self._learned: dict[str, int] = {}
        self._probed: set[str] = set()

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: Any = None) -> dict[str, Any]:
        answer = self.http.get(path, params=params)
        body = answer.json()
        if not isinstance(body, dict):
            raise garbled(answer.url, "not a JSON object")
        return body

    def write(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        """POST or PUT; a 422 is refused with Redmine's messages (`Subject cannot be blank`)."""
        answer = self.http.request(method, path, json=body, expect={422})
        if answer.status == 422:
            shown = errors_of(answer)
            raise TicketRefused(BACKEND, answer.url, f"refused: {shown[:500]}", status=422)
        return answer.json()

    # The lookups: names as people type them in the config, compared without case.

    def trackers(self) -> dict[str, int]:
        return self._by_name(
            "/trackers.json", "trackers", lambda item, url: int_of(item, "id", url)
        )

    def priorities(self) -> dict[str, int]:
        return self._by_name(
            "/enumerations/issue_priorities.json",
            "issue_priorities",
            lambda item, url: int_of(item, "id", url),
        )

    def activities(self) -> dict[str, int]:
        return self._by_name(
            "/enumerations/time_entry_activities.json",
            "time_entry_activities",
            lambda item, url: int_of(item, "id", url),
        )

    def statuses(self) -> dict[str, Status]:
        def status(item: dict[str, Any], url: str) -> Status:
            return Status(
                int_of(item, "id", url), str_of(item, "name", url), item.get("is_closed") is True
            )

        return self._by_name("/issue_statuses.json", "issue_statuses", status)

    def _by_name(self, path: str, key: str, build: Any) -> dict[str, Any]:
        if path not in self._names:
            body = self.get(path)
            url = self.http.url(path)
            items = list_of(body, key, url)
            self._shown[path] = [str_of(item, "name", url) for item in items]
            self._names[path] = {
                name.casefold(): build(item, url)
                for name, item in zip(self._shown[path], items, strict=True)
            }
        return self._names[path]

    def tracker_names(self) -> list[str]:
        self.trackers()
        return self._shown["/trackers.json"]

    def custom_fields(self) -> list[dict[str, Any]] | None:
        """Every custom field, or None when the key is not an administrator's (403)."""
        if not self._fields_read:
            try:
                body = self.get("/custom_fields.json")
            except TicketRefused as exc:
                if exc.status != 403:
                    raise
                self._fields = None
            else:
                self._fields = list_of(body, "custom_fields", self.http.url("/custom_fields.json"))
            self._fields_read = True
        return self._fields

    def project(self, identifier: str) -> ProjectInfo:
        """The project with its enabled trackers; refused when it does not exist (404) or the
        key may not see it (403)."""
        if identifier not in self._projects:
            path = f"/projects/{_segment(identifier)}.json"
            try:
                body = self.get(path, {"include": "trackers,issue_custom_fields"})
            except TicketRefused as exc:
                if exc.status not in (403, 404):
                    raise
                raise TicketRefused(
                    BACKEND,
                    exc.url,
                    f"project {identifier!r} does not exist or the API key's user is not a "
                    f"member of it (HTTP {exc.status}): create it or fix tickets.project",
                    status=exc.status,
                ) from None
            url = self.http.url(path)
            project = body.get("project")
            self._projects[identifier] = ProjectInfo(
                id=int_of(project, "id", url),
                identifier=identifier,
                trackers={
                    str_of(t, "name", url).casefold(): int_of(t, "id", url)
                    for t in list_of(project, "trackers", url)
                },
                field_ids={
                    str_of(f, "name", url).casefold(): int_of(f, "id", url)
                    for f in _optional_list(project, "issue_custom_fields", url)
                },
            )
        return self._projects[identifier]

    def fingerprint_field(self, project: str | None) -> FieldInfo | None:
        """The fingerprint field by name: from /custom_fields.json for an admin's key, else
        from the project's own fields (None when neither shows it)."""
        wanted = self.settings.fingerprint_field.casefold()
        fields = self.custom_fields()
        if fields is not None:
            url = self.http.url("/custom_fields.json")
            for field in fields:
                if (
                    str(field.get("name", "")).casefold() == wanted
                    and field.get("customized_type") == "issue"
                ):
                    trackers = _optional_list(field, "trackers", url)
                    return FieldInfo(
                        id=int_of(field, "id", url),
                        is_filter=field.get("is_filter") is True,
                        field_format=str(field.get("field_format")),
                        tracker_ids=frozenset(int_of(t, "id", url) for t in trackers),
                    )
            return None
        field_id = self._learned.get(wanted)
        if field_id is None and project is not None:
            field_id = self.project(project).field_ids.get(wanted)
            if field_id is None and project not in self._probed:
                # A field "for all projects" is not in the project's list; an issue shows it.
                self._probed.add(project)
                params = {"project_id": project, "status_id": "*", "limit": 1}
                url = self.http.url("/issues.json")
                for issue in list_of(self.get("/issues.json", params), "issues", url):
                    self.learn(issue)
                field_id = self._learned.get(wanted)
        return None if field_id is None else FieldInfo(id=field_id, is_filter=None)

    def learn(self, issue: Mapping[str, Any]) -> None:
        """Remember the custom field ids an issue in an answer shows, by name."""
        fields = issue.get("custom_fields")
        for field in fields if isinstance(fields, list) else ():
            if isinstance(field, dict) and isinstance(field.get("id"), int):
                self._learned.setdefault(str(field.get("name", "")).casefold(), field["id"])


def errors_of(answer: TicketAnswer) -> str:
    """Redmine's messages of a 422 (`{"errors": [...]}`), one line."""
    parsed = answer.json()
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if not isinstance(errors, list) or not errors:
        return "HTTP 422 without a list of errors"
    return "; ".join(" ".join(str(e).split()) for e in errors[:10])


def _optional_list(value: dict[str, Any] | Any, key: str, url: str) -> Sequence[dict[str, Any]]:
    if not isinstance(value, dict) or value.get(key) is None:
        return []
    return list_of(value, key, url)


def _segment(identifier: str) -> str:
    # An identifier is `[a-z0-9_-]`; anything else would change the path, so refuse it here.
    if not identifier or not all(c.isalnum() or c in "-_" for c in identifier):
        raise TicketRefused(
            BACKEND, "tickets.project", f"{identifier!r} is not a project identifier"
        )
    return identifier
