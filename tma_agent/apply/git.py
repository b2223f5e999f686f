"""One small Git interface, two twins (as for hosts): `LocalGit` works on a repository on the
agent's machine with GitPython, `HostGit` runs the git CLI through the Host protocol.

Every change is first written as the `git ...` argv the CLI twin runs; in dry-run both twins
only hand that argv to the runner (`ctx.run`, which records it), so what a dry-run prints is
exactly what would run on the host. Reads (status, HEAD, refs) run in dry-run too. Names that
reach git (branches, remotes, commits) are checked here first: git reads an argument starting
with `-` as an option, so a hostile branch name could otherwise become one; every argument is
still one argv item, quoted by the Host, never a shell string.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Protocol

from tma_agent.errors import TmaError
from tma_agent.hosts import CommandResult, Host, LocalHost

__all__ = [
    "Git",
    "GitError",
    "GitRunner",
    "HostGit",
    "HostRunner",
    "check_branch",
    "check_commit",
    "check_remote",
    "open_git",
]

#: fetch and push talk to the remote: give them longer than a local command.
NETWORK_TIMEOUT = 600.0
#: ...and never let them wait for a password nobody will type (the host's own credentials
#: are used as they are: nothing is added).
NETWORK_ENV = {"GIT_TERMINAL_PROMPT": "0"}
_NETWORK = ("fetch", "push")

# git check-ref-format's rules, narrowed: no leading `-` (an option), no `..`, `@{`, `\`,
# control characters, spaces or glob characters, no component starting with `.` or ending `.lock`.
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*@\{)(?!.*//)[A-Za-z0-9._/+-]+$")
_REMOTE = re.compile(r"^(?!-)[A-Za-z0-9._-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


class GitError(TmaError):
    """A git operation failed or was refused (one line naming the checkout)."""


def check_branch(name: str) -> str:
    parts = name.split("/")
    if (
        not _BRANCH.match(name)
        or name in ("HEAD", "@")
        or any(p.startswith(".") or p.endswith(".lock") or not p for p in parts)
        or name.endswith(".")
    ):
        raise GitError(f"invalid branch name {name!r}")
    return name


def check_remote(name: str) -> str:
    if not _REMOTE.match(name):
        raise GitError(f"invalid remote name {name!r}")
    return name


def check_commit(sha: str) -> str:
    if not _COMMIT.match(sha):
        raise GitError(f"invalid commit {sha!r}: expected a hexadecimal sha (7 to 64 digits)")
    return sha


class GitRunner(Protocol):
    """What the twins need from an apply: `StepContext` is one (`run` only records in dry-run)."""

    dry_run: bool

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult: ...

    def probe(
        self, argv: Sequence[str], *, check: bool = False, timeout: float | None = None
    ) -> CommandResult: ...


class HostRunner:
    """A GitRunner straight on a Host, outside an apply (tools, tests): `run` records every
    argv in `recorded` and, in dry-run, runs nothing."""

    def __init__(self, host: Host, *, dry_run: bool = False) -> None:
        self.host = host
        self.dry_run = dry_run
        self.recorded: list[list[str]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        # The same form as StepContext.run: `env K=V command...`.
        argv = [*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []), *argv]
        self.recorded.append(list(argv))
        if self.dry_run:
            return CommandResult(" ".join(argv), 0, b"", b"")
        return self.host.run(argv, check=check, timeout=timeout)

    def probe(
        self, argv: Sequence[str], *, check: bool = False, timeout: float | None = None
    ) -> CommandResult:
        return self.host.run(argv, check=check, timeout=timeout)


class Git(ABC):
    """A checkout at `path` (its top level). Public methods check their names, then either hand
    the argv to the runner (dry-run) or do it through the twin's own `_do_*`."""

    def __init__(self, path: str, runner: GitRunner) -> None:
        self.path = path
        self.runner = runner

    def argv(self, *args: str) -> list[str]:
        return ["git", "-C", self.path, *args]

    def _fail(self, what: str, detail: str) -> GitError:
        lines = [line for line in detail.strip().splitlines() if line.strip()]
        last = " ".join(lines[-1].split())[:200] if lines else "failed"
        return GitError(f"{self.path}: git {what}: {last}")

    # -- reads (they run in dry-run too) ----------------------------------------------------------
    @abstractmethod
    def status(self) -> list[str]:
        """`git status --porcelain` lines (ignored files not listed); empty when clean."""

    @abstractmethod
    def head(self) -> str:
        """The full sha HEAD points at."""

    @abstractmethod
    def current_branch(self) -> str | None:
        """The checked-out branch, None when HEAD is detached."""

    @abstractmethod
    def resolve(self, ref: str) -> str | None:
        """The commit sha `ref` names, None when there is none."""

    @abstractmethod
    def is_ancestor(self, older: str, newer: str) -> bool: ...

    @abstractmethod
    def diff_stat(self, old: str, new: str) -> str:
        """`git diff --stat old new`: the files changed and a summary line."""

    def branch_exists(self, name: str, remote: str | None = None) -> bool:
        ref = f"refs/remotes/{remote}/{name}" if remote else f"refs/heads/{name}"
        return self.resolve(ref) is not None

    # -- changes --------------------------------------------------------------------------------
    def _dry(self, args: list[str]) -> bool:
        if not self.runner.dry_run:
            return False
        self._send(args)
        return True

    def _send(self, args: list[str]) -> CommandResult:
        network = args[0] in _NETWORK
        return self.runner.run(
            self.argv(*args),
            check=False,
            # A step's own `timeout:` (StepContext.timeout) wins over the network default.
            timeout=(getattr(self.runner, "timeout", None) or NETWORK_TIMEOUT) if network else None,
            env=NETWORK_ENV if network else None,
        )

    def fetch(self, remote: str) -> None:
        args = ["fetch", "--prune", "--", check_remote(remote)]
        if not self._dry(args):
            self._do_fetch(remote, args)

    def create_branch(self, name: str, start: str) -> None:
        """Create `name` at `start` (a local branch or `<remote>/<branch>`) and check it out."""
        args = ["checkout", "-q", "--no-track", "-b", check_branch(name), _start_ref(start)]
        if not self._dry(args):
            self._do_create_branch(name, start, args)

    def commit_all(self, message: str, author: str) -> str | None:
        """Stage everything (not ignored files) and commit as `author` ("Name <email>"), who is
        also the committer; the new sha, or None when there was nothing to commit."""
        name, email = _split_author(author)
        # A dry run shows the commit the earlier steps' changes would need (they did not run).
        if not self.runner.dry_run and not self.status():
            return None
        add = ["add", "-A"]
        commit = ["-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q"]
        commit += ["--author", f"{name} <{email}>", "-m", message]
        if self._dry(add):
            self._dry(commit)
            return self.head()
        self._do_commit(add, commit, message, name, email)
        return self.head()

    def push(self, remote: str, branch: str) -> None:
        """Push `branch` to the same name on `remote`, with the host's own credentials."""
        refspec = f"refs/heads/{check_branch(branch)}:refs/heads/{branch}"
        args = ["push", "--porcelain", "--", check_remote(remote), refspec]
        if not self._dry(args):
            self._do_push(remote, branch, args)

    def reset_hard(self, sha: str, *, remove_ignored: bool = False) -> None:
        """Back to `sha`: index and tree reset, untracked files removed (ignored files too
        only when asked: they hold the site's uploads and local settings)."""
        reset = ["reset", "-q", "--hard", check_commit(sha)]
        clean = ["clean", "-q", "-fdx" if remove_ignored else "-fd"]
        if self._dry(reset):
            self._dry(clean)
            return
        self._do_reset(sha, reset, clean)

    def checkout(self, branch: str, *, force: bool = False) -> None:
        args = ["checkout", "-q", *(["-f"] if force else []), check_branch(branch), "--"]
        if not self._dry(args):
            self._do_checkout(branch, force, args)

    def checkout_detached(self, sha: str) -> None:
        args = ["checkout", "-q", "-f", "--detach", check_commit(sha)]
        if not self._dry(args):
            self._do(args)

    def delete_branch(self, name: str) -> None:
        args = ["branch", "-q", "-D", check_branch(name)]
        if not self._dry(args):
            self._do_delete_branch(name, args)

    def fast_forward(self, branch: str, commit: str) -> None:
        """Move `branch` (checked out first) to `commit`; refused unless a fast-forward."""
        check_branch(branch)
        check_commit(commit)
        # In dry-run the fetch that would bring `commit` only printed: check what can be checked.
        known = self.resolve(commit) is not None
        if not known and not self.runner.dry_run:
            raise GitError(f"{self.path}: commit {commit} not found (was it pushed and fetched?)")
        local = f"refs/heads/{branch}"
        if known and self.branch_exists(branch) and not self.is_ancestor(local, commit):
            raise GitError(f"{self.path}: {commit} is not a fast-forward of {branch}")
        if self.current_branch() != branch:
            self.checkout(branch)
        args = ["merge", "-q", "--ff-only", commit]
        if not self._dry(args):
            self._do(args)

    # -- the part each twin provides -------------------------------------------------------------
    @abstractmethod
    def _do(self, args: list[str]) -> None:
        """Run `git args` for real."""

    def _do_fetch(self, remote: str, args: list[str]) -> None:
        self._do(args)

    def _do_create_branch(self, name: str, start: str, args: list[str]) -> None:
        self._do(args)

    def _do_commit(
        self, add: list[str], commit: list[str], msg: str, name: str, email: str
    ) -> None:
        self._do(add)
        self._do(commit)

    def _do_push(self, remote: str, branch: str, args: list[str]) -> None:
        self._do(args)

    def _do_reset(self, sha: str, reset: list[str], clean: list[str]) -> None:
        self._do(reset)
        self._do(clean)

    def _do_checkout(self, branch: str, force: bool, args: list[str]) -> None:
        self._do(args)

    def _do_delete_branch(self, name: str, args: list[str]) -> None:
        self._do(args)


def _start_ref(start: str) -> str:
    # `<remote>/<branch>` and local branch names both follow the branch rules.
    return check_branch(start)


def _check_ref(ref: str) -> str:
    if ref == "HEAD" or _COMMIT.match(ref):
        return ref
    return check_branch(ref)


def _split_author(author: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([^<>\n]+?)\s*<([^<>\s]+)>\s*", author)
    if not match:
        raise GitError(f"invalid commit author {author!r}: expected `Name <email>`")
    return match.group(1), match.group(2)


class HostGit(Git):
    """The git CLI through the runner: every command one argv, quoted by the Host."""

    def _probe(self, *args: str) -> CommandResult:
        return self.runner.probe(self.argv(*args))

    def _read(self, what: str, *args: str) -> str:
        result = self._probe(*args)
        if not result.ok:
            raise self._fail(what, result.stderr.decode("utf-8", "replace"))
        return result.text

    def status(self) -> list[str]:
        return [line for line in self._read("status", "status", "--porcelain").splitlines() if line]

    def head(self) -> str:
        return self._read("rev-parse", "rev-parse", "--verify", "HEAD").strip()

    def current_branch(self) -> str | None:
        result = self._probe("symbolic-ref", "-q", "--short", "HEAD")
        return result.text.strip() or None if result.ok else None

    def resolve(self, ref: str) -> str | None:
        result = self._probe("rev-parse", "--verify", "--quiet", _check_ref(ref) + "^{commit}")
        return result.text.strip() or None if result.ok else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        result = self._probe("merge-base", "--is-ancestor", _check_ref(older), _check_ref(newer))
        if result.exit_code not in (0, 1):
            raise self._fail("merge-base", result.stderr.decode("utf-8", "replace"))
        return result.ok

    def diff_stat(self, old: str, new: str) -> str:
        return self._read("diff", "diff", "--stat", _check_ref(old), _check_ref(new), "--").strip()

    def _do(self, args: list[str]) -> None:
        result = self._send(args)
        if not result.ok:
            what = next(a for a in args if not a.startswith("-") and "=" not in a)
            raise self._fail(what, result.stderr.decode("utf-8", "replace"))


def open_git(host: Host, path: str, runner: GitRunner) -> Git:
    """The twin for `host`: GitPython for a LocalHost, the git CLI over any other Host. The
    checkout's top level is looked up first (a site's tree may be a subfolder of it)."""
    top = runner.probe(["git", "-C", path, "rev-parse", "--show-toplevel"])
    if not top.ok:
        lines = top.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"{path}: not a git checkout ({lines[-1] if lines else 'no repository'})")
    root = top.text.strip() or path
    if isinstance(host, LocalHost):
        # GitPython is slow to import: only applies to local checkouts pay for it.
        from tma_agent.apply._gitlocal import LocalGit

        return LocalGit(root, runner)
    return HostGit(root, runner)
