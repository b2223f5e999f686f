"""Where sites live: one small protocol, two real twins (`local` and `ssh`)."""

from __future__ import annotations

from tma_agent.hosts._base import DEFAULT_COMMAND_TIMEOUT, CommandResult, Host, quote_command
from tma_agent.hosts._factory import HostSpec, open_host, parse_host
from tma_agent.hosts._local import LocalHost
from tma_agent.hosts._ssh import SSHHost

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "CommandResult",
    "Host",
    "HostSpec",
    "LocalHost",
    "SSHHost",
    "open_host",
    "parse_host",
    "quote_command",
]
