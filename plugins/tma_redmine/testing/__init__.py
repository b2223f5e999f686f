"""Helpers for tests against the suite's real Redmine (`tma_agent.testing.redmine`): the
`tickets:` block that points at it, a backend built from it, a transport counting requests,
and a draft with sensible values."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx

from tma_agent.http_settings import HTTPSettings
from tma_agent.tickets import BackendContext, Priority, TicketDraft, marker_line
from tma_redmine.backend import RedmineBackend
from tma_redmine.settings import RedmineSettings

if TYPE_CHECKING:
    from tma_agent.testing.redmine import Redmine

__all__ = ["CountingTransport", "draft", "member_key", "redmine_backend", "tickets_block"]


def tickets_block(
    redmine: Redmine, project: str, *, api_key_env: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """The `tickets:` block (as YAML would load it) for `project` on this Redmine. With
    `api_key_env`, the key is written `{$env: NAME}` and the caller sets NAME=redmine.api_key."""
    api_key: Any = {"$env": api_key_env} if api_key_env else redmine.api_key
    return {
        "backend": "redmine",
        "url": redmine.url,
        "api_key": api_key,
        "project": project,
        "tracker": "Support",
        "fingerprint_field": "TMA fingerprint",
        "statuses": {"validated": ["Validated"], "rejected": ["Rejected"], "closed": ["Closed"]},
        **overrides,
    }


class CountingTransport(httpx.HTTPTransport):
    """A real HTTP transport that remembers each request's method and path (with query)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.raw_path.decode()))
        return super().handle_request(request)


def redmine_backend(
    redmine: Redmine,
    project: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    retries: int = 1,
    **overrides: Any,
) -> RedmineBackend:
    settings = RedmineSettings.model_validate(tickets_block(redmine, project, **overrides))
    context = BackendContext(settings, HTTPSettings(timeout=timeout, retries=retries))
    return RedmineBackend(context, transport=transport)


def draft(
    fingerprint: str,
    *,
    title: str = "Security updates for www.example.com",
    body: str = "## Updates\n\n- drupal/core 10.1.0 → 10.1.8",
    priority: Priority = "high",
    estimate_minutes: int = 90,
    client: str = "acme",
    site: str = "www",
    previous_ref: str | None = None,
) -> TicketDraft:
    return TicketDraft(
        fingerprint=fingerprint,
        title=title,
        description=f"{body}\n\n{marker_line(fingerprint)}",
        site=site,
        client=client,
        kind="preventive",
        priority=priority,
        estimate_minutes=estimate_minutes,
        labels=("tma", "preventive"),
        previous_ref=previous_ref,
    )


def member_key(redmine: Redmine, project: str, role: str = "Developer") -> str:
    """The API key of a new non-admin user, member of `project` with `role`."""
    login = f"u{uuid.uuid4().hex[:10]}"
    user = {
        "login": login,
        "firstname": "Agent",
        "lastname": login,
        "mail": f"{login}@example.org",
        "password": uuid.uuid4().hex,
    }
    with redmine.client() as admin:
        made = admin.post("/users.json", json={"user": user}).raise_for_status()
        roles = {r["name"]: r["id"] for r in admin.get("/roles.json").json()["roles"]}
        body = {"membership": {"user_id": made.json()["user"]["id"], "role_ids": [roles[role]]}}
        admin.post(f"/projects/{project}/memberships.json", json=body).raise_for_status()
    return str(made.json()["user"]["api_key"])
