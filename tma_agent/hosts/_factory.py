"""Turn a site's `host:` string into a Host: `local` or `ssh://[user@]host[:port]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from tma_agent.hosts._base import Host
from tma_agent.hosts._local import LocalHost
from tma_agent.hosts._settings import SSHSettings

__all__ = ["HostSpec", "open_host", "parse_host"]

# Letters, digits, dots, dashes, underscores (DNS names, IPv4) or an IPv6 literal's characters;
# anything else (spaces, quotes, a leading dash read as an option) is refused up front.
_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9._-]+$|^[0-9A-Fa-f:.]+$")
_USER = re.compile(r"^(?!-)[A-Za-z0-9._][A-Za-z0-9._-]*\$?$")


@dataclass(frozen=True)
class HostSpec:
    scheme: Literal["local", "ssh"]
    user: str | None = None
    hostname: str = "localhost"
    #: None for `local`; 22 when an ssh:// spec names no port.
    port: int | None = None

    def __str__(self) -> str:
        if self.scheme == "local":
            return "local"
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        user = f"{self.user}@" if self.user else ""
        return f"ssh://{user}{host}:{self.port}"


def parse_host(spec: str) -> HostSpec:
    """Parse `local`, `ssh://host`, `ssh://user@host:port` (IPv6 as `[::1]`); ValueError else."""
    text = spec.strip()
    if text == "local":
        return HostSpec("local")
    expected = "expected `local` or `ssh://[user@]host[:port]`"
    if "://" not in text:
        raise ValueError(f"invalid host {spec!r}: {expected}")
    parts = urlsplit(text)
    if parts.scheme != "ssh":
        raise ValueError(f"invalid host {spec!r}: unsupported scheme {parts.scheme!r}, {expected}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"invalid host {spec!r}: no path, query or fragment allowed, {expected}")
    if parts.password is not None:
        raise ValueError(f"invalid host {spec!r}: passwords do not belong in host strings")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid host {spec!r}: port must be a number 1-65535") from None
    if port == 0:
        raise ValueError(f"invalid host {spec!r}: port must be a number 1-65535")
    hostname = parts.hostname
    if not hostname or not _HOSTNAME.match(hostname):
        raise ValueError(f"invalid host {spec!r}: missing or invalid host name, {expected}")
    user = parts.username
    if user is not None and not _USER.match(user):
        raise ValueError(f"invalid host {spec!r}: invalid user name {user!r}")
    return HostSpec("ssh", user or None, hostname, port or 22)


def open_host(spec: str, ssh: SSHSettings) -> Host:
    """A Host for `spec`; SSH hosts connect lazily, on their first command."""
    parsed = parse_host(spec)
    if parsed.scheme == "local":
        return LocalHost()
    # paramiko costs a third of a second to import: only fleets with SSH sites pay for it.
    from tma_agent.hosts._ssh import SSHHost

    return SSHHost(parsed.hostname, port=parsed.port or 22, user=parsed.user, settings=ssh)
