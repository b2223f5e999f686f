"""The `web:` block: `tma serve`'s bind address, accounts, sessions and webhook secrets
(docs/web.md). The keys of the issue's contract are kept as named; others may be added."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tma_agent._masking import remember_secret
from tma_agent.settings import Strict

__all__ = [
    "DEFAULT_BIND",
    "GitHubHook",
    "GitLabHook",
    "JiraHook",
    "WebSettings",
    "WebUser",
    "Webhooks",
    "parse_bind",
]

DEFAULT_BIND = "127.0.0.1:8470"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def parse_bind(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8470` for IPv6) as (host, port); ValueError naming what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8470")
    return host.strip("[]"), int(port)


class WebUser(Strict):
    name: str
    #: An argon2 hash (`tma users add`); None: the account logs in only through
    #: `proxy_auth_header`.
    password_hash: str | None = None
    role: Literal["staff", "client"]
    #: The client id a client account sees, and nothing else.
    client: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("letters, digits, '.', '_', '@' or '-' (at most 100)")
        return value

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2"):
            # Never echo it: a mistyped plain password would end up in the error output.
            raise ValueError("must be an argon2 hash (make one with `tma users add NAME`)")
        return value

    @model_validator(mode="after")
    def _client_role(self) -> WebUser:
        if self.role == "client" and not self.client:
            raise ValueError("a client account names its client (client: ID)")
        if self.role == "staff" and self.client:
            raise ValueError("a staff account sees every client: remove `client`")
        return self


class GitLabHook(Strict):
    #: Compared with the `X-Gitlab-Token` header GitLab sends (the webhook's secret token).
    token: str = Field(min_length=16)


class GitHubHook(Strict):
    #: The webhook secret: GitHub signs each body with it (`X-Hub-Signature-256`).
    secret: str = Field(min_length=16)


class JiraHook(Strict):
    #: The last segment of the URL given to Jira: `POST /hooks/jira/<token>`.
    token: str = Field(min_length=16)


class Webhooks(Strict):
    gitlab: GitLabHook | None = None
    github: GitHubHook | None = None
    jira: JiraHook | None = None


class WebSettings(Strict):
    #: Where `tma serve` listens (`--host`/`--port` override it); loopback unless told.
    bind: str = DEFAULT_BIND
    #: The address people open; `https://...` makes session cookies Secure.
    base_url: str | None = None
    #: Signs the session cookies: long and random (`{$env: TMA_WEB_SECRET}`).
    secret_key: str | None = Field(None, min_length=32)
    users: list[WebUser] = Field(default_factory=list)
    #: A header set by a trusted reverse proxy naming the logged-in user (`X-Remote-User`);
    #: the proxy must strip it from what clients send. None: log-in forms only.
    proxy_auth_header: str | None = None
    #: The reverse proxies (addresses or networks) whose connections may name the browser's
    #: address (X-Forwarded-For, X-Forwarded-Proto) and the account (`proxy_auth_header`);
    #: from any other peer these headers are ignored. Loopback by default, as uvicorn's.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    #: False: client accounts cannot log in (the dashboard is the agency's only).
    clients_portal: bool = True
    webhooks: Webhooks = Field(default_factory=lambda: Webhooks())
    #: Failed log-ins allowed per address and per account in `login_window_seconds`.
    login_attempts: int = Field(5, ge=1, le=100)
    login_window_seconds: int = Field(300, ge=10, le=86400)
    #: How long a session lasts without logging in again.
    session_hours: int = Field(12, ge=1, le=24 * 30)
    #: The requests page's "sync now": at most one per this many seconds (for all staff
    #: together, and for each client), so a click held down cannot flood the ticket system.
    sync_every_seconds: int = Field(30, ge=0, le=3600)

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        parse_bind(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        from tma_agent.web.proxy import check_network

        return [check_network(item) for item in value]

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/?#]+(/[A-Za-z0-9._~/-]*)?$", value):
            raise ValueError(
                "must be an http:// or https:// URL, with at most a plain path"
                " (https://agency.example/tma)"
            )
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _masked(self) -> WebSettings:
        # Written in clear in the file (not `{$env}`/`{$file}`), they must still never show.
        hooks = self.webhooks
        for secret in (
            self.secret_key,
            hooks.gitlab.token if hooks.gitlab else None,
            hooks.github.secret if hooks.github else None,
            hooks.jira.token if hooks.jira else None,
        ):
            if secret:
                remember_secret(secret)
        return self

    @model_validator(mode="after")
    def _unique_users(self) -> WebSettings:
        seen: set[str] = set()
        for user in self.users:
            if user.name in seen:
                raise ValueError(f"users: duplicate account {user.name!r}")
            seen.add(user.name)
        return self

    @property
    def path_prefix(self) -> str:
        """`base_url`'s path (`/tma`), "" when the dashboard is at the root of its host."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).path.rstrip("/") if self.base_url else ""

    @property
    def secure_cookies(self) -> bool:
        return bool(self.base_url and self.base_url.startswith("https://"))

    def user(self, name: str) -> WebUser | None:
        return next((u for u in self.users if u.name == name), None)
