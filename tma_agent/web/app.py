"""`create_app(config)`: the Starlette application `tma serve` runs under uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pluggy
from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tma_agent.config import Config
from tma_agent.errors import ConfigError
from tma_agent.ledger.database import Ledger
from tma_agent.web.artifacts import artifact_routes
from tma_agent.web.auth import CSRF_FIELD, check_csrf, verify_password, viewer_of
from tma_agent.web.downloads import download_routes
from tma_agent.web.hooks import hook_routes
from tma_agent.web.limits import LoginLimiter
from tma_agent.web.pages import Pages
from tma_agent.web.prefix import PathPrefix, redirect
from tma_agent.web.proxy import TrustedProxies
from tma_agent.web.security import SecurityHeaders
from tma_agent.web.settings import WebSettings, parse_bind
from tma_agent.web.sync import sync_routes

__all__ = ["SESSION_COOKIE", "allowed_hosts", "create_app"]

HERE = Path(__file__).parent
SESSION_COOKIE = "tma_session"


def _safe_next(value: object) -> str:
    """Only a path of this site: never `//other.example` nor `https://...` (open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


class _Login:
    def __init__(self, config: Config, pages: Pages, ledger: Ledger) -> None:
        self.config = config
        self.pages = pages
        web = config.web
        # In the ledger: every server on it (workers, a restart) counts the same failures.
        self.limiter = LoginLimiter(
            ledger, web.secret_key or "", web.login_attempts, web.login_window_seconds
        )

    async def form(self, request: Request) -> Response:
        if viewer_of(request, self.config.web) is not None:
            return redirect(request, "/")
        return self.pages.render(
            request, "login.html.j2", next=_safe_next(request.query_params.get("next"))
        )

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        target = _safe_next(form.get("next"))
        if not check_csrf(request, form.get(CSRF_FIELD)):
            return self.pages.error(request, 403, "the form expired: reload the page", api=False)
        name = str(form.get("name") or "").strip()[:100]
        password = str(form.get("password") or "")
        address = request.client.host if request.client else "unknown"
        keys = (f"address:{address}", f"account:{name.casefold()}")
        if await run_in_threadpool(self.limiter.blocked, *keys):
            return self.pages.render(
                request,
                "login.html.j2",
                429,
                next=target,
                message="too many failed log-ins: wait a few minutes",
            )
        user = self.config.web.user(name)
        ok = await run_in_threadpool(verify_password, user, password)
        if not ok or user is None or (user.role == "client" and not self.config.web.clients_portal):
            await run_in_threadpool(self.limiter.failed, *keys)
            return self.pages.render(
                request, "login.html.j2", 401, next=target, message="wrong name or password"
            )
        # A new session (and CSRF token) on every log-in: none chosen before it survives.
        request.session.clear()
        request.session["user"] = user.name
        return redirect(request, target)

    async def link(self, request: Request) -> Response:
        """A signed log-in link (`tma users link`): a client account only, never staff."""
        from tma_agent.web.links import read_link_token

        web = self.config.web
        name = read_link_token(web.secret_key or "", request.path_params["token"])
        user = web.user(name) if name else None
        if user is None or user.role != "client" or not web.clients_portal:
            return self.pages.error(request, 404, "this link is invalid or has expired", api=False)
        request.session.clear()
        request.session["user"] = user.name
        return redirect(request, f"/clients/{user.client}")

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if check_csrf(request, form.get(CSRF_FIELD)):
            request.session.clear()
        return redirect(request, "/login")


def allowed_hosts(web: WebSettings) -> list[str]:
    """The Host headers answered: loopback names, the bound address and `base_url`'s host.
    Another name pointing at a loopback server (DNS rebinding) gets 400. Bound to every
    address without a `base_url`, the names people use are unknown: any is answered."""
    from urllib.parse import urlsplit

    host = parse_bind(web.bind)[0]
    if host in ("0.0.0.0", "::") and not web.base_url:  # noqa: S104 - comparing, not binding
        return ["*"]
    names = {"127.0.0.1", "localhost", "::1", host}
    if web.base_url:
        names.add(urlsplit(web.base_url).hostname or host)
    # A Host header names an IPv6 address in brackets ([::1]:8470), and is compared so.
    return sorted(f"[{name}]" if ":" in name else name for name in names)


def _templates() -> Environment:
    # Autoescaped everywhere: names, titles and descriptions come from people and sites.
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)


def _check_prefix(prefix: str, routes: list[BaseRoute]) -> None:
    """A prefix-stripping proxy sends `/sites/www` for `/tma/sites/www`: a prefix that is one of
    the dashboard's own first segments could not be told apart from a page's path."""
    own = {r.path.strip("/").split("/")[0] for r in routes if isinstance(r, Route | Mount)}
    first = prefix.strip("/").split("/")[0]
    if first and first in own:
        raise ConfigError(
            f"web.base_url: its path {prefix} starts with /{first}, one of the dashboard's"
            " own paths: choose another (e.g. /tma)"
        )


def create_app(
    config: Config, *, pm: pluggy.PluginManager | None = None, ledger: Ledger | None = None
) -> Starlette:
    """The dashboard on `config`'s ledger (opened and upgraded like the CLI's when not
    given). ConfigError without `web.secret_key`: sessions must be signed."""
    secret = config.web.secret_key
    if not secret:
        raise ConfigError("web.secret_key: needed to sign the sessions (32 characters or more)")
    if pm is None:
        from tma_agent.plugins import get_plugin_manager

        pm = get_plugin_manager(config.plugins.block)
    if ledger is None:
        from tma_agent.ledger import open_ledger

        ledger = open_ledger(config)
    opened = ledger
    pages = Pages(config, opened, _templates(), pm)
    login = _Login(config, pages, opened)
    routes: list[BaseRoute] = [
        Route("/login", login.form, methods=["GET"]),
        Route("/login", login.submit, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/link/{token}", login.link, methods=["GET"]),
        *sync_routes(pages),
        *pages.routes(),
        *download_routes(pages),
        *artifact_routes(pages),
        *hook_routes(config, pm, opened),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    _check_prefix(config.web.path_prefix, routes)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        opened.close()

    middleware = [
        Middleware(PathPrefix, prefix=config.web.path_prefix),
        Middleware(SecurityHeaders),
        Middleware(TrustedProxies, networks=config.web.trusted_proxies),
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(config.web)),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            path=config.web.path_prefix or "/",
            max_age=config.web.session_hours * 3600,
            same_site="lax",
            https_only=config.web.secure_cookies,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
