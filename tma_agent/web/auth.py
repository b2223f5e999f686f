"""Who is asking: accounts of `web.users` (argon2 hashes), or a trusted proxy's header;
sessions in signed cookies (Starlette's SessionMiddleware), CSRF tokens (log-in limits:
`tma_agent.web.limits`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import RedirectResponse

from tma_agent.web.prefix import app_path, redirect
from tma_agent.web.proxy import from_trusted_proxy
from tma_agent.web.settings import WebSettings, WebUser

__all__ = [
    "CSRF_FIELD",
    "Viewer",
    "check_csrf",
    "csrf_token",
    "hash_password",
    "to_login",
    "verify_password",
    "viewer_of",
]

CSRF_FIELD = "csrf"
_HASHER = PasswordHasher()
#: Verified when the account does not exist, so an unknown name costs the same time.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str
    #: The one client a client account sees; None for staff.
    client: str | None

    @property
    def staff(self) -> bool:
        return self.role == "staff"

    def sees(self, client: str) -> bool:
        return self.staff or client == self.client


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(user: WebUser | None, password: str) -> bool:
    stored = user.password_hash if user is not None else None
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _allowed(settings: WebSettings, user: WebUser | None) -> Viewer | None:
    if user is None or (user.role == "client" and not settings.clients_portal):
        return None
    return Viewer(user.name, user.role, user.client)


def viewer_of(request: Request, settings: WebSettings) -> Viewer | None:
    """The logged-in account, read again from the configuration on every request: an account
    removed from `web.users` is logged out at once."""
    named = request.headers.get(settings.proxy_auth_header) if settings.proxy_auth_header else None
    if named and from_trusted_proxy(request):
        return _allowed(settings, settings.user(named.strip()))
    if named:
        # A proxy missing from web.trusted_proxies, or someone reaching the port directly.
        peer = request.scope.get("client") or ("unknown",)
        structlog.get_logger(__name__).warning(
            f"{settings.proxy_auth_header} from {peer[0]} ignored: not in web.trusted_proxies"
        )
    name = request.session.get("user")
    return _allowed(settings, settings.user(name)) if isinstance(name, str) else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the log-in form has one too)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, given: object) -> bool:
    expected = request.session.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and secrets.compare_digest(expected.encode(), given.encode())
    )


def to_login(request: Request) -> RedirectResponse:
    """To the log-in form, and back to this page once logged in (a link in a ticket note or a
    mail opens what it names). `next` is the path as sent, escaped once as a path and once
    as a query value: names with `#`, `?` or `%` come back whole."""
    back = urlencode({"next": quote(app_path(request))})
    return redirect(request, f"/login?{back}")
