"""The `local` twin: sites on the agent's own machine, run with subprocess."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from tma_agent.errors import HostError
from tma_agent.hosts._base import CommandResult, Host, quote_command

__all__ = ["LocalHost"]


class LocalHost(Host):
    def __init__(self, *, command_timeout: float | None = None) -> None:
        super().__init__("local", **({"command_timeout": command_timeout} if command_timeout else {}))

    def _execute(
        self, argv: Sequence[str] | None, command: str | None, timeout: float, stdin: bytes | None
    ) -> CommandResult:
        args = list(argv) if argv is not None else ["sh", "-c", command or ""]
        shown = quote_command(args) if argv is not None else (command or "")
        try:
            proc = subprocess.run(
                args, input=stdin, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise HostError(f"local: `{shown}` timed out after {timeout:g}s") from exc
        except OSError as exc:
            raise HostError(f"local: `{shown}` could not start: {exc.strerror}") from exc
        return CommandResult(shown, proc.returncode, proc.stdout, proc.stderr)

    def put(self, local_path: str, remote_path: str) -> None:
        self.round_trips += 1
        shutil.copyfile(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        self.round_trips += 1
        shutil.copyfile(remote_path, local_path)
