"""`tma tickets check` for GitHub: the token, the repository and its issues, the labels people
use. A refusal is a line saying what to fix; only an unreachable server raises.

The labels the agent sets itself are created by GitHub when an issue first uses them (the
token's user needs push access for that: with triage only, GitHub drops unknown labels
silently). The validated/rejected labels are set by people and must exist; the check reads
only and says to create them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from tma_agent.tickets import TicketRefused
from tma_github._wire import call

if TYPE_CHECKING:
    from tma_github.backend import GitHubBackend

__all__ = ["problems"]


def problems(backend: GitHubBackend) -> list[str]:
    settings, http = backend.settings, backend.http
    repo = settings.project
    try:
        info = call(http, "GET", backend.repo).json()
    except TicketRefused as exc:
        if exc.status == 401:
            return [f"{exc}: give a valid token in tickets.token (Issues: read and write)"]
        return [f"{exc}: repository {repo!r} does not exist or the token cannot see it"]
    if not isinstance(info, dict):
        return [f"github {http.url(backend.repo)}: the answer is not a repository"]
    found: list[str] = []
    if info.get("has_issues") is False:
        found.append(f"repository {repo!r}: issues are disabled; enable them (Settings > Features)")
    permissions = info.get("permissions")
    if isinstance(permissions, dict) and not (
        permissions.get("push") or permissions.get("triage") or permissions.get("admin")
    ):
        found.append(
            f"repository {repo!r}: the token's user cannot set labels or close issues; give "
            "it the Triage role (Write, for GitHub to create the agent's labels on first use)"
        )
    for label, meaning in (
        (settings.validated_label, "the client validated the request"),
        (settings.rejected_label, "the client rejected it"),
    ):
        path = f"{backend.repo}/labels/{quote(label, safe='')}"
        if call(http, "GET", path, expect=(404,)).status == 404:
            found.append(
                f"repository {repo!r}: create the label {label!r} (Issues > Labels); people "
                f"add it to an issue to say {meaning}"
            )
    return found
