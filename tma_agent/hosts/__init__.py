"""Where sites live: one small protocol, two real twins (`local` and `ssh`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tma_agent.hosts._base import (
    DEFAULT_COMMAND_TIMEOUT,
    CommandResult,
    FileSet,
    Host,
    quote_command,
)
from tma_agent.hosts._factory import HostSpec, open_host, parse_host
from tma_agent.hosts._local import LocalHost
from tma_agent.hosts._prefetch import GlobRequest, merge_requests
from tma_agent.hosts._settings import DEFAULT_MAX_FILE_BYTES, SSHSettings, TreePolicy

if TYPE_CHECKING:
    from tma_agent.hosts._ssh import SSHHost

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_MAX_FILE_BYTES",
    "CommandResult",
    "FileSet",
    "GlobRequest",
    "Host",
    "HostSpec",
    "LocalHost",
    "SSHHost",
    "SSHSettings",
    "TreePolicy",
    "merge_requests",
    "open_host",
    "parse_host",
    "quote_command",
]


def __getattr__(name: str) -> object:
    # SSHHost pulls in paramiko, slow to import; load it on first use only.
    if name == "SSHHost":
        from tma_agent.hosts._ssh import SSHHost

        return SSHHost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
