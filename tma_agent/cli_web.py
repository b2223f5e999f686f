"""`tma serve` (the dashboard, the client portal, the ticket webhooks) and `tma users add`
(an account's argon2 hash for `web.users`). README: Dashboard (`tma serve`); docs/web.md."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING

import click

from tma_agent.errors import ConfigError

if TYPE_CHECKING:
    from tma_agent.cli import _State

__all__ = ["register_commands"]


@click.command("serve")
@click.option("--host", metavar="ADDRESS", help="Listen address (default: web.bind, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.bind, 8470).")
@click.pass_obj
def serve(state: _State, host: str | None, port: int | None) -> None:
    """Serve the dashboard, the client portal and the ticket webhooks (docs/web.md)."""
    import uvicorn

    from tma_agent.web.app import create_app
    from tma_agent.web.logs import log_config
    from tma_agent.web.settings import parse_bind

    config = state.config
    bound_host, bound_port = parse_bind(config.web.bind)
    app = create_app(config, pm=state.pm)
    listening = _listen(host or bound_host, port or bound_port)
    address, bound = listening.getsockname()[:2]
    where = f"[{address}]:{bound}" if ":" in address else f"{address}:{bound}"
    click.echo(
        f"tma serve: listening on http://{where} ({len(config.web.users)} accounts)", err=True
    )
    # The app reads X-Forwarded-* itself, from `web.trusted_proxies` only (web/proxy.py);
    # secrets masked in the logs.
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            proxy_headers=False,
            log_level="info",
            log_config=log_config(),
            server_header=False,
        )
    )
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts: a port in use or an address of
    another host is a one-line error (exit 2), not uvicorn's log lines and its exit 3, which
    means "work left queued" in tma's table of exit codes."""
    listening: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listening = socket.socket(family, kind, proto)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as error:
        if listening is not None:
            listening.close()
        reason = (error.strerror or str(error)).lower()
        raise ConfigError(
            f"tma serve: cannot listen on {host}:{port} (web.bind): {reason}"
        ) from None
    return listening


@click.group("users")
def users_group() -> None:
    """Accounts of the dashboard and the client portal (web.users)."""


@users_group.command("add")
@click.argument("name")
@click.option("--client", "client", metavar="ID", help="A client account seeing only this client.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@click.pass_obj
def users_add(state: _State, name: str, client: str | None, password_stdin: bool) -> None:
    """Ask for the password (never echoed) and print the `web.users` entry to add to the
    configuration: the account is stored there, not in the ledger."""
    import sys

    from pydantic import ValidationError

    from tma_agent.web.auth import hash_password
    from tma_agent.web.settings import WebUser

    if client is not None:
        known = [c.id for c in state.config.clients]
        if client not in known:
            raise ConfigError(f"--client {client!r}: no such client ({', '.join(known) or 'none'})")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < 12:
        raise click.BadParameter("use 12 characters or more", param_hint="password")
    try:
        user = WebUser(
            name=name,
            password_hash=hash_password(password),
            role="client" if client else "staff",
            client=client,
        )
    except ValidationError as exc:
        raise click.BadParameter(exc.errors()[0]["msg"], param_hint="NAME") from None
    entry = user.model_dump(exclude_none=True)
    click.echo("add this entry to web.users in the configuration:", err=True)
    click.echo(f"- {json.dumps(entry)}")


@users_group.command("link")
@click.argument("name")
@click.option("--hours", type=click.IntRange(1, 24 * 31), default=72, show_default=True)
@click.pass_obj
def users_link(state: _State, name: str, hours: int) -> None:
    """Print a signed log-in link for the client account NAME, valid for --hours (to mail
    with the month's report). Changing web.secret_key revokes every link."""
    from tma_agent.web.links import LINK_PATH, make_link_token

    web = state.config.web
    user = web.user(name)
    if user is None or user.role != "client":
        raise ConfigError(f"web.users: no client account {name!r} (links are for clients only)")
    if not web.secret_key:
        raise ConfigError("web.secret_key: needed to sign the link")
    path = LINK_PATH + make_link_token(web.secret_key, name, hours)
    click.echo(f"{web.base_url}{path}" if web.base_url else path)
    if not web.base_url:
        click.echo(
            "web.base_url is not set: prefix the path with the dashboard's address", err=True
        )


def register_commands(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(users_group)
