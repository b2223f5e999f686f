"""`tma tickets check` for GitLab: the token, the project and its issues, the labels people use.

A refusal is a line saying what to fix; only an unreachable server raises (`TicketUnavailable`).
The labels the agent sets itself (`tma`, the kind, `tma-fp:*`) need nothing: GitLab creates a
label the first time an issue uses it. The validated/rejected labels are set by people, so they
must exist beforehand to appear in GitLab's label picker; the check says to create them and
creates nothing itself (it only reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tma_agent.tickets import TicketRefused
from tma_agent.tickets.forge.wire import text
from tma_gitlab._wire import pages

if TYPE_CHECKING:
    from tma_gitlab.backend import GitLabBackend

__all__ = ["problems"]

#: Reporter: what setting labels and closing issues needs.
_REPORTER = 20


def problems(backend: GitLabBackend) -> list[str]:
    settings, http = backend.settings, backend.http
    project = settings.project
    try:
        user = http.get("/user").json()
    except TicketRefused as exc:
        return [f"{exc}: create an access token with the `api` scope and give it in tickets.token"]
    try:
        info = http.get(backend._project).json()
    except TicketRefused as exc:
        return [f"{exc}: project {project!r} does not exist or the token's user cannot see it"]
    found: list[str] = []
    if not isinstance(info, dict):
        return [f"gitlab {http.url(backend._project)}: the answer is not a project"]
    if info.get("issues_enabled") is False or info.get("issues_access_level") == "disabled":
        found.append(
            f"project {project!r}: issues are disabled; enable them "
            "(Settings > General > Visibility, project features, Issues)"
        )
    level = _access_level(info.get("permissions"))
    who = text(user, "username") if isinstance(user, dict) else ""
    if level is not None and level < _REPORTER:
        found.append(
            f"project {project!r}: the token's user {who or '?'} has access level {level}; "
            "give it at least Reporter (labels and closing issues need it)"
        )
    existing: set[str] = set()
    for _answer, labels in pages(http, f"{backend._project}/labels", {"per_page": 100}):
        existing.update(text(label, "name") for label in labels)
    for label, meaning in (
        (settings.validated_label, "the client validated the request"),
        (settings.rejected_label, "the client rejected it"),
    ):
        if label not in existing:
            found.append(
                f"project {project!r}: create the label {label!r} (Manage > Labels); people "
                f"add it to an issue to say {meaning}"
            )
    return found


def _access_level(permissions: Any) -> int | None:
    if not isinstance(permissions, dict):
        return None
    levels = [
        access.get("access_level")
        for access in (permissions.get("project_access"), permissions.get("group_access"))
        if isinstance(access, dict)
    ]
    numbers = [level for level in levels if isinstance(level, int)]
    return max(numbers) if numbers else None
