"""The dashboard under a path of its host (`web.base_url: https://agency.example/tma`): every
link, form, redirect and cookie carries the prefix. The reverse proxy may pass the path whole
(`/tma/sites/www`) or take the prefix off (`/sites/www`): both reach the same page, the scope
normalised as ASGI wants it (`path` whole, `root_path` the prefix)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PathPrefix", "app_path", "redirect", "root_of"]


class PathPrefix:
    """Outermost middleware; without a prefix it changes nothing."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = self.prefix
        if prefix and scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            raw: bytes | None = scope.get("raw_path")
            if path == prefix:  # `/tma` alone: the fleet, as `/tma/`
                path, raw = path + "/", (raw + b"/" if raw is not None else None)
            elif not path.startswith(prefix + "/"):  # the proxy took the prefix off
                path = prefix + path
                raw = prefix.encode() + raw if raw is not None else None
            scope["path"] = path
            if raw is not None:
                scope["raw_path"] = raw
            scope["root_path"] = prefix
        await self.app(scope, receive, send)


def root_of(request: Request) -> str:
    """The prefix (`/tma`), or "" at the root of the host."""
    return str(request.scope.get("root_path", ""))


def app_path(request: Request) -> str:
    """The request's path inside the dashboard, without the prefix (what `next` names)."""
    path, root = str(request.scope["path"]), root_of(request)
    return path[len(root) :] if root and path.startswith(root + "/") else path


def redirect(request: Request, path: str, status: int = 303) -> RedirectResponse:
    """To `path` of the dashboard (`/requests/4`), under its prefix."""
    return RedirectResponse(root_of(request) + path, status)
