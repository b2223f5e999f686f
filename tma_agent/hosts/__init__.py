"""Where sites live: one small protocol, two real twins (`local` and `ssh`)."""

from __future__ import annotations

from tma_agent.hosts._base import DEFAULT_COMMAND_TIMEOUT, CommandResult, Host, quote_command
from tma_agent.hosts._local import LocalHost

__all__ = ["DEFAULT_COMMAND_TIMEOUT", "CommandResult", "Host", "LocalHost", "quote_command"]
