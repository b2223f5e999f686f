"""The Host protocol shared by the `local` and `ssh` twins.

Only `_execute`, `put`, `get` and `close` differ between twins. The batched file primitives are
written once here as small POSIX shell programs run through `_execute`, so a site read over SSH
and the same site read locally give byte-identical answers, each in a single round trip.
"""

from __future__ import annotations

import base64
import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from tma_agent.errors import HostError

__all__ = ["DEFAULT_COMMAND_TIMEOUT", "CommandResult", "FileSet", "Host"]

DEFAULT_COMMAND_TIMEOUT = 120.0

# Each file is framed as KIND NUL PATH NUL BASE64 NUL, KIND being F (found) or M (missing):
# base64 never contains NUL and a path cannot, so the framing is unambiguous whatever the data.
_EMIT = r"""emit() {
  if [ -f "$1" ] && [ -r "$1" ]; then
    printf 'F\000%s\000' "$1"
    if [ "$max" -gt 0 ]; then head -c "$max" -- "$1"; else cat -- "$1"; fi | base64 | tr -d '\n'
    printf '\000'
  else
    printf 'M\000%s\000\000' "$1"
  fi
}
"""

_READ_MANY = _EMIT + 'max="$1"; shift\nfor f in "$@"; do emit "$f"; done\n'

# Arguments: max_bytes max_depth N root... names...; roots that do not exist are skipped.
_READ_GLOB = (
    _EMIT
    + r"""max="$1"; depth="$2"; n="$3"; shift 3
roots=""; i=0
while [ "$i" -lt "$n" ]; do
  if [ -d "$1" ]; then roots="$roots $(printf '%s' "$1" | base64 | tr -d '\n')"; fi
  shift; i=$((i + 1))
done
m=$#; first=1
for name in "$@"; do
  if [ "$first" = 1 ]; then set -- "$@" -name "$name"; first=0; else set -- "$@" -o -name "$name"; fi
done
shift "$m"
for r in $roots; do
  root=$(printf '%s' "$r" | base64 -d)
  find -L "$root" -maxdepth "$depth" -type f \( "$@" \) -print 2>/dev/null
done | while IFS= read -r f; do emit "$f"; done
"""
)


_Content = TypeVar("_Content", str, "str | None")


class FileSet(dict[str, _Content]):
    """What `read_many` / `read_glob` return: path -> content (for `read_many`, None when absent
    or not read; `read_glob` lists only files it read).

    `problems` maps a path that exists but was not read to a one-line reason (unreadable by the
    host's user, larger than `limits.max_file_bytes`, a symlink leaving the site tree): a plugin
    turns such a file into an `unknown` component with that reason, never drops it silently.
    """

    def __init__(self, *args: object, problems: dict[str, str] | None = None) -> None:
        super().__init__(*args)
        self.problems: dict[str, str] = dict(problems or {})


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def _decode_frames(payload: bytes) -> FileSet[str | None]:
    parts = payload.split(b"\0")
    files: FileSet[str | None] = FileSet()
    for i in range(0, len(parts) - 2, 3):
        kind, path, data = parts[i], parts[i + 1], parts[i + 2]
        name = path.decode("utf-8", errors="surrogateescape")
        if kind == b"F":
            files[name] = base64.b64decode(data).decode("utf-8", errors="replace")
        else:
            files[name] = None
    return files


class Host(ABC):
    """Where a site lives: run commands and read files there, with as few round trips as possible."""

    #: A short name for messages and logs (`local`, `deploy@web1:22`).
    name: str

    def __init__(self, name: str, *, command_timeout: float = DEFAULT_COMMAND_TIMEOUT) -> None:
        self.name = name
        self.command_timeout = command_timeout
        #: How many commands went to the host: the benchmark's "round trips per site".
        self.round_trips = 0

    # -- the part each twin provides -----------------------------------------------------------
    @abstractmethod
    def _execute(
        self, argv: Sequence[str] | None, command: str | None, timeout: float, stdin: bytes | None
    ) -> CommandResult:
        """Run exactly one command on the host; `argv` is never re-parsed by a shell."""

    @abstractmethod
    def put(self, local_path: str, remote_path: str) -> None: ...

    @abstractmethod
    def get(self, remote_path: str, local_path: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional for twins without a connection
        """Release the connection; the host may not be used afterwards."""

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the shared protocol -------------------------------------------------------------------
    def run(
        self,
        command: Sequence[str] | str,
        *,
        timeout: float | None = None,
        check: bool = True,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run a command. A list is an argv (every item is data, quoted for the remote shell);
        a string is a shell command line the caller wrote and trusts."""
        self.round_trips += 1
        if isinstance(command, str):
            result = self._execute(None, command, timeout or self.command_timeout, stdin)
        else:
            result = self._execute(list(command), None, timeout or self.command_timeout, stdin)
        if check and not result.ok:
            err = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
            detail = err[-1] if err else f"exit status {result.exit_code}"
            raise HostError(f"{self.name}: `{result.command}` failed: {detail}")
        return result

    def read_many(self, paths: Sequence[str], *, max_bytes: int = 0) -> FileSet[str | None]:
        """Read several files in one round trip; a missing or unreadable file maps to None.
        `max_bytes` > 0 keeps only the head of each file (like WordPress' get_file_data)."""
        if not paths:
            return FileSet()
        result = self.run(["sh", "-c", _READ_MANY, "sh", str(max_bytes), *paths])
        return _decode_frames(result.stdout)

    def read_text(self, path: str) -> str:
        content = self.read_many([path])[path]
        if content is None:
            raise HostError(f"{self.name}: cannot read {path}")
        return content

    def exists(self, path: str) -> bool:
        return self.run(["test", "-e", path], check=False).ok

    def read_glob(
        self,
        roots: Sequence[str],
        names: Sequence[str],
        *,
        max_depth: int = 4,
        max_bytes: int = 0,
    ) -> FileSet[str]:
        """In one round trip, read every file under `roots` (missing roots are skipped) whose
        base name matches one of the shell patterns `names`, following symlinks, at most
        `max_depth` levels down. Returns path -> content."""
        if not roots or not names:
            return FileSet()
        argv = ["sh", "-c", _READ_GLOB, "sh", str(max_bytes), str(max_depth), str(len(roots))]
        result = self.run([*argv, *roots, *names])
        frames = _decode_frames(result.stdout)
        return FileSet({k: v for k, v in frames.items() if v is not None}, problems=frames.problems)

    def glob(self, roots: Sequence[str], names: Sequence[str], *, max_depth: int = 4) -> list[str]:
        """Paths of the files `read_glob` would read, without their content."""
        return sorted(self.read_glob(roots, names, max_depth=max_depth, max_bytes=1))


def quote_command(argv: Sequence[str]) -> str:
    """The one place argv becomes a shell line: every item is shell-quoted data."""
    return shlex.join(argv)
