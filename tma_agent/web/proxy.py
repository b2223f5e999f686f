"""Who is on the other end of the connection, behind a reverse proxy: `web.trusted_proxies`
names the proxies (addresses or networks). Only a request whose connection comes from one of
them may name its browser's address (`X-Forwarded-For`, `X-Forwarded-Proto`) or its account
(`web.proxy_auth_header`); from anywhere else these headers are ignored, so a process that
reaches the port directly cannot log in as anyone by sending the header itself."""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PEER_TRUSTED", "TrustedProxies", "check_network", "from_trusted_proxy"]

#: The scope key saying whether the connection itself came from a trusted proxy, set before
#: the client address is replaced by the forwarded one.
PEER_TRUSTED = "tma.peer_trusted"


def check_network(value: str) -> str:
    """An address or a network (`10.0.0.0/8`, `::1`); ValueError naming what is wrong. `*` is
    refused: trusting everyone makes the headers anyone's."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return value.strip()


class TrustedProxies:
    """ASGI middleware (outermost but the security headers): marks the scope with whether
    its connection comes from a trusted proxy, then lets uvicorn's own X-Forwarded-* handling
    rewrite the client address and scheme for those connections only."""

    def __init__(self, app: ASGIApp, networks: list[str]) -> None:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]
        # uvicorn types ASGI apps more narrowly than Starlette: the same callables.
        proxied = ProxyHeadersMiddleware(cast("Any", app), trusted_hosts=list(networks))
        self.app = cast("ASGIApp", proxied)

    def trusts(self, host: str | None) -> bool:
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:  # a Unix socket, or no peer at all
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client: Any = scope.get("client")
            scope[PEER_TRUSTED] = self.trusts(client[0] if client else None)
        await self.app(scope, receive, send)


def from_trusted_proxy(request: Request) -> bool:
    return bool(request.scope.get(PEER_TRUSTED))
