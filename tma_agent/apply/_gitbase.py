"""The Git interface both twins share: reads they each answer, changes written once as the
`git -C <checkout> ...` argv the CLI twin runs. In dry-run that argv only goes to the runner
(`StepContext.run` records it), so a dry run prints exactly what would run on the host."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Protocol

from tma_agent.apply._gitnames import (
    GitError,
    check_branch,
    check_commit,
    check_ref,
    check_remote,
    split_author,
)
from tma_agent.hosts import CommandResult

__all__ = ["NETWORK_ENV", "NETWORK_TIMEOUT", "Git", "GitRunner"]

#: fetch and push talk to the remote: give them longer than a local command.
NETWORK_TIMEOUT = 600.0
#: ...and never let them wait for a password nobody will type (the host's own credentials
#: are used as they are: nothing is added).
NETWORK_ENV = {"GIT_TERMINAL_PROMPT": "0"}
_NETWORK = ("fetch", "push", "ls-remote")


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

    @abstractmethod
    def changed_paths(self, old: str, new: str, under: str) -> list[str]:
        """The files (top-level relative paths) that differ between commits `old` and `new`
        in the folder `under` (top-level relative too)."""

    @abstractmethod
    def file_at(self, commit: str, path: str, max_bytes: int) -> str | None:
        """The text of the file `path` (top-level relative) at `commit`, as data; None when
        the commit has no such file or it is larger than `max_bytes`."""

    def diff_names_args(self, old: str, new: str, under: str) -> list[str]:
        # `:(literal)`: the folder is a path, never a glob; -z: names as git has them.
        spec = f":(top,literal){under}" if under else ":/"
        return ["diff", "--name-only", "-z", "--no-renames", check_ref(old), check_ref(new),
                "--", spec]  # fmt: skip

    @abstractmethod
    def remote_has_branch(self, remote: str, name: str) -> bool:
        """Whether `remote` itself (asked now, `git ls-remote`) has the branch `name`."""

    def ls_remote_args(self, remote: str, name: str) -> list[str]:
        return [
            "ls-remote",
            "--heads",
            "--",
            check_remote(remote),
            f"refs/heads/{check_branch(name)}",
        ]

    def branch_exists(self, name: str, remote: str | None = None) -> bool:
        ref = f"refs/remotes/{remote}/{name}" if remote else f"refs/heads/{name}"
        return self.resolve(ref) is not None

    # -- changes --------------------------------------------------------------------------------
    def _dry(self, args: list[str]) -> bool:
        if not self.runner.dry_run:
            return False
        self._send(args)
        return True

    def shown_argv(self, args: list[str]) -> list[str]:
        """The full argv of `git args` as the runner shows it (`env K=V` first for network ones)."""
        env = [f"{k}={v}" for k, v in NETWORK_ENV.items()] if args[0] in _NETWORK else []
        return [*(["env", *env] if env else []), *self.argv(*args)]

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
        args = ["checkout", "-q", "--no-track", "-b", check_branch(name), check_branch(start)]
        if not self._dry(args):
            self._do_create_branch(name, start, args)

    def commit_all(self, message: str, author: str) -> str | None:
        """Stage everything (not ignored files) and commit as `author` ("Name <email>"), who is
        also the committer; the new sha, or None when there was nothing to commit."""
        name, email = split_author(author)
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

    def delete_remote_branch(self, remote: str, branch: str) -> None:
        """Delete `branch` on `remote` (`git push --delete`), with the host's own credentials."""
        args = ["push", "--porcelain", "--delete", "--", check_remote(remote), check_branch(branch)]
        if not self._dry(args):
            self._do_delete_remote_branch(remote, branch, args)

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

    def _do_delete_remote_branch(self, remote: str, branch: str, args: list[str]) -> None:
        self._do(args)

    def _do_reset(self, sha: str, reset: list[str], clean: list[str]) -> None:
        self._do(reset)
        self._do(clean)

    def _do_checkout(self, branch: str, force: bool, args: list[str]) -> None:
        self._do(args)

    def _do_delete_branch(self, name: str, args: list[str]) -> None:
        self._do(args)
