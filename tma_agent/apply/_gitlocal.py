"""The GitPython twin: a checkout on the agent's own machine, worked on in-process.

Each change mirrors the argv `HostGit` would run for it (that argv is what a dry-run records);
where GitPython has no own API for an operation, its command wrapper runs that same argv.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import git
from git.exc import BadName, GitCommandError

from tma_agent.apply.git import NETWORK_ENV, Git, GitError, GitRunner

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

    # -- changes ----------------------------------------------------------------------------------
    def _do(self, args: list[str]) -> None:
        with self._errors(next(a for a in args if not a.startswith("-") and "=" not in a)):
            self.repo.git.execute(["git", *args])

    def _do_fetch(self, remote: str, args: list[str]) -> None:
        with self._errors("fetch"):
            self.repo.remote(remote).fetch(prune=True)

    def _do_create_branch(self, name: str, start: str, args: list[str]) -> None:
        with self._errors("checkout"):
            self.repo.create_head(name, self.repo.commit(start)).checkout()

    def _do_commit(
        self, add: list[str], commit: list[str], msg: str, name: str, email: str
    ) -> None:
        with self._errors("commit"):
            self.repo.git.add(A=True)
            actor = git.Actor(name, email)
            self.repo.index.commit(msg, author=actor, committer=actor)

    def _do_push(self, remote: str, branch: str, args: list[str]) -> None:
        with self._errors("push"):
            self.repo.remote(remote).push(
                f"refs/heads/{branch}:refs/heads/{branch}"
            ).raise_if_error()

    def _do_reset(self, sha: str, reset: list[str], clean: list[str]) -> None:
        with self._errors("reset"):
            self.repo.head.reset(sha, index=True, working_tree=True)
            self.repo.git.clean(*clean[1:])

    def _do_checkout(self, branch: str, force: bool, args: list[str]) -> None:
        if branch not in self.repo.heads:
            # Only the CLI creates a local branch from its remote one (`git checkout main`).
            self._do(args)
            return
        with self._errors("checkout"):
            self.repo.heads[branch].checkout(force=force)

    def _do_delete_branch(self, name: str, args: list[str]) -> None:
        with self._errors("branch"):
            self.repo.delete_head(name, force=True)
