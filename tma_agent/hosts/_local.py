"""The `local` twin: sites on the agent's own machine, run with subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Sequence

from tma_agent.errors import HostError
from tma_agent.hosts._base import (
    DEFAULT_COMMAND_TIMEOUT,
    CommandResult,
    Host,
    quote_command,
    short_command,
)

__all__ = ["LocalHost"]


class LocalHost(Host):
    def __init__(self, *, command_timeout: float = DEFAULT_COMMAND_TIMEOUT) -> None:
        super().__init__("local", command_timeout=command_timeout)

    def _execute(
        self, argv: Sequence[str] | None, command: str | None, timeout: float, stdin: bytes | None
    ) -> CommandResult:
        args = list(argv) if argv is not None else ["sh", "-c", command or ""]
        shown = quote_command(args) if argv is not None else (command or "")
        brief = short_command(argv, command)
        try:
            # Own process group, so a timeout kills the whole pipeline, not only `sh`.
            proc = subprocess.Popen(  # noqa: S603 - running the caller's command is this host's job
                args,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise HostError(f"local: `{brief}` could not start: {exc.strerror}") from exc
        try:
            stdout, stderr = proc.communicate(input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise HostError(f"local: `{brief}` timed out after {timeout:g}s") from None
        return CommandResult(shown, proc.returncode, stdout, stderr)

    def put(self, local_path: str, remote_path: str) -> None:
        self.round_trips += 1
        self._copy(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        self.round_trips += 1
        self._copy(remote_path, local_path)

    def _copy(self, source: str, target: str) -> None:
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            raise HostError(f"local: cannot copy {source} to {target}: {exc.strerror}") from None
