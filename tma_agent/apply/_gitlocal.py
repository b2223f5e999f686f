"""The GitPython twin: a checkout on the agent's own machine, worked on in-process.

Each change mirrors the argv `HostGit` would run for it (that argv is what a dry-run records);
where GitPython has no own API for an operation, its command wrapper runs that same argv.
Each change made is recorded as that argv in the apply's commands (the journal, the outcome),
as the CLI twin's commands are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import git
from git import PushInfo
from git.exc import BadName, GitCommandError

from tma_agent.apply._gitbase import NETWORK_ENV, Git, GitRunner
from tma_agent.apply._githost import HostRunner
from tma_agent.apply._gitnames import GitError, check_commit
from tma_agent.apply.context import CommandRecord, StepContext
from tma_agent.hosts import quote_command

__all__ = ["LocalGit"]

_T = TypeVar("_T")


class LocalGit(Git):
    def __init__(self, path: str, runner: GitRunner) -> None:
        super().__init__(path, runner)
        try:
            self.repo = git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise GitError(f"{path}: not a git checkout ({exc})") from None
        # A remote asking for a password must fail at once, not wait for a terminal.
        self.repo.git.update_environment(**NETWORK_ENV)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except GitCommandError as exc:
            raise self._fail(what, str(exc.stderr or exc)) from None
        except (ValueError, IndexError, BadName) as exc:
            raise self._fail(what, str(exc)) from None

    @contextmanager
    def _change(self, what: str, *done: list[str]) -> Iterator[None]:
        """A change GitPython makes; once made, the argv it stands for goes to the journal."""
        with self._errors(what):
            yield
        for args in done:
            self._record(args)

    def _record(self, args: list[str]) -> None:
        argv = self.shown_argv(args)
        if isinstance(self.runner, StepContext):
            ctx = self.runner
            ctx.commands.append(
                CommandRecord(ctx.host.name, self.path, quote_command(argv), False, 0)
            )
        elif isinstance(self.runner, HostRunner):
            self.runner.recorded.append(argv)

    def _call(self, what: str, call: Callable[[], _T]) -> _T:
        with self._errors(what):
            return call()
        raise AssertionError("unreachable")  # pragma: no cover - _errors re-raises

    # -- reads ------------------------------------------------------------------------------------
    def status(self) -> list[str]:
        out: str = self._call("status", lambda: self.repo.git.status("--porcelain"))
        return [line for line in out.splitlines() if line]

    def head(self) -> str:
        return self._call("rev-parse", lambda: self.repo.head.commit.hexsha)

    def current_branch(self) -> str | None:
        return None if self.repo.head.is_detached else self.repo.active_branch.name

    def resolve(self, ref: str) -> str | None:
        try:
            return self.repo.commit(ref).hexsha
        except (BadName, ValueError, GitCommandError):
            return None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self._call(
            "merge-base",
            lambda: self.repo.is_ancestor(self.repo.commit(older), self.repo.commit(newer)),
        )

    def diff_stat(self, old: str, new: str) -> str:
        out: str = self._call("diff", lambda: self.repo.git.diff("--stat", old, new, "--"))
        return out.strip()

    def changed_paths(self, old: str, new: str, under: str) -> list[str]:
        args = self.diff_names_args(old, new, under)
        out: str = self._call("diff", lambda: self.repo.git.diff(*args[1:]))
        return [name for name in out.split("\0") if name]

    def file_at(self, commit: str, path: str, max_bytes: int) -> str | None:
        try:
            item = self.repo.commit(check_commit(commit)).tree / path
        except (KeyError, BadName, ValueError):
            return None
        if item.type != "blob" or item.size > max_bytes:
            return None
        data: bytes = item.data_stream.read()
        return data.decode("utf-8", "replace")

    def remote_has_branch(self, remote: str, name: str) -> bool:
        args = self.ls_remote_args(remote, name)
        out = str(self._call("ls-remote", lambda: self.repo.git.ls_remote(*args[1:])))
        return bool(out.strip())

    # -- changes ----------------------------------------------------------------------------------
    def _do(self, args: list[str]) -> None:
        with self._change(next(a for a in args if not a.startswith("-") and "=" not in a), args):
            self.repo.git.execute(["git", *args])

    def _do_fetch(self, remote: str, args: list[str]) -> None:
        with self._change("fetch", args):
            self.repo.remote(remote).fetch(prune=True)

    def _do_create_branch(self, name: str, start: str, args: list[str]) -> None:
        with self._change("checkout", args):
            self.repo.create_head(name, self.repo.commit(start)).checkout()

    def _do_commit(
        self, add: list[str], commit: list[str], msg: str, name: str, email: str
    ) -> None:
        with self._change("commit", add, commit):
            self.repo.git.add(A=True)
            actor = git.Actor(name, email)
            self.repo.index.commit(msg, author=actor, committer=actor)

    def _do_push(self, remote: str, branch: str, args: list[str]) -> None:
        with self._change("push", args):
            refspec = f"refs/heads/{branch}:refs/heads/{branch}"
            for info in self.repo.remote(remote).push(refspec):
                if info.flags & (PushInfo.ERROR | PushInfo.REJECTED | PushInfo.REMOTE_REJECTED):
                    summary = " ".join(info.summary.split())
                    raise GitError(f"{self.path}: git push: refs/heads/{branch}: {summary}")

    # The remote branch's deletion runs the CLI's own argv (the base's `_do`): GitPython's
    # push reports no error for a branch the remote does not have, git does.

    def _do_reset(self, sha: str, reset: list[str], clean: list[str]) -> None:
        with self._change("reset", reset, clean):
            self.repo.head.reset(sha, index=True, working_tree=True)
            self.repo.git.clean(*clean[1:])

    def _do_checkout(self, branch: str, force: bool, args: list[str]) -> None:
        if branch not in self.repo.heads:
            # Only the CLI creates a local branch from its remote one (`git checkout main`).
            self._do(args)
            return
        with self._change("checkout", args):
            self.repo.heads[branch].checkout(force=force)

    def _do_delete_branch(self, name: str, args: list[str]) -> None:
        with self._change("branch", args):
            self.repo.delete_head(name, force=True)
