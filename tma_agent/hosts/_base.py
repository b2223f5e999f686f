"""The Host protocol shared by the `local` and `ssh` twins.

Only `_execute`, `put`, `get` and `close` differ between twins. The batched file primitives are
written once here as small POSIX shell programs run through `_execute`, so a site read over SSH
and the same site read locally give byte-identical answers, each in a single round trip.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog

from tma_agent.errors import HostError
from tma_agent.hosts._prefetch import GlobRequest, answer_from
from tma_agent.hosts._programs import (
    INSIDE,
    READ_BOTH,
    READ_GLOB,
    READ_MANY,
    decode_frames,
    short_command,
)
from tma_agent.hosts._settings import TreePolicy

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "CommandResult",
    "FileSet",
    "Host",
    "login_shell_line",
    "short_command",
]

DEFAULT_COMMAND_TIMEOUT = 120.0

_Content = TypeVar("_Content", str, "str | None")


class FileSet(dict[str, _Content]):
    """What `read_many` / `read_glob` return: path -> content (for `read_many`, None when absent
    or not read; `read_glob` lists only files it read).

    `problems` maps a path that exists but was not read to a one-line reason (unreadable by the
    host's user, larger than `limits.max_file_bytes`, a symlink leaving the site tree): a plugin
    turns such a file into an `unknown` component with that reason, never drops it silently.
    The reasons are exactly `permission denied`, `larger than 16 MiB (limits.max_file_bytes)`
    (the configured size) and `symlink leaving the site tree`; in `read_glob`, the last may name
    a directory (a linked-out extension folder, or a root outside the tree) rather than a file,
    and in a confined tree so may the first (a folder the host's user may not list or enter).
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


class Host(ABC):
    """Where a site lives: run commands and read files there, with as few round trips as possible."""

    #: A short name for messages and logs (`local`, `deploy@web1:22`).
    name: str

    def __init__(self, name: str, *, command_timeout: float = DEFAULT_COMMAND_TIMEOUT) -> None:
        self.name = name
        self.command_timeout = command_timeout
        #: How many commands went to the host: the benchmark's "round trips per site".
        self.round_trips = 0
        #: What `read_many` / `read_glob` may read; the runner sets the site's once.
        self.tree = TreePolicy()
        #: Globs read ahead with `read_many(prefetch=...)`: their request and answer.
        self._ahead: tuple[GlobRequest, FileSet[str]] | None = None

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
            detail = " ".join(err[-1].split())[:200] if err else f"exit status {result.exit_code}"
            structlog.get_logger(__name__).debug(
                "host command failed", host=self.name, command=result.command, stderr=err[-20:]
            )
            argv = None if isinstance(command, str) else list(command)
            shown = short_command(argv, command if isinstance(command, str) else None)
            raise HostError(f"{self.name}: `{shown}` failed: {detail}")
        return result

    def read_many(
        self, paths: Sequence[str], *, max_bytes: int = 0, prefetch: GlobRequest | None = None
    ) -> FileSet[str | None]:
        """Read several files in one round trip; a missing file maps to None, and so does one
        that exists but was not read, with its reason in `.problems` (unreadable, larger than
        the tree's `max_file_bytes`, a symlink leaving a confined tree). `max_bytes` > 0 keeps
        only the head of each file (like WordPress' get_file_data). `prefetch` (absolute roots)
        runs that glob in the same round trip; a later `read_glob` it covers is answered from it.
        """
        if not paths:
            return FileSet()
        if prefetch is None or not prefetch.roots or not prefetch.names:
            return self._read_files(paths, max_bytes)
        if prefetch.max_bytes != max_bytes:
            # One `find` reads both with one byte limit: a glob with another one is left to
            # its own read_glob (a second round trip).
            return self._read_files(paths, max_bytes)
        safe = [_safe_start(path) for path in paths]
        glob = self._glob_args(prefetch.roots, prefetch.names, prefetch.max_depth, max_bytes)
        argv = [*glob[:6], str(len(safe)), *glob[6:], *(_path_pattern(s) for s in safe)]
        argv[8:8] = safe
        result = self.run(["sh", "-c", READ_BOTH, "sh", *argv])
        frames = decode_frames(result.stdout, self.tree.max_file_bytes, self.name, max_bytes)
        files: FileSet[str | None] = FileSet(
            problems={
                p: frames.problems[s]
                for p, s in zip(paths, safe, strict=True)
                if s in frames.problems
            }
        )
        for path, start in zip(paths, safe, strict=True):
            files[path] = frames.files.get(start)
        # The files' own records are no glob results unless the glob would have matched them.
        names = prefetch.names
        own = {
            s for s in safe if not any(fnmatch.fnmatchcase(posixpath.basename(s), n) for n in names)
        }
        found = {k: v for k, v in frames.files.items() if k not in own}
        problems = {k: v for k, v in frames.problems.items() if k not in own}
        self._ahead = (prefetch, _glob_answer(found, problems))
        return files

    def _read_files(self, paths: Sequence[str], max_bytes: int) -> FileSet[str | None]:
        many = [*self._tree_args(max_bytes), *paths]
        result = self.run(["sh", "-c", READ_MANY, "sh", *many])
        frames = decode_frames(result.stdout, self.tree.max_file_bytes, self.name, max_bytes)
        files: FileSet[str | None] = FileSet(problems=frames.problems)
        for path in paths:
            files[path] = frames.files.get(path)
        return files

    def _tree_args(self, max_bytes: int) -> list[str]:
        tree = self.tree
        return [
            str(tree.max_file_bytes),
            str(max_bytes),
            tree.root or "",
            "1" if tree.confined else "0",
        ]

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
        base name matches one of the shell patterns `names`, following symlinks (in a confined
        tree only those staying inside it), at most `max_depth` levels down. Returns path ->
        content; `.problems` lists the files (and leaving symlinks) found but not read."""
        if not roots or not names:
            return FileSet()
        if self._ahead is not None:
            request, ahead = self._ahead
            part = answer_from(request, ahead, ahead.problems, roots, names, max_depth, max_bytes)
            if part is not None:
                return FileSet(part[0], problems=part[1])
        argv = ["sh", "-c", READ_GLOB, "sh", *self._glob_args(roots, names, max_depth, max_bytes)]
        frames = decode_frames(
            self.run(argv).stdout, self.tree.max_file_bytes, self.name, max_bytes
        )
        return _glob_answer(frames.files, frames.problems)

    def _glob_args(
        self, roots: Sequence[str], names: Sequence[str], max_depth: int, max_bytes: int
    ) -> list[str]:
        # `find` would take a relative root such as `-delete` or `(` for an expression: it is
        # given as `./-delete`, and `./` taken off again (absolute roots never print one).
        safe_roots = [root if root.startswith("/") else "./" + root for root in roots]
        tree = self._tree_args(max_bytes)
        return [INSIDE, *tree, str(max_depth), str(len(roots)), *safe_roots, *names]

    def glob(self, roots: Sequence[str], names: Sequence[str], *, max_depth: int = 4) -> list[str]:
        """Paths of the files `read_glob` would read, without their content."""
        return sorted(self.read_glob(roots, names, max_depth=max_depth, max_bytes=1))


def _safe_start(path: str) -> str:
    # `find` would take a relative path such as `-delete` or `(` for an expression.
    return path if path.startswith("/") else "./" + path


def _path_pattern(path: str) -> str:
    """A `find -path` pattern matching exactly `path` (its pattern characters escaped)."""
    return re.sub(r"([\\*?\[])", r"\\\1", path)


def _unprefixed(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def _glob_answer(files: dict[str, str | None], problems: dict[str, str]) -> FileSet[str]:
    found = {_unprefixed(k): v for k, v in files.items() if v is not None}
    return FileSet(found, problems={_unprefixed(k): v for k, v in problems.items()})


#: The embedded programs quoted once: quoting their ~3 KB per command was a visible share of
#: the client's CPU per site.
_QUOTED_PROGRAMS = {
    program: shlex.quote(program) for program in (READ_MANY, READ_GLOB, READ_BOTH, INSIDE)
}


def quote_command(argv: Sequence[str]) -> str:
    """The one place argv becomes a shell line: every item is shell-quoted data (`shlex.join`)."""
    return " ".join(_QUOTED_PROGRAMS.get(arg) or shlex.quote(arg) for arg in argv)


# A plain POSIX login shell (dash, ash: no BASH_VERSION nor ZSH_VERSION) reads no rc file for
# `-c`, so it runs the program itself: one exec and one parse less per round trip. bash and zsh
# may have sourced rc files defining functions (`cd`, `find`...): they exec a clean `sh` as before.
_DISPATCH = (
    'case ${BASH_VERSION-}${ZSH_VERSION-} in "") eval "$p" ;; *) exec sh -c "$p" sh "$@" ;; esac'
)


def login_shell_line(argv: Sequence[str]) -> str:
    """The command line a remote login shell of the sh family runs for `argv`: an embedded
    program (`sh -c PROGRAM sh args...`) runs in a plain POSIX login shell directly, anything
    else is `exec`ed (the login shell becomes the command instead of forking it)."""
    program = _QUOTED_PROGRAMS.get(argv[2]) if len(argv) > 3 and argv[:2] == ["sh", "-c"] else None
    if program is None or argv[3] != "sh":
        return "exec " + quote_command(argv)
    return f"p={program}; set -- {quote_command(argv[4:])}\n{_DISPATCH}"
